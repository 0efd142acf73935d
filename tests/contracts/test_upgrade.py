"""The registry is upgradeable (UUPS, admin only) without losing any programme, block or balance."""

from __future__ import annotations

from typing import Any

from eth_abi.abi import encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from node.chain.compiler import Artifact
from node.chain.deployment import Deployment, upgrade_registry
from node.chain.registry import Registry
from node.chain.types import RetirementInput, RetirementType, SequencedRefs
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
    state["omge"] = registry.view("omgeRate")
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
    registry.set_omge_rate(200, ref())
    registry.retire(a, 11, 7, RetirementInput(RetirementType.CROSS_BORDER, "CH", "Buyer", 200), ref())
    sequenced = SequencedRefs()
    registry.transfer(b, 10, 30, 1, sequenced())  # merged into 30's block; first lane of a word
    registry.freeze(30, ref())
    registry.update_programme_details(b, details_hash_of("b, revision 2"), ref())
    used = ref()
    registry.pause_transfers(used)
    lane_used = sequenced()
    registry.freeze(31, lane_used)
    before = _state(registry)
    digest = registry.view("requestDigest", used)
    assert digest != bytes(32)
    assert before[f"p{b}/30"] == (10, [(1001, 1010, b, 30, 1, 0)])

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
    assert probe.view("isRequestApplied", lane_used)
    with reverts("RegistryRequestAlreadyApplied"):
        probe.freeze(31, lane_used)
    probe.transfer(b, 10, 30, 1, sequenced())  # the word's other lane, written by the new implementation
    assert probe.blocks_of(b, 30) == [(1001, 1011, b, 30, 1, 0)]
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
    assert registry.view("version") == "1.2.0"


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


NAMESPACE = 0x8531EC85E81808D3E2E11682E74E3BCA084FD6DAF11FAB278875EA6F5E9AED00
PROGRAMMES = NAMESPACE + 1
HOLDINGS_FIELD = 8
"""``Programme.holdings`` is the programme's ninth slot: 0-1 scalars, 2 creditUnit, 3 externalId, 4 owners,
5 sharesPpm, 6 certifiers, 7 certifierIndex, 8 holdings, 9 detailsHash."""


def _holding_slot(programme_id: int, account: int) -> int:
    base = int.from_bytes(keccak(encode(["uint40", "uint256"], [programme_id, PROGRAMMES])))
    return int.from_bytes(keccak(encode(["uint40", "uint256"], [account, base + HOLDINGS_FIELD])))


def test_a_list_written_by_1_1_0_without_tail_prev_still_merges(registry: Registry) -> None:
    """1.1.0 kept no ``tailPrev`` (the holding slot's high 64 bits were zero): merging into the last block of such a
    list finds the block before it by walking the list once, and records it."""
    pid = authorised_programme(registry, issue=10, owners=(10, 11), estimate=100)
    registry.issue(pid, 10, ref())
    registry.issue(pid, 10, ref())  # 10: 1-5, 11-15, 21-25
    slot = _holding_slot(pid, 10)
    stored = registry.client.w3.eth.get_storage_at(to_checksum_address(registry.address), slot)
    assert int.from_bytes(stored[:8]) == 15, "tailPrev is the high 64 bits of the holding slot"
    legacy = bytes(8) + bytes(stored)[8:]
    params: Any = [registry.address, hex(slot), "0x" + legacy.hex()]
    registry.client.w3.provider.make_request("anvil_setStorageAt", params)  # type: ignore[arg-type]
    registry.transfer(pid, 11, 10, 5, ref())  # 6-10 joins 1-5 and 11-15
    registry.transfer(pid, 11, 12, 5, ref())  # 16-20 elsewhere
    registry.transfer(pid, 11, 10, 5, ref())  # 26-30 continues the last block, 21-25: needs the block before it
    assert [(b[0], b[1]) for b in registry.blocks_of(pid, 10)] == [(1, 15), (21, 30)]
    stored = registry.client.w3.eth.get_storage_at(to_checksum_address(registry.address), slot)
    assert int.from_bytes(stored[:8]) == 15, "tailPrev found and recorded"
    registry.transfer(pid, 12, 10, 5, ref())
    assert [(b[0], b[1]) for b in registry.blocks_of(pid, 10)] == [(1, 30)]
