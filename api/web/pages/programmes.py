"""Programme pages (issue 12, signed-in): the list, one programme with its actions, and the creation form.

Every page calls the same ``node.programmes`` services as the ``/programmes`` API (so a rule lives in one place);
the permission functions only decide which forms to show, the node still checks each action. Each action form
carries the CSRF token and an Idempotency-Key drawn when the form is rendered, so a double submit is one write.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Path, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy import Connection
from starlette.datastructures import FormData

from api.auth.dependencies import context_of
from api.indexing import IndexWaiterDep
from api.programmes import programme_context
from api.web.messages import problem_message, validation_message
from api.web.render import N_, gettext_for, language_of, page
from api.web.session import CSRF, User
from node import calculator
from node.calculator import CalculatorInput, Methodology
from node.email.recipients import organisation_names
from node.errors import Forbidden, NotFound, RegistryError, ServiceUnavailable
from node.identity import organisations
from node.identity.permissions import Principal
from node.programmes import creation, lifecycle, materials
from node.programmes.history import history
from node.programmes.materials import MaterialKind
from node.programmes.permissions import (
    authorize_certify,
    authorize_create,
    authorize_details_change,
    authorize_registry_decision,
    authorize_revoke,
)
from node.programmes.queries import (
    SORTABLE,
    STAGES,
    KeysetQuery,
    ProgrammeFilters,
    get_programme,
    list_blocks,
    list_programmes,
)
from node.programmes.schemas import (
    MAX_OWNERS,
    SECTOR_SCOPES,
    Authorisation,
    Certification,
    GreenhouseGas,
    Issuance,
    NewProgramme,
    Rejection,
    Revocation,
    SectorName,
    SourceOfFunding,
    TypeOfMitigation,
)
from node.storage import make_storage

router = APIRouter(prefix="/app/programmes", include_in_schema=False)

ProgrammeId = Annotated[int, Path(ge=1, le=2**40 - 1)]
PAGE_SIZE = 20
BLOCK_PAGE = 20
HISTORY_PAGE = 50
PROPONENT_ROWS = 4
"""Proponent rows of the creation form (no script needed to add one); empty rows are ignored."""


async def form_of(request: Request) -> FormData:
    """The posted form, read once (FastAPI's ``Form`` parameters share starlette's cached copy)."""
    return await request.form()


FormDep = Annotated[FormData, Depends(form_of)]


# ------------------------------------------------------------------------------------------- words shown

STAGE_LABELS = {"AwaitingAuthorization": N_("Awaiting authorisation"), "Authorised": N_("Authorised"),
                "Rejected": N_("Rejected")}  # fmt: skip
SORT_LABELS = {"programme_id": N_("Programme id"), "title": N_("Title"), "start_time": N_("Start date"),
               "end_time": N_("End date"), "credit_estimate": N_("Credit estimate"),
               "credit_issued": N_("Credits issued"), "created_block": N_("Registration block")}  # fmt: skip
MITIGATION_LABELS = {
    "Agriculture": N_("Agriculture"), "BiomassEnergy": N_("Biomass energy"),
    "CCS": N_("Carbon capture and storage"), "Cement": N_("Cement"), "Coal/Mine": N_("Coal mine methane"),
    "EEHouseholds": N_("Energy efficiency in households"), "EEIndustry": N_("Energy efficiency in industry"),
    "EEOwnGeneration": N_("Energy efficiency in own generation"), "EEService": N_("Energy efficiency in services"),
    "EESupplySide": N_("Energy efficiency on the supply side"), "EnergyDistribution": N_("Energy distribution"),
    "Forestry": N_("Forestry"), "FossilFuel": N_("Fossil fuel switch"), "Fugitive": N_("Fugitive emissions"),
    "Geothermal": N_("Geothermal"), "HFC_PFCs_SF6": N_("HFCs, PFCs and SF6"), "Hydro": N_("Hydropower"),
    "Landfills": N_("Landfills"), "Marine": N_("Marine energy"), "MethaneAvoidance": N_("Methane avoidance"),
    "N20": N_("Nitrous oxide (N2O)"), "Solar": N_("Solar"), "Transport": N_("Transport"), "Wind": N_("Wind"),
    "CO2Usage": N_("CO2 usage"), "Tidal": N_("Tidal energy"),
}  # fmt: skip
FUNDING_LABELS = {"BoardSourceFunding": N_("Board funding"), "GovernmentGrantOrLoan": N_("Government grant or loan"),
                  "Other": N_("Other")}  # fmt: skip
MATERIAL_LABELS = {
    "DesignDocument": N_("Design document"), "MethodologyDocument": N_("Methodology document"),
    "MonitoringReport": N_("Monitoring report"), "VerificationReport": N_("Verification report"),
    "NoObjectionLetter": N_("No-objection letter"), "AuthorisationLetter": N_("Authorisation letter"),
    "AnnualReport": N_("Annual report"), "EnvironmentalImpactAssessment": N_("Environmental impact assessment"),
    "Other": N_("Other"),
}  # fmt: skip
METHODOLOGY_LABELS = {
    "agriculture": N_("Rice crops (agriculture)"), "solar": N_("Solar photovoltaics"), "biochar": N_("Biochar"),
    "cookstoves": N_("Efficient cookstoves"), "solar_water_pumping_off_grid": N_("Solar water pumping, off grid"),
    "solar_water_pumping_on_grid": N_("Solar water pumping, on grid"),
}  # fmt: skip
BLOCK_STATE_LABELS = {"held": N_("Held"), "retired_international": N_("Retired (international transfer)"),
                      "retired_local": N_("Retired (local)"), "retired_omge": N_("Retired (OMGE)")}  # fmt: skip
EVENT_LABELS = {
    "ProgrammeCreated": N_("Programme registered"), "ProgrammeAuthorised": N_("Programme authorised"),
    "ProgrammeRejected": N_("Programme rejected"), "CreditsIssued": N_("Credits issued"),
    "ProgrammeCertified": N_("Certified"), "CertificationRevoked": N_("Certification revoked"),
    "ProgrammeDetailsUpdated": N_("Details updated"), "CreditsTransferred": N_("Credits transferred"),
    "CreditsRetired": N_("Credits retired"),
}  # fmt: skip
DONE = {
    "created": N_("The programme is registered and awaits authorisation."),
    "authorised": N_("The programme is authorised."),
    "rejected": N_("The programme is rejected."),
    "issued": N_("The credits are issued."),
    "certified": N_("The programme is certified."),
    "revoked": N_("The certification is revoked."),
    "material": N_("The material is added and the details are anchored again."),
}
"""Notices after a successful action (``?done=``), translated where the page shows them."""

CALCULATOR_FIELDS: dict[str, tuple[str, ...]] = {
    "agriculture": ("land_area", "land_area_unit", "duration", "duration_unit"),
    "solar": ("energy_generation", "energy_generation_unit", "building_type"),
    "biochar": ("weight",),
    "cookstoves": ("number_of_days", "number_of_people"),
    "solar_water_pumping_off_grid": ("energy_generation", "energy_generation_unit"),
    "solar_water_pumping_on_grid": ("energy_generation", "energy_generation_unit"),
}
"""The calculator inputs each methodology takes; the form names them ``calc_<field>``."""
PROPERTY_FIELDS = ("estimated_programme_cost_usd", "max_international_transfer_amount", "crediting_period_years",
                   "source_of_funding", "grant_equivalent_amount", "carbon_price_usd_per_ton",
                   "buyer_country_eligibility")  # fmt: skip
FIELD_IDS = {"start_time": "start_date", "end_time": "end_date", "geographical_location": "geographical_location",
             "greenhouse_gases": "greenhouse_gases-CO2"}  # fmt: skip
"""Model field -> the form control its error is shown next to, where the names differ."""


def choices() -> dict[str, Any]:
    """What the selects of the forms offer."""
    return {
        "stages": STAGE_LABELS, "sectors": [s.value for s in SectorName], "sort_labels": SORT_LABELS,
        "mitigations": [(t.value, MITIGATION_LABELS[t.value]) for t in TypeOfMitigation],
        "mitigation_labels": MITIGATION_LABELS, "gases": [g.value for g in GreenhouseGas],
        "fundings": [(f.value, FUNDING_LABELS[f.value]) for f in SourceOfFunding],
        "material_kinds": [(k.value, MATERIAL_LABELS[k.value]) for k in MaterialKind],
        "methodologies": [(m.value, METHODOLOGY_LABELS[m.value]) for m in Methodology],
        "block_states": BLOCK_STATE_LABELS, "event_labels": EVENT_LABELS, "material_labels": MATERIAL_LABELS,
        "sector_scopes": {s.value: sorted(SECTOR_SCOPES.get(s, range(1, 16))) for s in SectorName},
    }  # fmt: skip


def new_key() -> str:
    """An Idempotency-Key for one rendered form: submitting it twice is one write."""
    return secrets.token_urlsafe(18)


def _message(request: Request, error: Exception) -> str:
    return problem_message(error, language_of(request)) if isinstance(error, RegistryError) else str(error)


def _validation_messages(
    request: Request, error: ValidationError, field_id: Callable[[tuple[Any, ...], str], str]
) -> dict[str, str]:
    """pydantic's errors by the form control they concern (the first error of each), in the page's language."""
    language = language_of(request)
    found: dict[str, str] = {}
    for item in error.errors():
        message = validation_message(item, language)
        found.setdefault(field_id(tuple(item["loc"]), message), message)
    return found


# ------------------------------------------------------------------------------------------- the list


def _parse_date(value: str) -> datetime:
    return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)


def _list_selection(params: dict[str, str]) -> tuple[ProgrammeFilters, KeysetQuery, dict[str, str]]:
    """The API's filters, sort and page from the filter form's query, with an error per field it could not read."""
    errors: dict[str, str] = {}
    parsed: dict[str, Any] = {}

    def number(name: str, low: int, high: int) -> int | None:
        text = params.get(name, "").strip()
        if not text:
            return None
        if not text.isdigit() or not low <= int(text) <= high:
            errors[name] = N_("Enter a whole number in the allowed range.")
            return None
        return int(text)

    stage = params.get("stage", "")
    parsed["stage"] = stage if stage in STAGES.values() else None
    sector = params.get("sector", "")
    parsed["sector"] = sector if sector in {s.value for s in SectorName} else None
    parsed["sectoral_scope"] = number("sectoral_scope", 1, 15)
    parsed["owner"] = number("owner", 1, 2**40 - 1)
    parsed["certifier"] = number("certifier", 1, 2**40 - 1)
    for name in ("starts_from", "starts_before"):
        text = params.get(name, "").strip()
        try:
            parsed[name] = _parse_date(text) if text else None
        except ValueError:
            errors[name] = N_("Enter a date such as 2024-01-31.")
            parsed[name] = None
    search = params.get("q", "").strip()[:200]
    filters = ProgrammeFilters(**parsed, search=search or None)
    sort = params.get("sort", "programme_id")
    sort = sort if sort in SORTABLE else "programme_id"
    order = "desc" if params.get("order") == "desc" else "asc"
    limit = number("limit", 1, 100) or PAGE_SIZE
    after = params.get("after") or None
    return filters, KeysetQuery(sort=sort, order=order, limit=limit, after=after[:500] if after else None), errors


@router.get("", response_class=HTMLResponse)
def programme_list(request: Request, user: User) -> HTMLResponse:
    params = {key: value for key, value in request.query_params.items() if len(value) <= 500}
    filters, query, errors = _list_selection(params)
    _ = gettext_for(language_of(request))
    items: list[dict[str, Any]] = []
    next_link = None
    status = 200
    try:
        with context_of(request).engine.connect() as conn:
            listed = list_programmes(conn, user, filters, query)
        items = listed.items
        if listed.next_cursor:
            kept = {k: v for k, v in params.items() if k != "after" and v}
            next_link = "?" + urlencode(kept | {"after": listed.next_cursor})
    except RegistryError as error:  # a cursor this list did not return
        errors["after"] = _message(request, error)
        status = error.status_code
    errors = {name: str(_(message)) for name, message in errors.items()}
    first_link = "?" + urlencode({k: v for k, v in params.items() if k != "after" and v}) if query.after else None
    return page(request, "programmes/list.html", user, status_code=status, items=items, params=params,
                errors=errors, next_link=next_link, first_link=first_link,
                may_create=_allowed(authorize_create, user), **choices())  # fmt: skip


def _allowed(check: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
    try:
        check(*args, **kwargs)
    except RegistryError:
        return False
    return True


# ------------------------------------------------------------------------------------------- one programme


def _actions(conn: Connection, principal: Principal, shown: dict[str, Any]) -> dict[str, Any]:
    """Which action forms the caller sees (the node checks each action again)."""
    stage = shown["stage"]
    certifier_ids = [c["organisation_id"] for c in shown["certifiers"]]
    officer = _allowed(authorize_registry_decision, principal)
    pending = shown["credit_estimate"] - shown["credit_issued"]
    revoke_mode = None
    try:
        own = authorize_revoke(principal, None)
        revoke_mode = "own" if own in certifier_ids else None
    except Forbidden:
        revoke_mode = None
    except RegistryError:  # the Government must name the certifier
        revoke_mode = "named" if officer and certifier_ids else None
    certifier = _allowed(authorize_certify, principal) and principal.organisation_id not in certifier_ids
    owner_ids = [owner["organisation_id"] for owner in shown["owners"]]
    submitter = materials.submitter_of(conn, shown["programme_id"])
    details = stage != "Rejected" and shown["details"] is not None and _allowed(
        authorize_details_change, principal, owner_ids, created_by=submitter)  # fmt: skip
    return {
        "authorise": officer and stage == "AwaitingAuthorization",
        "reject": officer and stage == "AwaitingAuthorization",
        "issue": officer and stage == "Authorised" and pending > 0,
        "certify": certifier and stage == "Authorised",
        "revoke": revoke_mode,
        "material": details,
    }


def _detail(
    request: Request, user: Principal, programme_id: int, *, status_code: int = 200,
    errors: dict[str, dict[str, str]] | None = None, values: dict[str, dict[str, str]] | None = None,
    kept_key: tuple[str, str | None] | None = None,
) -> HTMLResponse:  # fmt: skip
    """The programme page; ``errors`` maps an action to {control id: message} after a refused action.

    Each form gets a fresh Idempotency-Key, except after an outage (``kept_key``): the write may have happened, and
    sending the form again must answer it rather than write twice."""
    blocks_after_text = request.query_params.get("blocks_after", "")
    blocks_after = int(blocks_after_text) if blocks_after_text.isdigit() and len(blocks_after_text) < 20 else None
    history_after = request.query_params.get("history_after") or None
    try:
        with context_of(request).engine.connect() as conn:
            shown = get_programme(conn, user, programme_id)
            blocks = list_blocks(conn, user, programme_id, holder=None, state=None, after=blocks_after,
                                 limit=BLOCK_PAGE)  # fmt: skip
            try:
                timeline = history(conn, user, programme_id, after=history_after, limit=HISTORY_PAGE)
            except RegistryError:
                timeline = history(conn, user, programme_id, limit=HISTORY_PAGE)
            actions = _actions(conn, user, shown)
            certifier_names = _certifier_names(conn, shown)
    except NotFound as error:
        return page(request, "programmes/missing.html", user, status_code=404, message=_message(request, error))
    _ = gettext_for(language_of(request))
    done = request.query_params.get("done", "")
    keys = {action: new_key() for action in ("authorise", "reject", "issue", "certify", "revoke", "material")}
    if kept_key is not None and kept_key[1]:
        keys[kept_key[0]] = kept_key[1]
    return page(
        request, "programmes/detail.html", user, status_code=status_code, p=shown, blocks=blocks, timeline=timeline,
        actions=actions, errors=errors or {}, values=values or {}, keys=keys, certifier_names=certifier_names,
        flash=str(_(DONE[done])) if done in DONE and status_code == 200 else None,
        stage_label=STAGE_LABELS.get(shown["stage"], shown["stage"]), **choices(),
    )  # fmt: skip


def _certifier_names(conn: Connection, shown: dict[str, Any]) -> dict[int, str]:
    ids = [c["organisation_id"] for c in shown["certifiers"] + shown["revoked_certifiers"]]
    return organisation_names(conn, ids)


@router.get("/new", response_class=HTMLResponse)
def new_programme(request: Request, user: User) -> HTMLResponse:
    """Only for who may register a programme: anyone else learns it before filling in the form."""
    try:
        authorize_create(user)
    except Forbidden as refused:
        return page(request, "programmes/missing.html", user, status_code=403, message=_message(request, refused))
    return _creation_page(request, user, values=_default_values(request, user))


@router.get("/{programme_id}", response_class=HTMLResponse)
def programme_page(programme_id: ProgrammeId, request: Request, user: User) -> HTMLResponse:
    return _detail(request, user, programme_id)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


@router.post("/{programme_id}/materials", response_class=HTMLResponse, dependencies=[CSRF])
def add_material(
    programme_id: ProgrammeId, request: Request, user: User, waiter: IndexWaiterDep, form: FormDep,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:  # fmt: skip
    values = {"kind": _text(form, "kind"), "title": _text(form, "title")}
    try:
        kind = TypeAdapter(MaterialKind).validate_python(values["kind"])
    except ValidationError:
        _ = gettext_for(language_of(request))
        return _detail(request, user, programme_id, status_code=422, values={"material": values},
                       errors={"material": {"material-kind": str(_("Choose the kind of document."))}})  # fmt: skip
    context = programme_context(request, waiter)
    content = file.file.read(context.settings.max_upload_bytes + 1) if file is not None else b""
    key = _text(form, "idempotency_key") or None
    try:
        materials.add_material(
            context, make_storage(context.settings), user, programme_id, kind=kind, title=values["title"],
            file_name=((file.filename if file else None) or "material")[:200], content=content,
            key=key,
        )  # fmt: skip
    except RegistryError as error:
        field = error.extensions.get("field")
        control = f"material-{field}" if field in ("title", "file") else "material-file"
        return _detail(request, user, programme_id, status_code=error.status_code, values={"material": values},
                       errors={"material": {control: _message(request, error)}},
                       kept_key=_kept("material", key, error))  # fmt: skip
    return RedirectResponse(f"/app/programmes/{programme_id}?done=material", status_code=303)


def _kept(action: str, key: str | None, error: RegistryError) -> tuple[str, str | None] | None:
    """The form's key, kept only when the write may have happened (an outage or the indexer behind)."""
    return (action, key) if isinstance(error, ServiceUnavailable) else None


