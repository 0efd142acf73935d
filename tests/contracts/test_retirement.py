"""Retirement moves blocks into the Government's retired accounts, a terminal state; OMGE gets its share, at the
registry's rate recorded on chain, rounded down (ADR 0015)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.chain.errors import OmgeRateChanged
from node.chain.registry import Registry
from node.chain.types import BPS, BlockState, RetirementInput, RetirementType, omge_share
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
    assert tuple(registry.view("getRetirement", 1)) == (
        1, pid, 10, RetirementType.CROSS_BORDER, b"CH", 30, 0, "Swiss Climate Foundation",
    )  # fmt: skip


@pytest.mark.parametrize("kind", [RetirementType.LEGAL_ACTION, RetirementType.OTHER])
def test_other_retirements_land_in_local_account(registry: Registry, kind: RetirementType) -> None:
    pid = authorised_programme(registry, issue=100)
    registry.retire(pid, 10, 100, RetirementInput(kind), ref())
    assert _block(registry, 100) == (1, 100, pid, GOVERNMENT, BlockState.RETIRED_LOCAL, 1)
    assert balance(registry, pid, 10) == 0
    assert registry.retirement(1)["beneficiary"] == ""


def _cross_border(omge_bps: int) -> RetirementInput:
    return RetirementInput(RetirementType.CROSS_BORDER, country="CH", beneficiary="B", omge_bps=omge_bps)


def test_omge_share_is_rounded_down_into_its_own_account(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=100)
    registry.set_omge_rate(200, ref())  # 2%
    receipt = registry.retire(pid, 10, 51, _cross_border(200), ref())  # 2% of 51 = 1.02 -> 1 tonne
    credits = registry.events(receipt, "CreditsRetired")[0]["args"]["credits"]
    assert (credits["amount"], credits["omgeAmount"]) == (51, 1)
    assert [(m["start"], m["end"]) for m in credits["moves"]] == [(1, 50)]
    assert [(m["start"], m["end"]) for m in credits["omgeMoves"]] == [(51, 51)]
    assert _block(registry, 50)[4] == BlockState.RETIRED_INTERNATIONAL
    assert _block(registry, 51)[4] == BlockState.RETIRED_OMGE
    assert programme(registry, pid)["credit_retired"] == 51
    assert balance(registry, pid, 10) == 49
    assert registry.retirement(1)["omgeAmount"] == 1


@pytest.mark.parametrize(
    ("amount", "omge_bps", "omge"),
    [(1, 1, 0), (50, 100, 0), (99, 100, 0), (100, 100, 1), (199, 100, 1), (1, 9999, 0), (2, 9999, 1), (10, 5000, 5)],
)
def test_omge_share_never_exceeds_the_rate_nor_takes_a_whole_retirement(
    registry: Registry, amount: int, omge_bps: int, omge: int
) -> None:
    """The issue's cases: 1 credit at 1 bps no longer goes entirely to OMGE, and 50 credits at 1% no longer take 2%."""
    pid = authorised_programme(registry, issue=1000)
    registry.set_omge_rate(omge_bps, ref())
    receipt = registry.retire(pid, 10, amount, _cross_border(omge_bps), ref())
    credits = registry.events(receipt, "CreditsRetired")[0]["args"]["credits"]
    assert credits["omgeAmount"] == omge
    assert sum(m["end"] - m["start"] + 1 for m in credits["moves"]) == amount - omge >= 1


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
@given(amount=st.integers(1, 5000), omge_bps=st.integers(0, BPS - 1))
def test_omge_share_is_the_floor_of_the_rate_property(registry: Registry, amount: int, omge_bps: int) -> None:
    """OMGE = floor(amount x bps / 10,000) for any amount and rate below 100%: at most the rate, less than the
    retirement, and within one credit of the exact share; the international account gets the rest."""
    if registry.view("totals")[0] == 0:
        authorised_programme(registry, issue=1_000_000, estimate=1_000_000)
    registry.set_omge_rate(omge_bps, ref())
    receipt = registry.retire(1, 10, amount, _cross_border(omge_bps), ref())
    credits = registry.events(receipt, "CreditsRetired")[0]["args"]["credits"]
    omge = credits["omgeAmount"]
    assert omge == omge_share(amount, omge_bps) == amount * omge_bps // BPS
    assert omge * BPS <= amount * omge_bps < (omge + 1) * BPS
    assert omge < amount
    assert sum(m["end"] - m["start"] + 1 for m in credits["omgeMoves"]) == omge
    assert sum(m["end"] - m["start"] + 1 for m in credits["moves"]) == amount - omge


def test_omge_rate_is_recorded_on_chain(registry: Registry) -> None:
    assert registry.omge_rate() == 0
    receipt = registry.set_omge_rate(150, request := ref())
    event = registry.events(receipt, "OmgeRateSet")[0]["args"]
    assert (event["omgeBps"], event["requestRef"]) == (150, request)
    assert registry.omge_rate() == 150


@pytest.mark.parametrize("omge_bps", [10_000, 65_535])
def test_omge_rate_of_100_percent_or_more_is_refused(registry: Registry, omge_bps: int) -> None:
    with reverts("RetirementInvalidOmgeShare", omgeBps=omge_bps):
        registry.set_omge_rate(omge_bps, ref())
    assert registry.omge_rate() == 0


def test_cross_border_retirement_must_state_the_current_rate(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=10)
    registry.set_omge_rate(100, ref())
    with reverts("RetirementOmgeRateMismatch", omgeBps=200, omgeRate=100):
        registry.retire(pid, 10, 1, _cross_border(200), ref())
    with reverts("RetirementOmgeRateMismatch", omgeBps=0, omgeRate=100):
        registry.retire(pid, 10, 1, CROSS_BORDER, ref())  # requested before the rate was set
    registry.retire(pid, 10, 1, _cross_border(100), ref())
    assert balance(registry, pid, 10) == 9


def test_rate_mismatch_is_a_conflict_for_the_node(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=10)
    registry.set_omge_rate(100, ref())
    with pytest.raises(OmgeRateChanged) as refused:
        registry.retire(pid, 10, 1, _cross_border(0), ref())
    assert refused.value.status_code == 409


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
