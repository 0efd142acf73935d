"""Issuance: one block per owner, split by share with the largest-remainder rule, capped by the estimate."""

from __future__ import annotations

import pytest

from node.chain.registry import Registry
from node.chain.types import PPM, BlockState, ProgrammeStage
from tests.conftest import authorised_programme, create_programme, ref
from tests.contracts.helpers import balance, blocks, programme, reverts


def test_issue_creates_consecutive_blocks_in_owner_order(registry: Registry) -> None:
    pid = authorised_programme(registry, owners=(10, 11, 12), shares=(500_000, 300_000, 200_000), estimate=1000)
    receipt = registry.issue(pid, 100, ref())
    assert blocks(registry, pid, 10) == [(1, 50)]
    assert blocks(registry, pid, 11) == [(51, 80)]
    assert blocks(registry, pid, 12) == [(81, 100)]
    args = registry.events(receipt, "CreditsIssued")[0]["args"]
    assert (args["amount"], args["totalIssued"]) == (100, 100)
    assert [(b["holder"], b["start"], b["end"]) for b in args["blocks"]] == [(10, 1, 50), (11, 51, 80), (12, 81, 100)]


def test_issue_continues_after_previous_issuance(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=10, estimate=100)
    registry.issue(pid, 5, ref())
    assert blocks(registry, pid, 10) == [(1, 15)]  # 11-15 continues 1-10: merged (ADR 0015)
    assert programme(registry, pid)["credit_issued"] == 15


def test_issue_to_several_owners_merges_only_the_owner_whose_last_block_it_continues(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=10, owners=(10, 11), estimate=100)  # 10: 1-5, 11: 6-10
    receipt = registry.issue(pid, 10, ref())  # 10: 11-15, 11: 16-20: neither continues its owner's last block
    assert registry.events(receipt, "CreditsIssued")[0]["args"]["merges"] == []
    registry.transfer(pid, 11, 10, 10, ref())  # 10: 1-20 (merged on receipt), 11: nothing
    receipt = registry.issue(pid, 10, ref())  # 10: 21-25 continues 1-20; 11: 26-30
    merges = registry.events(receipt, "CreditsIssued")[0]["args"]["merges"]
    assert [(m["start"], m["end"], m["removedEnd"]) for m in merges] == [(1, 25, 20)]
    assert blocks(registry, pid, 10) == [(1, 25)]
    assert blocks(registry, pid, 11) == [(26, 30)]


def test_issue_starts_at_programme_serial_start(registry: Registry) -> None:
    authorised_programme(registry, estimate=1000)
    pid = authorised_programme(registry, issue=3, estimate=10)
    assert blocks(registry, pid, 10) == [(1001, 1003)]


def test_issue_leftover_tonnes_go_to_largest_remainders(registry: Registry) -> None:
    # 10 tonnes at (333333, 333333, 333334) ppm: floors 3, 3, 3; owner 12 has the largest remainder.
    third = PPM // 3
    pid = authorised_programme(registry, owners=(10, 11, 12), shares=(third, third, PPM - 2 * third), estimate=100)
    registry.issue(pid, 10, ref())
    assert [balance(registry, pid, o) for o in (10, 11, 12)] == [3, 3, 4]


def test_issue_leftover_tie_goes_to_earlier_owner(registry: Registry) -> None:
    pid = authorised_programme(registry, owners=(10, 11, 12), shares=(250_000, 500_000, 250_000), estimate=100)
    registry.issue(pid, 2, ref())  # 0.5, 1.0, 0.5: one leftover tonne, owners 10 and 12 tie
    assert [balance(registry, pid, o) for o in (10, 11, 12)] == [1, 1, 0]


def test_issue_skips_owner_with_zero_allocation(registry: Registry) -> None:
    pid = authorised_programme(registry, owners=(10, 11), shares=(999_000, 1_000), estimate=100)
    receipt = registry.issue(pid, 1, ref())
    assert [b["holder"] for b in registry.events(receipt, "CreditsIssued")[0]["args"]["blocks"]] == [10]
    assert blocks(registry, pid, 11) == []


@pytest.mark.parametrize("amount", [1, 7, 99, 1000, 12345])
def test_issue_never_loses_or_creates_a_tonne(registry: Registry, amount: int) -> None:
    owners = (10, 11, 12, 13, 14, 15, 16)
    shares = (1, 142_857, 142_857, 142_857, 142_857, 142_857, PPM - 1 - 5 * 142_857)
    pid = authorised_programme(registry, owners=owners, shares=shares, estimate=20000)
    registry.issue(pid, amount, ref())
    assert sum(balance(registry, pid, o) for o in owners) == amount


def test_issue_up_to_estimate_then_refuses(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=60, estimate=100)
    registry.issue(pid, 40, ref())
    with reverts("ProgrammeEstimateExceeded", issued=100, requested=1, estimate=100):
        registry.issue(pid, 1, ref())


def test_issue_zero_is_invalid(registry: Registry) -> None:
    pid = authorised_programme(registry)
    with reverts("CreditsInvalidAmount"):
        registry.issue(pid, 0, ref())


def test_issue_before_authorisation_is_illegal(registry: Registry) -> None:
    pid = create_programme(registry)
    with reverts(
        "ProgrammeInvalidStage", current=ProgrammeStage.AWAITING_AUTHORIZATION, required=ProgrammeStage.AUTHORISED
    ):
        registry.issue(pid, 1, ref())


def test_issue_to_unknown_programme_is_not_found(registry: Registry) -> None:
    with reverts("ProgrammeNotFound"):
        registry.issue(42, 1, ref())


def test_issued_block_is_readable_by_its_last_serial(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=20)
    start, end, programme_id, holder, state, retirement = registry.view("getBlock", 20)
    assert (start, end, programme_id, holder, state, retirement) == (1, 20, pid, 10, BlockState.HELD, 0)
    with reverts("BlockNotFound", blockEnd=19):
        registry.view("getBlock", 19)
