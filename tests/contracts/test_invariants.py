"""Hypothesis stateful test: random authorise/issue/transfer/retire/freeze/unfreeze/pause/details-update/OMGE-rate
sequences and replayed request references (random and sequenced, ADR 0015) over several programmes and accounts, with
the ledger's invariants checked against the contract after every step.

Two models follow the serials: ``ranges`` predicts which serials each account holds (a move takes the sender's lowest
serials), and since every receipt merges adjacent blocks (ADR 0015) each account's blocks must be exactly its maximal
runs of serials; ``projection`` applies each event's blocks, moves and merges as the indexer does, and must give
exactly the blocks the contract lists. The OMGE share of a cross-border retirement is floor(amount x rate / 10,000),
with the rate set on chain and stated by the caller.

Some programmes are placed at the very end of the ``uint64`` serial range (their range ends at 2^64 - 1), so every
rule also runs on blocks ending at the last serial, and later programmes must be refused with
``RegistrySerialsExhausted``.

A Python model predicts each call's outcome (success, or which custom error); the contract must agree.
Profiles: default (derandomized, CI-sized, no shrinking), ``HYPOTHESIS_PROFILE=soak`` for long runs and
``HYPOTHESIS_PROFILE=debug`` to shrink a failure to a minimal sequence (slow: every replay drives the chain).
"""

from __future__ import annotations

import os
from typing import Any

from eth_utils.crypto import keccak
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from node.chain.batch import ViewBatch
from node.chain.errors import ContractRevert
from node.chain.registry import Registry
from node.chain.types import BPS, PPM, RetirementInput, RetirementType, SequencedRefs, omge_share
from tests.conftest import GOVERNMENT, details_hash_of, programme_input, ref

_HEALTH = [HealthCheck.too_slow, HealthCheck.filter_too_much]
_NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]  # shrinking a chain run can take minutes
settings.register_profile(
    "default", max_examples=50, stateful_step_count=30, deadline=None, derandomize=True,
    suppress_health_check=_HEALTH, phases=_NO_SHRINK,
)  # fmt: skip
settings.register_profile(
    "soak", max_examples=300, stateful_step_count=60, deadline=None, suppress_health_check=_HEALTH,
    phases=_NO_SHRINK,
)  # fmt: skip
settings.register_profile(
    "debug", max_examples=25, stateful_step_count=30, deadline=None, suppress_health_check=_HEALTH
)

ACCOUNTS = (10, 11, 12, 13, 14)
MAX_PROGRAMMES = 3
U64_MAX = 2**64 - 1
Range = tuple[int, int]


def _take_lowest(ranges: list[Range], amount: int) -> tuple[list[Range], list[Range]]:
    """Splits sorted ``ranges`` into the lowest ``amount`` serials and the rest."""
    taken: list[Range] = []
    rest = list(ranges)
    while amount:
        start, end = rest.pop(0)
        size = end - start + 1
        if size <= amount:
            taken.append((start, end))
            amount -= size
        else:
            taken.append((start, start + amount - 1))
            rest.insert(0, (start + amount, end))
            amount = 0
    return taken, rest


def _runs(ranges: list[Range]) -> list[Range]:
    """The maximal runs of consecutive serials covered by disjoint ``ranges``."""
    runs: list[Range] = []
    for start, end in sorted(ranges):
        if runs and runs[-1][1] + 1 == start:
            runs[-1] = (runs[-1][0], end)
        else:
            runs.append((start, end))
    return runs


def _expect(error: str | None, call: Any, on_success: Any = None) -> Any:
    """Runs ``call``; asserts it reverts with ``error`` (or succeeds when ``error`` is None)."""
    if error is None:
        result = call()
        if on_success is not None:
            on_success()
        return result
    try:
        call()
    except ContractRevert as exc:
        assert exc.error_name == error, f"expected {error}, got {exc.error_name}: {exc.detail}"  # noqa: PT017
        return None
    raise AssertionError(f"expected revert {error}, but the call succeeded")


