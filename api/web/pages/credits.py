"""Credit pages (issue 12), signed in: holdings and their blocks, transfers and retirements with their forms.

Every page calls the same :mod:`node.credits` functions as ``api/credits.py`` and ``api/retirements.py``, so a rule
lives in one place: the actions a page offers are decided by :mod:`node.credits.permissions` (the node checks again
on every write). Each change is a POST form carrying the CSRF token; the create forms also carry an idempotency key
generated when the form is rendered, so a double submit writes once. Errors are shown next to the field the problem
names (``field``), next to the amount when it is about the balance (``available``), else next to the action.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Annotated, Any
from urllib.parse import urlencode

import pycountry
from babel.numbers import format_percent
from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.auth.dependencies import context_of
from api.indexing import IndexWaiterDep
from api.programmes import programme_context
from api.web.forms import Errors, Parsed
from api.web.messages import problem_message, validation_message
from api.web.render import N_, gettext_for, language_of, page
from api.web.session import CSRF, User
from node.credits import holdings, permissions, retirements, transfers
from node.credits.schemas import Decision, RetirementIn, RetirementKind, TransferIn
from node.errors import Forbidden, NotFound, RegistryError
from node.i18n import country_name
from node.identity import organisations
from node.identity.permissions import Principal
from node.programmes.queries import list_blocks

router = APIRouter(include_in_schema=False)
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Text = Annotated[str, Form(max_length=1000)]
Short = Annotated[str, Form(max_length=200)]
Param = Annotated[str, Query(max_length=40)]
GENERAL = "form"
"""The key of an error about the whole form or action rather than one field."""

TRANSFER_STATES = {
    "pending": N_("Pending"), "executing": N_("Executing"), "executed": N_("Executed"), "approved": N_("Approved"),
    "rejected": N_("Rejected"), "cancelled": N_("Cancelled"), "failed": N_("Failed"),
}  # fmt: skip
RETIREMENT_STATES = {
    "pending": N_("Pending"), "executing": N_("Executing"), "recognised": N_("Recognised"), "retired": N_("Retired"),
    "not_recognised": N_("Not recognised"), "cancelled": N_("Cancelled"), "failed": N_("Failed"),
}  # fmt: skip
RETIREMENT_TYPES = {
    "cross_border": N_("Cross-border"), "legal_action": N_("Legal action"), "other": N_("Other"),
}  # fmt: skip
NOTICES = {
    "executed": N_("The credits were sent."), "pending": N_("The transfer request was recorded: it waits for the "
                                                            "sender's approval."),
    "approved": N_("The transfer was approved: the credits moved."), "rejected": N_("The transfer was rejected."),
    "cancelled": N_("The request was cancelled."), "retired": N_("The credits were retired."),
    "requested": N_("The retirement request was recorded: it waits for the Government's recognition."),
    "recognised": N_("The retirement was recognised: the credits were retired."),
    "not_recognised": N_("The retirement was not recognised."),
}  # fmt: skip
TRANSFER_ACTIONS = {"approve": transfers.approve, "reject": transfers.reject, "cancel": transfers.cancel}
RETIREMENT_ACTIONS = {
    "recognise": retirements.recognise, "not-recognise": retirements.not_recognise, "cancel": retirements.cancel,
}  # fmt: skip


# ---------------------------------------------------------------------------------------------- helpers


def new_key() -> str:
    """An idempotency key for one rendered form: submitting it twice is one write."""
    return "web-" + secrets.token_urlsafe(18)


def _may(check: Callable[..., None], *args: Any) -> bool:
    try:
        check(*args)
    except Forbidden:
        return False
    return True


def _errors(request: Request, error: Exception, fields: set[str]) -> Errors:
    """The problem's message next to the field it concerns, else next to the form's action."""
    language = language_of(request)
    if isinstance(error, ValidationError):
        found: Errors = {}
        for item in error.errors():
            loc = item.get("loc") or ()
            field = str(loc[0]) if loc and str(loc[0]) in fields else GENERAL
            found.setdefault(field, validation_message(item, language))
        return found
    assert isinstance(error, RegistryError)
    field = str(error.extensions.get("field", ""))
    if field not in fields:
        field = "amount" if "available" in error.extensions and "amount" in fields else GENERAL
    return {field: problem_message(error, language)}


def _status(error: Exception) -> int:
    return error.status_code if isinstance(error, RegistryError) else 422


def _page_of(parsed: Parsed, after: str, limit: str) -> tuple[int | None, int]:
    size = parsed.integer("limit", limit, upper=100) or 20
    return parsed.integer("after", after), size


def _countries(language: str, exclude: str) -> list[tuple[str, str]]:
    names = [(c.alpha_2, country_name(c.alpha_2, language)) for c in pycountry.countries if c.alpha_2 != exclude]
    return sorted(names, key=lambda pair: pair[1].casefold())


def _missing(request: Request, user: Principal, error: RegistryError) -> HTMLResponse:
    message = problem_message(error, language_of(request))
    return page(request, "credits/missing.html", user, message=message, status_code=error.status_code)


def _query_without(request: Request, *names: str) -> str:
    """The list's query string without ``names`` (to build its page links)."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in names and v != ""]
    return urlencode(kept)


