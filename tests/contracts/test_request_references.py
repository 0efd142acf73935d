"""A request reference is accepted once, ever, and bound to the call it was applied to (ADR 0005, ADR 0012).

The same call again under a used reference is a retry (``RegistryRequestAlreadyApplied``, success for the node); a
different call under it is refused (``RegistryRequestReferenceReused``) and changes nothing. Sequenced references
(ADR 0015) follow the same rule with two references per storage word.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_abi.abi import encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3.types import TxReceipt

from node.chain.registry import Registry
from node.chain.types import SEQUENCED_REF_TAG, RetirementInput, RetirementType, SequencedRefs, sequenced_ref
from tests.conftest import authorised_programme, create_programme, details_hash_of, programme_input, ref
from tests.contracts.helpers import balance, reverts

Write = Callable[[bytes], object]
"""One write with fixed arguments, waiting for its request reference."""
Prepare = Callable[[Registry, int], Write]
"""Sets up what a write needs (given a registry and an authorised programme holding 10 credits of account 10)."""

WRITES: dict[str, Prepare] = {
    "createProgramme": lambda r, pid: lambda x: r.create_programme(programme_input(external_id=f"X-{x.hex()[:16]}"), x),
    "authorise": lambda r, pid: (lambda fresh: lambda x: r.authorise(fresh, 0, x))(create_programme(r)),
    "reject": lambda r, pid: (lambda fresh: lambda x: r.reject(fresh, x))(create_programme(r)),
    "updateProgrammeDetails": lambda r, pid: lambda x: r.update_programme_details(pid, details_hash_of("v2"), x),
    "issue": lambda r, pid: lambda x: r.issue(pid, 1, x),
    "certify": lambda r, pid: lambda x: r.certify(pid, 50, x),
    "revokeCertification": lambda r, pid: (r.certify(pid, 51, ref()), lambda x: r.revoke_certification(pid, 51, x))[1],
    "transfer": lambda r, pid: lambda x: r.transfer(pid, 10, 20, 1, x),
    "retire": lambda r, pid: lambda x: r.retire(pid, 10, 1, RetirementInput(RetirementType.OTHER), x),
    "freezeAccount": lambda r, pid: lambda x: r.freeze(30, x),
    "unfreezeAccount": lambda r, pid: (r.freeze(31, ref()), lambda x: r.unfreeze(31, x))[1],
    "pauseTransfers": lambda r, pid: lambda x: r.pause_transfers(x),
    "unpauseTransfers": lambda r, pid: (r.pause_transfers(ref()), lambda x: r.unpause_transfers(x))[1],
    "setGovernmentAccount": lambda r, pid: lambda x: r.set_government_account(2, x),
    "setOmgeRate": lambda r, pid: lambda x: r.set_omge_rate(100, x),
}

NAMESPACE = 0x8531EC85E81808D3E2E11682E74E3BCA084FD6DAF11FAB278875EA6F5E9AED00
"""ERC-7201 slot of ``RegistryStorage``; fields: 0 packed scalars, 1 programmes, 2 programmeByExternalId, 3 blocks,
4 retirements, 5 frozen, 6 appliedRequests (legacy), 7 requestDigests, 8 sequencedDigests and 9 omgeBps (1.2.0)."""
APPLIED_REQUESTS, REQUEST_DIGESTS = NAMESPACE + 6, NAMESPACE + 7
SEQUENCED_DIGESTS, OMGE_BPS = NAMESPACE + 8, NAMESPACE + 9


def _slot(key: bytes, mapping_slot: int) -> int:
    return int.from_bytes(keccak(encode(["bytes32", "uint256"], [key, mapping_slot])))


def _calldata(registry: Registry, receipt: TxReceipt) -> bytes:
    return bytes(registry.client.w3.eth.get_transaction(receipt["transactionHash"])["input"])


def _storage(registry: Registry, slot: int) -> bytes:
    return bytes(registry.client.w3.eth.get_storage_at(to_checksum_address(registry.address), slot))


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def test_every_write_takes_a_reference_and_is_covered_here(registry: Registry) -> None:
    writes = {
        item["name"]
        for item in registry.contract.abi
        if item["type"] == "function"
        and item["stateMutability"] not in ("view", "pure")
        and any(i["name"] == "requestRef" for i in item["inputs"])
    }
    assert writes == set(WRITES)


# ---------------------------------------------------------------------------------------------------------- bound


def test_reference_of_a_freeze_cannot_apply_a_transfer(registry: Registry) -> None:
    """The reproduction of issue 9: a reference used by ``freezeAccount(777, R)`` made ``transfer(..., R)`` revert
    "already applied", which the node reads as done, so the transfer silently never happened."""
    pid = authorised_programme(registry, issue=10)
    request = ref()
    frozen = registry.freeze(777, request)
    freeze_digest = keccak(_calldata(registry, frozen))

    with reverts("RegistryRequestReferenceReused", requestRef=_hex(request), appliedCallDigest=_hex(freeze_digest)):
        registry.transfer(pid, 10, 20, 4, request)

    assert (balance(registry, pid, 10), balance(registry, pid, 20)) == (10, 0)
    assert registry.view("isFrozen", 777)
    assert registry.view("requestDigest", request) == freeze_digest


@pytest.mark.parametrize("name", sorted(WRITES))
def test_every_write_refuses_a_reference_used_by_another_call(registry: Registry, name: str) -> None:
    pid = authorised_programme(registry, issue=10, estimate=1000)
    write = WRITES[name](registry, pid)
    used = ref()
    digest = keccak(_calldata(registry, registry.freeze(777, used)))
    with reverts("RegistryRequestReferenceReused", requestRef=_hex(used), appliedCallDigest=_hex(digest)):
        write(used)


@pytest.mark.parametrize("name", sorted(WRITES))
def test_every_write_retried_with_its_reference_is_already_applied(registry: Registry, name: str) -> None:
    pid = authorised_programme(registry, issue=10, estimate=1000)
    write = WRITES[name](registry, pid)
    request = ref()
    receipt = write(request)
    assert registry.view("requestDigest", request) == keccak(_calldata(registry, receipt))  # type: ignore[arg-type]
    with reverts("RegistryRequestAlreadyApplied", requestRef=_hex(request)):
        write(request)


def test_same_function_with_other_arguments_is_another_call(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=10)
    request = ref()
    registry.transfer(pid, 10, 20, 4, request)
    for other in ((pid, 10, 20, 5), (pid, 10, 21, 4)):
        with reverts("RegistryRequestReferenceReused", requestRef=_hex(request)):
            registry.transfer(*other, request)
    assert (balance(registry, pid, 10), balance(registry, pid, 20), balance(registry, pid, 21)) == (6, 4, 0)


@pytest.mark.parametrize("name", sorted(WRITES))
def test_every_write_refuses_the_zero_reference(registry: Registry, name: str) -> None:
    pid = authorised_programme(registry, issue=10, estimate=1000)
    with reverts("RegistryInvalidRequestReference"):
        WRITES[name](registry, pid)(bytes(32))


def test_retried_transfer_applies_once(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=10)
    request = ref()
    registry.transfer(pid, 10, 20, 4, request)
    with reverts("RegistryRequestAlreadyApplied"):
        registry.transfer(pid, 10, 20, 4, request)
    assert (balance(registry, pid, 10), balance(registry, pid, 20)) == (6, 4)
    assert registry.view("isRequestApplied", request)


def test_retry_is_already_applied_whatever_changed_since(registry: Registry) -> None:
    """The reference check runs before any state check: a retry never gets the state's refusal instead."""
    pid = authorised_programme(registry, issue=10)
    request = ref()
    registry.transfer(pid, 10, 20, 10, request)
    registry.pause_transfers(ref())
    registry.freeze(10, ref())
    with reverts("RegistryRequestAlreadyApplied"):
        registry.transfer(pid, 10, 20, 10, request)


