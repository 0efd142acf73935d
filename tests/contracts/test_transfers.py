"""Transfers consume the sender's blocks in serial order and split the last one on-chain."""

from __future__ import annotations

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
    assert [(m["start"], m["end"], m["sourceEnd"]) for m in moves] == [(1, 50, 50)]


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
    pid = authorised_programme(registry, issue=10, estimate=100)
    registry.issue(pid, 10, ref())
    registry.issue(pid, 10, ref())
    receipt = registry.transfer(pid, 10, 20, 25, ref())
    assert blocks(registry, pid, 20) == [(1, 10), (11, 20), (21, 25)]
    assert blocks(registry, pid, 10) == [(26, 30)]
    moves = registry.events(receipt, "CreditsTransferred")[0]["args"]["moves"]
    assert [(m["start"], m["end"], m["sourceEnd"]) for m in moves] == [(1, 10, 10), (11, 20, 20), (21, 25, 30)]


def test_receiver_keeps_blocks_sorted_by_serial(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=100, owners=(10, 11), estimate=100)  # 10: 1-50, 11: 51-100
    registry.transfer(pid, 11, 20, 10, ref())  # 51-60
    registry.transfer(pid, 10, 20, 5, ref())  # 1-5 goes before 51-60
    registry.transfer(pid, 11, 20, 5, ref())  # 61-65 goes last
    registry.transfer(pid, 20, 30, 3, ref())  # 1-3 leaves 20
    registry.transfer(pid, 30, 20, 3, ref())  # 1-3 comes back to the front
    registry.transfer(pid, 10, 21, 10, ref())  # 6-15 to another account
    registry.transfer(pid, 21, 20, 10, ref())  # 6-15 lands between 1-5 and 51-60
    assert blocks(registry, pid, 20) == [(1, 3), (4, 5), (6, 15), (51, 60), (61, 65)]
    assert balance(registry, pid, 20) == 30


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


def test_blocks_are_read_page_by_page(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=50, estimate=100)
    for _ in range(5):
        registry.transfer(pid, 10, 20, 2, ref())  # five blocks at account 20
    page, following = registry.view("blocksOf", pid, 20, 0, 2)
    assert ([(b[0], b[1]) for b in page], following) == ([(1, 2), (3, 4)], 6)
    page, following = registry.view("blocksOf", pid, 20, following, 2)
    assert ([(b[0], b[1]) for b in page], following) == ([(5, 6), (7, 8)], 10)
    page, following = registry.view("blocksOf", pid, 20, following, 2)
    assert ([(b[0], b[1]) for b in page], following) == ([(9, 10)], 0)
    assert len(registry.blocks_of(pid, 20, page_size=2)) == 5


def test_page_cursor_must_be_a_block_of_that_holding(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=50)
    registry.transfer(pid, 10, 20, 2, ref())
    with reverts("BlockNotFound", blockEnd=50):
        registry.view("blocksOf", pid, 20, 50, 10)  # block 3-50 belongs to account 10
