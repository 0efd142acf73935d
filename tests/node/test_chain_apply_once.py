"""``apply_once`` (node/intents.py) counts a retry as done, never a request reference reused by another call.

Issue 9: a reference bound to nothing made ``transfer(..., R)`` after ``freezeAccount(777, R)`` look "already
applied", so an intent completed without its transfer. The contract now tells a retry (same call) from a reuse
(another call, ADR 0012), and the node must let the reuse through as an error.
"""

from __future__ import annotations

import pytest

from node.chain.errors import ContractRevert, RequestAlreadyApplied, RequestReferenceReused, class_for
from node.chain.registry import Registry
from node.intents import Refused, apply_once
from tests.conftest import authorised_programme, ref
from tests.contracts.helpers import balance


def test_reused_reference_is_its_own_conflict_not_already_applied() -> None:
    assert class_for("RegistryRequestReferenceReused") is RequestReferenceReused
    assert not issubclass(RequestReferenceReused, RequestAlreadyApplied)
    assert not issubclass(RequestAlreadyApplied, RequestReferenceReused)
    error = RequestReferenceReused(
        "RegistryRequestReferenceReused", {"requestRef": "0x" + "ab" * 32, "appliedCallDigest": "0x" + "cd" * 32}
    )
    assert error.status_code == 409
    assert error.problem_type == "registry-request-reference-reused"
    assert "0x" + "ab" * 32 in error.detail
    assert "different call" in error.detail


def test_apply_once_does_not_swallow_a_reused_reference(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=10)
    request = ref()
    registry.freeze(777, request)

    with pytest.raises(RequestReferenceReused) as info:
        apply_once(registry.transfer, pid, 10, 20, 4, request)
    assert info.value.arguments["requestRef"] == "0x" + request.hex()

    with pytest.raises(Refused) as refused:  # an intent's first write: abandoned, with the reuse as the cause
        apply_once(registry.transfer, pid, 10, 20, 4, request, first=True)
    assert isinstance(refused.value.cause, RequestReferenceReused)

    assert (balance(registry, pid, 10), balance(registry, pid, 20)) == (10, 0)


def test_apply_once_counts_a_retry_of_the_same_call_as_done(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=10)
    request = ref()
    registry.transfer(pid, 10, 20, 4, request)
    apply_once(registry.transfer, pid, 10, 20, 4, request)
    apply_once(registry.transfer, pid, 10, 20, 4, request, first=True)
    assert (balance(registry, pid, 10), balance(registry, pid, 20)) == (6, 4)


def test_apply_once_lets_other_refusals_through(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=10)
    with pytest.raises(ContractRevert) as info:
        apply_once(registry.transfer, pid, 10, 20, 11, ref())
    assert info.value.error_name == "CreditsInsufficientBalance"
