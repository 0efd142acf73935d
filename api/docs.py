"""``/docs``: Swagger UI served from the node itself, so the API documentation works offline and under a strict CSP.

The Swagger UI files come from the pinned npm package ``swagger-ui-dist`` (installed with the other npm
packages); FastAPI's default page would load them from a CDN, blank on a registry network without internet.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from node.paths import PROJECT_ROOT

SWAGGER_UI_DIR = PROJECT_ROOT / "node_modules" / "swagger-ui-dist"
STATIC_DIR = PROJECT_ROOT / "api" / "static"
_ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"})

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/static/swagger-init.js"></script>
</body></html>
"""

_MISSING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - API</title></head>
<body><p>Swagger UI is not installed (run <code>npm ci</code>). The OpenAPI document is at
<a href="/openapi.json">/openapi.json</a>.</p></body></html>
"""


def install(app: FastAPI) -> None:
    router = APIRouter(include_in_schema=False)
    installed = (SWAGGER_UI_DIR / "swagger-ui-bundle.js").is_file()

    @router.get("/docs", response_class=HTMLResponse)
    def docs() -> HTMLResponse:
        return HTMLResponse((_PAGE if installed else _MISSING).format(title=app.title))

    @router.get("/docs/assets/{name}")
    def asset(name: str) -> FileResponse:
        """Only the files the page loads (the package also ships demo pages that are not ours to serve)."""
        if not installed or name not in _ASSETS:
            raise StarletteHTTPException(404, "Not Found")
        return FileResponse(SWAGGER_UI_DIR / name)

    app.include_router(router)
    app.mount("/docs/static", StaticFiles(directory=STATIC_DIR), name="docs-static")
