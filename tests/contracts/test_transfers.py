"""Transfers consume the sender's blocks in serial order and split the last one on-chain."""

from __future__ import annotations

import pytest

from node.chain.registry import Registry
from node.chain.types import ProgrammeStage
from tests.conftest import authorised_programme, create_programme, ref
from tests.contracts.helpers import balance, blocks, programme, reverts


def test_transfer_whole_block_changes_holder_in_place(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=50)
    receipt = registry.transfer(pid, 10, 20, 50, ref())
    assert blocks(registry, pid, 10) == []
    assert blocks(registry, pid, 20) == [(1, 50)]
    moves = registry.events(receipt, "CreditsTransferred")[0]["args"]["moves"]
    assert _moves(moves) == [(1, 50, 50)]


def test_transfer_part_of_block_splits_front(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=50)
    receipt = registry.transfer(pid, 10, 20, 30, request := ref())
    assert blocks(registry, pid, 20) == [(1, 30)]
    assert blocks(registry, pid, 10) == [(31, 50)]
    args = registry.events(receipt, "CreditsTransferred")[0]["args"]
    assert (args["programmeId"], args["from"], args["to"], args["amount"], args["requestRef"]) == (
        pid, 10, 20, 30, request,
    )  # fmt: skip
    assert [(m["start"], m["end"], m["sourceEnd"]) for m in args["moves"]] == [(1, 30, 50)]


def test_transfer_spanning_blocks_takes_lowest_serials_first(registry: Registry) -> None:
    pid = _interleaved(registry)  # account 10: 1-5, 11-15, 21-25
    receipt = registry.transfer(pid, 10, 20, 12, ref())
    assert blocks(registry, pid, 20) == [(1, 5), (11, 15), (21, 22)]
    assert blocks(registry, pid, 10) == [(23, 25)]
    args = registry.events(receipt, "CreditsTransferred")[0]["args"]
    assert _moves(args["moves"]) == [(1, 5, 5), (11, 15, 15), (21, 22, 25)]
    assert args["merges"] == []


def _interleaved(registry: Registry) -> int:
    """A programme whose two owners hold alternate blocks of five: 10 holds 1-5, 11-15, 21-25; 11 the others."""
    pid = authorised_programme(registry, issue=10, owners=(10, 11), estimate=100)
    registry.issue(pid, 10, ref())
    registry.issue(pid, 10, ref())
    assert blocks(registry, pid, 10) == [(1, 5), (11, 15), (21, 25)]
    return pid


def _moves(moves: list[dict[str, int]]) -> list[tuple[int, int, int]]:
    return [(m["start"], m["end"], m["sourceEnd"]) for m in moves]


def _merges(merges: list[dict[str, int]]) -> list[tuple[int, int, int]]:
    return [(m["start"], m["end"], m["removedEnd"]) for m in merges]


def test_received_range_continuing_the_last_block_is_merged(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=50)
    registry.transfer(pid, 10, 20, 10, ref())  # 1-10
    receipt = registry.transfer(pid, 10, 20, 5, ref())  # 11-15 continues 1-10
    assert blocks(registry, pid, 20) == [(1, 15)]
    args = registry.events(receipt, "CreditsTransferred")[0]["args"]
    assert _moves(args["moves"]) == [(11, 15, 50)]
    assert _merges(args["merges"]) == [(1, 15, 10)]
    assert tuple(registry.view("getBlock", 15))[:2] == (1, 15)
    with reverts("BlockNotFound", blockEnd=10):
        registry.view("getBlock", 10)
    for _ in range(20):
        registry.transfer(pid, 10, 20, 1, ref())  # one-credit transfers no longer fragment the receiver
    assert blocks(registry, pid, 20) == [(1, 35)]
    assert balance(registry, pid, 20) == 35


def test_received_range_before_a_block_is_merged_into_it(registry: Registry) -> None:
    pid = _interleaved(registry)
    registry.transfer(pid, 11, 20, 5, ref())  # 6-10
    receipt = registry.transfer(pid, 10, 20, 5, ref())  # 1-5 lands before 6-10
    assert blocks(registry, pid, 20) == [(1, 10)]
    assert _merges(registry.events(receipt, "CreditsTransferred")[0]["args"]["merges"]) == [(1, 10, 5)]


