"""Freezing accounts (organisation suspension) and the registry-wide transfer pause."""

from __future__ import annotations

from node.chain.registry import Registry
from node.chain.types import RetirementInput, RetirementType
from tests.conftest import authorised_programme, ref
from tests.contracts.helpers import balance, reverts


def test_freeze_keeps_credits_and_unfreeze_restores_sending(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=10)
    receipt = registry.freeze(10, request := ref())
    args = registry.events(receipt, "AccountFrozen")[0]["args"]
    assert (args["account"], args["requestRef"]) == (10, request)
    assert registry.view("isFrozen", 10)
    assert balance(registry, pid, 10) == 10
    receipt = registry.unfreeze(10, ref())
    assert registry.events(receipt, "AccountUnfrozen")[0]["args"]["account"] == 10
    assert not registry.view("isFrozen", 10)
    registry.transfer(pid, 10, 20, 10, ref())
    assert balance(registry, pid, 20) == 10


def test_frozen_owner_still_receives_issuance(registry: Registry) -> None:
    pid = authorised_programme(registry, estimate=100)
    registry.freeze(10, ref())
    registry.issue(pid, 10, ref())
    assert balance(registry, pid, 10) == 10


def test_freeze_twice_is_refused(registry: Registry) -> None:
    registry.freeze(10, ref())
    with reverts("RegistryAccountFrozen", account=10):
        registry.freeze(10, ref())


def test_unfreeze_of_unfrozen_account_is_refused(registry: Registry) -> None:
    with reverts("RegistryAccountNotFrozen", account=10):
        registry.unfreeze(10, ref())


def test_freeze_account_zero_is_invalid(registry: Registry) -> None:
    with reverts("RegistryInvalidAccount", account=0):
        registry.freeze(0, ref())


def test_pause_blocks_transfers_and_retirements_but_not_issuance(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=10, estimate=100)
    receipt = registry.pause_transfers(request := ref())
    args = registry.events(receipt, "TransferPauseSet")[0]["args"]
    assert (args["paused"], args["requestRef"]) == (True, request)
    registry.issue(pid, 5, ref())
    with reverts("EnforcedPause"):
        registry.transfer(pid, 10, 20, 1, ref())
    with reverts("EnforcedPause"):
        registry.retire(pid, 10, 1, RetirementInput(RetirementType.OTHER), ref())
    assert registry.events(registry.unpause_transfers(ref()), "TransferPauseSet")[0]["args"]["paused"] is False


def test_pause_twice_and_unpause_when_running_are_refused(registry: Registry) -> None:
    with reverts("ExpectedPause"):
        registry.unpause_transfers(ref())
    registry.pause_transfers(ref())
    with reverts("EnforcedPause"):
        registry.pause_transfers(ref())


def test_government_account_zero_is_invalid(registry: Registry) -> None:
    with reverts("RegistryInvalidAccount", account=0):
        registry.set_government_account(0, ref())
