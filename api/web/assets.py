"""``/assets``: the web UI's own stylesheet and script, and the pinned npm libraries it uses, served by the node.

No CDN: a registry network may have no internet. Only the listed files are served (never a directory walk into
``node_modules``), with a day of caching: their names change with their versions only through a node upgrade.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from node.paths import PROJECT_ROOT

STATIC = Path(__file__).resolve().parent / "static"
MODULES = PROJECT_ROOT / "node_modules"
VENDOR = {
    "htmx.min.js": MODULES / "htmx.org" / "dist" / "htmx.min.js",
    "chart.umd.js": MODULES / "chart.js" / "dist" / "chart.umd.js",
    "leaflet.js": MODULES / "leaflet" / "dist" / "leaflet.js",
    "leaflet.css": MODULES / "leaflet" / "dist" / "leaflet.css",
    "topojson-client.min.js": MODULES / "topojson-client" / "dist" / "topojson-client.min.js",
    "countries-110m.json": MODULES / "world-atlas" / "countries-110m.json",
}
OWN = {path.name: path for path in STATIC.iterdir() if path.is_file()} if STATIC.is_dir() else {}

router = APIRouter(include_in_schema=False)


def _file(path: Path | None) -> FileResponse:
    if path is None or not path.is_file():
        raise HTTPException(status_code=404, detail="No such asset.")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})


@router.get("/assets/vendor/{name}")
def vendor(name: str) -> FileResponse:
    return _file(VENDOR.get(name))


@router.get("/assets/{name}")
def own(name: str) -> FileResponse:
    return _file(OWN.get(name))
