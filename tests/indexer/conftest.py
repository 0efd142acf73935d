"""Indexer fixtures: an empty ``chain`` schema per test, and an indexer bound to the session's registry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, text

from indexer.rpc import ChainReader
from indexer.runner import Indexer, IndexerConfig
from node.chain.compiler import Artifact
from node.chain.deployment import Deployment
from node.db.engine import make_engine
from node.models import chain


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clean_chain_schema(engine: Engine) -> None:
    names = ", ".join(f"chain.{t.name}" for t in chain.SCHEMA_TABLES)
    with engine.begin() as conn:
        conn.execute(text(f"truncate {names} cascade"))


@pytest.fixture
def make_indexer(engine: Engine, anvil_url: str, deployment: Deployment, artifacts: dict[str, Artifact],
                 clean_chain_schema: None, chain_snapshot: None):  # type: ignore[no-untyped-def]
    def build(**config: object) -> Indexer:
        return Indexer(engine, ChainReader(anvil_url), address=deployment.registry,
                       abi=artifacts["CarbonRegistry"].abi, deploy_block=deployment.deploy_block,
                       config=IndexerConfig(**config))  # type: ignore[arg-type]  # fmt: skip

    return build


@pytest.fixture
def indexer(make_indexer) -> Indexer:  # type: ignore[no-untyped-def]
    return make_indexer()  # type: ignore[no-any-return]


@pytest.fixture
def db(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        yield conn