ACTIONS: dict[str, tuple[type[BaseModel], tuple[str, ...], str]] = {
    "authorise": (Authorisation, ("issue_amount", "remarks"), "authorised"),
    "reject": (Rejection, ("remarks",), "rejected"),
    "issue": (Issuance, ("amount", "remarks"), "issued"),
    "certify": (Certification, ("remarks",), "certified"),
    "revoke": (Revocation, ("certifier_id", "remarks"), "revoked"),
}
"""action -> (the API's body model, the form fields it reads, the notice after it)."""


@router.post("/{programme_id}/{action}", response_class=HTMLResponse, dependencies=[CSRF])
def programme_action(
    programme_id: ProgrammeId, action: Annotated[str, Path(pattern="^(authorise|reject|issue|certify|revoke)$")],
    request: Request, user: User, waiter: IndexWaiterDep, form: FormDep,
) -> Response:  # fmt: skip
    """One lifecycle action, through the service its API route calls."""
    model, fields, done = ACTIONS[action]
    values = {name: _text(form, name) for name in fields}
    key = _text(form, "idempotency_key") or None
    services: dict[str, Callable[..., dict[str, Any]]] = {
        "authorise": lifecycle.authorise, "reject": lifecycle.reject, "issue": lifecycle.issue,
        "certify": lifecycle.certify, "revoke": lifecycle.revoke,
    }  # fmt: skip
    try:
        body = model.model_validate({name: value for name, value in values.items() if value})
        services[action](programme_context(request, waiter), user, programme_id, body, key)
    except ValidationError as error:
        found = _validation_messages(request, error, lambda loc, _m: f"{action}-{loc[0]}" if loc else f"{action}-")
        return _detail(request, user, programme_id, status_code=422, errors={action: found}, values={action: values})
    except RegistryError as error:
        field = error.extensions.get("field")
        control = f"{action}-{field}" if field in fields else f"{action}-"
        return _detail(request, user, programme_id, status_code=error.status_code, values={action: values},
                       errors={action: {control: _message(request, error)}},
                       kept_key=_kept(action, key, error))  # fmt: skip
    return RedirectResponse(f"/app/programmes/{programme_id}?done={done}", status_code=303)


