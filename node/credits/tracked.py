"""What transfers and retirements share around their ``programme_change``: each is a row of its own table (the
request as users see it) tied to a change (the chain write and idempotency record, ADR 0014). A retry is answered
from the change: a parked request as it is now, otherwise the write driven to its end; a write the contract refused
for good leaves its row ``failed``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, Table, func, select, update

from node.errors import RegistryError
from node.models.app import programme_change
from node.programmes import changes
from node.programmes.changes import ProgrammeContext


@dataclass(frozen=True)
class Tracked:
    """One kind of tracked request: its table, id column, the payload key naming its row, the key of the change's
    result that holds the answer, and how the API shows a row."""

    table: Table
    id_column: Column[Any]
    payload_key: str
    result_key: str
    view: Callable[[Connection, int], dict[str, Any]]


def finish(context: ProgrammeContext, tracked: Tracked, change_id: int) -> dict[str, Any]:
    """The answer to a retry: a request still awaiting its decision as it is now, else the write driven to its end."""
    with context.engine.connect() as conn:
        row = conn.execute(select(programme_change).where(programme_change.c.change_id == change_id)).one()
        if row.status == "parked":
            return tracked.view(conn, int(row.payload[tracked.payload_key]))
    return run(context, tracked, change_id)


def run(context: ProgrammeContext, tracked: Tracked, change_id: int) -> dict[str, Any]:
    """Drives the change (chain write, wait for the index, completion) and returns the row as the API shows it."""
    from node.programmes.lifecycle import complete  # lifecycle dispatches every change's completion

    try:
        result = changes.run(context.engine, change_id, lambda c, r: complete(context, c, r))
    except Exception:
        _mark_failed_if_abandoned(context, tracked, change_id)
        raise
    view: dict[str, Any] = result[tracked.result_key]
    return view


def _mark_failed_if_abandoned(context: ProgrammeContext, tracked: Tracked, change_id: int) -> None:
    c = programme_change.c
    with context.engine.begin() as conn:
        change = conn.execute(select(c.status, c.payload).where(c.change_id == change_id)).one()
        if change.status == "failed":
            conn.execute(update(tracked.table).where(tracked.id_column == change.payload[tracked.payload_key],
                                                     tracked.table.c.state == "executing")
                         .values(state="failed", updated_at=func.now()))  # fmt: skip


def release(
    context: ProgrammeContext, tracked: Tracked, row_id: int, decided_by: dict[str, Any], remarks: str | None,
    approval: dict[str, Any], not_pending: Callable[[int, str], RegistryError],
) -> dict[str, Any]:  # fmt: skip
    """A pending request approved: in one transaction its row becomes ``executing`` (with who decided and why) and
    its parked change a pending intent carrying ``approval`` in its payload; then the write runs. ``not_pending``
    is the refusal if it is no longer pending, given the row's id and state ("Transfer 7 is ...; only a pending
    request can be approved.")."""
    c = programme_change.c
    with context.engine.begin() as conn:
        row = conn.execute(select(tracked.table).where(tracked.id_column == row_id).with_for_update()).one()
        if row.state != "pending":
            raise not_pending(row_id, row.state)
        conn.execute(update(tracked.table).where(tracked.id_column == row_id).values(
            state="executing", decided_by=decided_by, decision_remarks=remarks, updated_at=func.now()))  # fmt: skip
        change = conn.execute(select(c.payload).where(c.change_id == row.change_id)).scalar_one()
        conn.execute(update(programme_change).where(c.change_id == row.change_id)
                     .values(status="pending", payload=change | approval, result=None))  # fmt: skip
    return run(context, tracked, int(row.change_id))
