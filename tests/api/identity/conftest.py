"""One populated registry per test module: the chain is snapshotted around it, the app schema emptied first."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from node.chain.client import ChainClient
from node.chain.compiler import Artifact
from node.chain.deployment import Deployment
from node.chain.registry import Registry
from node.config import Settings
from node.context import NodeContext
from tests.api.conftest import empty_app, make_settings
from tests.api.identity.world import World, build_world


@pytest.fixture(scope="module")
def module_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("identity") / "data")


@pytest.fixture(scope="module")
def module_registry(client: ChainClient, deployment: Deployment, artifacts: dict[str, Artifact]) -> Iterator[Registry]:
    snapshot = client.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    yield Registry(client, deployment.registry, artifacts["CarbonRegistry"].abi)
    client.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def world(engine: Engine, module_settings: Settings, module_registry: Registry) -> World:
    empty_app(engine)
    return build_world(engine, module_settings, module_registry)


@pytest.fixture(scope="module")
def app_client(world: World, client: ChainClient, deployment: Deployment) -> Iterator[TestClient]:
    context = NodeContext(world.settings, world.engine, client, deployment, world.registry)
    with TestClient(create_app(context)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def files_dir(module_settings: Settings) -> Path:
    return module_settings.files_dir