# ------------------------------------------------------------------------------------------- creation


def _default_values(request: Request, user: Principal) -> dict[str, Any]:
    """The caller's own organisation as the first proponent (at 100 %), when it has a tax id."""
    with context_of(request).engine.connect() as conn:
        tax_id = organisations.get_organisation(conn, user.organisation_id).get("tax_id")
    values: dict[str, Any] = {"credit_unit": "ITMO", "estimate_source": "given", "greenhouse_gases": []}
    if tax_id and user.organisation_role == "ProgrammeDeveloper":
        values |= {"proponents-0-tax_id": tax_id, "proponents-0-percentage": "100"}
    return values


def _form_values(form: FormData) -> dict[str, Any]:
    """The creation form as posted, to show again on an error."""
    values: dict[str, Any] = {key: value.strip() for key, value in form.items() if isinstance(value, str)
                              and key not in ("csrf", "greenhouse_gases")}  # fmt: skip
    values["greenhouse_gases"] = [g for g in form.getlist("greenhouse_gases") if isinstance(g, str)]
    return values


def _calculator_body(values: dict[str, Any]) -> dict[str, Any]:
    methodology = values.get("methodology", "")
    body: dict[str, Any] = {"methodology": methodology}
    for name in CALCULATOR_FIELDS.get(methodology, ()):
        if values.get(f"calc_{name}"):
            body[name] = values[f"calc_{name}"]
    return body


