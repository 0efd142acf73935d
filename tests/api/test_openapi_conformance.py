"""Schemathesis over the whole OpenAPI document: every documented operation, as an anonymous caller, as Root and
with an API key, with valid and invalid input. Every answer must be a documented status with a documented content
type and a body matching its schema, and never a server error.

The operations come from ``/openapi.json`` itself, so endpoints added later are covered without touching this
file. CI runs a bounded number of examples per operation; ``SCHEMATHESIS_MAX_EXAMPLES=500`` (and optionally
``SCHEMATHESIS_SEED``) runs a long, randomised campaign.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine

from api.app import create_app
from node.chain.client import ChainClient
from node.chain.deployment import Deployment
from node.chain.registry import Registry
from node.config import Settings
from node.context import NodeContext
from tests.api.identity.world import World, build_world

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "12"))
LONG_RUN = "SCHEMATHESIS_MAX_EXAMPLES" in os.environ
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]  # fmt: skip


@pytest.fixture(params=["anonymous", "root", "api_key"])
def caller(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def world(settings: Settings, engine: Engine, registry: Registry, empty_app_schema: None) -> World:
    return build_world(engine, settings, registry)


@pytest.fixture
def app(settings: Settings, engine: Engine, client: ChainClient, deployment: Deployment, registry: Registry,
        world: World) -> FastAPI:  # fmt: skip
    return create_app(NodeContext(settings, engine, client, deployment, registry))


@pytest.fixture
def api_schema(app: FastAPI) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture
def session(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=not LONG_RUN, database=None,
          suppress_health_check=list(HealthCheck))  # fmt: skip
def test_every_operation_answers_as_documented_and_never_with_a_server_error(
    case: Any, caller: str, world: World, session: TestClient
) -> None:
    headers = _credentials(world, caller)
    response = session.request(**case.as_transport_kwargs(headers=headers))
    case.validate_response(response, checks=CHECKS)


_issued: dict[tuple[int, str], dict[str, str]] = {}


def _credentials(world: World, caller: str) -> dict[str, str]:
    """One set of credentials per world and caller (issuing an API key revokes the previous one)."""
    key = (id(world), caller)
    if key not in _issued:
        _issued[key] = world.headers(caller)
    return _issued[key]
