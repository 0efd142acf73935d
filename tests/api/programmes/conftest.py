"""One populated registry per module with the indexer running, so writes answer once indexed (read your writes)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, text

from indexer.rpc import ChainReader
from indexer.runner import Indexer, IndexerConfig
from node.chain.compiler import Artifact
from node.chain.deployment import Deployment
from node.chain.registry import Registry
from node.config import Settings
from node.db.engine import make_engine
from node.models import chain
from tests.api.conftest import empty_app, make_settings
from tests.api.identity.conftest import app_client, files_dir, module_registry
from tests.api.identity.world import World, build_world

__all__ = ["app_client", "files_dir", "module_registry"]  # shared with the identity tests: same app, same snapshot


def clear_chain_schema(engine: Engine) -> None:
    names = ", ".join(f"chain.{t.name}" for t in chain.SCHEMA_TABLES)
    with engine.begin() as conn:
        conn.execute(text(f"truncate {names} cascade"))


@pytest.fixture(scope="module")
def module_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("programmes") / "data", index_wait_seconds=20)


@pytest.fixture(scope="module")
def running_indexer(
    database_url: str, engine: Engine, anvil_url: str, deployment: Deployment, artifacts: dict[str, Artifact],
    module_registry: Registry,
) -> Iterator[Indexer]:  # fmt: skip
    """The real indexer loop in a thread, on an engine of its own, from an empty ``chain`` schema."""
    with indexer_thread(database_url, engine, anvil_url, deployment, artifacts) as indexer:
        yield indexer


@contextmanager
def indexer_thread(
    database_url: str, engine: Engine, anvil_url: str, deployment: Deployment, artifacts: dict[str, Artifact]
) -> Iterator[Indexer]:
    """Runs the indexer as ``registry up`` does, so API writes can answer once indexed; empties the ``chain``
    schema before (earlier tests' rows) and after (the chain may be reverted next)."""
    clear_chain_schema(engine)
    own = make_engine(database_url)
    indexer = Indexer(own, ChainReader(anvil_url), address=deployment.registry, abi=artifacts["CarbonRegistry"].abi,
                      deploy_block=deployment.deploy_block, config=IndexerConfig(poll_interval=0.02))  # fmt: skip
    stop = threading.Event()
    loop = threading.Thread(target=indexer.run, args=(stop,), name="test-indexer", daemon=True)
    loop.start()
    try:
        yield indexer
    finally:
        stop.set()
        loop.join(30)
        own.dispose()
        clear_chain_schema(engine)


@pytest.fixture(scope="module")
def world(engine: Engine, module_settings: Settings, module_registry: Registry, running_indexer: Indexer) -> World:
    empty_app(engine)
    return build_world(engine, module_settings, module_registry)
