"""The identity audit trail: who created, changed, suspended or deleted which organisation, user or key.

Each event is written in the transaction of the change it records (so there is no change without its event and
no event without its change), and the table refuses updates and deletes (a trigger; see migration 0006).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from node.identity import permissions
from node.identity.listing import ListQuery, Page, fetch_page
from node.identity.permissions import Principal
from node.models.app import audit_event

_a = audit_event.c
_INSERT = insert(audit_event)
"""Built once, every column bound when it runs (ADR 0020: keying a statement object cost more than running it)."""


def record(
    conn: Connection, actor: Principal | None, action: str, *, organisation_id: int | None, target_id: int | None,
    self_service: tuple[int, str] | None = None, **details: Any,
) -> None:  # fmt: skip
    """Appends one event. ``actor`` None is the operator at the command line, unless ``self_service`` names the
    (user id, email) acting through an emailed link or its own password."""
    actor_id, actor_email = (actor.user_id, actor.email) if actor else self_service or (None, None)
    conn.execute(_INSERT, {
        "actor_user_id": actor_id, "actor_email": actor_email,
        "via_api_key": actor.via_api_key if actor else False, "action": action, "organisation_id": organisation_id,
        "target_id": target_id, "details": details,
    })  # fmt: skip


SORTABLE = {"at": _a.at, "event_id": _a.event_id, "action": _a.action}
"""The columns ``GET /audit-events`` sorts by (the API offers exactly these)."""


def list_events(
    conn: Connection, principal: Principal, query: ListQuery, *, organisation_id: int | None = None,
    action: str | None = None, actor_user_id: int | None = None,
) -> Page:  # fmt: skip
    permissions.authorize_read_audit(principal)
    where = [permissions.visible_audit_events(principal)]
    where += [c == v for c, v in ((_a.organisation_id, organisation_id), (_a.action, action),
                                  (_a.actor_user_id, actor_user_id)) if v is not None]  # fmt: skip
    return fetch_page(conn, select(audit_event), query, key=_a.event_id, where=where,
                      sortable=SORTABLE,
                      searchable=(_a.action, _a.actor_email))  # fmt: skip