# ---------------------------------------------------------------------------------------------- holdings


@router.get("/app/holdings", response_class=HTMLResponse)
def holdings_page(request: Request, user: User, organisation_id: Param = "") -> Response:
    parsed = Parsed(request)
    chosen = parsed.integer("organisation_id", organisation_id) or user.organisation_id
    everyone = user.is_root or user.in_government
    with context_of(request).engine.connect() as conn:
        try:
            held = holdings.holdings(conn, user, chosen)
        except RegistryError as error:
            return _missing(request, user, error)
        choices = organisations.name_choices(conn, active_only=True) if everyone else []
        retired = holdings.retirement_accounts(conn)
    government = retired["government_account"] is not None and chosen == retired["government_account"]
    return page(request, "credits/holdings.html", user, held=held, choices=choices, chosen=chosen,
                retired=retired if government else None,
                may_transfer=_may(permissions.authorize_transfer, user, 0, user.organisation_id),
                may_retire=_may(permissions.authorize_retire, user, chosen, True))  # fmt: skip


@router.get("/app/holdings/{programme_id}/blocks", response_class=HTMLResponse)
def blocks_page(request: Request, user: User, programme_id: Annotated[int, Path(ge=1, le=2**40 - 1)],
                organisation_id: Param = "", after: Param = "") -> Response:  # fmt: skip
    parsed = Parsed(request)
    holder = parsed.integer("organisation_id", organisation_id) or user.organisation_id
    start = parsed.integer("after", after)
    with context_of(request).engine.connect() as conn:
        try:
            held = holdings.holdings(conn, user, holder)  # who may read the holder's credits
            found = list_blocks(conn, user, programme_id, holder=holder, state="held", after=start, limit=100)
        except RegistryError as error:
            return _missing(request, user, error)
    return page(request, "credits/blocks.html", user, held=held, programme_id=programme_id, blocks=found.items,
                next_cursor=found.next_cursor, holder=holder)  # fmt: skip


# ---------------------------------------------------------------------------------------------- transfers


@router.get("/app/transfers", response_class=HTMLResponse)
def transfers_page(
    request: Request, user: User, programme_id: Param = "", organisation_id: Param = "", state: Param = "",
    created_from: Param = "", created_before: Param = "", order: Param = "desc", after: Param = "",
    limit: Param = "",
) -> Response:  # fmt: skip
    parsed = Parsed(request)
    filters = transfers.TransferFilters(
        programme_id=parsed.integer("programme_id", programme_id, upper=2**40 - 1),
        organisation_id=parsed.integer("organisation_id", organisation_id),
        state=parsed.choice("state", state, TRANSFER_STATES),
        created=(parsed.day("created_from", created_from), parsed.day("created_before", created_before)),
    )  # fmt: skip
    newest_first = parsed.choice("order", order, ("asc", "desc")) != "asc"
    start, size = _page_of(parsed, after, limit)
    with context_of(request).engine.connect() as conn:
        found = transfers.list_transfers(conn, user, filters, after=start, limit=size, newest_first=newest_first)
    shown = {"programme_id": programme_id, "organisation_id": organisation_id, "state": state,
             "created_from": created_from, "created_before": created_before}  # fmt: skip
    return _list(request, user, parsed, "transfers", found, (start, size, newest_first), shown, states=TRANSFER_STATES,
                 may_transfer=_may(permissions.authorize_transfer, user, 0, user.organisation_id))  # fmt: skip


