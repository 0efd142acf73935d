"""Resolve pending programme locations in the background, outside the indexer's critical path.

Rows are claimed with ``FOR UPDATE SKIP LOCKED``, so any number of processes can run the worker. Answers are
cached per (provider, country, region) so a replay after a reorg or a rebuild does not ask the provider again.
Unavailable answers are retried with a growing delay, up to ``MAX_ATTEMPTS``.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from sqlalchemy import Engine, and_, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert

from indexer.locations.names import name_key
from indexer.locations.providers import (
    FileProvider,
    Location,
    LocationProvider,
    LocationUnavailable,
    MapboxProvider,
)
from node.config import Settings
from node.models import chain

logger = logging.getLogger("registry.locations")
MAX_ATTEMPTS = 8
RETRY_SECONDS = 30


def provider_from_settings(settings: Settings) -> LocationProvider:
    if settings.location_provider == "mapbox":
        if settings.mapbox_token is None:
            raise ValueError("LOCATION_PROVIDER=mapbox needs MAPBOX_TOKEN")
        return MapboxProvider(settings.mapbox_token.get_secret_value(), base_url=settings.mapbox_url,
                              timeout=settings.location_timeout)  # fmt: skip
    return FileProvider()


class LocationWorker:
    def __init__(self, engine: Engine, provider: LocationProvider, country: str, *, interval: float = 1.0) -> None:
        self.engine = engine
        self.provider = provider
        self.country = country
        self.interval = interval

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                if self.resolve_pending() == 0:
                    stop.wait(self.interval)
            except Exception:
                logger.exception("location worker failed; retrying")
                stop.wait(5.0)

    def resolve_pending(self, limit: int = 50) -> int:
        """Resolves up to ``limit`` claimable rows; returns how many it handled."""
        loc = chain.programme_location.c
        due = or_(
            loc.status == "pending",
            and_(loc.status == "unavailable", loc.attempts < MAX_ATTEMPTS,
                 loc.updated_at < func.now() - text(f"interval '{RETRY_SECONDS} seconds'") * loc.attempts),
        )  # fmt: skip
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(loc.programme_id, loc.position, loc.region_name, loc.attempts)
                .where(due)
                .order_by(loc.programme_id, loc.position)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                values = self._resolve(conn, row.region_name, row.attempts)
                conn.execute(
                    update(chain.programme_location)
                    .where(loc.programme_id == row.programme_id, loc.position == row.position)
                    .values(**values, updated_at=datetime.now(UTC))
                )
        return len(rows)

    def _resolve(self, conn: object, region: str, attempts: int) -> dict[str, object]:
        key = name_key(region)
        cache = chain.region_cache.c
        cached = conn.execute(  # type: ignore[attr-defined]
            select(chain.region_cache).where(
                cache.provider == self.provider.name, cache.country == self.country, cache.name_key == key
            )  # fmt: skip
        ).first()
        if cached is not None:
            location = Location(cached.status, cached.iso_code, cached.latitude, cached.longitude)
        else:
            try:
                location = self.provider.lookup(self.country, region)
            except LocationUnavailable as exc:
                logger.info("location of %r unavailable: %s", region, exc)
                return {"status": "unavailable", "attempts": attempts + 1, "provider": self.provider.name}
            conn.execute(  # type: ignore[attr-defined]
                insert(chain.region_cache).values(
                    provider=self.provider.name, country=self.country, name_key=key, status=location.status,
                    iso_code=location.iso_code, latitude=location.latitude, longitude=location.longitude,
                ).on_conflict_do_nothing()
            )  # fmt: skip
        return {"status": location.status, "iso_code": location.iso_code, "latitude": location.latitude,
                "longitude": location.longitude, "provider": self.provider.name, "attempts": attempts + 1}  # fmt: skip
