"""Serials are ``uint64`` and the registry uses the whole range: blocks ending at the last serial, 2^64 - 1, and
just before it are issued, split, transferred, merged and retired like any other, and a reservation that would pass the
last serial is refused with ``RegistrySerialsExhausted``, never an arithmetic Panic.

A programme lands at the end of the range the way it would in production: earlier programmes reserve the serials
below it (``_programme_ending_at``), as in ``tests.indexer.serials``.
"""

from __future__ import annotations

import pytest

from node.chain.errors import SerialsExhausted
from node.chain.registry import Registry
from node.chain.types import BlockState, ProgrammeStage, RetirementInput, RetirementType
from tests.conftest import GOVERNMENT, authorised_programme, create_programme, ref
from tests.contracts.helpers import balance, blocks, programme, reverts

U64_MAX = 2**64 - 1
ENDS = pytest.mark.parametrize("end", [U64_MAX, U64_MAX - 1], ids=["ends-at-2^64-1", "ends-at-2^64-2"])


def _serial_counter(registry: Registry) -> int:
    return int(registry.view("totals")[1])


def _programme_ending_at(registry: Registry, end: int, estimate: int, issue: int = 0, **kwargs: object) -> int:
    """A programme whose serial range is ``[end - estimate + 1, end]``: a filler programme (nothing issued)
    reserves the serials below it. With ``end`` below 2^64 - 1, a one-tonne programme held by account 99 takes the
    serials after it, so the block ending at 2^64 - 1 exists next to the blocks under test."""
    filler = end - estimate - _serial_counter(registry)
    if filler:
        authorised_programme(registry, estimate=filler)
    pid = authorised_programme(registry, issue=issue, estimate=estimate, **kwargs)
    if end < U64_MAX:
        authorised_programme(registry, issue=U64_MAX - end, estimate=U64_MAX - end, owners=(99,))
    reserved = programme(registry, pid)
    assert (reserved["serial_start"], reserved["serial_end"]) == (end - estimate + 1, end)
    return pid


def _block(registry: Registry, end: int) -> tuple[int, ...]:
    return tuple(registry.view("getBlock", end))


def _moves(moves: list[dict[str, int]]) -> list[tuple[int, int, int]]:
    return [(m["start"], m["end"], m["sourceEnd"]) for m in moves]


def _merges(merges: list[dict[str, int]]) -> list[tuple[int, int, int]]:
    return [(m["start"], m["end"], m["removedEnd"]) for m in merges]


class TestIssuance:
    @ENDS
    def test_issuance_ending_at_the_range_end_makes_a_block_up_to_it(self, registry: Registry, end: int) -> None:
        pid = _programme_ending_at(registry, end, estimate=100)
        receipt = registry.issue(pid, 100, ref())
        issued = registry.events(receipt, "CreditsIssued")[0]["args"]["blocks"]
        assert [(b["holder"], b["start"], b["end"]) for b in issued] == [(10, end - 99, end)]
        assert blocks(registry, pid, 10) == [(end - 99, end)]
        assert _block(registry, end) == (end - 99, end, pid, 10, BlockState.HELD, 0)
        assert (balance(registry, pid, 10), programme(registry, pid)["credit_issued"]) == (100, 100)

    def test_authorise_can_issue_the_whole_range_up_to_the_last_serial(self, registry: Registry) -> None:
        pid = _programme_ending_at(registry, U64_MAX, estimate=100, issue=100)
        assert blocks(registry, pid, 10) == [(U64_MAX - 99, U64_MAX)]

    def test_the_last_serial_alone_is_issuable(self, registry: Registry) -> None:
        pid = _programme_ending_at(registry, U64_MAX, estimate=1, issue=1)
        assert blocks(registry, pid, 10) == [(U64_MAX, U64_MAX)]
        assert _block(registry, U64_MAX) == (U64_MAX, U64_MAX, pid, 10, BlockState.HELD, 0)

    def test_later_issuance_continues_up_to_the_last_serial(self, registry: Registry) -> None:
        pid = _programme_ending_at(registry, U64_MAX, estimate=100, issue=60)
        receipt = registry.issue(pid, 40, ref())
        merges = registry.events(receipt, "CreditsIssued")[0]["args"]["merges"]
        assert [(m["start"], m["end"], m["removedEnd"]) for m in merges] == [(U64_MAX - 99, U64_MAX, U64_MAX - 40)]
        assert blocks(registry, pid, 10) == [(U64_MAX - 99, U64_MAX)]
        with reverts("ProgrammeEstimateExceeded", issued=100, requested=1, estimate=100):
            registry.issue(pid, 1, ref())

    @ENDS
    def test_several_owners_get_consecutive_blocks_the_last_ending_at_the_range_end(
        self, registry: Registry, end: int
    ) -> None:
        pid = _programme_ending_at(registry, end, estimate=90, owners=(10, 11, 12))
        registry.issue(pid, 90, ref())
        assert [blocks(registry, pid, owner) for owner in (10, 11, 12)] == [
            [(end - 89, end - 60)], [(end - 59, end - 30)], [(end - 29, end)],
        ]  # fmt: skip

    def test_an_owner_without_tonnes_after_the_block_ending_at_the_last_serial_is_skipped(
        self, registry: Registry
    ) -> None:
        # One tonne split 999,999 : 1 ppm goes to the first owner; the second owner's part is zero.
        pid = _programme_ending_at(registry, U64_MAX, estimate=1, owners=(10, 11), shares=(999_999, 1))
        receipt = registry.issue(pid, 1, ref())
        issued = registry.events(receipt, "CreditsIssued")[0]["args"]["blocks"]
        assert [(b["holder"], b["start"], b["end"]) for b in issued] == [(10, U64_MAX, U64_MAX)]

    def test_a_huge_issuance_to_several_owners_reaches_the_last_serial(self, registry: Registry) -> None:
        size = 2**63 + 5
        pid = _programme_ending_at(registry, U64_MAX, estimate=size, owners=(10, 11))
        registry.issue(pid, size, ref())
        first, second = blocks(registry, pid, 10), blocks(registry, pid, 11)
        assert first[0][0] == U64_MAX - size + 1
        assert second[-1][1] == U64_MAX
        assert first[-1][1] + 1 == second[0][0]
        assert balance(registry, pid, 10) + balance(registry, pid, 11) == size