def _list(request: Request, user: Principal, parsed: Parsed, kind: str, found: Mapping[str, Any],
          page_of: tuple[int | None, int, bool], shown: Mapping[str, str], **extra: Any) -> HTMLResponse:  # fmt: skip
    """A transfer or retirement list (``credits/_list.html``): the filters as typed, the page and its links."""
    start, size, newest_first = page_of
    values = {**shown, "order": "desc" if newest_first else "asc", "limit": str(size)}
    return page(request, f"credits/{kind}.html", user, items=found["items"], next_cursor=found["next_cursor"],
                first=start is not None, values=values, errors=parsed.errors, base=f"/app/{kind}",
                query=_query_without(request, "after"), **extra)  # fmt: skip


def _transfer_form(request: Request, user: Principal, values: Mapping[str, str], errors: Errors | None = None,
                   status_code: int = 200) -> HTMLResponse:  # fmt: skip
    with context_of(request).engine.connect() as conn:
        choices = {
            "programmes": holdings.programme_choices(conn),
            "organisations": organisations.name_choices(conn, active_only=True),
        }
    return page(request, "credits/transfer_form.html", user, values=values, errors=errors or {}, key=new_key(),
                status_code=status_code, **choices)  # fmt: skip


@router.get("/app/transfers/new", response_class=HTMLResponse)
def new_transfer(request: Request, user: User, programme_id: Param = "", from_organisation_id: Param = "",
                 to_organisation_id: Param = "") -> Response:  # fmt: skip
    values = {"programme_id": programme_id, "from_organisation_id": from_organisation_id or
              str(user.organisation_id), "to_organisation_id": to_organisation_id}  # fmt: skip
    return _transfer_form(request, user, values)


TRANSFER_FIELDS = {"programme_id", "from_organisation_id", "to_organisation_id", "amount", "remarks"}


@router.post("/app/transfers", response_class=HTMLResponse, dependencies=[CSRF])
def create_transfer(
    request: Request, user: User, waiter: IndexWaiterDep, key: Short = "", programme_id: Short = "",
    from_organisation_id: Short = "", to_organisation_id: Short = "", amount: Short = "", remarks: Text = "",
) -> Response:  # fmt: skip
    values = {"programme_id": programme_id, "from_organisation_id": from_organisation_id,
              "to_organisation_id": to_organisation_id, "amount": amount, "remarks": remarks}  # fmt: skip
    _ = gettext_for(language_of(request))
    blank = {name: str(_("Fill in this field.")) for name in TRANSFER_FIELDS - {"remarks"} if not values[name].strip()}
    if blank:
        return _transfer_form(request, user, values, blank, status_code=422)
    try:
        body = TransferIn.model_validate({**{k: v.strip() for k, v in values.items() if k != "remarks"},
                                          "remarks": remarks.strip() or None})  # fmt: skip
        done = transfers.create(programme_context(request, waiter), user, body, key or None)
    except (RegistryError, ValidationError) as error:
        return _transfer_form(request, user, values, _errors(request, error, TRANSFER_FIELDS), _status(error))
    return RedirectResponse(f"/app/transfers/{done['transfer_id']}?done={done['state']}", status_code=303)


def _transfer_page(request: Request, user: Principal, transfer_id: int, errors: Errors | None = None,
                   status_code: int = 200, done: str = "") -> HTMLResponse:  # fmt: skip
    with context_of(request).engine.connect() as conn:
        try:
            shown = transfers.get_transfer(conn, user, transfer_id)
        except RegistryError as error:
            return _missing(request, user, error)
    pending = shown["state"] == "pending"
    actions = {
        "approve": pending and _may(permissions.authorize_decide, user, shown["from_organisation_id"]),
        "reject": pending and _may(permissions.authorize_decide, user, shown["from_organisation_id"]),
        "cancel": pending and _may(permissions.authorize_cancel, user, shown["initiator_organisation_id"]),
    }  # fmt: skip
    _ = gettext_for(language_of(request))
    notice = _(NOTICES[done]) if done in NOTICES else None
    return page(request, "credits/transfer.html", user, t=shown, actions=actions, errors=errors or {},
                states=TRANSFER_STATES, flash=notice, status_code=status_code)  # fmt: skip


@router.get("/app/transfers/{transfer_id}", response_class=HTMLResponse)
def transfer_page(request: Request, user: User, transfer_id: Id, done: Param = "") -> Response:
    return _transfer_page(request, user, transfer_id, done=done)


@router.get("/app/transfers/{transfer_id}/{action}")
def transfer_action_get(transfer_id: Id, _action: Annotated[str, Path(alias="action", max_length=20)]) -> Response:
    """A reload or a language change after a failed action: back to the transfer."""
    return RedirectResponse(f"/app/transfers/{transfer_id}", status_code=303)