def _instant(values: dict[str, Any], name: str) -> str | None:
    """A date of the form as the model's instant (midnight UTC); the text as given when it is not a date."""
    text = str(values.get(name, ""))
    if not text:
        return None
    try:
        return _parse_date(text).isoformat()
    except ValueError:
        return text


def _programme_body(values: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        name: values[name] for name in ("title", "external_id", "sector", "sectoral_scope", "type_of_mitigation",
                                        "credit_unit") if values.get(name)
    }  # fmt: skip
    body["start_time"] = _instant(values, "start_date")
    body["end_time"] = _instant(values, "end_date")
    proponents = []
    for row in range(PROPONENT_ROWS):
        tax_id, percentage = values.get(f"proponents-{row}-tax_id", ""), values.get(f"proponents-{row}-percentage", "")
        if tax_id or percentage:
            proponents.append({"tax_id": tax_id, **({"percentage": percentage} if percentage else {})})
    body["proponents"] = proponents
    if values.get("estimate_source") == "calculator":
        body["calculator"] = _calculator_body(values)
    elif values.get("credit_estimate"):
        body["credit_estimate"] = values["credit_estimate"]
    locations = [part.strip() for part in str(values.get("geographical_location", "")).split(",") if part.strip()]
    properties: dict[str, Any] = {"geographical_location": locations, "greenhouse_gases": values["greenhouse_gases"]}
    properties |= {name: values[name] for name in PROPERTY_FIELDS if values.get(name)}
    body["properties"] = properties
    return {name: value for name, value in body.items() if value is not None}


