"""Organisation and user administration pages (issue 12, signed in): lists, details, creation, edits, suspension,
API keys and the CSV import with its dry run.

Every page calls the same :mod:`node.identity` services as ``api/identity/organisations.py`` and
``api/identity/users.py``, so a rule lives in one place: :mod:`node.identity.permissions` decides which forms a page
shows, and the node checks again on every write. Each change is a POST carrying the CSRF token, answered by a 303
redirect with a notice; an error is shown next to the field it names (``field``) or next to its action.

Two answers are pages rather than redirects: a new API key (shown once, never put in a URL) and the CSV import's
per-row results.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, get_args
from urllib.parse import urlencode

import pycountry
from fastapi import APIRouter, Depends, File, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from api.auth.dependencies import context_of
from api.web import forms
from api.web.forms import Errors
from api.web.messages import problem_message, translated, validation_message
from api.web.render import N_, gettext_for, language_of, page
from api.web.session import CSRF, User
from node.errors import Forbidden, NotFound, RegistryError
from node.i18n import country_name
from node.identity import api_keys, organisations, permissions, suspension, users
from node.identity.csv_import import CsvFile, RowResult, run_import, uploaded
from node.identity.listing import MAX_PAGE_SIZE, ListQuery
from node.identity.permissions import ADMIN, API, GOVERNMENT, SUSPENDED, Principal, UserTarget
from node.identity.principals import API_KEY_PREFIX
from node.identity.schemas import (
    AnyOrganisationRole,
    AnyUserRole,
    CreatableOrganisationRole,
    NewOrganisation,
    OrganisationUpdate,
    UserIn,
    UserRole,
    UserUpdate,
)
from node.storage import make_storage

router = APIRouter(include_in_schema=False)
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Param = Annotated[str, Query(max_length=200)]
GENERAL = "form"
"""The key of an error about the whole form or action rather than one field."""

ORGANISATION_ROLES = {
    "Government": N_("Government"), "ProgrammeDeveloper": N_("Programme developer"), "Certifier": N_("Certifier"),
    "API": N_("API (MRV system)"), "Ministry": N_("Ministry"), "Academics": N_("Academics"),
    "ServiceProvider": N_("Service provider"), "MitigationActivityParticipant": N_("Mitigation activity participant"),
    "CarbonCreditBroker": N_("Carbon credit broker"),
    "ValidationVerificationEntities": N_("Validation and verification entity"),
    "CommercialBanks": N_("Commercial bank"), "InvestorsFinanciers": N_("Investor or financier"),
    "GovernmentRegulators": N_("Government regulator"), "Observers": N_("Observer"),
    "CivilSocietyOrganization": N_("Civil society organisation"),
    "InternationalOrganization": N_("International organisation"),
}  # fmt: skip
assert set(ORGANISATION_ROLES) == set(get_args(AnyOrganisationRole)) | {GOVERNMENT}
USER_ROLES = {"Root": N_("Root"), "Admin": N_("Admin"), "Manager": N_("Manager"), "ViewOnly": N_("View only")}
assert set(USER_ROLES) == set(get_args(AnyUserRole))
STATES = {"active": N_("Active"), "suspended": N_("Suspended")}
ORGANISATION_SORTS = {
    "name": N_("Name"), "role": N_("Role"), "state": N_("State"), "country": N_("Country"),
    "created_at": N_("Created"), "organisation_id": N_("Id"),
}  # fmt: skip
USER_SORTS = {
    "name": N_("Name"), "email": N_("Email"), "role": N_("Role"), "organisation_id": N_("Organisation"),
    "created_at": N_("Created"), "user_id": N_("Id"),
}  # fmt: skip
assert set(ORGANISATION_SORTS) == set(organisations.SORTABLE)
assert set(USER_SORTS) == set(users.SORTABLE)
NOTICES = {
    "created": N_("The organisation was created; its Admin was emailed a link to set a password."),
    "updated": N_("The changes were saved."),
    "suspended": N_("The organisation was suspended: its credits are frozen and its users can only read."),
    "activated": N_("The organisation was activated: its credits are no longer frozen."),
    "logo": N_("The logo was saved."),
    "user-created": N_("The user was created and emailed a link to set a password."),
    "user-deleted": N_("The user was deleted."),
    "invited": N_("A new set-password link is on its way."),
    "key-revoked": N_("The API key was revoked: it no longer works."),
    "unchanged": N_("Nothing was changed."),
}  # fmt: skip
ORGANISATION_FIELDS = ("name", "role", "country", "tax_id", "email", "phone", "website", "address")
ADMIN_FIELDS = ("admin_name", "admin_email", "admin_phone", "admin_language")
USER_FIELDS = ("organisation_id", "email", "name", "role", "phone", "language")
CONTACT = ("tax_id", "email", "phone", "address")
IMPORT_REFUSED = N_("Only Root and Government Admins can import organisations and users.")
CREATE_USER_REFUSED = N_("Only Root and Admins can create users.")


async def form_of(request: Request) -> FormData:
    """The posted form, read once (the CSRF check shares starlette's cached copy)."""
    return await request.form()


FormDep = Annotated[FormData, Depends(form_of)]


# ---------------------------------------------------------------------------------------------- helpers


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _may(check: Callable[..., None], *args: Any) -> bool:
    try:
        check(*args)
    except Forbidden:
        return False
    return True


def _message(request: Request, error: RegistryError) -> str:
    return problem_message(error, language_of(request))


def _validation(
    request: Request, error: ValidationError, rename: Callable[[tuple[Any, ...]], str], fields: set[str]
) -> Errors:
    """pydantic's errors by the form control they concern (the first error of each), else the form's."""
    language = language_of(request)
    found: Errors = {}
    for item in error.errors():
        name = rename(tuple(item.get("loc") or ()))
        found.setdefault(name if name in fields else GENERAL, validation_message(item, language))
    return found


def _field(request: Request, error: RegistryError, fields: set[str], rename: Mapping[str, str] | None = None) -> Errors:
    field = str(error.extensions.get("field", ""))
    field = (rename or {}).get(field, field)
    return {field if field in fields else GENERAL: _message(request, error)}


def _not_found(request: Request, user: Principal, error: RegistryError) -> HTMLResponse:
    return page(request, "organisations/missing.html", user, message=_message(request, error),
                status_code=error.status_code)  # fmt: skip


def _notice(request: Request, done: str) -> str | None:
    return str(gettext_for(language_of(request))(NOTICES[done])) if done in NOTICES else None


def _countries(language: str) -> list[tuple[str, str]]:
    names = [(c.alpha_2, country_name(c.alpha_2, language)) for c in pycountry.countries]
    return sorted(names, key=lambda pair: pair[1].casefold())


class Parsed(forms.Parsed):
    """Query parameters of a list, parsed without a JSON 422: a bad value is shown next to its filter."""

    def query(self, values: dict[str, str], sorts: Mapping[str, str]) -> ListQuery:
        size = self.integer("size", values["size"], default=20, upper=MAX_PAGE_SIZE) or 20
        return ListQuery(
            # a wrong page number falls back to the first page: it has no field to show an error next to
            page=Parsed(self.request).integer("page", values["page"], default=1, upper=1_000_000) or 1,
            size=size,
            sort=self.choice("sort", values["sort"], sorts),
            order="desc" if self.choice("order", values["order"], ("asc", "desc")) == "desc" else "asc",
            search=values["q"] or None,
        )  # fmt: skip


def _pages(request: Request, found: Any) -> dict[str, Any]:
    """Links to the previous and next pages of an offset list, keeping its filters."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "page" and v != ""]
    last = max(1, -(-found.total // found.size))

    def link(number: int) -> str:
        return request.url.path + "?" + urlencode([*kept, ("page", str(number))])

    return {"total": found.total, "page": found.page, "last": last,
            "previous": link(found.page - 1) if found.page > 1 else None,
            "next": link(found.page + 1) if found.page < last else None}  # fmt: skip


def _list_values(request: Request, names: tuple[str, ...]) -> dict[str, str]:
    return {name: request.query_params.get(name, "")[:200].strip() for name in ("q", "sort", "order", "page", "size",
                                                                                  *names)}  # fmt: skip


def may_import(user: Principal) -> bool:
    return _may(permissions.authorize_import, user)


# ---------------------------------------------------------------------------------------------- organisations


@router.get("/app/organisations", response_class=HTMLResponse)
def organisations_page(request: Request, user: User, done: Param = "") -> Response:
    values = _list_values(request, ("role", "state", "country"))
    parsed = Parsed(request)
    query = parsed.query(values, ORGANISATION_SORTS)
    role = parsed.choice("role", values["role"], ORGANISATION_ROLES)
    state = parsed.choice("state", values["state"], STATES)
    country = values["country"].upper() or None
    if country is not None and pycountry.countries.get(alpha_2=country) is None:
        parsed.errors["country"] = str(parsed._("Choose one of the listed values."))
        country = None
    with context_of(request).engine.connect() as conn:
        found = organisations.list_organisations(conn, query, role=role, state=state, country=country)
    language = language_of(request)
    return page(request, "organisations/list.html", user, items=found.items, values=values, errors=parsed.errors,
                roles=ORGANISATION_ROLES, states=STATES, sorts=ORGANISATION_SORTS, pages=_pages(request, found),
                countries=_countries(language), country_of=lambda code: country_name(code, language),
                may_create=_may(permissions.authorize_create_organisation, user), may_import=may_import(user),
                flash=_notice(request, done))  # fmt: skip


def _organisation_form(request: Request, user: Principal, values: Mapping[str, str], errors: Errors | None = None,
                       status_code: int = 200) -> HTMLResponse:  # fmt: skip
    settings = context_of(request).settings
    roles = [(role, ORGANISATION_ROLES[role]) for role in get_args(CreatableOrganisationRole)]
    return page(request, "organisations/new.html", user, values=values, errors=errors or {}, roles=roles,
                countries=_countries(language_of(request)),
                registry_country_code=settings.registry_country, status_code=status_code)  # fmt: skip


@router.get("/app/organisations/new", response_class=HTMLResponse)
def new_organisation(request: Request, user: User) -> Response:
    try:
        permissions.authorize_create_organisation(user)
    except Forbidden as error:
        return _not_found(request, user, error)
    return _organisation_form(request, user, {"role": "ProgrammeDeveloper", "admin_language": language_of(request)})


def _admin_location(loc: tuple[Any, ...]) -> str:
    if loc and loc[0] == "admin":
        return "admin_" + str(loc[1]) if len(loc) > 1 else "admin_email"
    return str(loc[0]) if loc else GENERAL


@router.post("/app/organisations/new", response_class=HTMLResponse, dependencies=[CSRF])
def create_organisation(request: Request, user: User, form: FormDep) -> Response:
    values = {name: _text(form, name) for name in (*ORGANISATION_FIELDS, *ADMIN_FIELDS)}
    _ = gettext_for(language_of(request))
    required = ["name", "role", "admin_name", "admin_email"]
    if values["role"] != API:
        required += CONTACT
    blank = {name: str(_("Fill in this field.")) for name in required if not values[name]}
    if blank:
        return _organisation_form(request, user, values, blank, status_code=422)
    fields = set(values)
    context = context_of(request)
    body: dict[str, Any] = {k: values[k] or None for k in ORGANISATION_FIELDS}
    if values["role"] != "Certifier":
        body["country"] = None  # only a Certifier names its country; the others are the registry's
    admin = {"name": values["admin_name"], "email": values["admin_email"], "phone": values["admin_phone"] or None,
             "language": values["admin_language"] or "en"}  # fmt: skip
    try:
        new = NewOrganisation.model_validate({**body, "admin": admin})
        with context.engine.begin() as conn:
            organisation_id, _admin = organisations.create_organisation(conn, context.settings, user, new)
    except ValidationError as error:
        return _organisation_form(request, user, values, _validation(request, error, _admin_location, fields), 422)
    except RegistryError as error:
        found = _field(request, error, fields)
        if error.extensions.get("field") == "email":  # the new organisation's Admin's address
            found = {"admin_email": _message(request, error)}
        return _organisation_form(request, user, values, found, error.status_code)
    return RedirectResponse(f"/app/organisations/{organisation_id}?done=created", status_code=303)


@router.get("/app/organisations/import", response_class=HTMLResponse)
def import_page(request: Request, user: User) -> Response:
    if not may_import(user):
        return _not_found(request, user, Forbidden(IMPORT_REFUSED))
    return page(request, "organisations/import.html", user, errors={}, results=None, dry_run=True)


@router.post("/app/organisations/import", response_class=HTMLResponse, dependencies=[CSRF])
def run_csv_import(
    request: Request, user: User, form: FormDep, organisations_file: Annotated[UploadFile | None, File()] = None,
    users_file: Annotated[UploadFile | None, File()] = None,
) -> Response:  # fmt: skip
    if not may_import(user):
        return _not_found(request, user, Forbidden(IMPORT_REFUSED))
    _ = gettext_for(language_of(request))
    dry_run = _text(form, "dry_run") == "yes"
    context = context_of(request)
    limit = context.settings.max_upload_bytes
    errors: Errors = {}
    files: dict[str, CsvFile | None] = {}
    for field, upload, name in (("organisations_file", organisations_file, "organisations.csv"),
                                ("users_file", users_file, "users.csv")):  # fmt: skip
        try:
            files[field] = uploaded(name, upload.file.read(limit + 1), limit) if upload and upload.filename else None
        except RegistryError as error:
            errors[field] = _message(request, error)
    if not errors and not any(files.values()):
        errors[GENERAL] = str(_("Choose organisations.csv, users.csv or both."))
    results = [] if errors else run_import(
        context.engine, context.settings, organisations=files["organisations_file"], users=files["users_file"],
        dry_run=dry_run, actor=user)  # fmt: skip
    language = language_of(request)
    shown = [(r, _outcome(r, language)) for r in results]
    counts = {status: sum(1 for r in results if r.status == status) for status in ("created", "exists", "error")}
    return page(request, "organisations/import.html", user, errors=errors, results=shown if not errors else None,
                dry_run=dry_run, counts=counts, status_code=422 if errors else 200)  # fmt: skip


def _outcome(result: RowResult, language: str) -> str:
    """A row's outcome in the page's language: its validation problems one by one, or its message filled in."""
    if result.problems:
        return "; ".join(f"{'.'.join(map(str, item['loc'])) or '-'}: {validation_message(item, language)}"
                         for item in result.problems)  # fmt: skip
    return translated(result.message, result.params, language)


def _organisation_page(request: Request, user: Principal, organisation_id: int, errors: Errors | None = None,
                       status_code: int = 200, done: str = "", values: Mapping[str, str] | None = None
                       ) -> HTMLResponse:  # fmt: skip
    language = language_of(request)
    with context_of(request).engine.connect() as conn:
        try:
            shown = organisations.get_organisation(conn, organisation_id)
        except RegistryError as error:
            return _not_found(request, user, error)
        members = users.list_users(conn, user, ListQuery(size=MAX_PAGE_SIZE, sort="name"),
                                   organisation_id=organisation_id)  # fmt: skip
        has_admin = any(m["role"] == ADMIN for m in members.items)
    government = shown["role"] == GOVERNMENT
    may_state = not government and _may(permissions.authorize_change_organisation_state, user)
    actions = {
        "edit": _may(permissions.authorize_update_organisation, user, organisation_id),
        "suspend": may_state and shown["state"] != SUSPENDED,
        "activate": may_state and shown["state"] == SUSPENDED,
        "add_user": _may(permissions.authorize_create_user, user, organisation_id, shown["role"], has_admin),
    }  # fmt: skip
    readable = user.is_root or user.in_government or user.organisation_id == organisation_id
    return page(request, "organisations/detail.html", user, o=shown, members=members.items, readable=readable,
                more_members=members.total > len(members.items), actions=actions, errors=errors or {},
                values=values or {}, roles=ORGANISATION_ROLES, user_roles=USER_ROLES, states=STATES,
                country=country_name(shown["country"], language), flash=_notice(request, done),
                status_code=status_code)  # fmt: skip


@router.get("/app/organisations/{organisation_id}", response_class=HTMLResponse)
def organisation_page(request: Request, user: User, organisation_id: Id, done: Param = "") -> Response:
    return _organisation_page(request, user, organisation_id, done=done)


def _edit_form(request: Request, user: Principal, shown: Mapping[str, Any], values: Mapping[str, str],
               errors: Errors | None = None, status_code: int = 200) -> HTMLResponse:  # fmt: skip
    return page(request, "organisations/edit.html", user, o=shown, values=values, errors=errors or {},
                contact_required=shown["role"] not in (GOVERNMENT, API), status_code=status_code)  # fmt: skip


EDITABLE = ("name", "tax_id", "email", "phone", "website", "address")


@router.get("/app/organisations/{organisation_id}/edit", response_class=HTMLResponse)
def edit_organisation(request: Request, user: User, organisation_id: Id) -> Response:
    with context_of(request).engine.connect() as conn:
        try:
            shown = organisations.get_organisation(conn, organisation_id)
            permissions.authorize_update_organisation(user, organisation_id)
        except RegistryError as error:
            return _not_found(request, user, error)
    return _edit_form(request, user, shown, {k: str(shown[k] or "") for k in EDITABLE})


@router.post("/app/organisations/{organisation_id}/edit", response_class=HTMLResponse, dependencies=[CSRF])
def update_organisation(request: Request, user: User, organisation_id: Id, form: FormDep) -> Response:
    values = {name: _text(form, name) for name in EDITABLE}
    context = context_of(request)
    with context.engine.connect() as conn:
        try:
            shown = organisations.get_organisation(conn, organisation_id)
        except RegistryError as error:
            return _not_found(request, user, error)
    changes = {k: v or None for k, v in values.items() if v != str(shown[k] or "")}
    if not changes:
        return RedirectResponse(f"/app/organisations/{organisation_id}?done=unchanged", status_code=303)
    try:
        body = OrganisationUpdate.model_validate(changes)
        with context.engine.begin() as conn:
            organisations.update_organisation(conn, user, organisation_id, body)
    except ValidationError as error:
        found = _validation(request, error, lambda loc: str(loc[0]) if loc else GENERAL, set(EDITABLE))
        return _edit_form(request, user, shown, values, found, 422)
    except RegistryError as error:
        return _edit_form(request, user, shown, values, _field(request, error, set(EDITABLE)), error.status_code)
    return RedirectResponse(f"/app/organisations/{organisation_id}?done=updated", status_code=303)


@router.get("/app/organisations/{organisation_id}/{action}")
def organisation_action_get(organisation_id: Id, _action: Annotated[str, Path(alias="action", max_length=20)]
                            ) -> Response:  # fmt: skip
    """A reload or a language change after a failed action: back to the organisation."""
    return RedirectResponse(f"/app/organisations/{organisation_id}", status_code=303)


@router.post("/app/organisations/{organisation_id}/logo", response_class=HTMLResponse, dependencies=[CSRF])
def upload_logo(
    request: Request, user: User, organisation_id: Id, logo: Annotated[UploadFile, File(description="PNG or JPEG")]
) -> Response:  # fmt: skip
    """The organisation's logo, as ``PUT /organisations/{id}/logo``: decoded and re-encoded by the node, never kept
    as sent. Declared before the suspend/activate route, whose path would match ``logo`` too."""
    context = context_of(request)
    content = logo.file.read(organisations.MAX_LOGO_BYTES + 1)
    try:
        with context.engine.begin() as conn:
            organisations.store_logo(conn, make_storage(context.settings), user, organisation_id, content)
    except RegistryError as error:
        return _organisation_page(request, user, organisation_id, {"logo": _message(request, error)},
                                  error.status_code)  # fmt: skip
    return RedirectResponse(f"/app/organisations/{organisation_id}?done=logo", status_code=303)


@router.post("/app/organisations/{organisation_id}/{action}", response_class=HTMLResponse, dependencies=[CSRF])
def change_state(
    request: Request, user: User, organisation_id: Id, form: FormDep,
    action: Annotated[str, Path(pattern="^(suspend|activate)$")],
) -> Response:  # fmt: skip
    """Suspends (remarks required) or activates; the node freezes or unfreezes the chain account first."""
    context = context_of(request)
    remarks = str(form.get("remarks") or "")
    try:
        if action == "suspend":
            suspension.suspend(context.engine, context.settings, context.registry, user, organisation_id, remarks)
        else:
            suspension.activate(context.engine, context.settings, context.registry, user, organisation_id, remarks)
    except RegistryError as error:
        field = f"{action}-remarks" if error.extensions.get("field") == "remarks" else action
        return _organisation_page(request, user, organisation_id, {field: _message(request, error)},
                                  error.status_code, values={f"{action}-remarks": remarks})  # fmt: skip
    done = "suspended" if action == "suspend" else "activated"
    return RedirectResponse(f"/app/organisations/{organisation_id}?done={done}", status_code=303)


# ---------------------------------------------------------------------------------------------- users


@router.get("/app/users", response_class=HTMLResponse)
def users_page(request: Request, user: User, done: Param = "") -> Response:
    values = _list_values(request, ("organisation_id", "role"))
    parsed = Parsed(request)
    query = parsed.query(values, USER_SORTS)
    organisation_id = parsed.integer("organisation_id", values["organisation_id"])
    role = parsed.choice("role", values["role"], USER_ROLES)
    everyone = user.is_root or user.in_government
    with context_of(request).engine.connect() as conn:
        found = users.list_users(conn, user, query, organisation_id=organisation_id, role=role)
        choices = organisations.name_choices(conn) if everyone else []
    return page(request, "organisations/users.html", user, items=found.items, values=values, errors=parsed.errors,
                roles=USER_ROLES, sorts=USER_SORTS, pages=_pages(request, found), choices=choices,
                may_create=user.is_admin and user.organisation_state != SUSPENDED,
                flash=_notice(request, done))  # fmt: skip


def _user_form(request: Request, user: Principal, values: Mapping[str, str], errors: Errors | None = None,
               status_code: int = 200) -> HTMLResponse:  # fmt: skip
    with context_of(request).engine.connect() as conn:
        choices = users.organisations_for_new_user(conn, user)
    roles = [(role, USER_ROLES[role]) for role in get_args(UserRole)]
    return page(request, "organisations/user_new.html", user, values=values, errors=errors or {}, choices=choices,
                roles=roles, status_code=status_code)  # fmt: skip


@router.get("/app/users/new", response_class=HTMLResponse)
def new_user(request: Request, user: User, organisation_id: Param = "") -> Response:
    try:
        permissions.require_writable(user)
    except Forbidden as refused:
        return _not_found(request, user, refused)
    if not user.is_admin:
        return _not_found(request, user, Forbidden(CREATE_USER_REFUSED))
    values = {"organisation_id": organisation_id or str(user.organisation_id), "role": "ViewOnly",
              "language": language_of(request)}  # fmt: skip
    return _user_form(request, user, values)


@router.post("/app/users/new", response_class=HTMLResponse, dependencies=[CSRF])
def create_user(request: Request, user: User, form: FormDep) -> Response:
    values = {name: _text(form, name) for name in USER_FIELDS}
    _ = gettext_for(language_of(request))
    blank = {name: str(_("Fill in this field.")) for name in ("organisation_id", "email", "name") if not values[name]}
    if blank:
        return _user_form(request, user, values, blank, status_code=422)
    fields = set(USER_FIELDS)
    context = context_of(request)
    try:
        organisation_id = int(values["organisation_id"])
    except ValueError:
        return _user_form(request, user, values, {"organisation_id": str(_("Choose one of the listed values."))}, 422)
    try:
        new = UserIn.model_validate({"email": values["email"], "name": values["name"], "role": values["role"] or
                                     "ViewOnly", "phone": values["phone"] or None,
                                     "language": values["language"] or "en"})  # fmt: skip
        with context.engine.begin() as conn:
            user_id = users.create_user(conn, context.settings, user, organisation_id, new)
    except ValidationError as error:
        found = _validation(request, error, lambda loc: str(loc[0]) if loc else GENERAL, fields)
        return _user_form(request, user, values, found, 422)
    except RegistryError as error:
        found = _field(request, error, fields)
        if isinstance(error, (Forbidden, NotFound)) and GENERAL in found:
            found = {"organisation_id": found[GENERAL]}
        return _user_form(request, user, values, found, error.status_code)
    return RedirectResponse(f"/app/users/{user_id}?done=user-created", status_code=303)


def _user_page(request: Request, user: Principal, user_id: int, errors: Errors | None = None,
               status_code: int = 200, done: str = "", values: Mapping[str, str] | None = None,
               issued: api_keys.IssuedKey | None = None) -> HTMLResponse:  # fmt: skip
    with context_of(request).engine.connect() as conn:
        try:
            shown = users.get_user(conn, user, user_id)
        except RegistryError as error:
            return _not_found(request, user, error)
        live = api_keys.active_key(conn, user_id)
    target = UserTarget(shown["user_id"], shown["role"], shown["organisation_id"])
    own = user.user_id == user_id
    actions = {
        "edit": _may(permissions.authorize_update_user, user, target, set()),
        "edit_role": not own and _may(permissions.authorize_update_user, user, target, {"role", "email"}),
        "delete": _may(permissions.authorize_delete_user, user, target),
        "invitation": not own and not shown["password_set"] and _may(permissions.authorize_update_user, user, target,
                                                                 set()),
        "keys": _may(permissions.authorize_api_keys, user, target, shown["organisation_role"]),
    }  # fmt: skip
    if values is None:
        values = {k: str(shown[k] or "") for k in ("name", "email", "role", "phone", "language")}
    roles = [(role, USER_ROLES[role]) for role in get_args(UserRole)]
    return page(request, "organisations/user.html", user, u=shown, actions=actions, errors=errors or {},
                values=values, roles=roles, user_roles=USER_ROLES, organisation_roles=ORGANISATION_ROLES,
                states=STATES, live_key=live, issued=issued,
                prefix=API_KEY_PREFIX, flash=_notice(request, done), status_code=status_code)  # fmt: skip


@router.get("/app/users/{user_id}", response_class=HTMLResponse)
def user_page(request: Request, user: User, user_id: Id, done: Param = "") -> Response:
    return _user_page(request, user, user_id, done=done)


@router.get("/app/users/{user_id}/api-key/revoke")
@router.get("/app/users/{user_id}/{action}")
def user_action_get(user_id: Id) -> Response:
    """A reload or a language change after a failed action (or after a key was shown): back to the user."""
    return RedirectResponse(f"/app/users/{user_id}", status_code=303)


@router.post("/app/users/{user_id}/edit", response_class=HTMLResponse, dependencies=[CSRF])
def update_user(request: Request, user: User, user_id: Id, form: FormDep) -> Response:
    context = context_of(request)
    with context.engine.connect() as conn:
        try:
            shown = users.get_user(conn, user, user_id)
        except RegistryError as error:
            return _not_found(request, user, error)
    editable = ["name", "phone", "language"]
    if user.user_id != user_id and "role" in form:
        editable += ["role", "email"]
    values = {k: str(shown[k] or "") for k in ("name", "email", "role", "phone", "language")}
    values |= {name: _text(form, name) for name in editable}
    changes = {k: values[k] or None for k in editable if values[k] != str(shown[k] or "")}
    if not changes:
        return RedirectResponse(f"/app/users/{user_id}?done=unchanged", status_code=303)
    fields = set(editable)
    try:
        body = UserUpdate.model_validate(changes)
        with context.engine.begin() as conn:
            users.update_user(conn, context.settings, user, user_id, body)
    except ValidationError as error:
        found = _validation(request, error, lambda loc: str(loc[0]) if loc else GENERAL, fields)
        return _user_page(request, user, user_id, found, 422, values=values)
    except RegistryError as error:
        found = _field(request, error, fields)
        if GENERAL in found:
            found = {"edit": found[GENERAL]}
        return _user_page(request, user, user_id, found, error.status_code, values=values)
    return RedirectResponse(f"/app/users/{user_id}?done=updated", status_code=303)


@router.post("/app/users/{user_id}/delete", response_class=HTMLResponse, dependencies=[CSRF])
def delete_user(request: Request, user: User, user_id: Id) -> Response:
    try:
        with context_of(request).engine.begin() as conn:
            users.delete_user(conn, user, user_id)
    except RegistryError as error:
        return _user_page(request, user, user_id, {"delete": _message(request, error)}, error.status_code)
    return RedirectResponse("/app/users?done=user-deleted", status_code=303)


@router.post("/app/users/{user_id}/invitation", response_class=HTMLResponse, dependencies=[CSRF])
def resend_invitation(request: Request, user: User, user_id: Id) -> Response:
    context = context_of(request)
    try:
        with context.engine.begin() as conn:
            users.resend_invitation(conn, context.settings, user, user_id)
    except RegistryError as error:
        return _user_page(request, user, user_id, {"invitation": _message(request, error)}, error.status_code)
    return RedirectResponse(f"/app/users/{user_id}?done=invited", status_code=303)


@router.post("/app/users/{user_id}/api-key", response_class=HTMLResponse, dependencies=[CSRF])
def issue_api_key(request: Request, user: User, user_id: Id) -> Response:
    """The new key is shown in this answer only (never in a URL or a redirect); any earlier key stops working."""
    context = context_of(request)
    try:
        with context.engine.begin() as conn:
            issued = api_keys.issue_key(conn, context.settings, user, user_id)
    except RegistryError as error:
        return _user_page(request, user, user_id, {"keys": _message(request, error)}, error.status_code)
    return _user_page(request, user, user_id, issued=issued)


@router.post("/app/users/{user_id}/api-key/revoke", response_class=HTMLResponse, dependencies=[CSRF])
def revoke_api_key(request: Request, user: User, user_id: Id) -> Response:
    try:
        with context_of(request).engine.begin() as conn:
            api_keys.revoke_keys(conn, user, user_id)
    except RegistryError as error:
        return _user_page(request, user, user_id, {"keys": _message(request, error)}, error.status_code)
    return RedirectResponse(f"/app/users/{user_id}?done=key-revoked", status_code=303)
