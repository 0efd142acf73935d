"""A programme's timeline (reference §10.5 getHistory): every on-chain event, with who asked for it when allowed.

The events come from the indexed journal (``chain.event``), so each entry carries its transaction hash and block,
which anyone can check against the chain. The registry user behind a write is found through the write's request
reference (``app.programme_change``); it is named only to Root, Government users and users of the actor's own
organisation, as the reference does.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from node.identity.permissions import Principal
from node.models.app import organisation, programme_change
from node.models.chain import event
from node.programmes.permissions import may_see_actor
from node.programmes.queries import get_programme

MAX_ENTRIES = 1000
_e, _c = event.c, programme_change.c


def history(conn: Connection, principal: Principal, programme_id: int, *, after: int | None = None,
            limit: int = 100) -> dict[str, Any]:  # fmt: skip
    """Entries in chain order; ``after`` is the ``sequence`` of the last entry of the previous page."""
    get_programme(conn, principal, programme_id)  # 404 when the caller may not read it
    o = organisation.c
    query = (
        select(_e.tx_hash, _e.log_index, _e.block_number, _e.block_time, _e.name, _e.args,
               _c.operation, _c.requested_by, _c.payload, o.name.label("actor_organisation"))
        .outerjoin(programme_change, _c.request_ref == _e.request_ref)
        .outerjoin(organisation, o.organisation_id == _c.requested_by["organisation_id"].as_integer())
        .where(_e.programme_id == programme_id)
        .order_by(_e.block_number, _e.log_index)
    )  # fmt: skip
    rows = conn.execute(query).all()
    entries = []
    for sequence, row in enumerate(rows, start=1):
        if after is not None and sequence <= after:
            continue
        actor = None
        requested_by = row.requested_by or {}
        if row.requested_by and may_see_actor(principal, requested_by.get("organisation_id")):
            actor = {"user_id": requested_by["user_id"], "email": requested_by["email"],
                     "organisation_id": requested_by["organisation_id"],
                     "organisation_name": row.actor_organisation,
                     "via_api_key": requested_by.get("via_api_key")}  # fmt: skip
        remarks = (row.payload or {}).get("remarks") if actor is not None else None
        entries.append({
            "sequence": sequence, "event": row.name, "tx_hash": "0x" + bytes(row.tx_hash).hex(),
            "log_index": row.log_index, "block_number": row.block_number, "block_time": row.block_time,
            "amount": _amount(row.name, row.args), "data": row.args, "actor": actor, "remarks": remarks,
        })  # fmt: skip
        if len(entries) > limit:
            break
    more = len(entries) > limit
    entries = entries[:limit]
    return {"items": entries, "next_cursor": str(entries[-1]["sequence"]) if more else None}


def _amount(name: str, args: dict[str, Any]) -> int | None:
    """The credits an event moved, when it moved any."""
    if name in ("CreditsIssued", "CreditsTransferred"):
        return int(args["amount"])
    if name == "CreditsRetired":
        return int(args["credits"]["amount"])
    if name == "ProgrammeCreated":
        return int(args["programme"]["creditEstimate"])
    return None
