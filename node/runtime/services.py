"""Bring up the database and the chain the node needs, embedded or external, and the deployed registry.

Shared by ``registry up`` (which then serves the API) and ``registry deploy``. ``up`` passes its ``RunFile``
so that each child it starts is recorded for the clean-up after a crash (see ``node.runtime.runfile``).
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass

from node.chain.client import ChainClient
from node.chain.compiler import collect_sources, compile_contracts, input_hash, standard_input
from node.chain.deployment import Deployment, ensure_deployed
from node.config import Settings
from node.db import migrate
from node.db.embedded import EmbeddedPostgres
from node.runtime.anvil import AnvilError, AnvilProcess
from node.runtime.runfile import ANVIL, POSTGRES, RunFile

logger = logging.getLogger("registry.runtime")


@dataclass(frozen=True)
class Endpoints:
    database_url: str
    rpc_url: str


def start_database(settings: Settings, stack: ExitStack, run: RunFile | None = None) -> str:
    """``DATABASE_URL``, or an embedded server in the data directory (stopped when ``stack`` closes)."""
    if settings.database_url:
        return settings.database_url
    embedded = EmbeddedPostgres(settings.data_dir / "postgres")
    url = embedded.start()
    stack.callback(embedded.stop)
    postmaster = embedded.postmaster()
    if run is not None and postmaster is not None:
        run.record(POSTGRES, postmaster, root=str(embedded.root))
    logger.info("embedded PostgreSQL running in %s", embedded.root)
    return url


def start_chain(settings: Settings, stack: ExitStack, run: RunFile | None = None) -> str:
    """``CHAIN_RPC_URL``, or a local Anvil persisting its state in the data directory.

    With ``run`` (``registry up``), Anvil also gets SIGTERM from the kernel if this process dies.
    """
    if settings.chain_rpc_url:
        return settings.chain_rpc_url
    home = settings.data_dir / "anvil"
    anvil = AnvilProcess(
        port=settings.anvil_port, home=home, state_file=home / "state.json", die_with_parent=run is not None
    )
    if anvil.is_ready():
        raise AnvilError(
            f"Port {settings.anvil_port} already answers JSON-RPC: set ANVIL_PORT to a free port, or point "
            f"CHAIN_RPC_URL at that chain."
        )
    anvil.start()
    stack.callback(anvil.stop)
    identity = anvil.identity()
    if run is not None and identity is not None:
        run.record(ANVIL, identity, url=anvil.url)
    logger.info("local Anvil on %s, state in %s", anvil.url, anvil.state_file)
    return anvil.url


def running_chain(settings: Settings) -> str:
    """``CHAIN_RPC_URL``, or the local Anvil of a running ``registry up`` (for index/reconcile processes)."""
    if settings.chain_rpc_url:
        return settings.chain_rpc_url
    anvil = AnvilProcess(port=settings.anvil_port, home=settings.data_dir / "anvil")
    if not anvil.is_ready():
        raise AnvilError(f"No chain on port {settings.anvil_port}: start `registry up` or set CHAIN_RPC_URL.")
    return anvil.url


def deploy(settings: Settings, rpc_url: str) -> tuple[Deployment, bool]:
    """Compiles if needed and deploys the registry unless this chain already has it."""
    artifacts = compile_contracts()
    client = ChainClient(rpc_url, settings.operator_key(), lock_dir=settings.data_dir / "locks")
    return ensure_deployed(
        client,
        artifacts,
        settings.data_dir,
        country=settings.registry_country,
        government_account=settings.registry_government_account,
        admin=settings.registry_admin_address,
        pauser=settings.registry_pauser_address,
        input_hash=input_hash(standard_input(collect_sources())),
    )


def start_services(settings: Settings, stack: ExitStack, run: RunFile | None = None) -> Endpoints:
    """Database (migrated) and chain (registry deployed), ready for the API and other workers."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database_url = start_database(settings, stack, run)
    migrate.upgrade(database_url)
    rpc_url = start_chain(settings, stack, run)
    deployment, created = deploy(settings, rpc_url)
    logger.info(
        "registry %s at %s on chain %s (block %s)",
        "deployed" if created else "found",
        deployment.registry,
        deployment.chain_id,
        deployment.deploy_block,
    )
    return Endpoints(database_url=database_url, rpc_url=rpc_url)
