"""Government settings (issue 12), signed in: the transfer pause, the OMGE rate and the calculator's constants.

Every signed-in user reads them, as the API allows (``GET /settings/credits``, ``GET /calculator/constants``); the
forms are offered to whom :mod:`node.credits.settings` and :mod:`node.calculator.permissions` allow, and each change
calls the same node function as ``api/credits.py`` and ``api/calculator.py`` (which check again). The constants form
is built from the methodology's constants model (:data:`node.calculator.constants.CONSTANTS_MODELS`), so a new
methodology or a new constant gets its fields without a change here. Errors are shown next to their field, else
next to the form's button.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from babel.numbers import format_percent
from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from api.auth.dependencies import context_of
from api.credits import OmgeRate
from api.indexing import IndexWaiterDep
from api.programmes import programme_context
from api.web.forms import Errors
from api.web.messages import problem_message, validation_message
from api.web.pages.programmes import METHODOLOGY_LABELS
from api.web.render import N_, gettext_for, language_of, page
from api.web.session import CSRF, User
from node import calculator
from node.calculator import constants as constants_store
from node.calculator import permissions as calculator_permissions
from node.calculator.schemas import Methodology
from node.credits import settings as credit_settings
from node.errors import Forbidden, RegistryError
from node.identity.permissions import Principal

router = APIRouter(include_in_schema=False)
Param = Annotated[str, Query(max_length=40)]
Short = Annotated[str, Form(max_length=200)]
MethodologyPath = Annotated[str, Path(max_length=60)]
GENERAL = "form"
"""The key of an error about the whole form or action rather than one field."""

NOTICES = {
    "paused": N_("Transfers and retirements are paused registry-wide."),
    "resumed": N_("Transfers and retirements are resumed."),
    "omge": N_("The new OMGE rate is recorded on chain."),
    "saved": N_("The new version of the constants is recorded: every estimate uses it from now on."),
}  # fmt: skip
FIELD_LABELS = {
    "emission_factor": N_("Emission factor"), "emission_factor_unit": N_("Emission factor unit"),
    "emission_factor_below_threshold": N_("Emission factor up to the threshold (A)"),
    "emission_factor_above_threshold": N_("Emission factor above the threshold (B)"),
    "threshold_unit": N_("Threshold unit"), "thresholds": N_("Threshold per building type (Y)"),
}  # fmt: skip
"""Labels of the constants' fields; a field without one is labelled with its name."""
FIELD_HINTS = {
    "emission_factor_below_threshold": N_("For the generation up to the building type's threshold."),
    "emission_factor_above_threshold": N_("For the generation above the building type's threshold."),
    "thresholds": N_("Empty a value to remove its building type."),
}  # fmt: skip


# ---------------------------------------------------------------------------------------------- helpers


def _may(check: Callable[[Principal], None], user: Principal) -> bool:
    try:
        check(user)
    except Forbidden:
        return False
    return True


def _percent(bps: int, language: str) -> str:
    return str(format_percent(Decimal(bps) / 10_000, locale=language, decimal_quantization=False))


def _notice(request: Request, done: str) -> str | None:
    return str(gettext_for(language_of(request))(NOTICES[done])) if done in NOTICES else None


def _registry_error(request: Request, error: RegistryError) -> str:
    return problem_message(error, language_of(request))


@dataclass(frozen=True)
class ConstantField:
    """One input of a methodology's constants form, read from its pydantic field."""

    name: str
    label: str
    kind: str  # decimal | text | choice | mapping
    hint: str = ""
    unit_format: str = ""
    options: tuple[str, ...] = ()


def constant_fields(model: type[BaseModel]) -> list[ConstantField]:
    """The form's inputs for ``model``, in its field order."""
    found = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        description = info.description or ""
        unit_format = description.split(", e.g.")[0] if description.startswith("<") else ""
        kind, options = "text", tuple[str, ...]()
        if typing.get_origin(annotation) is typing.Literal:
            kind, options = "choice", tuple(str(option) for option in typing.get_args(annotation))
        elif typing.get_origin(annotation) is dict:
            kind = "mapping"
        elif annotation is Decimal:
            kind = "decimal"
        label = FIELD_LABELS.get(name, name.replace("_", " ").capitalize())
        found.append(ConstantField(name, label, kind, FIELD_HINTS.get(name, ""), unit_format, options))
    return found


