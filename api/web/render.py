"""Rendering a page: the Jinja environment, the caller's language, and what every template can use.

The language is the ``lang`` cookie (set from the switcher, remembered a year, and saved in the signed-in user's
profile, which emails use too), else the browser's ``Accept-Language``. Numbers and dates are formatted for it by
Babel. Pages are personal, so they are never stored by a cache.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, pass_context
from jinja2.runtime import Context

from api.auth.dependencies import context_of
from api.web.i18n import translations
from api.web.session import LANGUAGE_COOKIE, csrf_token
from node.i18n import LANGUAGES, preferred_language
from node.identity.permissions import Principal

TEMPLATES = Path(__file__).resolve().parent / "templates"
LANGUAGE_NAMES = {"en": "English", "fr": "Français", "es": "Español"}


@pass_context
def _gettext(context: Context, message: str) -> str:
    return str(translations(context["lang"]).ugettext(message))


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return str(translations(context["lang"]).ungettext(singular, plural, n))


environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, extensions=["jinja2.ext.i18n"])
environment.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]


def language_of(request: Request) -> str:
    chosen = request.cookies.get(LANGUAGE_COOKIE, "")
    return chosen if chosen in LANGUAGES else preferred_language(request.headers.get("accept-language"))


def gettext_for(language: str) -> Any:
    """``_`` for messages built in Python (flash messages, errors): the same catalogs as the templates."""
    return translations(language).ugettext


def _number(language: str) -> Any:
    def number(value: int | float | Decimal | None) -> str:
        return "" if value is None else format_decimal(value, locale=language)

    return number


def _when(language: str) -> Any:
    def when(value: datetime | date | str | None, with_time: bool = True) -> str:
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if isinstance(value, datetime) and with_time:
            return format_datetime(value, format="medium", locale=language)
        return format_date(value, format="medium", locale=language)

    return when


def N_(message: str) -> str:  # noqa: N802 - the conventional name of gettext's no-op marker
    """Marks a message for the catalogs where it is defined; it is translated where it is shown."""
    return message


def navigation(principal: Principal | None) -> list[tuple[str, str]]:
    """(path, English label) of the menu, by what the caller may use (reference §4)."""
    if principal is None:
        return [("/", N_("Registry")), ("/registry/programmes", N_("Programmes")),
                ("/registry/serials", N_("Serial numbers"))]  # fmt: skip
    items = [("/app/dashboard", N_("Dashboard")), ("/app/programmes", N_("Programmes")),
             ("/app/holdings", N_("Holdings")), ("/app/transfers", N_("Transfers")),
             ("/app/retirements", N_("Retirements")), ("/app/organisations", N_("Organisations")),
             ("/app/users", N_("Users"))]  # fmt: skip
    if principal.is_root or principal.in_government:
        items += [("/app/settings", N_("Settings")), ("/app/audit", N_("Audit trail"))]
    return items


SHOWN_VALUES = (
    N_("AwaitingAuthorization"), N_("Authorised"), N_("Rejected"), N_("Energy"), N_("Health"), N_("Education"),
    N_("Transport"), N_("Manufacturing"), N_("Hospitality"), N_("Forestry"), N_("Waste"), N_("Agriculture"),
    N_("Other"),
)  # fmt: skip
"""Stages and sectors as the API names them, translated where pages show them."""


def page(request: Request, template: str, principal: Principal | None = None, status_code: int = 200,
         **values: Any) -> HTMLResponse:  # fmt: skip
    language = language_of(request)
    settings = context_of(request).settings
    body = environment.get_template(template).render(
        request=request, lang=language, languages=LANGUAGE_NAMES, user=principal, csrf=csrf_token(request),
        nav=navigation(principal), registry_country=settings.registry_country, number=_number(language),
        when=_when(language), path=request.url.path, **values,
    )  # fmt: skip
    return HTMLResponse(body, status_code=status_code, headers={"Cache-Control": "no-store"})