def test_received_range_filling_a_gap_joins_both_neighbours(registry: Registry) -> None:
    pid = _interleaved(registry)
    registry.transfer(pid, 10, 20, 10, ref())  # 1-5 and 11-15
    registry.transfer(pid, 11, 21, 5, ref())  # 6-10 to another account first
    receipt = registry.transfer(pid, 21, 20, 5, ref())  # 6-10 fills the gap at account 20
    assert blocks(registry, pid, 20) == [(1, 15)]
    assert _merges(registry.events(receipt, "CreditsTransferred")[0]["args"]["merges"]) == [(6, 15, 10), (1, 15, 5)]
    for end in (5, 10):
        with reverts("BlockNotFound", blockEnd=end):
            registry.view("getBlock", end)


def test_several_received_blocks_merge_with_each_neighbour(registry: Registry) -> None:
    pid = _interleaved(registry)  # 11 holds 6-10, 16-20, 26-30
    registry.transfer(pid, 11, 20, 10, ref())  # 20: 6-10, 16-20
    receipt = registry.transfer(pid, 10, 20, 15, ref())  # 1-5, 11-15, 21-25 interleave with them
    assert blocks(registry, pid, 20) == [(1, 25)]
    assert blocks(registry, pid, 10) == []
    merges = registry.events(receipt, "CreditsTransferred")[0]["args"]["merges"]
    assert _merges(merges) == [(1, 10, 5), (11, 20, 15), (1, 20, 10), (1, 25, 20)]
    registry.transfer(pid, 20, 10, 25, ref())
    assert blocks(registry, pid, 10) == [(1, 25)]


def test_merging_keeps_a_long_list_linked(registry: Registry) -> None:
    pid = _interleaved(registry)  # 10: 1-5, 11-15, 21-25; 11: 6-10, 16-20, 26-30
    registry.transfer(pid, 11, 20, 5, ref())  # 20: 6-10
    registry.transfer(pid, 11, 30, 5, ref())  # 16-20 elsewhere
    registry.transfer(pid, 11, 20, 5, ref())  # 20: 6-10, 26-30
    registry.transfer(pid, 10, 20, 5, ref())  # 1-5 joins 6-10 at the head: 1-10, 26-30
    registry.transfer(pid, 10, 20, 5, ref())  # 11-15 continues 1-10, before the last block
    assert blocks(registry, pid, 20) == [(1, 15), (26, 30)]
    registry.transfer(pid, 30, 20, 5, ref())  # 16-20: 1-20, 26-30
    registry.issue(pid, 10, ref())  # 10: 21-25, 31-35; 11: 36-40
    registry.transfer(pid, 11, 20, 5, ref())  # 36-40 goes last: 1-20, 26-30, 36-40
    registry.transfer(pid, 10, 20, 10, ref())  # 21-25 and 31-35 join all three
    assert blocks(registry, pid, 20) == [(1, 40)]
    assert balance(registry, pid, 20) == 40
    registry.transfer(pid, 20, 10, 1, ref())
    assert blocks(registry, pid, 20) == [(2, 40)]


def test_issuance_continuing_an_owners_last_block_is_merged(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=10, estimate=100)
    receipt = registry.issue(pid, 15, ref())
    event = registry.events(receipt, "CreditsIssued")[0]["args"]
    assert [(b["holder"], b["start"], b["end"]) for b in event["blocks"]] == [(10, 11, 25)]
    assert _merges(event["merges"]) == [(1, 25, 10)]
    assert blocks(registry, pid, 10) == [(1, 25)]
    registry.transfer(pid, 10, 20, 25, ref())
    receipt = registry.issue(pid, 5, ref())  # 10 holds nothing now: a new block
    assert registry.events(receipt, "CreditsIssued")[0]["args"]["merges"] == []
    assert blocks(registry, pid, 10) == [(26, 30)]


def test_receiver_keeps_blocks_sorted_by_serial(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=100, owners=(10, 11), estimate=100)  # 10: 1-50, 11: 51-100
    registry.transfer(pid, 11, 20, 10, ref())  # 51-60
    registry.transfer(pid, 10, 20, 5, ref())  # 1-5 goes before 51-60
    registry.transfer(pid, 11, 21, 5, ref())  # 61-65 elsewhere
    registry.transfer(pid, 11, 20, 5, ref())  # 66-70 goes last
    registry.transfer(pid, 20, 30, 3, ref())  # 1-3 leaves 20
    registry.transfer(pid, 30, 20, 3, ref())  # 1-3 comes back to the front, merged with 4-5
    registry.transfer(pid, 10, 21, 10, ref())  # 6-15 to another account
    registry.transfer(pid, 10, 22, 5, ref())  # 16-20 to a third
    registry.transfer(pid, 22, 20, 5, ref())  # 16-20 lands between 1-5 and 51-60
    assert blocks(registry, pid, 20) == [(1, 5), (16, 20), (51, 60), (66, 70)]
    assert balance(registry, pid, 20) == 25


