"""The registry is upgradeable (UUPS, admin only) without losing any programme, block or balance."""

from __future__ import annotations

from typing import Any

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from node.chain.compiler import Artifact
from node.chain.deployment import Deployment, upgrade_registry
from node.chain.registry import Registry
from node.chain.types import RetirementInput, RetirementType
from tests.conftest import authorised_programme, create_programme, details_hash_of, ref
from tests.contracts.helpers import reverts

IMPLEMENTATION_SLOT = int.from_bytes(keccak(text="eip1967.proxy.implementation")) - 1
ACCOUNTS = (10, 11, 20, 30, 1)


def _state(registry: Registry) -> dict[str, Any]:
    programme_count, _, retirement_count = registry.view("totals")
    state: dict[str, Any] = {"totals": registry.view("totals"), "gov": registry.view("governmentAccount")}
    for pid in range(1, programme_count + 1):
        state[f"p{pid}"] = registry.view("getProgramme", pid)
        for account in ACCOUNTS:
            state[f"p{pid}/{account}"] = (
                registry.view("balanceOf", pid, account),
                registry.blocks_of(pid, account),
            )
    for rid in range(1, retirement_count + 1):
        state[f"r{rid}"] = registry.view("getRetirement", rid)
    state["frozen"] = [registry.view("isFrozen", a) for a in ACCOUNTS]
    state["paused"] = registry.view("paused")
    return state


def test_upgrade_keeps_every_programme_block_and_balance(
    registry: Registry, deployment: Deployment, artifacts: dict[str, Artifact]
) -> None:
    a = authorised_programme(registry, issue=500, owners=(10, 11), shares=(700_000, 300_000), estimate=1000)
    b = authorised_programme(registry, issue=90, estimate=100)
    create_programme(registry)
    registry.certify(a, 50, ref())
    registry.transfer(a, 10, 20, 123, ref())
    registry.transfer(b, 10, 30, 9, ref())
    registry.retire(a, 11, 7, RetirementInput(RetirementType.CROSS_BORDER, "CH", "Buyer", 200), ref())
    registry.freeze(30, ref())
    registry.update_programme_details(b, details_hash_of("b, revision 2"), ref())
    used = ref()
    registry.pause_transfers(used)
    before = _state(registry)
    digest = registry.view("requestDigest", used)
    assert digest != bytes(32)

    upgraded = upgrade_registry(registry.client, deployment, artifacts["CarbonRegistryUpgradeProbe"])
    probe = Registry(registry.client, deployment.registry, artifacts["CarbonRegistryUpgradeProbe"].abi)

    assert upgraded.implementation != deployment.implementation
    slot = registry.client.w3.eth.get_storage_at(to_checksum_address(deployment.registry), IMPLEMENTATION_SLOT)
    assert slot[-20:].hex() == upgraded.implementation[2:].lower()
    assert probe.view("version") == "2.0.0-probe"
    assert probe.view("upgradeProbe") is True
    assert _state(probe) == before
    assert probe.view("isRequestApplied", used)
    assert probe.view("requestDigest", used) == digest
    assert probe.view("getProgramme", b)[-1] == details_hash_of("b, revision 2")
    assert probe.view("isCertifiedBy", a, 50)

    probe.unpause_transfers(ref())
    probe.transfer(a, 20, 21, 23, ref())
    assert probe.view("balanceOf", a, 21) == 23
    with reverts("RegistryRequestReferenceReused", appliedCallDigest="0x" + digest.hex()):
        probe.freeze(31, used)
    with reverts("RegistryRequestAlreadyApplied"):
        probe.pause_transfers(used)


def test_upgrade_by_non_admin_is_refused(
    registry: Registry, stranger: Registry, artifacts: dict[str, Artifact]
) -> None:
    probe, _ = stranger.client.deploy(artifacts["CarbonRegistryUpgradeProbe"].bytecode)
    with reverts("AccessControlUnauthorizedAccount"):
        stranger.client.transact(stranger.contract, "upgradeToAndCall", probe, b"")
    assert registry.view("version") == "1.1.0"


def test_upgrade_to_non_uups_contract_is_refused(registry: Registry, artifacts: dict[str, Artifact]) -> None:
    library, _ = registry.client.deploy(artifacts["Apportionment"].bytecode)
    with reverts("ERC1967InvalidImplementation"):
        registry.client.transact(registry.contract, "upgradeToAndCall", library, b"")


def test_implementation_cannot_be_initialised_directly(
    registry: Registry, deployment: Deployment, artifacts: dict[str, Artifact]
) -> None:
    implementation = registry.client.contract(deployment.implementation, artifacts["CarbonRegistry"].abi)
    with reverts("InvalidInitialization"):
        registry.client.transact(
            implementation,
            "initialize",
            registry.client.address,
            registry.client.address,
            registry.client.address,
            b"NG",
            1,
        )