def _form_values(fields: list[ConstantField], form: FormData) -> tuple[dict[str, Any], dict[str, str]]:
    """(the model's input, the values to show again): a mapping's rows come as ``<name>-key`` and ``<name>-value``
    pairs, and a row without a value is left out (that removes it)."""
    data: dict[str, Any] = {}
    shown: dict[str, Any] = {}
    for field in fields:
        if field.kind == "mapping":
            keys, values = form.getlist(f"{field.name}-key"), form.getlist(f"{field.name}-value")
            rows = {str(k).strip(): str(v).strip() for k, v in zip(keys, values, strict=False)
                    if str(k).strip() and str(v).strip()}  # fmt: skip
            data[field.name] = rows
            shown[field.name] = rows
        else:
            value = str(form.get(field.name, "")).strip()
            shown[field.name] = value
            if value:
                data[field.name] = value
    return data, shown


def _validation_errors(request: Request, error: ValidationError, names: set[str]) -> Errors:
    """Pydantic's problems in the page's language where it has the words, next to the field they concern."""
    language = language_of(request)
    found: Errors = {}
    for item in error.errors():
        loc = item.get("loc") or ()
        field = str(loc[0]) if loc and str(loc[0]) in names else GENERAL
        message = validation_message(item, language)
        if len(loc) > 1 and field != GENERAL:
            message = f"{loc[1]}: {message}"
        found.setdefault(field, str(message))
    return found


async def form_data(request: Request) -> FormData:
    """The posted form as a whole (the constants' fields depend on the methodology)."""
    return await request.form()


PostedForm = Annotated[FormData, Depends(form_data)]


# ---------------------------------------------------------------------------------------------- overview


def _settings_page(request: Request, user: Principal, errors: Errors | None = None, values: Mapping[str, str] = {},
                   status_code: int = 200, done: str = "") -> HTMLResponse:  # fmt: skip
    context = context_of(request)
    language = language_of(request)
    with context.engine.connect() as conn:
        state = credit_settings.read(conn, context.registry)
        constants = calculator.current(conn)
    return page(request, "settings/settings.html", user, state=state, constants=constants, errors=errors or {},
                values=values, rate=_percent(state["omge_rate_bps"], language), labels=METHODOLOGY_LABELS,
                may_change=_may(credit_settings.authorize_change_settings, user),
                may_set_constants=_may(calculator_permissions.authorize_set_constants, user),
                flash=_notice(request, done), status_code=status_code)  # fmt: skip


@router.get("/app/settings", response_class=HTMLResponse)
def settings_page(request: Request, user: User, done: Param = "") -> Response:
    return _settings_page(request, user, done=done)


@router.get("/app/settings/transfer-pause")
@router.get("/app/settings/omge-rate")
def settings_action_get() -> Response:
    """A reload or a language change after a failed change: back to the settings."""
    return RedirectResponse("/app/settings", status_code=303)


@router.post("/app/settings/transfer-pause", response_class=HTMLResponse, dependencies=[CSRF])
def set_transfer_pause(request: Request, user: User, waiter: IndexWaiterDep, paused: Short = "") -> Response:
    if paused not in ("true", "false"):
        _ = gettext_for(language_of(request))
        return _settings_page(request, user, {"pause": str(_("Choose one of the listed values."))}, status_code=422)
    try:
        credit_settings.set_transfer_pause(programme_context(request, waiter), user, paused == "true")
    except RegistryError as error:
        return _settings_page(request, user, {"pause": _registry_error(request, error)},
                              status_code=error.status_code)  # fmt: skip
    return RedirectResponse(f"/app/settings?done={'paused' if paused == 'true' else 'resumed'}", status_code=303)