def _creation_field(loc: tuple[Any, ...], message: str) -> str:
    """The control of the creation form an error of ``NewProgramme`` concerns."""
    if not loc:  # the model's own checks name what they concern in their message
        for needle, control in (
            ("sectoral scope", "sectoral_scope"),
            ("start_time", "end_date"),
            ("tax id appears twice", "proponents-0-tax_id"),
            ("percentages", "proponents-0-percentage"),
            ("credit_estimate", "credit_estimate"),
        ):
            if needle in message:
                return control
        return ""
    head = str(loc[0])
    if head == "proponents":
        row = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else 0
        column = loc[2] if len(loc) > 2 else "tax_id"
        return f"proponents-{row}-{column}"
    if head == "properties":
        return FIELD_IDS.get(str(loc[1]), str(loc[1])) if len(loc) > 1 else "geographical_location"
    if head == "calculator":
        return _calculator_field(loc[1:])
    return FIELD_IDS.get(head, head)


def _calculator_field(loc: tuple[Any, ...]) -> str:
    """Within the calculator inputs: (methodology tag, field, ...) or a model-level error of one methodology."""
    if len(loc) >= 2:
        return f"calc_{loc[1]}"
    return "methodology"


def _creation_page(
    request: Request, user: Principal, *, values: dict[str, Any], errors: dict[str, str] | None = None,
    estimate: calculator.Estimate | None = None, status_code: int = 200, template: str = "programmes/new.html",
) -> HTMLResponse:  # fmt: skip
    return page(request, template, user, status_code=status_code, values=values, errors=errors or {},
                estimate=estimate, rows=range(PROPONENT_ROWS), max_owners=MAX_OWNERS, key=new_key(),
                may_create=_allowed(authorize_create, user), calculator_fields=CALCULATOR_FIELDS,
                **choices())  # fmt: skip


