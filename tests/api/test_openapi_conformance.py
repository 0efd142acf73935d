"""Schemathesis over the whole OpenAPI document: every documented operation, as an anonymous caller, as Root and
with an API key, with valid and invalid input. Every answer must be a documented status with a documented content
type and a body matching its schema, and never a server error.

The operations come from ``/openapi.json`` itself, so endpoints added later are covered without touching this
file. CI runs a bounded number of examples per operation; ``SCHEMATHESIS_MAX_EXAMPLES=500`` (and optionally
``SCHEMATHESIS_SEED``) runs a long, randomised campaign.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err, Ok
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


CREDENTIAL_HEADERS = {"authorization", "api-key", "api_key"}
HYPOTHESIS = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=not LONG_RUN, database=None,
                      suppress_health_check=list(HealthCheck))  # fmt: skip


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("caller", ["anonymous", "root", "api_key"])
def test_every_operation_answers_as_documented_and_never_with_a_server_error(
    caller: str, mode: GenerationMode, world: World, app: FastAPI
) -> None:
    """Runs every operation of the document as ``caller`` with ``mode`` examples; lists every operation that failed.

    (Driven by hand rather than with ``schema.parametrize``: schemathesis' pytest plugin does not run on pytest 9.)
    """
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = _credentials(world, caller)
    failures: dict[str, str] = {}
    requests = 0
    statuses: Counter[int] = Counter()
    results = list(schema.get_all_operations())
    invalid = [result.err() for result in results if isinstance(result, Err)]
    assert not invalid, invalid  # the document itself is valid OpenAPI
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    for operation in operations:

        @HYPOTHESIS
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case: Any) -> None:
            nonlocal requests
            requests += 1
            if headers:  # the caller's own credentials replace the random ones generated from the security schemes
                case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() not in CREDENTIAL_HEADERS}
            statuses[case.call_and_validate(headers=headers, checks=CHECKS).status_code] += 1

        try:
            check()
        except Unsatisfiable:  # nothing to make invalid (an operation without parameters or body)
            assert mode is GenerationMode.NEGATIVE, operation.label
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - report every failing operation
            failures[operation.label] = f"{type(exc).__name__}: {exc}"
    print(f"schemathesis {caller}/{mode.value}: {len(operations)} operations, {requests} requests, "
          f"{len(failures)} failing; statuses {dict(sorted(statuses.items()))}")  # fmt: skip
    assert len(operations) >= 23
    assert not failures, "\n\n".join(f"{label}\n{failure}" for label, failure in failures.items())


_issued: dict[tuple[int, str], dict[str, str]] = {}


def _credentials(world: World, caller: str) -> dict[str, str]:
    """One set of credentials per world and caller (issuing an API key revokes the previous one)."""
    key = (id(world), caller)
    if key not in _issued:
        _issued[key] = world.headers(caller)
    return _issued[key]
