"""``GET /metrics``: Prometheus text format, indexer figures computed at scrape time."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from node.context import NodeContext
from node.indexer_status import IndexerCollector

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    registry: CollectorRegistry | None = getattr(request.app.state, "metrics_registry", None)
    if registry is None:
        context: NodeContext = request.app.state.context
        registry = CollectorRegistry()
        registry.register(IndexerCollector(context.engine, context.client))
        request.app.state.metrics_registry = registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