def test_reference_of_a_reverted_call_stays_usable(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=10)
    request = ref()
    with reverts("CreditsInsufficientBalance"):
        registry.transfer(pid, 10, 20, 11, request)
    assert not registry.view("isRequestApplied", request)
    assert registry.view("requestDigest", request) == bytes(32)
    registry.transfer(pid, 10, 20, 10, request)


def test_unused_reference_has_no_digest(registry: Registry) -> None:
    unused = ref()
    assert registry.view("requestDigest", unused) == bytes(32)
    assert not registry.view("isRequestApplied", unused)


# ---------------------------------------------------------------------------------------------------------- storage


def test_digest_is_stored_in_the_appended_field_and_legacy_field_stays_empty(registry: Registry) -> None:
    """ADR 0004: ``requestDigests`` is appended after ``appliedRequests``; one new slot per write, not two."""
    request = ref()
    receipt = registry.freeze(777, request)
    assert _storage(registry, _slot(request, REQUEST_DIGESTS)) == keccak(_calldata(registry, receipt))
    assert _storage(registry, _slot(request, APPLIED_REQUESTS)) == bytes(32)


def _mark_legacy(registry: Registry, request: bytes) -> None:
    """What implementation 1.0.0 left for an applied reference: ``appliedRequests[ref] = true``, no digest."""
    value: Any = _hex((1).to_bytes(32, "big"))
    registry.client.w3.provider.make_request(
        "anvil_setStorageAt",  # type: ignore[arg-type]
        [registry.address, hex(_slot(request, APPLIED_REQUESTS)), value],
    )


