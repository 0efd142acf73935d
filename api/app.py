"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api import access_log, health, metrics, problems
from api.auth import endpoints as auth
from api.auth import pages as password_pages
from api.identity import audit, organisations, users
from node.context import NodeContext


def create_app(context: NodeContext) -> FastAPI:
    """Builds the API bound to a running node (database, chain client, deployment)."""
    access_log.install()
    app = FastAPI(title="National Carbon Registry", version="0.1.0")
    app.state.context = context
    problems.install(app)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(auth.router)
    app.include_router(password_pages.router)
    app.include_router(organisations.router)
    app.include_router(users.router)
    app.include_router(audit.router)
    if context.settings.storage_backend == "local":
        files = context.settings.files_dir
        files.mkdir(parents=True, exist_ok=True)
        app.mount("/files", StaticFiles(directory=files), name="files")
    return app