@router.post("/app/settings/omge-rate", response_class=HTMLResponse, dependencies=[CSRF])
def set_omge_rate(request: Request, user: User, waiter: IndexWaiterDep, omge_bps: Short = "") -> Response:
    values = {"omge_bps": omge_bps}
    _ = gettext_for(language_of(request))
    try:
        credit_settings.authorize_change_settings(user)  # a refusal, before saying what is wrong with the value
        body = OmgeRate.model_validate({"omge_bps": omge_bps.strip()})
        credit_settings.set_omge_rate(programme_context(request, waiter), user, body.omge_bps)
    except ValidationError:
        message = _("Enter a whole number of basis points from 0 to 9999 (100 basis points make one percent).")
        return _settings_page(request, user, {"omge_bps": str(message)}, values, status_code=422)
    except RegistryError as error:
        field = "omge_bps" if error.extensions.get("field") == "omge_bps" else "omge"
        return _settings_page(request, user, {field: _registry_error(request, error)}, values,
                              status_code=error.status_code)  # fmt: skip
    return RedirectResponse("/app/settings?done=omge", status_code=303)


# ---------------------------------------------------------------------------------------------- constants


def _constants_page(request: Request, user: Principal, methodology: Methodology, errors: Errors | None = None,
                    values: Mapping[str, Any] | None = None, status_code: int = 200,
                    done: str = "") -> HTMLResponse:  # fmt: skip
    with context_of(request).engine.connect() as conn:
        versions = calculator.history(conn, methodology)
    fields = constant_fields(constants_store.CONSTANTS_MODELS[methodology])
    shown = values if values is not None else versions[0].constants.model_dump(mode="json")
    return page(request, "settings/constants.html", user, methodology=methodology.value,
                label=METHODOLOGY_LABELS[methodology.value], versions=versions, fields=fields, values=shown,
                errors=errors or {}, may_set=_may(calculator_permissions.authorize_set_constants, user),
                flash=_notice(request, done), status_code=status_code)  # fmt: skip


def _methodology(value: str) -> Methodology | None:
    try:
        return Methodology(value)
    except ValueError:
        return None


def _no_methodology(request: Request, user: Principal) -> HTMLResponse:
    _ = gettext_for(language_of(request))
    return page(request, "settings/missing.html", user, message=_("There is no such methodology."), status_code=404)


@router.get("/app/settings/constants/{methodology}", response_class=HTMLResponse)
def constants_page(request: Request, user: User, methodology: MethodologyPath, done: Param = "") -> Response:
    chosen = _methodology(methodology)
    if chosen is None:
        return _no_methodology(request, user)
    return _constants_page(request, user, chosen, done=done)


@router.post("/app/settings/constants/{methodology}", response_class=HTMLResponse, dependencies=[CSRF])
def set_constants(request: Request, user: User, methodology: MethodologyPath, form: PostedForm) -> Response:
    chosen = _methodology(methodology)
    if chosen is None:
        return _no_methodology(request, user)
    return _save_constants(request, user, chosen, form)


def _save_constants(request: Request, user: Principal, methodology: Methodology, form: FormData) -> Response:
    fields = constant_fields(constants_store.CONSTANTS_MODELS[methodology])
    data, shown = _form_values(fields, form)
    try:
        calculator_permissions.authorize_set_constants(user)  # a refusal, before saying what is wrong with the form
        constants = constants_store.parse(methodology, data)
        with context_of(request).engine.begin() as conn:
            calculator.set_constants(conn, user, methodology, constants)
    except ValidationError as error:
        errors = _validation_errors(request, error, {field.name for field in fields})
        return _constants_page(request, user, methodology, errors, shown, status_code=422)
    except RegistryError as error:
        field = str(error.extensions.get("field", ""))
        errors = {field if field in shown else GENERAL: _registry_error(request, error)}
        return _constants_page(request, user, methodology, errors, shown, status_code=error.status_code)
    return RedirectResponse(f"/app/settings/constants/{methodology.value}?done=saved", status_code=303)
