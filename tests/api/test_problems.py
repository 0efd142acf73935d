"""Errors from below the endpoints become problem documents with the right status, never a 500."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from api import problems
from api.problems import PROBLEM_JSON
from node.chain.errors import TransactionReverted


def _app(exc: Exception) -> TestClient:
    app = FastAPI()
    problems.install(app)

    @app.get("/boom")
    def boom() -> None:
        raise exc

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("exc", "status", "slug"),
    [
        (PoolTimeout("QueuePool limit of size 15 overflow 0 reached"), 503, "service-unavailable"),
        (OperationalError("select 1", {}, Exception("server closed the connection")), 503, "service-unavailable"),
        (DataError("select :x", {"x": "secret@example.org"}, Exception("value out of range")), 422, "invalid-input"),
        (TransactionReverted("UnknownRevert", {"data": "0x"}), 503, None),
    ],
    ids=["pool timeout", "database down", "value refused", "unexplained revert"],
)
def test_failures_below_the_endpoints_are_problems_not_500(exc: Exception, status: int, slug: str | None) -> None:
    response = _app(exc).get("/boom")
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON
    document = response.json()
    if slug is None:
        assert document["error"] == "TransactionReverted"
    else:
        assert document["type"] == f"/problems/{slug}"
    assert "secret@example.org" not in response.text
    if status == 503:
        assert response.headers["retry-after"] == "5"