class TestTransfers:
    @ENDS
    def test_transfer_splits_the_block_ending_at_the_range_end_then_moves_the_rest(
        self, registry: Registry, end: int
    ) -> None:
        pid = _programme_ending_at(registry, end, estimate=100, issue=100)
        receipt = registry.transfer(pid, 10, 20, 30, ref())
        assert _moves(registry.events(receipt, "CreditsTransferred")[0]["args"]["moves"]) == [(end - 99, end - 70, end)]
        assert blocks(registry, pid, 20) == [(end - 99, end - 70)]
        assert blocks(registry, pid, 10) == [(end - 69, end)]

        receipt = registry.transfer(pid, 10, 20, 70, ref())  # the whole block, id `end`, changes holder in place
        args = registry.events(receipt, "CreditsTransferred")[0]["args"]
        assert _moves(args["moves"]) == [(end - 69, end, end)]
        assert _merges(args["merges"]) == [(end - 99, end, end - 70)]  # and absorbs the receiver's block before it
        assert blocks(registry, pid, 20) == [(end - 99, end)]
        assert blocks(registry, pid, 10) == []
        assert _block(registry, end) == (end - 99, end, pid, 20, BlockState.HELD, 0)

        registry.transfer(pid, 20, 30, 100, ref())
        assert blocks(registry, pid, 30) == [(end - 99, end)]
        assert balance(registry, pid, 30) == 100

    @ENDS
    def test_a_receiver_holding_the_block_at_the_range_end_keeps_lower_blocks_in_front(
        self, registry: Registry, end: int
    ) -> None:
        pid = _programme_ending_at(registry, end, estimate=100, issue=100, owners=(10, 11))
        registry.transfer(pid, 11, 20, 50, ref())  # (end - 49, end): the receiver's only block
        registry.transfer(pid, 10, 20, 10, ref())  # (end - 99, end - 90) goes before it
        registry.transfer(pid, 10, 21, 5, ref())
        registry.transfer(pid, 21, 20, 5, ref())  # (end - 89, end - 85) lands between the two, merged with the first
        assert blocks(registry, pid, 20) == [(end - 99, end - 85), (end - 49, end)]
        receipt = registry.transfer(pid, 20, 10, 65, ref())  # all of it back: 10 again holds every serial, one block
        merges = registry.events(receipt, "CreditsTransferred")[0]["args"]["merges"]
        assert _merges(merges) == [(end - 99, end - 50, end - 85), (end - 99, end, end - 50)]
        assert blocks(registry, pid, 10) == [(end - 99, end)]
        assert balance(registry, pid, 10) == 100

    @ENDS
    def test_a_range_just_below_the_block_at_the_range_end_joins_it(self, registry: Registry, end: int) -> None:
        pid = _programme_ending_at(registry, end, estimate=100, issue=100, owners=(10, 11))
        registry.transfer(pid, 11, 20, 50, ref())  # (end - 49, end)
        registry.transfer(pid, 10, 21, 49, ref())  # (end - 99, end - 51) elsewhere
        receipt = registry.transfer(pid, 10, 20, 1, ref())  # (end - 50) joins the block ending at `end`, id kept
        merges = registry.events(receipt, "CreditsTransferred")[0]["args"]["merges"]
        assert _merges(merges) == [(end - 50, end, end - 50)]
        assert blocks(registry, pid, 20) == [(end - 50, end)]
        assert _block(registry, end) == (end - 50, end, pid, 20, BlockState.HELD, 0)


