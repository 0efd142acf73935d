"""Roll the projections back to a common ancestor after a chain reorganisation.

The raw event log is the journal: events of orphaned blocks are deleted, and every programme, account or
registry flag they touched is rebuilt by replaying its remaining events from the log. No per-row undo records.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, or_, select, update

from indexer.apply import project
from indexer.decoding import Event
from indexer.rpc import ChainReader
from node.models import chain

FREEZE_EVENTS = ("AccountFrozen", "AccountUnfrozen")
REGISTRY_EVENTS = ("TransferPauseSet", "GovernmentAccountSet")


class UnrecoverableReorg(RuntimeError):
    """No stored block is on the canonical chain any more: rebuild with `registry index --rebuild`."""


def find_common_ancestor(conn: Connection, reader: ChainReader, below_or_at: int) -> tuple[int, bytes]:
    """The highest stored block whose hash is still canonical."""
    stored = conn.execute(
        select(chain.block.c.number, chain.block.c.hash)
        .where(chain.block.c.number <= below_or_at)
        .order_by(chain.block.c.number.desc())
        .limit(1024)
    ).all()
    for chunk in range(0, len(stored), 64):
        part = stored[chunk : chunk + 64]
        canonical = reader.headers([n for n, _ in part])
        for number, block_hash in part:
            header = canonical.get(number)
            if header is not None and header.hash == bytes(block_hash):
                return number, bytes(block_hash)
    raise UnrecoverableReorg(f"none of the {len(stored)} stored blocks at or below {below_or_at} is canonical")


def _event(row: Any) -> Event:
    return Event(name=row.name, args=row.args, block_number=row.block_number, block_hash=bytes(row.block_hash),
                 tx_hash=bytes(row.tx_hash), log_index=row.log_index, block_time=row.block_time)  # fmt: skip


def rollback_to(conn: Connection, ancestor: int, ancestor_hash: bytes, cursor_name: str) -> int:
    """Undoes every block above ``ancestor``; returns how many events were dropped. Runs in the caller's txn."""
    e = chain.event.c
    orphaned = conn.execute(select(e.name, e.programme_id, e.args).where(e.block_number > ancestor)).all()
    programmes = {r.programme_id for r in orphaned if r.programme_id is not None}
    accounts = {int(r.args["account"]) for r in orphaned if r.name in FREEZE_EVENTS}
    registry = any(r.name in REGISTRY_EVENTS for r in orphaned)

    conn.execute(delete(chain.event).where(e.block_number > ancestor))
    for table in (chain.issuance, chain.transfer, chain.retirement):
        conn.execute(delete(table).where(table.c.block_number > ancestor))
    conn.execute(delete(chain.block).where(chain.block.c.number > ancestor))
    if programmes:
        conn.execute(delete(chain.programme).where(chain.programme.c.programme_id.in_(sorted(programmes))))
    if accounts:
        conn.execute(delete(chain.account).where(chain.account.c.account_id.in_(sorted(accounts))))
    if registry:
        conn.execute(delete(chain.registry_state))

    conditions = []
    if programmes:
        conditions.append(e.programme_id.in_(sorted(programmes)))
    if accounts:
        # Compared as JSON text, never cast. ``args`` is JSONB, so the ``U64`` column type does not apply here:
        # ``as_integer()`` casts to INTEGER (account ids are uint40: it failed from 2^31 on), and a numeric cast of
        # any width is evaluated on every event row, where OpenZeppelin's role events hold an address in
        # "account", which no numeric cast accepts (PostgreSQL does not promise to test the name first).
        wanted = [str(a) for a in sorted(accounts)]
        conditions.append(e.name.in_(FREEZE_EVENTS) & e.args["account"].astext.in_(wanted))
    if registry:
        conditions.append(e.name.in_(REGISTRY_EVENTS))
    if conditions:
        rows = conn.execute(select(chain.event).where(or_(*conditions)).order_by(e.block_number, e.log_index))
        project(conn, [_event(r) for r in rows])

    conn.execute(
        update(chain.indexer_cursor)
        .where(chain.indexer_cursor.c.name == cursor_name)
        .values(block_number=ancestor, block_hash=ancestor_hash, updated_at=datetime.now(UTC))
    )
    return len(orphaned)