class RegistryMachine(RuleBasedStateMachine):
    registry: Registry

    def __init__(self) -> None:
        super().__init__()
        self.snapshot = self.registry.client.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
        self.reader = ViewBatch(self.registry.contract, self.registry.client.rpc_url)
        self.estimates: dict[int, int] = {}
        self.issued: dict[int, int] = {}
        self.retired: dict[int, int] = {}
        self.held: dict[tuple[int, int], int] = {}
        self.retired_ends: dict[int, list[int]] = {}
        self.frozen: set[int] = set()
        self.paused = False
        self.used_refs: list[bytes] = []
        self.call_digests: dict[bytes, bytes] = {}
        self.details: dict[int, bytes] = {}
        self.balances_before: dict[tuple[int, int], int] = {}
        self.pending_ref = b""
        self.sequenced = SequencedRefs()
        self.refs_made = 0
        self.omge_bps = 0
        self.ranges: dict[tuple[int, int], list[Range]] = {}
        self.projection: dict[int, tuple[int, int, int, int]] = {}  # end -> (start, programme, holder, state)
        self.created = 0
        self.serials_left = U64_MAX - int(self.registry.view("totals")[1])

    def teardown(self) -> None:
        self.registry.client.w3.provider.make_request("evm_revert", [self.snapshot])  # type: ignore[arg-type]

    # ------------------------------------------------------------------ helpers

    def _ref(self) -> bytes:
        """A fresh reference, remembered as used once its call succeeds (a reverted call applies nothing): random
        and sequenced (two per storage word on chain, ADR 0015) in turn."""
        self.refs_made += 1
        self.pending_ref = self.sequenced() if self.refs_made % 2 else ref()
        return self.pending_ref

    def _project(self, pid: int, holder: int, state: int, moves: list[Any], merges: list[Any]) -> None:
        """Applies an event's moves and merges to ``projection`` the way the indexer does."""
        for move in moves:
            if move["end"] != move["sourceEnd"]:
                source = self.projection[move["sourceEnd"]]
                self.projection[move["sourceEnd"]] = (move["end"] + 1, *source[1:])
            self.projection[move["end"]] = (move["start"], pid, holder, state)
        for merge in merges:
            assert self.projection[merge["removedEnd"]][2] == self.projection[merge["end"]][2] == holder
            self.projection[merge["end"]] = (merge["start"], *self.projection[merge["end"]][1:])
            del self.projection[merge["removedEnd"]]

    def _succeeded(self) -> None:
        """Remembers the reference and the digest of the call it was applied to (the last mined transaction's
        calldata: Anvil mines one transaction per block), as the contract binds them (ADR 0012)."""
        latest = self.registry.client.w3.eth.get_block("latest", full_transactions=True)
        self.used_refs.append(self.pending_ref)
        transaction = latest["transactions"][-1]
        assert not isinstance(transaction, bytes)  # a full transaction, not its hash
        self.call_digests[self.pending_ref] = keccak(bytes(transaction["input"]))

    def _held(self, pid: int, account: int) -> int:
        return self.held.get((pid, account), 0)

    def _move_error(self, pid: int, holder: int, amount: int) -> str | None:
        """The error a transfer or retirement by ``holder`` must revert with, in the contract's check order."""
        if self.paused:
            return "EnforcedPause"
        if holder in self.frozen:
            return "RegistryAccountFrozen"
        if amount == 0:
            return "CreditsInvalidAmount"
        if amount > self._held(pid, holder):
            return "CreditsInsufficientBalance"
        return None

    def _remember_balances(self) -> None:
        self.balances_before = dict(self.held)

    def _create(self, estimate: int, owners: tuple[int, ...], shares: tuple[int, ...]) -> int:
        self.created += 1
        receipt = self.registry.create_programme(
            programme_input(external_id=f"P{self.created}", owners=owners, shares=shares, estimate=estimate),
            self._ref(),
        )
        self._succeeded()
        pid = int(self.registry.events(receipt, "ProgrammeCreated")[0]["args"]["programmeId"])
        self.details[pid] = details_hash_of(f"P{self.created}")
        return pid

    def _reserve_all_serials_but(self, keep: int) -> None:
        """Authorises a filler programme (nothing issued) that leaves exactly ``keep`` serials."""
        filler = self.serials_left - keep
        self.registry.authorise(self._create(filler, (ACCOUNTS[0],), (PPM,)), 0, self._ref())
        self._succeeded()
        self.serials_left = keep

    # ------------------------------------------------------------------ rules

    @precondition(lambda self: len(self.estimates) < MAX_PROGRAMMES)
    @rule(
        owners=st.lists(st.sampled_from(ACCOUNTS), min_size=1, max_size=4, unique=True),
        weights=st.lists(st.integers(1, 1000), min_size=4, max_size=4),
        estimate=st.integers(1, 400),
        issue_fraction=st.floats(0, 1),
        at_range_end=st.sampled_from([False, False, False, True]),  # one programme in four ends at 2^64 - 1
    )
    def create_and_authorise(
        self, owners: list[int], weights: list[int], estimate: int, issue_fraction: float, at_range_end: bool
    ) -> None:
        self._remember_balances()
        total = sum(weights[: len(owners)])
        shares = [w * PPM // total for w in weights[: len(owners)]]
        shares[0] += PPM - sum(shares)
        if at_range_end and self.serials_left > estimate:
            self._reserve_all_serials_but(estimate)
        pid = self._create(estimate, tuple(owners), tuple(shares))
        amount = int(estimate * issue_fraction)
        error = "RegistrySerialsExhausted" if estimate > self.serials_left else None
        receipt = _expect(error, lambda: self.registry.authorise(pid, amount, self._ref()), self._succeeded)
        if receipt is None:
            return
        self.serials_left -= estimate
        self.estimates[pid], self.issued[pid], self.retired[pid] = estimate, 0, 0
        self.retired_ends[pid] = []
        self._apply_issue(pid, receipt)

    def _apply_issue(self, pid: int, receipt: Any) -> None:
        for event in self.registry.events(receipt, "CreditsIssued"):
            for block in event["args"]["blocks"]:
                key = (pid, block["holder"])
                self.held[key] = self._held(*key) + block["end"] - block["start"] + 1
                self.ranges[key] = _runs([*self.ranges.get(key, []), (block["start"], block["end"])])
                self.projection[block["end"]] = (block["start"], pid, block["holder"], 1)
                merges = [m for m in event["args"]["merges"] if m["end"] == block["end"]]
                self._project(pid, block["holder"], 1, [], merges)
            self.issued[pid] = event["args"]["totalIssued"]

    @precondition(lambda self: self.estimates)
    @rule(data=st.data(), amount=st.integers(0, 150))
    def issue(self, data: st.DataObject, amount: int) -> None:
        self._remember_balances()
        pid = data.draw(st.sampled_from(sorted(self.estimates)))
        error = None
        if amount == 0:
            error = "CreditsInvalidAmount"
        elif self.issued[pid] + amount > self.estimates[pid]:
            error = "ProgrammeEstimateExceeded"
        receipt = _expect(error, lambda: self.registry.issue(pid, amount, self._ref()), self._succeeded)
        if receipt is not None:
            self._apply_issue(pid, receipt)

    @precondition(lambda self: self.estimates)
    @rule(
        data=st.data(), sender=st.sampled_from(ACCOUNTS), receiver=st.sampled_from(ACCOUNTS), amount=st.integers(0, 120)
    )
    def transfer(self, data: st.DataObject, sender: int, receiver: int, amount: int) -> None:
        self._remember_balances()
        pid = data.draw(st.sampled_from(sorted(self.estimates)))
        before = self.reader.call([("blocksOf", (pid, sender, 0, 1000))])[0][0]
        error = (
            "CreditsSelfTransfer" if sender == receiver and not self.paused else self._move_error(pid, sender, amount)
        )
        receipt = _expect(
            error, lambda: self.registry.transfer(pid, sender, receiver, amount, self._ref()), self._succeeded
        )
        if receipt is None:
            return
        args = self.registry.events(receipt, "CreditsTransferred")[0]["args"]
        moves = args["moves"]
        assert [m["start"] for m in moves] == [b[0] for b in before[: len(moves)]], "lowest serials go first"
        assert sum(m["end"] - m["start"] + 1 for m in moves) == amount
        self.held[(pid, sender)] -= amount
        self.held[(pid, receiver)] = self._held(pid, receiver) + amount
        taken, self.ranges[(pid, sender)] = _take_lowest(self.ranges[(pid, sender)], amount)
        assert taken == [(m["start"], m["end"]) for m in moves]
        self.ranges[(pid, receiver)] = _runs([*self.ranges.get((pid, receiver), []), *taken])
        self._project(pid, receiver, 1, moves, args["merges"])

    @precondition(lambda self: self.estimates)
    @rule(
        data=st.data(),
        holder=st.sampled_from(ACCOUNTS),
        amount=st.integers(0, 120),
        kind=st.sampled_from(RetirementType),
        stale_rate=st.sampled_from([False, False, False, True]),
    )
    def retire(self, data: st.DataObject, holder: int, amount: int, kind: RetirementType, stale_rate: bool) -> None:
        self._remember_balances()
        pid = data.draw(st.sampled_from(sorted(self.estimates)))
        cross = kind == RetirementType.CROSS_BORDER
        stated = (self.omge_bps + 1) % BPS if stale_rate else self.omge_bps
        details = RetirementInput(kind, "CH", "Buyer", stated) if cross else RetirementInput(kind)
        error = self._move_error(pid, holder, amount)
        if error not in ("EnforcedPause", "RegistryAccountFrozen") and cross and stale_rate:
            error = "RetirementOmgeRateMismatch"  # checked before the amount and the balance
        receipt = _expect(
            error, lambda: self.registry.retire(pid, holder, amount, details, self._ref()), self._succeeded
        )
        if receipt is None:
            return
        args = self.registry.events(receipt, "CreditsRetired")[0]["args"]
        credits = args["credits"]
        omge = omge_share(amount, self.omge_bps) if cross else 0
        assert credits["omgeAmount"] == omge
        assert omge * BPS <= amount * self.omge_bps, "never more than the rate"
        assert omge < amount, "never the whole retirement"
        for move in [*credits["moves"], *credits["omgeMoves"]]:
            self.retired_ends[pid].append(move["end"])
        self.held[(pid, holder)] -= amount
        self.retired[pid] += amount
        taken, self.ranges[(pid, holder)] = _take_lowest(self.ranges[(pid, holder)], amount)
        assert taken[-1][1] == (credits["omgeMoves"] or credits["moves"])[-1]["end"], "OMGE gets the highest serials"
        self._project(pid, GOVERNMENT, 2 if cross else 3, credits["moves"], [])
        self._project(pid, GOVERNMENT, 4, credits["omgeMoves"], [])
        view = self.registry.retirement(args["retirementId"])
        assert (view["amount"], view["omgeAmount"], view["beneficiary"]) == (amount, omge, "Buyer" if cross else "")

    @rule(omge_bps=st.sampled_from([0, 1, 100, 200, 5000, 9999, 10_000]))
    def set_omge_rate(self, omge_bps: int) -> None:
        self._remember_balances()
        error = "RetirementInvalidOmgeShare" if omge_bps >= BPS else None
        if _expect(error, lambda: self.registry.set_omge_rate(omge_bps, self._ref()), self._succeeded) is not None:
            self.omge_bps = omge_bps

    @rule(account=st.sampled_from(ACCOUNTS))
    def freeze(self, account: int) -> None:
        self._remember_balances()
        error = "RegistryAccountFrozen" if account in self.frozen else None
        if _expect(error, lambda: self.registry.freeze(account, self._ref()), self._succeeded) is not None:
            self.frozen.add(account)

    @rule(account=st.sampled_from(ACCOUNTS))
    def unfreeze(self, account: int) -> None:
        self._remember_balances()
        error = None if account in self.frozen else "RegistryAccountNotFrozen"
        if _expect(error, lambda: self.registry.unfreeze(account, self._ref()), self._succeeded) is not None:
            self.frozen.discard(account)

    @rule()
    def toggle_pause(self) -> None:
        self._remember_balances()
        if self.paused:
            self.registry.unpause_transfers(self._ref())
        else:
            self.registry.pause_transfers(self._ref())
        self._succeeded()
        self.paused = not self.paused

    @precondition(lambda self: self.estimates)
    @rule(data=st.data(), revision=st.integers(1, 3))
    def update_details(self, data: st.DataObject, revision: int) -> None:
        """Anchoring new details never touches credits: the invariant compares every balance with the model,
        which this rule leaves alone."""
        self._remember_balances()
        pid = data.draw(st.sampled_from(sorted(self.estimates)))
        self.details[pid] = details_hash_of(f"P{pid} revision {revision}")
        self.registry.update_programme_details(pid, self.details[pid], self._ref())
        self._succeeded()

    @precondition(lambda self: self.used_refs and self.estimates)
    @rule(data=st.data())
    def replay_used_reference(self, data: st.DataObject) -> None:
        self._remember_balances()
        request = data.draw(st.sampled_from(self.used_refs))
        pid = data.draw(st.sampled_from(sorted(self.estimates)))
        name, args, call = data.draw(st.sampled_from([
            ("issue", (pid, 1, request), lambda: self.registry.issue(pid, 1, request)),
            ("transfer", (pid, ACCOUNTS[0], ACCOUNTS[1], 1, request),
             lambda: self.registry.transfer(pid, ACCOUNTS[0], ACCOUNTS[1], 1, request)),
            ("freezeAccount", (ACCOUNTS[2], request), lambda: self.registry.freeze(ACCOUNTS[2], request)),
        ]))  # fmt: skip
        # The same call again is a retry; any other call under a used reference is refused, never "applied".
        same = keccak(hexstr=self.registry.contract.encode_abi(name, args=list(args))) == self.call_digests[request]
        _expect("RegistryRequestAlreadyApplied" if same else "RegistryRequestReferenceReused", call)

    # ------------------------------------------------------------------ invariants

    @invariant()
    def ledger_is_consistent(self) -> None:
        pids = sorted(self.estimates)
        calls: list[tuple[str, tuple[Any, ...]]] = []
        for pid in pids:
            calls.append(("getProgramme", (pid,)))
            for account in ACCOUNTS:
                calls += [("balanceOf", (pid, account)), ("blocksOf", (pid, account, 0, 1000))]
            calls += [("getBlock", (end,)) for end in self.retired_ends[pid]]
        calls += [("isFrozen", (a,)) for a in ACCOUNTS]
        results = iter(self.reader.call(calls))
        for pid in pids:
            view = next(results)
            issued, retired, serial_start = view[10], view[11], view[12]
            assert view[17] == self.details[pid], "the anchored details hash is the last one set"
            assert (issued, retired) == (self.issued[pid], self.retired[pid])
            ranges: list[Range] = []
            held_total = 0
            for account in ACCOUNTS:
                balance, (held_blocks, _) = next(results), next(results)
                sizes = [b[1] - b[0] + 1 for b in held_blocks]
                assert balance == sum(sizes), "an account's balance is the sum of its blocks"
                assert balance == self._held(pid, account)
                assert [b[0] for b in held_blocks] == sorted(b[0] for b in held_blocks), "blocks kept in serial order"
                assert all(b[3] == account and b[4] == 1 for b in held_blocks)
                assert [(b[0], b[1]) for b in held_blocks] == self.ranges.get((pid, account), []), (
                    "an account holds the serials the model predicts, as maximal blocks (adjacent ones merged)"
                )
                projected = sorted((s, e) for e, (s, p, h, st) in self.projection.items()
                                   if (p, h, st) == (pid, account, 1))  # fmt: skip
                assert projected == [(b[0], b[1]) for b in held_blocks], "events rebuild the blocks exactly"
                ranges += [(b[0], b[1]) for b in held_blocks]
                held_total += balance
                if account in self.frozen:
                    assert balance >= self.balances_before.get((pid, account), 0), "a frozen account lost credits"
            retired_blocks = [next(results) for _ in self.retired_ends[pid]]
            assert all(b[4] in (2, 3, 4) and b[3] == GOVERNMENT for b in retired_blocks)
            assert all(self.projection[b[1]] == (b[0], pid, GOVERNMENT, b[4]) for b in retired_blocks)
            assert sum(b[1] - b[0] + 1 for b in retired_blocks) == retired
            ranges += [(b[0], b[1]) for b in retired_blocks]
            assert issued == held_total + retired, "issued = held + retired"
            ranges.sort()
            for (_, end), (start, _) in zip(ranges, ranges[1:], strict=False):
                assert end < start, "blocks never overlap"
            covered = sum(e - s + 1 for s, e in ranges)
            assert covered == issued, "every issued tonne is in exactly one block"
            if ranges:
                assert (ranges[0][0], ranges[-1][1]) == (serial_start, serial_start + issued - 1)
        assert {a for a in ACCOUNTS if next(results)} == self.frozen


def test_ledger_invariants_hold_under_random_operations(registry: Registry) -> None:
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
    RegistryMachine.registry = registry
    run_state_machine_as_test(RegistryMachine, settings=settings())