@pytest.mark.parametrize("name", sorted(WRITES))
def test_reference_applied_before_the_upgrade_is_applied_for_any_call(registry: Registry, name: str) -> None:
    pid = authorised_programme(registry, issue=10, estimate=1000)
    write = WRITES[name](registry, pid)
    legacy = ref()
    _mark_legacy(registry, legacy)
    assert registry.view("isRequestApplied", legacy)
    assert registry.view("requestDigest", legacy) == bytes(32)
    with reverts("RegistryRequestAlreadyApplied", requestRef=_hex(legacy)):
        write(legacy)
    assert registry.view("requestDigest", legacy) == bytes(32)


# ---------------------------------------------------------------------------------------------------------- sequenced


def _lane(calldata: bytes) -> bytes:
    """What a sequenced reference stores: the low 128 bits of the call digest, lowest bit set, as a bytes32."""
    return ((int.from_bytes(keccak(calldata)) & (2**128 - 1)) | 1).to_bytes(32, "big")


def test_sequenced_reference_layout() -> None:
    namespace = bytes(range(16))
    assert sequenced_ref(namespace, 5) == SEQUENCED_REF_TAG + namespace + (5).to_bytes(8, "big")
    refs = SequencedRefs(namespace, start=6)
    assert [refs(), refs()] == [sequenced_ref(namespace, 6), sequenced_ref(namespace, 7)]
    assert len(SequencedRefs().namespace) == 16
    with pytest.raises(ValueError, match="16 bytes"):
        sequenced_ref(b"short", 0)
    with pytest.raises(ValueError, match="uint64"):
        sequenced_ref(namespace, 2**64)


@pytest.mark.parametrize("name", sorted(WRITES))
def test_every_write_binds_a_sequenced_reference_to_its_call(registry: Registry, name: str) -> None:
    pid = authorised_programme(registry, issue=10, estimate=1000)
    write = WRITES[name](registry, pid)
    refs = SequencedRefs()
    request, reused = refs(), refs()
    receipt = write(request)
    assert registry.view("isRequestApplied", request)
    assert registry.view("requestDigest", request) == _lane(_calldata(registry, receipt))  # type: ignore[arg-type]
    with reverts("RegistryRequestAlreadyApplied", requestRef=_hex(request)):
        write(request)
    lane = _lane(_calldata(registry, registry.freeze(777, reused)))
    with reverts("RegistryRequestReferenceReused", requestRef=_hex(reused), appliedCallDigest=_hex(lane)):
        write(reused)


def test_two_sequenced_references_share_one_storage_word(registry: Registry) -> None:
    refs = SequencedRefs(start=10)
    first, second, third = refs(), refs(), refs()
    assert not registry.view("isRequestApplied", second)
    one = _calldata(registry, registry.freeze(777, first))
    assert not registry.view("isRequestApplied", second), "the other lane of the word is still free"
    two = _calldata(registry, registry.freeze(778, second))
    word = _storage(registry, _slot(first, SEQUENCED_DIGESTS))
    assert word[16:] == _lane(one)[16:], "lane 0: the low 128 bits"
    assert word[:16] == _lane(two)[16:], "lane 1: the high 128 bits"
    assert _storage(registry, _slot(second[:-1] + bytes([second[-1] & 0xFE]), SEQUENCED_DIGESTS)) == word
    assert _storage(registry, _slot(first, REQUEST_DIGESTS)) == bytes(32), "no full digest for sequenced references"
    assert not registry.view("isRequestApplied", third)
    registry.freeze(779, third)  # the next pair's word
    assert _storage(registry, _slot(third, SEQUENCED_DIGESTS)) != bytes(32)


def test_second_reference_of_a_pair_pays_no_new_slot(registry: Registry) -> None:
    def execution_gas(receipt: TxReceipt) -> int:
        """Gas beyond the transaction's intrinsic cost (21,000 and 4 or 16 per calldata byte)."""
        calldata = _calldata(registry, receipt)
        return int(receipt["gasUsed"]) - 21_000 - sum(4 if b == 0 else 16 for b in calldata)

    refs = SequencedRefs()
    first = execution_gas(registry.freeze(777, refs()))
    second = execution_gas(registry.freeze(778, refs()))
    random = execution_gas(registry.freeze(779, ref()))
    assert first - second == 22_100 - 5_000  # a new slot against a rewritten one, both cold
    assert abs(random - first - 2_100) < 50  # a random reference also reads the legacy mapping (plus a few opcodes)


def test_a_sequenced_reference_reverted_stays_usable_and_leaves_its_partner_alone(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=10)
    refs = SequencedRefs()
    first, second = refs(), refs()
    with reverts("CreditsInsufficientBalance"):
        registry.transfer(pid, 10, 20, 11, first)
    assert not registry.view("isRequestApplied", first)
    registry.transfer(pid, 10, 20, 4, second)
    registry.transfer(pid, 10, 20, 6, first)
    assert (balance(registry, pid, 10), balance(registry, pid, 20)) == (0, 10)


def test_omge_rate_is_stored_in_the_appended_field(registry: Registry) -> None:
    registry.set_omge_rate(123, ref())
    assert int.from_bytes(_storage(registry, OMGE_BPS)) == 123
