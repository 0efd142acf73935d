"""A programme's timeline (reference §10.5 getHistory): every on-chain event, with who asked for it when allowed.

The events come from the indexed journal (``chain.event``), so each entry carries its transaction hash and block,
which anyone can check against the chain. The registry user behind a write is found through the write's request
reference (``app.programme_change``); it is named only to Root, Government users and users of the actor's own
organisation, as the reference does.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, select, tuple_

from node.errors import InvalidInput
from node.identity.permissions import Principal
from node.models.app import organisation, programme_change
from node.models.chain import event
from node.programmes.permissions import may_see_actor
from node.programmes.queries import get_programme

_e, _c = event.c, programme_change.c


def history(conn: Connection, principal: Principal, programme_id: int, *, after: str | None = None,
            limit: int = 100) -> dict[str, Any]:  # fmt: skip
    """Entries in chain order, a keyset page; ``after`` is the ``next_cursor`` of the previous page."""
    get_programme(conn, principal, programme_id)  # 404 when the caller may not read it
    o = organisation.c
    query = (
        select(_e.tx_hash, _e.log_index, _e.block_number, _e.block_time, _e.name, _e.args,
               _c.operation, _c.requested_by, _c.payload, o.name.label("actor_organisation"))
        .outerjoin(programme_change, _c.request_ref == _e.request_ref)
        .outerjoin(organisation, o.organisation_id == _c.requested_by["organisation_id"].as_integer())
        .where(_e.programme_id == programme_id)
        .order_by(_e.block_number, _e.log_index)
        .limit(limit + 1)
    )  # fmt: skip
    if after is not None:
        query = query.where(tuple_(_e.block_number, _e.log_index) > _position(after))
    rows = conn.execute(query).all()
    entries = [_entry(principal, row) for row in rows[:limit]]
    more = len(rows) > limit
    cursor = f"{entries[-1]['block_number']}-{entries[-1]['log_index']}" if more else None
    return {"items": entries, "next_cursor": cursor}


def _position(cursor: str) -> tuple[int, int]:
    if not re.fullmatch(r"[0-9]{1,18}-[0-9]{1,9}", cursor):
        raise InvalidInput("The page cursor is not one this history returned.", field="after")
    block, _, log_index = cursor.partition("-")
    return int(block), int(log_index)


def _entry(principal: Principal, row: Any) -> dict[str, Any]:
    actor = None
    requested_by = row.requested_by or {}
    if row.requested_by and may_see_actor(principal, requested_by.get("organisation_id")):
        actor = {"user_id": requested_by["user_id"], "email": requested_by["email"],
                 "organisation_id": requested_by["organisation_id"], "organisation_name": row.actor_organisation,
                 "via_api_key": requested_by.get("via_api_key")}  # fmt: skip
    remarks = (row.payload or {}).get("remarks") if actor is not None else None
    return {
        "event": row.name, "tx_hash": "0x" + bytes(row.tx_hash).hex(), "log_index": row.log_index,
        "block_number": row.block_number, "block_time": row.block_time, "amount": _amount(row.name, row.args),
        "data": row.args, "actor": actor, "remarks": remarks,
    }  # fmt: skip


def _amount(name: str, args: dict[str, Any]) -> int | None:
    """The credits an event moved, when it moved any."""
    if name in ("CreditsIssued", "CreditsTransferred"):
        return int(args["amount"])
    if name == "CreditsRetired":
        return int(args["credits"]["amount"])
    if name == "ProgrammeCreated":
        return int(args["programme"]["creditEstimate"])
    return None
