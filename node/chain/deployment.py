"""Deploy the registry (implementation + ERC-1967 proxy) once per chain and remember where it is.

The manifest ``<data dir>/deployments/<chain id>.json`` records the addresses, the deploy block (where
indexers start), the compiler and the build's input hash. ``ensure_deployed`` reuses a manifest whose proxy
still has code, so a restarted node keeps its contracts (upgraded to the sources it was built from when it may);
a wiped chain gets a fresh deployment.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from eth_abi.abi import encode
from eth_utils.address import to_checksum_address

from node.chain.client import ChainClient
from node.chain.compiler import Artifact
from node.chain.registry import Registry
from node.chain.types import country_bytes

IMPLEMENTATION = "CarbonRegistry"
PROXY = "RegistryProxy"
logger = logging.getLogger("registry.deployment")


@dataclass(frozen=True)
class Deployment:
    """Where the registry lives on one chain."""

    chain_id: int
    registry: str
    implementation: str
    deploy_block: int
    deploy_tx: str
    compiler: str
    input_hash: str
    admin: str
    registrar: str
    pauser: str
    country: str
    government_account: int
    deployed_at: float

    @classmethod
    def load(cls, path: Path) -> Deployment:
        return cls(**json.loads(path.read_text()))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        tmp.replace(path)


def manifest_path(data_dir: Path, chain_id: int) -> Path:
    return data_dir / "deployments" / f"{chain_id}.json"


def deploy_registry(
    client: ChainClient,
    artifacts: dict[str, Artifact],
    *,
    country: str,
    government_account: int,
    admin: str | None = None,
    pauser: str | None = None,
    input_hash: str = "",
) -> Deployment:
    """Deploys a new implementation and a proxy initialised with the given roles, country and Government."""
    implementation = artifacts[IMPLEMENTATION]
    admin = to_checksum_address(admin or client.address)
    pauser = to_checksum_address(pauser or client.address)
    impl_address, _ = client.deploy(implementation.bytecode)
    impl_contract = client.contract(impl_address, implementation.abi)
    init = impl_contract.encode_abi(
        "initialize", args=[admin, client.address, pauser, country_bytes(country), government_account]
    )
    constructor = encode(["address", "bytes"], [impl_address, bytes.fromhex(init[2:])])
    proxy_address, proxy_receipt = client.deploy(artifacts[PROXY].bytecode, "0x" + constructor.hex())
    return Deployment(
        chain_id=client.chain_id,
        registry=proxy_address,
        implementation=impl_address,
        deploy_block=int(proxy_receipt["blockNumber"]),
        deploy_tx=proxy_receipt["transactionHash"].to_0x_hex(),
        compiler=json.loads(implementation.metadata)["compiler"]["version"],
        input_hash=input_hash,
        admin=admin,
        registrar=client.address,
        pauser=pauser,
        country=country,
        government_account=government_account,
        deployed_at=time.time(),
    )


def has_code(client: ChainClient, address: str) -> bool:
    return len(client.rpc(lambda: client.w3.eth.get_code(to_checksum_address(address)))) > 0


def ensure_deployed(
    client: ChainClient,
    artifacts: dict[str, Artifact],
    data_dir: Path,
    *,
    country: str,
    government_account: int,
    admin: str | None = None,
    pauser: str | None = None,
    input_hash: str = "",
) -> tuple[Deployment, bool]:
    """The chain's deployment, deploying first if there is none. Returns it and whether it is new.

    When the contract sources changed since the deployment (``input_hash``) and the node's key is the registry's
    admin (a local chain), the proxy is upgraded to the new implementation, keeping every programme and credit:
    a node updated to a new release then speaks the ABI it was built with. With another admin (a governance
    multisig on a shared chain), the upgrade is theirs to make; the node says so and goes on.
    """
    path = manifest_path(data_dir, client.chain_id)
    if path.is_file():
        existing = Deployment.load(path)
        if has_code(client, existing.registry):
            if not input_hash or existing.input_hash == input_hash:
                return existing, False
            if existing.admin.lower() != str(client.address).lower():
                logger.warning("the registry contract sources changed since deployment, but its admin %s is not "
                               "this node's key: ask the admin to upgrade it (ADR 0004)", existing.admin)  # fmt: skip
                return existing, False
            upgraded = replace(upgrade_registry(client, existing, artifacts[IMPLEMENTATION]), input_hash=input_hash)
            upgraded.save(path)
            logger.info("registry %s upgraded to implementation %s", upgraded.registry, upgraded.implementation)
            return upgraded, False
    deployment = deploy_registry(
        client,
        artifacts,
        country=country,
        government_account=government_account,
        admin=admin,
        pauser=pauser,
        input_hash=input_hash,
    )
    deployment.save(path)
    return deployment, True


def upgrade_registry(client: ChainClient, deployment: Deployment, implementation: Artifact) -> Deployment:
    """Deploys ``implementation`` and points the proxy at it (``upgradeToAndCall``; admin role required)."""
    new_impl, _ = client.deploy(implementation.bytecode)
    registry = Registry(client, deployment.registry, implementation.abi)
    client.transact(registry.contract, "upgradeToAndCall", new_impl, b"")
    return Deployment(**{**asdict(deployment), "implementation": new_impl})
