"""``GET /health`` reports chain and database; errors are RFC 9457 problem documents."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from indexer.runner import Indexer
from node.chain.client import ChainClient
from node.chain.deployment import Deployment
from node.chain.errors import InsufficientCredits
from node.chain.registry import Registry
from node.config import ANVIL_DEV_KEY, Settings
from node.context import NodeContext
from node.db.engine import make_engine
from node.db.migrate import head_revision
from node.runtime.anvil import free_port
from tests.conftest import authorised_programme, ref


def _context(database_url: str, client: ChainClient, deployment: Deployment, registry: Registry) -> NodeContext:
    return NodeContext(Settings(), make_engine(database_url), client, deployment, registry)


@pytest.fixture
def api(
    database_url: str, client: ChainClient, deployment: Deployment, registry: Registry, clean_chain_schema: None
) -> Iterator[TestClient]:
    app = create_app(_context(database_url, client, deployment, registry))

    @app.get("/test/revert")
    def revert() -> None:
        raise InsufficientCredits(
            "CreditsInsufficientBalance", {"programmeId": 1, "holder": 10, "balance": 5, "needed": 9}
        )

    @app.get("/test/crash")
    def crash() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_health_reports_chain_and_database(api: TestClient, deployment: Deployment, client: ChainClient) -> None:
    response = api.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["chain"]["chain_id"] == 31337
    assert body["chain"]["head_block"] == client.w3.eth.block_number
    assert body["chain"]["contracts"]["registry"] == deployment.registry
    assert body["chain"]["contracts"]["implementation"] == deployment.implementation
    assert body["chain"]["contracts"]["deploy_block"] == deployment.deploy_block
    assert body["database"]["status"] == "ok"
    assert body["database"]["revision"] == head_revision()
    assert body["indexer"] == {"status": "not_started", "indexed_block": None, "safe_block": None,
                               "head_block": None, "lag_blocks": None, "lag_seconds": None,
                               "events_applied": 0}  # fmt: skip


def test_health_is_503_when_chain_is_unreachable(
    database_url: str, deployment: Deployment, registry: Registry, tmp_path: Path
) -> None:
    dead = ChainClient(f"http://127.0.0.1:{free_port()}", ANVIL_DEV_KEY, lock_dir=tmp_path, request_timeout=1)
    with TestClient(create_app(_context(database_url, dead, deployment, registry))) as test_client:
        response = test_client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["chain"]["status"], body["database"]["status"]) == ("degraded", "unavailable", "ok")
    assert "cannot be reached" in body["chain"]["error"]


def test_health_is_503_when_database_is_unreachable(
    client: ChainClient, deployment: Deployment, registry: Registry
) -> None:
    url = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none?connect_timeout=1"
    with TestClient(create_app(_context(url, client, deployment, registry))) as test_client:
        response = test_client.get("/health")
    assert response.status_code == 503
    assert response.json()["database"]["status"] == "unavailable"


def test_unknown_route_is_a_problem_document(api: TestClient) -> None:
    response = api.get("/no/such/thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/not-found"


def test_contract_revert_is_a_problem_with_its_arguments(api: TestClient) -> None:
    response = api.get("/test/revert")
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/credits-insufficient-balance"
    assert body["error"] == "InsufficientCredits"
    assert body["contract_error"] == "CreditsInsufficientBalance"
    assert body["arguments"] == {"programmeId": 1, "holder": 10, "balance": 5, "needed": 9}
    assert body["instance"] == "/test/revert"


def test_unexpected_error_is_500_without_internals(api: TestClient) -> None:
    response = api.get("/test/crash")
    assert response.status_code == 500
    body = response.json()
    assert body["type"] == "/problems/internal-error"
    assert "secret" not in response.text
    assert len(body["request_id"]) == 32


def test_health_and_metrics_report_indexer_progress(
    api: TestClient, registry: Registry, make_indexer: Callable[..., Indexer], engine: Engine
) -> None:
    authorised_programme(registry, issue=10)
    indexer = make_indexer()
    with engine.connect() as conn:
        indexer.catch_up(conn)
    head = registry.client.w3.eth.block_number
    body = api.get("/health").json()["indexer"]
    assert body["status"] == "ok"
    assert (body["indexed_block"], body["head_block"], body["lag_blocks"], body["lag_seconds"]) == (head, head, 0, 0)
    assert body["events_applied"] >= 3
    registry.freeze(99, ref())  # one block the indexer has not seen yet
    assert api.get("/health").json()["indexer"]["lag_blocks"] == 1

    metrics = api.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    lines = dict(line.rsplit(" ", 1) for line in metrics.text.splitlines() if line and not line.startswith("#"))
    assert float(lines["registry_indexer_block"]) == head
    assert float(lines["registry_chain_head_block"]) == head + 1
    assert float(lines["registry_indexer_lag_blocks"]) == 1
    assert float(lines["registry_indexer_events_applied_total"]) == body["events_applied"]