@router.post("", response_class=HTMLResponse, dependencies=[CSRF])
def create_programme(request: Request, user: User, waiter: IndexWaiterDep, form: FormDep) -> Response:
    values = _form_values(form)
    key = values.pop("idempotency_key", "") or None
    try:
        body = NewProgramme.model_validate(_programme_body(values))
        created = creation.create(programme_context(request, waiter), user, body, key)
    except ValidationError as error:
        return _creation_page(request, user, values=values, status_code=422,
                              errors=_validation_messages(request, error, _creation_field))  # fmt: skip
    except RegistryError as error:
        field = str(error.extensions.get("field") or "")
        control = _creation_field(tuple(int(p) if p.isdigit() else p for p in field.split(".")), "") if field else ""
        if isinstance(error, ServiceUnavailable):  # the programme may be registered: the same key answers it
            values["idempotency_key"] = key
        return _creation_page(request, user, values=values, status_code=error.status_code,
                              errors={control: _message(request, error)})  # fmt: skip
    return RedirectResponse(f"/app/programmes/{created['programme_id']}?done=created", status_code=303)


@router.post("/estimate", response_class=HTMLResponse, dependencies=[CSRF])
def estimate_preview(request: Request, user: User, form: FormDep) -> HTMLResponse:
    """The calculator's estimate of the form's inputs: the calculator fieldset again (htmx swaps it in), or the
    whole creation page when the browser posted the form without script."""
    values = _form_values(form)
    values["estimate_source"] = "calculator"
    fragment = request.headers.get("hx-request") == "true"
    template = "programmes/_calculator.html" if fragment else "programmes/new.html"
    errors: dict[str, str] = {}
    result = None
    try:
        inputs: CalculatorInput = TypeAdapter(CalculatorInput).validate_python(_calculator_body(values))
        start, end = _instant(values, "start_date"), _instant(values, "end_date")
        period: tuple[int | None, int | None] = (None, None)
        if start and end:
            try:
                period = (int(datetime.fromisoformat(start).timestamp()), int(datetime.fromisoformat(end).timestamp()))
            except ValueError:
                period = (None, None)
        with context_of(request).engine.connect() as conn:
            result = calculator.estimate(conn, inputs, start_time=period[0], end_time=period[1])
    except ValidationError as error:
        errors = _validation_messages(request, error, lambda loc, _m: _calculator_field(loc))
    except RegistryError as error:
        field = str(error.extensions.get("field") or "")
        errors = {f"calc_{field.rsplit('.', 1)[-1]}" if field else "methodology": _message(request, error)}
    status = 422 if errors and not fragment else 200  # htmx swaps 2xx answers only
    return _creation_page(request, user, values=values, errors=errors, estimate=result, status_code=status,
                          template=template)  # fmt: skip
