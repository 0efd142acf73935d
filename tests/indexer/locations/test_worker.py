"""The location worker resolves programmes' regions after indexing, caches answers and retries outages."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, text

from indexer.locations.providers import UNKNOWN, FileProvider, Location, LocationUnavailable
from indexer.locations.worker import LocationWorker
from indexer.runner import Indexer
from node.chain.registry import Registry
from tests.conftest import programme_input, ref


def _create(registry: Registry, *regions: str) -> None:
    data = programme_input(external_id="-".join(regions)[:60])
    registry.create_programme(data.__class__(**{**data.__dict__, "regions": regions}), ref())


def _locations(engine: Engine) -> list[tuple[str, str, str | None]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "select region_name, status, iso_code from chain.programme_location order by programme_id, position"
                )
            )
        ]


class FlakyProvider:
    """Unavailable for the first ``outages`` calls, then answers from the region file."""

    name = "flaky"

    def __init__(self, outages: int) -> None:
        self.outages = outages
        self.calls = 0

    def lookup(self, country: str, region: str) -> Location:
        self.calls += 1
        if self.calls <= self.outages:
            raise LocationUnavailable("timed out")
        return FileProvider().lookup(country, region)


def test_regions_become_coordinates_and_unknown_stays_unknown(
    registry: Registry, indexer: Indexer, engine: Engine
) -> None:
    _create(registry, "Lagos", "Atlantis", "Kano State")
    with engine.connect() as conn:
        indexer.catch_up(conn)
    assert LocationWorker(engine, FileProvider(), "NG").resolve_pending() == 3
    assert _locations(engine) == [("Lagos", "resolved", "NG-LA"), ("Atlantis", "unknown", None),
                                  ("Kano State", "resolved", "NG-KN")]  # fmt: skip


def test_provider_outage_is_retried_later(registry: Registry, indexer: Indexer, engine: Engine) -> None:
    _create(registry, "Lagos")
    with engine.connect() as conn:
        indexer.catch_up(conn)
    provider = FlakyProvider(outages=1)
    worker = LocationWorker(engine, provider, "NG")
    worker.resolve_pending()
    assert _locations(engine) == [("Lagos", "unavailable", None)]
    assert worker.resolve_pending() == 0  # not due yet
    with engine.begin() as conn:
        conn.execute(text("update chain.programme_location set updated_at = now() - interval '1 hour'"))
    worker.resolve_pending()
    assert _locations(engine) == [("Lagos", "resolved", "NG-LA")]


def test_answers_are_cached_for_replays(registry: Registry, indexer: Indexer, engine: Engine) -> None:
    _create(registry, "Oyo", "Kogi")
    _create(registry, "Oyo")

    class Counting:
        name = "counting"
        calls: list[str] = []  # noqa: RUF012

        def lookup(self, country: str, region: str) -> Location:
            self.calls.append(region)
            return UNKNOWN if region == "Kogi" else Location("resolved", None, 1.0, 2.0)

    with engine.connect() as conn:
        indexer.catch_up(conn)
    provider: Callable[[], Counting] = Counting
    worker = LocationWorker(engine, provider(), "NG")
    worker.resolve_pending()
    assert sorted(Counting.calls) == ["Kogi", "Oyo"]
    assert [s for _, s, _ in _locations(engine)] == ["resolved", "unknown", "resolved"]