class TestRetirement:
    @ENDS
    def test_retirement_splits_and_retires_the_block_ending_at_the_range_end(
        self, registry: Registry, end: int
    ) -> None:
        pid = _programme_ending_at(registry, end, estimate=100, issue=100)
        registry.retire(pid, 10, 10, RetirementInput(RetirementType.LEGAL_ACTION), ref())
        assert blocks(registry, pid, 10) == [(end - 89, end)]

        registry.set_omge_rate(200, ref())
        cross_border = RetirementInput(RetirementType.CROSS_BORDER, "CH", "Buyer", 200)  # OMGE: floor(90 x 2%) = 1
        receipt = registry.retire(pid, 10, 90, cross_border, ref())
        credits = registry.events(receipt, "CreditsRetired")[0]["args"]["credits"]
        assert _moves(credits["moves"]) == [(end - 89, end - 1, end)]
        assert _moves(credits["omgeMoves"]) == [(end, end, end)]
        retirement_id = int(registry.events(receipt, "CreditsRetired")[0]["args"]["retirementId"])
        assert _block(registry, end - 1) == (end - 89, end - 1, pid, GOVERNMENT, BlockState.RETIRED_INTERNATIONAL,
                                             retirement_id)  # fmt: skip
        assert _block(registry, end) == (end, end, pid, GOVERNMENT, BlockState.RETIRED_OMGE, retirement_id)
        assert (blocks(registry, pid, 10), balance(registry, pid, 10)) == ([], 0)
        assert programme(registry, pid)["credit_retired"] == 100

    def test_the_last_serial_alone_can_be_retired(self, registry: Registry) -> None:
        pid = _programme_ending_at(registry, U64_MAX, estimate=2, issue=2)
        registry.retire(pid, 10, 1, RetirementInput(RetirementType.OTHER), ref())  # splits off U64_MAX - 1
        receipt = registry.retire(pid, 10, 1, RetirementInput(RetirementType.OTHER), ref())
        credits = registry.events(receipt, "CreditsRetired")[0]["args"]["credits"]
        assert _moves(credits["moves"]) == [(U64_MAX, U64_MAX, U64_MAX)]
        assert _block(registry, U64_MAX)[4] == BlockState.RETIRED_LOCAL


class TestReservation:
    def test_a_range_ending_exactly_at_the_last_serial_is_reserved(self, registry: Registry) -> None:
        pid = _programme_ending_at(registry, U64_MAX, estimate=10)
        assert _serial_counter(registry) == U64_MAX
        assert programme(registry, pid)["stage"] == ProgrammeStage.AUTHORISED

    def test_a_reservation_past_the_last_serial_reverts_with_serials_exhausted(self, registry: Registry) -> None:
        authorised_programme(registry, estimate=U64_MAX - 10)
        pid = create_programme(registry, estimate=11)
        with reverts("RegistrySerialsExhausted", programmeId=pid, creditEstimate=11, serialsLeft=10):
            registry.authorise(pid, 0, ref())
        assert programme(registry, pid)["stage"] == ProgrammeStage.AWAITING_AUTHORIZATION
        assert _serial_counter(registry) == U64_MAX - 10

        fitting = create_programme(registry, estimate=10)  # the serials left still serve a programme that fits
        registry.authorise(fitting, 10, ref())
        assert blocks(registry, fitting, 10) == [(U64_MAX - 9, U64_MAX)]

    def test_once_every_serial_is_reserved_any_authorisation_is_refused_as_a_conflict(self, registry: Registry) -> None:
        authorised_programme(registry, estimate=U64_MAX)
        pid = create_programme(registry, estimate=1)
        with pytest.raises(SerialsExhausted) as refused:
            registry.authorise(pid, 0, ref())
        assert refused.value.arguments == {"programmeId": pid, "creditEstimate": 1, "serialsLeft": 0}
        assert refused.value.status_code == 409