@router.post("/app/transfers/{transfer_id}/{action}", response_class=HTMLResponse, dependencies=[CSRF])
def transfer_action(request: Request, user: User, waiter: IndexWaiterDep, transfer_id: Id,
                    action: Annotated[str, Path(max_length=20)], remarks: Text = "") -> Response:  # fmt: skip
    act = TRANSFER_ACTIONS.get(action)
    if act is None:
        return _missing(request, user, NotFound(f"No action {action}."))
    try:
        done = act(programme_context(request, waiter), user, transfer_id, Decision(remarks=remarks.strip() or None))
    except (RegistryError, ValidationError) as error:
        message = next(iter(_errors(request, error, set()).values()))
        return _transfer_page(request, user, transfer_id, {action: message}, _status(error))
    return RedirectResponse(f"/app/transfers/{transfer_id}?done={done['state']}", status_code=303)


# ---------------------------------------------------------------------------------------------- retirements


@router.get("/app/retirements", response_class=HTMLResponse)
def retirements_page(
    request: Request, user: User, programme_id: Param = "", organisation_id: Param = "", state: Param = "",
    retirement_type: Param = "", created_from: Param = "", created_before: Param = "", order: Param = "desc",
    after: Param = "", limit: Param = "",
) -> Response:  # fmt: skip
    parsed = Parsed(request)
    filters = retirements.RetirementFilters(
        programme_id=parsed.integer("programme_id", programme_id, upper=2**40 - 1),
        organisation_id=parsed.integer("organisation_id", organisation_id),
        state=parsed.choice("state", state, RETIREMENT_STATES),
        retirement_type=parsed.choice("retirement_type", retirement_type, RETIREMENT_TYPES),
        created=(parsed.day("created_from", created_from), parsed.day("created_before", created_before)),
    )  # fmt: skip
    newest_first = parsed.choice("order", order, ("asc", "desc")) != "asc"
    start, size = _page_of(parsed, after, limit)
    with context_of(request).engine.connect() as conn:
        found = retirements.list_retirements(conn, user, filters, after=start, limit=size, newest_first=newest_first)
    shown = {
        "programme_id": programme_id,
        "organisation_id": organisation_id,
        "state": state,
        "retirement_type": retirement_type,
        "created_from": created_from,
        "created_before": created_before,
    }
    return _list(request, user, parsed, "retirements", found, (start, size, newest_first), shown,
                 states=RETIREMENT_STATES, types=RETIREMENT_TYPES,
                 may_retire=_may(permissions.authorize_retire, user, user.organisation_id, True))  # fmt: skip


def _retirement_form(request: Request, user: Principal, values: Mapping[str, str], errors: Errors | None = None,
                     status_code: int = 200) -> HTMLResponse:  # fmt: skip
    context = context_of(request)
    language = language_of(request)
    direct = permissions.retires_directly(user)
    with context.engine.connect() as conn:
        choices = {
            "programmes": holdings.programme_choices(conn),
            "organisations": organisations.name_choices(conn, active_only=True) if direct else [],
        }
    rate = format_percent(context.registry.omge_rate() / 10_000, locale=language, decimal_quantization=False)
    countries = _countries(language, context.settings.registry_country)
    return page(request, "credits/retirement_form.html", user, values=values, errors=errors or {}, key=new_key(),
                direct=direct, types=RETIREMENT_TYPES, countries=countries, rate=rate, status_code=status_code,
                **choices)  # fmt: skip


@router.get("/app/retirements/new", response_class=HTMLResponse)
def new_retirement(request: Request, user: User, programme_id: Param = "",
                   from_organisation_id: Param = "") -> Response:  # fmt: skip
    values = {"programme_id": programme_id, "from_organisation_id": from_organisation_id or str(user.organisation_id),
              "retirement_type": "cross_border"}  # fmt: skip
    return _retirement_form(request, user, values)


RETIREMENT_FIELDS = {"programme_id", "from_organisation_id", "retirement_type", "amount", "country", "beneficiary",
                     "remarks"}  # fmt: skip


