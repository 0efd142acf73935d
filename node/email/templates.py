"""Email templates: ``templates/<language>/<name>.txt``, whose first line is ``Subject: ...`` (Jinja2)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from node.i18n import language_or_default

TEMPLATES = (
    "welcome", "set_password", "password_changed", "reset_password", "api_key_issued",
    "organisation_suspended", "organisation_reactivated", "email_changed", "login_link",
    "programme_created", "programme_authorised", "programme_rejected", "credits_issued", "programme_certified",
    "certification_revoked",
    "transfer_requested", "credits_sent", "transfer_approved", "transfer_rejected", "transfer_cancelled",
    "retirement_requested", "credits_retired", "retirement_recognised", "retirement_not_recognised",
    "retirement_cancelled",
)  # fmt: skip
_environment = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    undefined=StrictUndefined,  # a missing value is a bug, not an empty string in a government email
    keep_trailing_newline=True,
    autoescape=False,  # plain-text mail
)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body: str


def render(template: str, language: str, values: dict[str, Any]) -> RenderedEmail:
    """Renders ``template`` in ``language`` (English when the language has no translation)."""
    if template not in TEMPLATES:
        raise ValueError(f"unknown email template {template!r}")
    text = _environment.get_template(f"{language_or_default(language)}/{template}.txt").render(values)
    first, _, body = text.partition("\n")
    if not first.startswith("Subject: "):
        raise ValueError(f"template {language}/{template} must start with a Subject line")
    return RenderedEmail(first.removeprefix("Subject: ").strip(), body.lstrip("\n"))
