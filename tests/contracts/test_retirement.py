"""Retirement moves blocks into the Government's retired accounts, a terminal state; OMGE gets its share."""

from __future__ import annotations

import pytest

from node.chain.registry import Registry
from node.chain.types import BlockState, RetirementInput, RetirementType
from tests.conftest import GOVERNMENT, authorised_programme, ref
from tests.contracts.helpers import balance, blocks, programme, reverts

CROSS_BORDER = RetirementInput(RetirementType.CROSS_BORDER, country="CH", beneficiary="Swiss Climate Foundation")
LEGAL = RetirementInput(RetirementType.LEGAL_ACTION)


def _block(registry: Registry, end: int) -> tuple[int, ...]:
    return tuple(registry.view("getBlock", end))


def test_cross_border_retirement_lands_in_international_account(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=100)
    receipt = registry.retire(pid, 10, 30, CROSS_BORDER, request := ref())
    args = registry.events(receipt, "CreditsRetired")[0]["args"]
    assert (args["programmeId"], args["from"], args["retirementId"], args["requestRef"]) == (pid, 10, 1, request)
    assert args["details"]["beneficiary"] == "Swiss Climate Foundation"
    assert args["details"]["country"] == b"CH"
    credits = args["credits"]
    assert (credits["governmentAccount"], credits["amount"], credits["omgeAmount"]) == (GOVERNMENT, 30, 0)
    assert [(m["start"], m["end"], m["sourceEnd"]) for m in credits["moves"]] == [(1, 30, 100)]
    assert _block(registry, 30) == (1, 30, pid, GOVERNMENT, BlockState.RETIRED_INTERNATIONAL, 1)
    assert blocks(registry, pid, 10) == [(31, 100)]
    assert programme(registry, pid)["credit_retired"] == 30
    assert tuple(registry.view("getRetirement", 1)) == (1, pid, 10, RetirementType.CROSS_BORDER, b"CH", 30, 0)


@pytest.mark.parametrize("kind", [RetirementType.LEGAL_ACTION, RetirementType.OTHER])
def test_other_retirements_land_in_local_account(registry: Registry, kind: RetirementType) -> None:
    pid = authorised_programme(registry, issue=100)
    registry.retire(pid, 10, 100, RetirementInput(kind), ref())
    assert _block(registry, 100) == (1, 100, pid, GOVERNMENT, BlockState.RETIRED_LOCAL, 1)
    assert balance(registry, pid, 10) == 0


def test_omge_share_is_rounded_up_into_its_own_account(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=100)
    details = RetirementInput(RetirementType.CROSS_BORDER, country="CH", beneficiary="B", omge_bps=200)  # 2%
    receipt = registry.retire(pid, 10, 51, details, ref())  # 2% of 51 = 1.02 -> 2 tonnes
    credits = registry.events(receipt, "CreditsRetired")[0]["args"]["credits"]
    assert (credits["amount"], credits["omgeAmount"]) == (51, 2)
    assert [(m["start"], m["end"]) for m in credits["moves"]] == [(1, 49)]
    assert [(m["start"], m["end"]) for m in credits["omgeMoves"]] == [(50, 51)]
    assert _block(registry, 49)[4] == BlockState.RETIRED_INTERNATIONAL
    assert _block(registry, 51)[4] == BlockState.RETIRED_OMGE
    assert programme(registry, pid)["credit_retired"] == 51
    assert balance(registry, pid, 10) == 49


def test_retired_blocks_never_move_again(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=10)
    registry.retire(pid, 10, 10, LEGAL, ref())
    with reverts("CreditsInsufficientBalance", balance=0):
        registry.transfer(pid, 10, 20, 1, ref())
    with reverts("CreditsInsufficientBalance", holder=GOVERNMENT):
        registry.transfer(pid, GOVERNMENT, 20, 1, ref())


def test_any_holder_can_retire(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=10)
    registry.transfer(pid, 10, 20, 10, ref())
    registry.retire(pid, 20, 4, LEGAL, ref())
    assert balance(registry, pid, 20) == 6


def test_retirement_goes_to_current_government_account(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=10)
    receipt = registry.set_government_account(2, ref())
    assert registry.events(receipt, "GovernmentAccountSet")[0]["args"]["account"] == 2
    registry.retire(pid, 10, 1, LEGAL, ref())
    assert _block(registry, 1)[3] == 2


@pytest.mark.parametrize(
    "details",
    [
        RetirementInput(RetirementType.CROSS_BORDER, country="", beneficiary="B"),
        RetirementInput(RetirementType.CROSS_BORDER, country="ch", beneficiary="B"),
        RetirementInput(RetirementType.CROSS_BORDER, country="CH", beneficiary=""),
        RetirementInput(RetirementType.LEGAL_ACTION, country="CH"),
        RetirementInput(RetirementType.OTHER, beneficiary="B"),
        RetirementInput(RetirementType.LEGAL_ACTION, omge_bps=100),
    ],
)
def test_retirement_details_must_fit_type(registry: Registry, details: RetirementInput) -> None:
    pid = authorised_programme(registry, issue=10)
    with reverts("RetirementInvalidDetails", retirementType=details.retirement_type):
        registry.retire(pid, 10, 1, details, ref())


def test_omge_share_of_100_percent_is_refused(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=10)
    details = RetirementInput(RetirementType.CROSS_BORDER, country="CH", beneficiary="B", omge_bps=10_000)
    with reverts("RetirementInvalidOmgeShare", omgeBps=10_000):
        registry.retire(pid, 10, 1, details, ref())


def test_retire_more_than_balance_is_refused(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=10)
    with reverts("CreditsInsufficientBalance", balance=10, needed=11):
        registry.retire(pid, 10, 11, LEGAL, ref())


def test_retire_zero_is_invalid(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=10)
    with reverts("CreditsInvalidAmount"):
        registry.retire(pid, 10, 0, LEGAL, ref())


def test_frozen_account_cannot_retire(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=10)
    registry.freeze(10, ref())
    with reverts("RegistryAccountFrozen", account=10):
        registry.retire(pid, 10, 1, LEGAL, ref())


def test_retire_while_paused_is_refused(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=10)
    registry.pause_transfers(ref())
    with reverts("EnforcedPause"):
        registry.retire(pid, 10, 1, LEGAL, ref())


def test_unknown_retirement_is_not_found(registry: Registry) -> None:
    with reverts("RetirementNotFound", retirementId=4):
        registry.view("getRetirement", 4)
