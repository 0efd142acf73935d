"""Apply decoded events to the projections inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.dialects.postgresql import insert

from indexer.decoding import Event
from indexer.handlers import HANDLERS
from indexer.state import BatchState
from node.models import chain

_SEEN = select(chain.event.c.tx_hash, chain.event.c.log_index).where(
    chain.event.c.block_number.between(bindparam("p_low"), bindparam("p_high"))
)
_STORE_EVENTS = insert(chain.event)
"""Built once, run for every batch (ADR 0020: keying a statement object cost more than running it)."""


def event_row(event: Event) -> dict[str, object]:
    return {
        "tx_hash": event.tx_hash, "log_index": event.log_index, "block_number": event.block_number,
        "block_hash": event.block_hash, "block_time": event.block_time, "name": event.name,
        "programme_id": event.programme_id, "request_ref": event.request_ref, "args": event.args,
    }  # fmt: skip


def new_events(conn: Connection, events: Sequence[Event]) -> list[Event]:
    """The events not yet in the raw log: applying a range twice applies nothing the second time."""
    if not events:
        return []
    low, high = min(e.block_number for e in events), max(e.block_number for e in events)
    seen = {(bytes(tx), index) for tx, index in conn.execute(_SEEN, {"p_low": low, "p_high": high})}
    return [e for e in events if (e.tx_hash, e.log_index) not in seen]


def apply_events(conn: Connection, events: Sequence[Event]) -> int:
    """Stores new events in the raw log and projects them; returns how many were new."""
    fresh = new_events(conn, events)
    if fresh:
        conn.execute(_STORE_EVENTS, [event_row(e) for e in fresh])
    project(conn, fresh)
    return len(fresh)


def project(conn: Connection, events: Sequence[Event]) -> None:
    """Runs the handlers over ``events`` (in chain order) and writes the changed rows."""
    state = BatchState()
    state.load(conn, events)
    for event in events:
        handler = HANDLERS.get(event.name)
        if handler is not None:
            handler(state, event)
    state.flush(conn)
