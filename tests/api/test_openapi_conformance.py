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
from collections.abc import Iterator
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
from node.chain.compiler import Artifact
from node.chain.deployment import Deployment
from node.chain.registry import Registry
from node.config import Settings
from node.context import NodeContext
from tests.api.identity.world import World, build_world
from tests.api.programmes.conftest import indexer_thread

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "12"))
LONG_RUN = "SCHEMATHESIS_MAX_EXAMPLES" in os.environ
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]  # fmt: skip


@pytest.fixture
def world(settings: Settings, engine: Engine, registry: Registry, empty_app_schema: None) -> World:
    return build_world(engine, settings, registry)


@pytest.fixture
def indexing(database_url: str, engine: Engine, anvil_url: str, deployment: Deployment,
             artifacts: dict[str, Artifact]) -> Iterator[None]:  # fmt: skip
    """Writes answer once indexed (ADR 0014), so the app runs with its indexer, as under ``registry up``."""
    with indexer_thread(database_url, engine, anvil_url, deployment, artifacts):
        yield


@pytest.fixture
def app(settings: Settings, engine: Engine, client: ChainClient, deployment: Deployment, registry: Registry,
        world: World, indexing: None) -> Iterator[FastAPI]:  # fmt: skip
    omge_rate = registry.omge_rate()
    yield create_app(NodeContext(settings, engine, client, deployment, registry))
    # The run may have changed registry-wide settings on chain; later tests share this chain.
    if registry.view("paused"):
        registry.unpause_transfers(os.urandom(32))
    if registry.omge_rate() != omge_rate:
        registry.set_omge_rate(omge_rate, os.urandom(32))


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

    Operations with ids in their path run twice: with generated ids (mostly unknown: 404s) and with the ids of the
    world's real organisations and users, so suspensions, logos, keys and invitations are reached for real.
    (Driven by hand rather than with ``schema.parametrize``: schemathesis' pytest plugin does not run on pytest 9.)
    """
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    results = list(schema.get_all_operations())
    invalid = [result.err() for result in results if isinstance(result, Err)]
    assert not invalid, invalid  # the document itself is valid OpenAPI
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    run = _Run(world, caller)
    for operation in operations:
        for path_parameters in [None, *_known_ids(world, operation.path)]:
            run.operation(operation, mode, path_parameters)
    print(f"schemathesis {caller}/{mode.value}: {len(operations)} operations, {run.requests} requests, "
          f"{len(run.failures)} failing; statuses {dict(sorted(run.statuses.items()))}")  # fmt: skip
    assert len(operations) >= 23
    assert not run.failures, "\n\n".join(f"{label}\n{failure}" for label, failure in run.failures.items())
    if caller != "anonymous":  # the authenticated runs must reach the endpoints, not stop at authentication
        assert sum(count for status, count in run.statuses.items() if status < 300) >= 10, run.statuses


class _Run:
    def __init__(self, world: World, caller: str) -> None:
        self.world, self.caller = world, caller
        self.headers = world.headers(caller)
        self.failures: dict[str, str] = {}
        self.statuses: Counter[int] = Counter()
        self.requests = 0

    def operation(self, operation: Any, mode: GenerationMode, path_parameters: dict[str, int] | None) -> None:
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

        @HYPOTHESIS
        @given(case=strategy)
        def check(case: Any) -> None:
            self.requests += 1
            if self.headers:  # the caller's own credentials replace random ones generated from the security schemes
                case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() not in CREDENTIAL_HEADERS}
            response = case.call_and_validate(headers=self.headers, checks=CHECKS)
            self.statuses[response.status_code] += 1
            if self.headers and response.status_code == 401:  # e.g. the API key revoked itself: issue a new one
                self.headers = self.world.headers(self.caller)

        label = operation.label + (f" {path_parameters}" if path_parameters else "")
        try:
            check()
        except Unsatisfiable:  # nothing to make invalid (an operation without parameters or body)
            assert mode is GenerationMode.NEGATIVE, label
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - report every failing operation
            self.failures[label] = f"{type(exc).__name__}: {exc}"


def _known_ids(world: World, path: str) -> list[dict[str, int]]:
    """Real targets for the ids in ``path``: a certifier (suspending it revokes certifications) and the API
    organisation; a Government user (Root may act on them), a developer's user and the API key's own holder."""
    known = {
        "organisation_id": [world.certifier, world.api_org],
        "user_id": [world.members[m].user_id for m in ("gov_viewonly", "dev_viewonly", "api_key")],
    }
    names = [name for name in known if "{" + name + "}" in path]
    if len(names) != 1:
        return []
    return [{names[0]: value} for value in known[names[0]]]
