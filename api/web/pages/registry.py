"""Public pages, no sign-in (issue 12): programme search, a programme's public details, and the serial lookup.

Everything is read as ``node.registry_public.visibility.PUBLIC``, through the same queries as the API
(``node.programmes.queries``, ``node.programmes.history``), so the public sees authorised programmes only and a
programme it may not read answers 404 like one that does not exist. Only public fields are shown: no tax ids, no
uploaded documents, no names of the users who acted.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from api.auth.dependencies import context_of
from api.web.render import N_, gettext_for, language_of, page
from api.web.session import OptionalUser
from node.errors import InvalidInput, NotFound
from node.i18n import country_name
from node.programmes.history import history
from node.programmes.queries import KeysetQuery, ProgrammeFilters, get_programme, list_blocks, list_programmes
from node.programmes.schemas import SectorName
from node.registry_public import serials
from node.registry_public.visibility import PUBLIC

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 20
BLOCKS_PAGE = 50
HISTORY_PAGE = 100

STATES = {
    "held": N_("Held"),
    "retired_international": N_("Retired (international transfer)"),
    "retired_local": N_("Retired (domestic use)"),
    "retired_omge": N_("Retired (overall mitigation, OMGE)"),
}
"""A serial block's state, as the public pages name it."""

RETIREMENT_TYPES = {
    "cross_border": N_("Cross-border transfer"),
    "legal_action": N_("Legal action"),
    "other": N_("Other retirement"),
}

TRANSACTIONS = {"issued": N_("Issued"), "transferred": N_("Transferred"), "retired": N_("Retired")}

EVENTS = {
    "ProgrammeCreated": N_("Programme submitted"),
    "ProgrammeAuthorised": N_("Programme authorised"),
    "ProgrammeRejected": N_("Programme rejected"),
    "ProgrammeDetailsUpdated": N_("Programme details anchored"),
    "CreditsIssued": N_("Credits issued"),
    "CreditsTransferred": N_("Credits transferred"),
    "CreditsRetired": N_("Credits retired"),
    "ProgrammeCertified": N_("Certified"),
    "CertificationRevoked": N_("Certification revoked"),
}
"""The on-chain events of a programme's timeline; any other is shown by its contract name."""

SERIAL_ERRORS = {
    serials.MALFORMED: N_("Enter a serial number like NG-ITMO-1-001-2023-0-1-1000, or one credit of it like "
                          "NG-ITMO-1-001-2023-0-5-5."),
    serials.SPANS_BLOCKS: N_("These serial numbers span more than one block: look up one credit or one block's "
                             "serial number."),
}  # fmt: skip
NOT_ISSUED = N_("No issued credit of an authorised programme has this serial number.")

SearchText = Annotated[str, Query(max_length=100, description="Words of the title or the external id")]
Cursor = Annotated[str | None, Query(max_length=200)]
ProgrammeId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _helpers(request: Request) -> dict[str, Any]:
    language = language_of(request)
    return {"country_name": lambda code: country_name(code, language) if code else "", "states": STATES,
            "retirement_types": RETIREMENT_TYPES, "transactions": TRANSACTIONS, "events": EVENTS}  # fmt: skip


@router.get("/registry/programmes", response_class=HTMLResponse)
def programmes(
    request: Request, user: OptionalUser, q: SearchText = "", sector: Annotated[str, Query(max_length=40)] = "",
    after: Cursor = None,
) -> HTMLResponse:  # fmt: skip
    """Authorised programmes only, by title or external id and sector, 20 a page (keyset)."""
    _ = gettext_for(language_of(request))
    sectors = [s.value for s in SectorName]
    chosen = sector if sector in sectors else ""
    filters = ProgrammeFilters(stage="Authorised", sector=chosen or None, search=q.strip() or None)
    error = None
    try:
        with context_of(request).engine.connect() as conn:
            found = list_programmes(conn, PUBLIC, filters, KeysetQuery(limit=PAGE_SIZE, after=after or None))
    except InvalidInput:
        with context_of(request).engine.connect() as conn:
            found = list_programmes(conn, PUBLIC, filters, KeysetQuery(limit=PAGE_SIZE))
        error = _("That page of results no longer exists: here is the first page.")
    return page(request, "registry/programmes.html", user, items=found.items, next_cursor=found.next_cursor,
                q=q, sector=chosen, sectors=sectors, paged=bool(after) and error is None, error=error,
                **_helpers(request))  # fmt: skip


@router.get("/registry/programmes/{programme_id}", response_class=HTMLResponse)
def programme(
    request: Request, user: OptionalUser, programme_id: ProgrammeId,
    blocks_after: Annotated[int | None, Query(ge=0, le=2**64 - 1)] = None,
    history_after: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:  # fmt: skip
    """An authorised programme's public details, its serial blocks and its on-chain timeline."""
    context = context_of(request)
    try:
        with context.engine.connect() as conn:
            details = get_programme(conn, PUBLIC, programme_id)
            shown = list_blocks(conn, PUBLIC, programme_id, holder=None, state=None, after=blocks_after,
                                limit=BLOCKS_PAGE)  # fmt: skip
            try:
                timeline = history(conn, PUBLIC, programme_id, after=history_after, limit=HISTORY_PAGE)
            except InvalidInput:  # a cursor this page never gave: the timeline from its start
                timeline = history(conn, PUBLIC, programme_id, limit=HISTORY_PAGE)
    except NotFound:
        return page(request, "registry/not_found.html", user, status_code=404, programme_id=programme_id)
    return page(request, "registry/programme.html", user, programme=details, blocks=shown.items,
                blocks_next=shown.next_cursor, timeline=timeline["items"], history_next=timeline["next_cursor"],
                contract=context.deployment.registry, chain_id=context.deployment.chain_id,
                **_helpers(request))  # fmt: skip


@router.get("/registry/serials", response_class=HTMLResponse)
def serial_lookup(request: Request, user: OptionalUser, q: Annotated[str, Query(max_length=2000)] = "") -> HTMLResponse:
    """The lookup form; with ``q``, the credit's block, holder or retirement, and its transactions."""
    _ = gettext_for(language_of(request))
    answer, error, status = None, None, 200
    if q.strip():
        try:
            with context_of(request).engine.connect() as conn:
                answer = serials.lookup(conn, q)
        except InvalidInput as exc:
            error, status = _(SERIAL_ERRORS[str(exc.extensions.get("reason", serials.MALFORMED))]), 422
        except NotFound:
            error, status = _(NOT_ISSUED), 404
    return page(request, "registry/serials.html", user, q=q, answer=answer, error=error, status_code=status,
                **_helpers(request))  # fmt: skip
