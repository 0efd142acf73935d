"""``/audit-events``: the identity audit trail (who changed which organisation, user or key, and when)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from api.auth.dependencies import CurrentPrincipal, context_of
from api.identity.listing import PageOut, list_query_for
from api.identity.params import IdFilter
from api.problems import documented
from node.identity import audit
from node.identity.listing import ListQuery

router = APIRouter(prefix="/audit-events", tags=["audit"])
list_query = list_query_for("AuditEvent", audit.SORTABLE)


class AuditEventOut(BaseModel):
    event_id: int
    at: datetime
    actor_user_id: int | None
    actor_email: str | None
    via_api_key: bool
    action: str
    organisation_id: int | None
    target_id: int | None
    details: dict[str, Any]


@router.get("", response_model=PageOut[AuditEventOut], responses=documented(401, 403))
def list_audit_events(
    principal: CurrentPrincipal, request: Request, params: Annotated[ListQuery, Depends(list_query)],
    organisation_id: IdFilter = None, action: Annotated[str | None, Query(max_length=100)] = None,
    actor_user_id: IdFilter = None,
) -> PageOut[AuditEventOut]:  # fmt: skip
    """Newest first by default. Root and the Government see every event; other Admins their organisation's."""
    if params.sort is None:
        params = replace(params, sort="event_id", order="desc")
    with context_of(request).engine.connect() as conn:
        page = audit.list_events(conn, principal, params, organisation_id=organisation_id, action=action,
                                 actor_user_id=actor_user_id)  # fmt: skip
    return PageOut[AuditEventOut].of(page, AuditEventOut)  # type: ignore[no-any-return]
