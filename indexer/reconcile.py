"""Compare every projection with the contract's view functions; list each difference.

This is the registry's public-verifiability check turned on ourselves: what the database says must be what
anyone reading the chain sees. Views are read at the indexer's cursor block, so a running chain does not cause
false differences (the chain must keep that block's state; the local Anvil keeps 64 blocks).

When the views cannot be read at the cursor block (no cursor, a cursor that never moved, a block the chain does
not have, no longer has on its canonical chain, or no longer keeps the state of), the answer is one
``Unverifiable`` entry saying why and what to do: an operator gets a reason and a non-zero exit, not a decoding
traceback from an ``eth_call`` answered with empty bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select
from web3.contract import Contract

from indexer.handlers import BLOCK_STATE, RETIREMENT_TYPE, STAGE
from indexer.rpc import ChainReader
from node.chain.batch import ViewBatch
from node.chain.errors import ChainUnavailable
from node.chain.types import BlockState, ProgrammeStage, RetirementType
from node.models import chain

PAGE = 2000
"""Blocks per ``blocksOf`` page: a long holder list is read in several calls, each within the call gas cap."""


@dataclass(frozen=True)
class Difference:
    what: str
    projection: Any
    chain: Any

    def __str__(self) -> str:
        return f"{self.what}: projection={self.projection!r} chain={self.chain!r}"


@dataclass(frozen=True)
class Unverifiable(Difference):
    """Not a difference but the reason none could be looked for. Listed like one, so any caller that exits 0
    only on an empty list (``registry reconcile``) fails rather than vouching for unchecked projections."""

    projection: Any = None
    chain: Any = None

    def __str__(self) -> str:
        return f"cannot reconcile: {self.what}"


def reconcile(conn: Connection, contract: Contract, rpc_url: str, *, cursor_name: str = "registry") -> list[Difference]:
    """Every difference between the projections and the contract's views at the cursor block (none: equal)."""
    cursor = conn.execute(select(chain.indexer_cursor).where(chain.indexer_cursor.c.name == cursor_name)).first()
    if cursor is None:
        return [Unverifiable(f"the indexer has not run (no cursor {cursor_name!r}): run `registry index`")]
    try:
        reason = _unverifiable_at(ChainReader(rpc_url), contract.address, cursor)
        if reason is not None:
            return [Unverifiable(reason)]
        return _compare(conn, ViewBatch(contract, rpc_url), int(cursor.block_number))
    except ChainUnavailable as exc:
        return [Unverifiable(f"the chain did not answer for block {cursor.block_number}: {exc}")]


def _unverifiable_at(reader: ChainReader, address: str, cursor: Any) -> str | None:
    """Why the registry's views cannot be read at the cursor block; None when they can."""
    at, head = int(cursor.block_number), reader.head()
    header = reader.header(at) if at <= head else None
    if header is None:
        return (
            f"the chain has no block {at}, the cursor's block (its head is block {head}): a reset chain or the "
            f"wrong CHAIN_RPC_URL; run `registry index --rebuild` against the chain the registry is on"
        )
    if header.hash != bytes(cursor.block_hash):
        return (
            f"the cursor's block {at} is no longer on the canonical chain (a reorganisation): the indexer rolls "
            f"it back on its next step; run `registry index --once`, then reconcile again"
        )
    if int(cursor.events_applied) == 0:
        return (
            f"the indexer has not applied any block since the deployment (its cursor is still at block {at}, "
            f"the chain's head is {head}): run `registry index`, or read its log if it is running, then "
            f"reconcile again"
        )
    try:
        code = reader.code(address, at)
    except ChainUnavailable as exc:
        return (
            f"the chain no longer keeps the state of the cursor's block {at} (head {head}; {exc}): nodes keep "
            f"recent states only (the local Anvil 64 blocks); let the indexer catch up with the head, or "
            f"reconcile against an archive node"
        )
    if not code:
        return f"the registry {address} has no code at the cursor's block {at}: wrong deployment manifest?"
    return None


