"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI

from api import health, metrics, problems
from api.auth import endpoints as auth
from node.context import NodeContext


def create_app(context: NodeContext) -> FastAPI:
    """Builds the API bound to a running node (database, chain client, deployment)."""
    app = FastAPI(title="National Carbon Registry", version="0.1.0")
    app.state.context = context
    problems.install(app)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(auth.router)
    return app
