"""Deployment is idempotent per chain, recorded in a manifest, and refuses bad initial settings."""

from __future__ import annotations

import json
from pathlib import Path

from node.chain.client import ChainClient
from node.chain.compiler import Artifact
from node.chain.deployment import Deployment, deploy_registry, ensure_deployed, manifest_path
from node.chain.registry import Registry
from tests.contracts.helpers import reverts


def test_deploy_writes_manifest_and_second_deploy_reuses_it(
    client: ChainClient, artifacts: dict[str, Artifact], tmp_path: Path, chain_snapshot: None
) -> None:
    first, created = ensure_deployed(client, artifacts, tmp_path, country="KE", government_account=7)
    again, created_again = ensure_deployed(client, artifacts, tmp_path, country="KE", government_account=7)
    assert (created, created_again) == (True, False)
    assert again == first
    manifest = json.loads(manifest_path(tmp_path, 31337).read_text())
    assert manifest["registry"] == first.registry
    assert manifest["deploy_block"] == first.deploy_block
    assert manifest["compiler"].startswith("0.8.37")
    registry = Registry(client, first.registry, artifacts["CarbonRegistry"].abi)
    assert registry.view("country") == b"KE"
    assert registry.view("governmentAccount") == 7


def test_manifest_without_code_on_chain_is_redeployed(
    client: ChainClient, artifacts: dict[str, Artifact], tmp_path: Path, chain_snapshot: None
) -> None:
    stale = Deployment(chain_id=31337, registry="0x" + "12" * 20, implementation="0x" + "34" * 20, deploy_block=1,
                       deploy_tx="0x", compiler="", input_hash="", admin="", registrar="", pauser="", country="NG",
                       government_account=1, deployed_at=0.0)  # fmt: skip
    stale.save(manifest_path(tmp_path, 31337))
    fresh, created = ensure_deployed(client, artifacts, tmp_path, country="NG", government_account=1)
    assert created
    assert fresh.registry != stale.registry
    assert Deployment.load(manifest_path(tmp_path, 31337)) == fresh


def test_deploy_refuses_government_account_zero(
    client: ChainClient, artifacts: dict[str, Artifact], chain_snapshot: None
) -> None:
    with reverts("RegistryInvalidAccount", account=0):
        deploy_registry(client, artifacts, country="NG", government_account=0)


def test_deploy_refuses_malformed_country(
    client: ChainClient, artifacts: dict[str, Artifact], chain_snapshot: None
) -> None:
    with reverts("ProgrammeInvalidCountry"):
        deploy_registry(client, artifacts, country="n1", government_account=1)


def test_admin_and_pauser_can_be_other_accounts(
    client: ChainClient, artifacts: dict[str, Artifact], chain_snapshot: None
) -> None:
    governance = "0x" + "ab" * 20
    deployment = deploy_registry(client, artifacts, country="NG", government_account=1, admin=governance,
                                 pauser=governance)  # fmt: skip
    registry = Registry(client, deployment.registry, artifacts["CarbonRegistry"].abi)
    admin_role, pauser_role = b"\0" * 32, registry.view("PAUSER_ROLE")
    assert registry.view("hasRole", admin_role, deployment.admin)
    assert not registry.view("hasRole", admin_role, client.address)
    assert not registry.view("hasRole", pauser_role, client.address)
    assert registry.view("hasRole", registry.view("REGISTRAR_ROLE"), client.address)


def test_changed_sources_upgrade_the_registry_in_place_when_the_node_is_its_admin(
    client: ChainClient, artifacts: dict[str, Artifact], tmp_path: Path, chain_snapshot: None
) -> None:
    first, _ = ensure_deployed(client, artifacts, tmp_path, country="KE", government_account=7, input_hash="old")
    upgraded, created = ensure_deployed(client, artifacts, tmp_path, country="KE", government_account=7,
                                        input_hash="new")  # fmt: skip
    assert not created
    assert upgraded.registry == first.registry
    assert upgraded.implementation != first.implementation
    assert Deployment.load(manifest_path(tmp_path, 31337)) == upgraded
    assert upgraded.input_hash == "new"
    registry = Registry(client, upgraded.registry, artifacts["CarbonRegistry"].abi)
    assert registry.view("country") == b"KE"  # state kept through the upgrade


def test_changed_sources_are_left_to_another_admin(
    client: ChainClient, artifacts: dict[str, Artifact], tmp_path: Path, chain_snapshot: None
) -> None:
    other = "0x" + "ab" * 20  # no key of ours
    first, _ = ensure_deployed(client, artifacts, tmp_path, country="KE", government_account=7, admin=other,
                               input_hash="old")  # fmt: skip
    again, _ = ensure_deployed(client, artifacts, tmp_path, country="KE", government_account=7, admin=other,
                               input_hash="new")  # fmt: skip
    assert again == first