@router.post("/app/retirements", response_class=HTMLResponse, dependencies=[CSRF])
def create_retirement(
    request: Request, user: User, waiter: IndexWaiterDep, key: Short = "", programme_id: Short = "",
    from_organisation_id: Short = "", retirement_type: Short = "cross_border", amount: Short = "", country: Short = "",
    beneficiary: Short = "", remarks: Text = "",
) -> Response:  # fmt: skip
    direct = permissions.retires_directly(user)
    if not direct:  # a holder only requests cross-border retirements of its own credits
        from_organisation_id, retirement_type = str(user.organisation_id), RetirementKind.CROSS_BORDER.value
    values = {"programme_id": programme_id, "from_organisation_id": from_organisation_id,
              "retirement_type": retirement_type, "amount": amount, "country": country, "beneficiary": beneficiary,
              "remarks": remarks}  # fmt: skip
    _ = gettext_for(language_of(request))
    required = {"programme_id", "from_organisation_id", "retirement_type"}
    cross_border = retirement_type == RetirementKind.CROSS_BORDER.value
    if cross_border:
        required |= {"country", "beneficiary"}
    blank = {name: str(_("Fill in this field.")) for name in required if not values[name].strip()}
    if blank:
        return _retirement_form(request, user, values, blank, status_code=422)
    fields: dict[str, Any] = {
        "programme_id": programme_id.strip(), "from_organisation_id": from_organisation_id.strip(),
        "retirement_type": retirement_type, "remarks": remarks.strip() or None,
    }  # fmt: skip
    if amount.strip():
        fields["amount"] = amount.strip()
    if cross_border:  # the other types have no receiving country or beneficiary: what was typed there is ignored
        fields |= {"country": country.strip(), "beneficiary": beneficiary.strip()}
    try:
        body = RetirementIn.model_validate(fields)
        done = retirements.create(programme_context(request, waiter), user, body, key or None)
    except (RegistryError, ValidationError) as error:
        return _retirement_form(request, user, values, _errors(request, error, RETIREMENT_FIELDS), _status(error))
    shown = "requested" if done["state"] == "pending" else done["state"]
    return RedirectResponse(f"/app/retirements/{done['retirement_id']}?done={shown}", status_code=303)


def _retirement_page(request: Request, user: Principal, retirement_id: int, errors: Errors | None = None,
                     status_code: int = 200, done: str = "") -> HTMLResponse:  # fmt: skip
    language = language_of(request)
    with context_of(request).engine.connect() as conn:
        try:
            shown = retirements.get_retirement(conn, user, retirement_id)
        except RegistryError as error:
            return _missing(request, user, error)
    pending = shown["state"] == "pending"
    actions = {
        "recognise": pending and _may(permissions.authorize_recognise, user),
        "not-recognise": pending and _may(permissions.authorize_recognise, user),
        "cancel": pending and _may(permissions.authorize_cancel_retirement, user, shown["initiator_organisation_id"]),
    }  # fmt: skip
    _ = gettext_for(language)
    notice = _(NOTICES[done]) if done in NOTICES else None
    return page(request, "credits/retirement.html", user, r=shown, actions=actions, errors=errors or {},
                states=RETIREMENT_STATES, types=RETIREMENT_TYPES, flash=notice, status_code=status_code,
                country=country_name(shown["country"], language) if shown["country"] else "")  # fmt: skip


@router.get("/app/retirements/{retirement_id}", response_class=HTMLResponse)
def retirement_page(request: Request, user: User, retirement_id: Id, done: Param = "") -> Response:
    return _retirement_page(request, user, retirement_id, done=done)


@router.get("/app/retirements/{retirement_id}/{action}")
def retirement_action_get(retirement_id: Id, _action: Annotated[str, Path(alias="action", max_length=20)]) -> Response:
    """A reload or a language change after a failed action: back to the retirement."""
    return RedirectResponse(f"/app/retirements/{retirement_id}", status_code=303)


@router.post("/app/retirements/{retirement_id}/{action}", response_class=HTMLResponse, dependencies=[CSRF])
def retirement_action(request: Request, user: User, waiter: IndexWaiterDep, retirement_id: Id,
                      action: Annotated[str, Path(max_length=20)], remarks: Text = "") -> Response:  # fmt: skip
    act = RETIREMENT_ACTIONS.get(action)
    if act is None:
        return _missing(request, user, NotFound(f"No action {action}."))
    try:
        done = act(programme_context(request, waiter), user, retirement_id, Decision(remarks=remarks.strip() or None))
    except (RegistryError, ValidationError) as error:
        message = next(iter(_errors(request, error, set()).values()))
        return _retirement_page(request, user, retirement_id, {action: message}, _status(error))
    return RedirectResponse(f"/app/retirements/{retirement_id}?done={done['state']}", status_code=303)
