"""The audit trail (issue 12), signed in: who changed what and when, filtered, sorted and paged like the API.

The page calls the same :func:`node.identity.audit.list_events` as ``GET /audit-events`` (so the same callers read
it: Root, Admins and Government Managers; other Admins see their own organisation's events), with the same filters
(organisation, action, actor, search), the same sort columns, and the same page numbers. A bad filter is shown next
to its field instead of a JSON 422.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.auth.dependencies import context_of
from api.identity.listing import MAX_PAGE
from api.web.forms import Parsed
from api.web.messages import problem_message
from api.web.render import N_, language_of, page
from api.web.session import User
from node.errors import RegistryError
from node.identity import audit
from node.identity.listing import MAX_PAGE_SIZE, ListQuery
from node.identity.schemas import MAX_BIGINT

router = APIRouter(include_in_schema=False)
Param = Annotated[str, Query(max_length=200)]
Action = Annotated[str, Query(max_length=100)]
SORTS = {"event_id": N_("Event number"), "at": N_("Time"), "action": N_("Action")}
"""``audit.SORTABLE``'s columns, labelled (the page offers exactly what the API sorts by)."""
SIZES = ("20", "50", "100")


def _shown(value: Any) -> str:
    """A detail's value as text: JSON for anything but a plain string or number."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@router.get("/app/audit", response_class=HTMLResponse)
def audit_page(
    request: Request, user: User, organisation_id: Param = "", action: Action = "", actor_user_id: Param = "",
    q: Param = "", sort: Param = "", order: Param = "", page_number: Annotated[str, Query(alias="page",
    max_length=20)] = "", size: Param = "",
) -> Response:  # fmt: skip
    parsed = Parsed(request)
    chosen_sort = parsed.choice("sort", sort, SORTS, "event_id") or "event_id"
    # As the API: newest first unless a sort is asked for, then ascending unless told otherwise.
    chosen_order = parsed.choice("order", order, ("asc", "desc"), "asc" if sort in SORTS else "desc")
    chosen_size = parsed.choice("size", size, SIZES, "20") or "20"
    number = parsed.integer("page", page_number, upper=MAX_PAGE) or 1
    organisation = parsed.integer("organisation_id", organisation_id, upper=MAX_BIGINT)
    actor = parsed.integer("actor_user_id", actor_user_id, upper=MAX_BIGINT)
    query = ListQuery(page=number, size=min(int(chosen_size), MAX_PAGE_SIZE), sort=chosen_sort,
                      order="asc" if chosen_order == "asc" else "desc", search=q.strip() or None)  # fmt: skip
    try:
        with context_of(request).engine.connect() as conn:
            found = audit.list_events(conn, user, query, organisation_id=organisation, action=action.strip() or None,
                                      actor_user_id=actor)  # fmt: skip
    except RegistryError as error:
        message = problem_message(error, language_of(request))
        return page(request, "settings/missing.html", user, message=message, status_code=error.status_code)
    values = {"organisation_id": organisation_id, "action": action, "actor_user_id": actor_user_id, "q": q,
              "sort": chosen_sort, "order": chosen_order, "size": chosen_size}  # fmt: skip
    kept = urlencode([(k, v) for k, v in values.items() if v])
    pages = max(1, -(-found.total // found.size))
    events = [{**item, "changes": [(key, _shown(value)) for key, value in sorted(item["details"].items())]}
              for item in found.items]  # fmt: skip
    return page(request, "settings/audit.html", user, events=events, total=found.total, page_number=found.page,
                pages=pages, values=values, errors=parsed.errors, sorts=SORTS, sizes=SIZES, query=kept)  # fmt: skip
