"""Everything a running process needs to reach the database and the registry contract."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from node.chain.client import ChainClient
from node.chain.compiler import load_artifacts
from node.chain.deployment import Deployment, manifest_path
from node.chain.registry import Registry
from node.config import Settings
from node.db.engine import make_engine


class NotDeployed(RuntimeError):
    """No deployment manifest for the chain: run `registry deploy` (or `registry up`) first."""


@dataclass
class NodeContext:
    settings: Settings
    engine: Engine
    client: ChainClient
    deployment: Deployment
    registry: Registry

    @classmethod
    def connect(cls, settings: Settings, *, database_url: str, rpc_url: str) -> NodeContext:
        """Binds to a running database and chain whose registry is already deployed."""
        client = ChainClient(
            rpc_url,
            settings.operator_key(),
            lock_dir=settings.data_dir / "locks",
            receipt_timeout=settings.chain_receipt_timeout,
        )
        path = manifest_path(settings.data_dir, client.chain_id)
        if not path.is_file():
            raise NotDeployed(f"No registry deployment recorded at {path}; run `registry deploy` first.")
        deployment = Deployment.load(path)
        abi = load_artifacts()["CarbonRegistry"].abi
        return cls(settings, make_engine(database_url), client, deployment, Registry(client, deployment.registry, abi))