def test_any_holder_can_transfer_onwards(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=40)
    registry.transfer(pid, 10, 20, 40, ref())
    registry.transfer(pid, 20, 30, 15, ref())
    assert (balance(registry, pid, 20), balance(registry, pid, 30)) == (25, 15)
    assert programme(registry, pid)["owners"] == [10]


def test_transfer_more_than_balance_is_refused(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=40)
    with reverts("CreditsInsufficientBalance", programmeId=pid, holder=10, balance=40, needed=41):
        registry.transfer(pid, 10, 20, 41, ref())
    assert balance(registry, pid, 10) == 40


def test_transfer_zero_is_invalid(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=40)
    with reverts("CreditsInvalidAmount"):
        registry.transfer(pid, 10, 20, 0, ref())


def test_transfer_to_self_is_refused(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=40)
    with reverts("CreditsSelfTransfer", account=10):
        registry.transfer(pid, 10, 10, 1, ref())


def test_transfer_to_account_zero_is_refused(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=40)
    with reverts("RegistryInvalidAccount", account=0):
        registry.transfer(pid, 10, 0, 1, ref())


def test_transfer_from_programme_awaiting_authorisation_is_illegal(registry: Registry) -> None:
    pid = create_programme(registry)
    with reverts("ProgrammeInvalidStage", current=ProgrammeStage.AWAITING_AUTHORIZATION):
        registry.transfer(pid, 10, 20, 1, ref())


def test_transfer_of_unknown_programme_is_not_found(registry: Registry) -> None:
    with reverts("ProgrammeNotFound", programmeId=77):
        registry.transfer(77, 10, 20, 1, ref())


def test_transfer_from_frozen_account_is_refused(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=40)
    registry.freeze(10, ref())
    with reverts("RegistryAccountFrozen", account=10):
        registry.transfer(pid, 10, 20, 1, ref())


def test_frozen_account_can_receive(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=40)
    registry.freeze(20, ref())
    registry.transfer(pid, 10, 20, 5, ref())
    assert balance(registry, pid, 20) == 5


def test_transfer_while_paused_is_refused(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=40)
    registry.pause_transfers(ref())
    with reverts("EnforcedPause"):
        registry.transfer(pid, 10, 20, 1, ref())
    registry.unpause_transfers(ref())
    registry.transfer(pid, 10, 20, 1, ref())
    assert balance(registry, pid, 20) == 1


def _fragment(registry: Registry, pid: int, receiver: int, count: int, size: int = 2) -> None:
    """Gives ``receiver`` ``count`` blocks of ``size`` from account 10, each gap sent to account 99."""
    for _ in range(count):
        registry.transfer(pid, 10, receiver, size, ref())
        registry.transfer(pid, 10, 99, 1, ref())


def test_blocks_are_read_page_by_page(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=50, estimate=100)
    _fragment(registry, pid, 20, 5)  # 1-2, 4-5, 7-8, 10-11, 13-14
    page, following = registry.view("blocksOf", pid, 20, 0, 2)
    assert ([(b[0], b[1]) for b in page], following) == ([(1, 2), (4, 5)], 8)
    page, following = registry.view("blocksOf", pid, 20, following, 2)
    assert ([(b[0], b[1]) for b in page], following) == ([(7, 8), (10, 11)], 14)
    page, following = registry.view("blocksOf", pid, 20, following, 2)
    assert ([(b[0], b[1]) for b in page], following) == ([(13, 14)], 0)
    assert len(registry.blocks_of(pid, 20, page_size=2)) == 5


def test_move_plan_splits_a_move_into_calls_of_at_most_n_blocks(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=50, estimate=100)
    _fragment(registry, pid, 20, 5)  # five blocks of two
    assert registry.move_plan(pid, 20, 9, max_blocks=2) == [4, 4, 1]
    assert registry.move_plan(pid, 20, 10, max_blocks=10) == [10]
    for amount in registry.move_plan(pid, 20, 10, max_blocks=2):
        registry.transfer(pid, 20, 30, amount, ref())
    assert blocks(registry, pid, 30) == [(1, 2), (4, 5), (7, 8), (10, 11), (13, 14)]
    with pytest.raises(ValueError, match="fewer than 11"):
        registry.move_plan(pid, 30, 11, max_blocks=2)


def test_page_cursor_must_be_a_block_of_that_holding(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=50)
    registry.transfer(pid, 10, 20, 2, ref())
    with reverts("BlockNotFound", blockEnd=50):
        registry.view("blocksOf", pid, 20, 50, 10)  # block 3-50 belongs to account 10
