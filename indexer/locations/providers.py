"""Location providers: the region file shipped with the project (default) and Mapbox geocoding over HTTP.

A provider answers ``resolved`` (with coordinates) or ``unknown``; it raises ``LocationUnavailable`` when it
cannot answer now (timeout, HTTP error), and the worker retries later. An unknown region is never a failure.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

import httpx

from indexer.locations.names import name_key

REGION_FILE = Path(__file__).resolve().parent / "data" / "regions.csv"


@dataclass(frozen=True)
class Location:
    status: str  # "resolved" | "unknown"
    iso_code: str | None = None
    latitude: float | None = None
    longitude: float | None = None


UNKNOWN = Location("unknown")


class LocationUnavailable(RuntimeError):
    """The provider could not answer now; ask again later."""


class LocationProvider(Protocol):
    name: str

    def lookup(self, country: str, region: str) -> Location: ...


class FileProvider:
    """Regions of every country from ``regions.csv`` (GeoNames + ISO 3166-2; see scripts/build_regions.py).

    A region is found by its name (case, accents and words like "State" ignored) or its ISO 3166-2 code.
    """

    name = "file"

    def __init__(self, path: Path = REGION_FILE) -> None:
        self._regions: dict[tuple[str, str], Location] = {}
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                location = Location("resolved", row["iso_3166_2"] or None, float(row["latitude"]),
                                    float(row["longitude"]))  # fmt: skip
                self._regions.setdefault((row["country"], name_key(row["name"])), location)
                if row["iso_3166_2"]:
                    self._regions.setdefault((row["country"], row["iso_3166_2"].casefold()), location)

    def lookup(self, country: str, region: str) -> Location:
        return (
            self._regions.get((country, name_key(region)))
            or self._regions.get((country, region.strip().casefold()))
            or UNKNOWN
        )


class MapboxProvider:
    """Mapbox forward geocoding, restricted to the registry's country and to regions and districts."""

    name = "mapbox"

    def __init__(self, token: str, *, base_url: str = "https://api.mapbox.com", timeout: float = 5.0) -> None:
        self._token = token
        self._client = httpx.Client(base_url=base_url, timeout=timeout)

    def lookup(self, country: str, region: str) -> Location:
        path = f"/geocoding/v5/mapbox.places/{quote(region.strip(), safe='')}.json"
        params = {"access_token": self._token, "limit": "1", "country": country.lower(), "autocomplete": "false",
                  "types": "region,district"}  # fmt: skip
        try:
            response = self._client.get(path, params=params)
        except httpx.HTTPError as exc:
            raise LocationUnavailable(f"Mapbox did not answer: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise LocationUnavailable(f"Mapbox answered HTTP {response.status_code}")
        try:
            features = response.json().get("features") or []
        except ValueError as exc:
            raise LocationUnavailable("Mapbox answered with invalid JSON") from exc
        if not features:
            return UNKNOWN
        feature = features[0]
        longitude, latitude = feature["center"]
        short_code = (feature.get("properties") or {}).get("short_code")
        iso = short_code.upper() if isinstance(short_code, str) and "-" in short_code else None
        return Location("resolved", iso, float(latitude), float(longitude))