def _compare(conn: Connection, batch: ViewBatch, at: int) -> list[Difference]:
    diffs: list[Difference] = []

    programmes = {r.programme_id: r for r in conn.execute(select(chain.programme))}
    owners: dict[int, list[tuple[int, int]]] = {}
    for r in conn.execute(select(chain.programme_owner).order_by(chain.programme_owner.c.position)):
        owners.setdefault(r.programme_id, []).append((r.account_id, r.share_ppm))
    certifiers: dict[int, set[int]] = {}
    for r in conn.execute(select(chain.programme_certifier).where(chain.programme_certifier.c.certified)):
        certifiers.setdefault(r.programme_id, set()).add(r.certifier_id)
    holdings = {(r.programme_id, r.account_id): r.balance for r in conn.execute(select(chain.holding))}
    blocks = list(conn.execute(select(chain.serial_block).order_by(chain.serial_block.c.block_start)))
    accounts = {r.account_id: r.frozen for r in conn.execute(select(chain.account))}
    registry_row = conn.execute(select(chain.registry_state)).first()
    retirements = conn.execute(select(chain.retirement).order_by(chain.retirement.c.retirement_id)).all()

    held: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for b in blocks:
        if b.state == BLOCK_STATE[BlockState.HELD]:
            held.setdefault((b.programme_id, b.holder), []).append((b.block_start, b.block_end))
    pairs = sorted(set(holdings) | {(pid, a) for pid, os in owners.items() for a, _ in os})
    every_account = sorted(set(accounts) | {a for _, a in pairs})
    retired = [b for b in blocks if b.state != BLOCK_STATE[BlockState.HELD]]

    calls: list[tuple[str, tuple[Any, ...]]] = [("totals", ()), ("paused", ()), ("governmentAccount", ())]
    calls += [("getProgramme", (pid,)) for pid in sorted(programmes)]
    calls += [c for pair in pairs for c in (("balanceOf", pair), ("blocksOf", (*pair, 0, PAGE)))]
    calls += [("isFrozen", (a,)) for a in every_account]
    calls += [("getBlock", (b.block_end,)) for b in retired]
    calls += [("getRetirement", (r.retirement_id,)) for r in retirements]
    answers = iter(batch.call(calls, block=at))

    programme_count, serial_counter, retirement_count = next(answers)
    _check(diffs, "programme count", len(programmes), programme_count)
    _check(diffs, "retirement count", len(retirements), retirement_count)
    highest = max((p.serial_end for p in programmes.values() if p.serial_end is not None), default=0)
    _check(diffs, "serial counter", highest, serial_counter)
    paused, government = next(answers), next(answers)
    _check(diffs, "paused", registry_row.paused if registry_row else False, paused)
    _check(diffs, "government account", registry_row.government_account if registry_row else None, government)

    held_by_programme: dict[int, int] = {}
    for pid in sorted(programmes):
        view, row = next(answers), programmes[pid]
        where = f"programme {pid}"
        _check(diffs, f"{where} stage", row.stage, STAGE[ProgrammeStage(view[1])])
        _check(diffs, f"{where} external id", row.external_id, view[2])
        _check(diffs, f"{where} credit estimate", row.credit_estimate, view[9])
        _check(diffs, f"{where} credits issued", row.credit_issued, view[10])
        _check(diffs, f"{where} credits retired", row.credit_retired, view[11])
        _check(diffs, f"{where} serial range", (row.serial_start, row.serial_end),
               (view[12] or None, view[13] or None))  # fmt: skip
        _check(diffs, f"{where} owners", owners.get(pid, []), list(zip(view[14], view[15], strict=True)))
        _check(diffs, f"{where} certifiers", sorted(certifiers.get(pid, set())), sorted(view[16]))
        # Zero on chain (a programme from before 1.1.0, never updated) is a null column.
        anchored = "0x" + bytes(row.details_hash).hex() if row.details_hash is not None else None
        _check(diffs, f"{where} details hash", anchored, "0x" + bytes(view[17]).hex() if any(view[17]) else None)
        held_by_programme[pid] = view[10] - view[11]
    pages = {}
    balances = {}
    for pair in pairs:
        balances[pair] = next(answers)
        pages[pair] = _all_pages(batch, pair, next(answers), at)
    for pid, account in pairs:
        balance, chain_blocks = balances[(pid, account)], pages[(pid, account)]
        where = f"programme {pid} account {account}"
        _check(diffs, f"{where} balance", holdings.get((pid, account), 0), balance)
        _check(diffs, f"{where} blocks", held.get((pid, account), []), [(b[0], b[1]) for b in chain_blocks])
    sums: dict[int, int] = {}
    for (pid, _), balance in holdings.items():
        sums[pid] = sums.get(pid, 0) + balance
    for pid, expected in held_by_programme.items():
        # Catches accounts the projections miss entirely: their credits are absent from the sum.
        _check(diffs, f"programme {pid} credits held (sum of holdings)", sums.get(pid, 0), expected)
    for account in every_account:
        _check(diffs, f"account {account} frozen", accounts.get(account, False), next(answers))
    for b in retired:
        view = next(answers)
        _check(diffs, f"block {b.block_end}", (b.block_start, b.programme_id, b.holder, b.state, b.retirement_id),
               (view[0], view[2], view[3], BLOCK_STATE[BlockState(view[4])], view[5]))  # fmt: skip
    for r in retirements:
        view = next(answers)
        country = bytes(view[4]).rstrip(b"\0").decode("ascii") or None
        _check(diffs, f"retirement {r.retirement_id}",
               (r.programme_id, r.from_account, r.retirement_type, r.country, r.amount, r.omge_amount),
               (view[1], view[2], RETIREMENT_TYPE[RetirementType(view[3])], country, view[5], view[6]))  # fmt: skip
        # Stored on chain since 1.2.0 (ADR 0015); a retirement recorded earlier has it in its event only.
        if view[7]:
            _check(diffs, f"retirement {r.retirement_id} beneficiary", r.beneficiary, view[7])
    return diffs


def _all_pages(batch: ViewBatch, pair: tuple[int, int], first: tuple[list[Any], int], at: int) -> list[Any]:
    blocks, cursor = list(first[0]), first[1]
    while cursor:
        page, cursor = batch.call([("blocksOf", (*pair, cursor, PAGE))], block=at)[0]
        blocks += page
    return blocks


def _check(diffs: list[Difference], what: str, projection: Any, on_chain: Any) -> None:
    if projection != on_chain:
        diffs.append(Difference(what, projection, on_chain))
