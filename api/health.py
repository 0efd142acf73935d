"""``GET /health``: chain (id, head block, contract addresses), database and indexer status."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from node.chain.errors import ChainUnavailable
from node.context import NodeContext
from node.db.engine import database_status
from node.indexer_status import indexer_status

router = APIRouter(tags=["health"])


class Contracts(BaseModel):
    registry: str
    implementation: str
    deploy_block: int
    compiler: str


class ChainHealth(BaseModel):
    status: str
    chain_id: int | None
    head_block: int | None
    contracts: Contracts
    error: str | None = None


class DatabaseHealth(BaseModel):
    status: str
    revision: str | None
    latency_ms: float
    error: str | None = None


class IndexerHealth(BaseModel):
    status: str
    indexed_block: int | None
    safe_block: int | None
    head_block: int | None
    lag_blocks: int | None
    lag_seconds: float | None
    events_applied: int


class Health(BaseModel):
    status: str
    chain: ChainHealth
    database: DatabaseHealth
    indexer: IndexerHealth | None


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
def health(request: Request) -> JSONResponse:
    """200 when chain and database answer, 503 (same body) when either does not."""
    context: NodeContext = request.app.state.context
    deployment = context.deployment
    contracts = Contracts(
        registry=deployment.registry,
        implementation=deployment.implementation,
        deploy_block=deployment.deploy_block,
        compiler=deployment.compiler,
    )
    try:
        head = int(context.client.rpc(lambda: context.client.w3.eth.block_number))
        chain = ChainHealth(status="ok", chain_id=context.client.chain_id, head_block=head, contracts=contracts)
    except ChainUnavailable as exc:
        chain = ChainHealth(status="unavailable", chain_id=None, head_block=None, contracts=contracts, error=exc.detail)
    db = database_status(context.engine)
    database = DatabaseHealth(
        status="ok" if db.ok else "unavailable",
        revision=db.revision,
        latency_ms=round(db.latency_ms, 2),
        error=db.error,
    )
    ok = chain.status == "ok" and database.status == "ok"
    indexer = None
    if db.ok:
        status = indexer_status(context.engine, context.client)
        indexer = IndexerHealth.model_validate({**asdict(status), "status": status.state})
    body = Health(status="ok" if ok else "degraded", chain=chain, database=database, indexer=indexer)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
