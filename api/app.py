"""The FastAPI application factory."""

from __future__ import annotations

import sys

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api import (
    access_log,
    calculator,
    credits,
    docs,
    health,
    metrics,
    openapi,
    problems,
    programmes,
    retirements,
    stats,
)
from api.auth import endpoints as auth
from api.auth import pages as password_pages
from api.exports import router as exports_router
from api.identity import audit, organisations, users
from api.indexing import index_waiter_lifespan
from api.request_guard import RequestGuard
from api.security_headers import SecurityHeaders
from api.web import site
from node.context import NodeContext

RECURSION_LIMIT = 1000
"""CPython's default. py_ecc (imported through web3/eth_keys) raises the limit to 100000 at import time; with it,
deeply nested input overflows the C stack and kills the process instead of raising ``RecursionError``."""


def create_app(context: NodeContext) -> FastAPI:
    """Builds the API bound to a running node (database, chain client, deployment)."""
    sys.setrecursionlimit(RECURSION_LIMIT)  # after every import above: none of them may raise it again
    access_log.install()
    settings = context.settings
    # The lifespan runs the process's IndexWaiter (app.state.index_waiter): writes answer once indexed.
    app = FastAPI(title="National Carbon Registry", version="0.1.0", docs_url=None, redoc_url=None,
                  lifespan=index_waiter_lifespan)  # fmt: skip
    app.state.context = context
    problems.install(app)
    openapi.install(app)
    docs.install(app)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(auth.router)
    app.include_router(password_pages.router)
    app.include_router(organisations.router)
    app.include_router(users.router)
    app.include_router(audit.router)
    app.include_router(programmes.router)
    app.include_router(credits.router)
    app.include_router(retirements.router)
    app.include_router(calculator.router)
    app.include_router(stats.router)
    app.include_router(exports_router)
    site.install(app)
    if settings.storage_backend == "local":
        files = settings.files_dir
        files.mkdir(parents=True, exist_ok=True)
        app.mount("/files", StaticFiles(directory=files), name="files")
    # The last added runs first: headers wrap everything, including the guard's own refusals.
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes,
                       max_upload_bytes=settings.max_upload_bytes)  # fmt: skip
    app.add_middleware(SecurityHeaders, https=settings.public_url.startswith("https://"))
    return app
