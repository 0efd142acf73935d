"""Words the registry shows users outside templates, in its three languages (English, French, Spanish)."""

from __future__ import annotations

import gettext
from functools import cache

import pycountry

LANGUAGES = ("en", "fr", "es")

ROLE_LABELS = {
    "en": {"Root": "Root", "Admin": "Admin", "Manager": "Manager", "ViewOnly": "view-only user"},
    "fr": {"Root": "Root", "Admin": "administrateur", "Manager": "gestionnaire", "ViewOnly": "lecteur"},
    "es": {"Root": "Root", "Admin": "administrador", "Manager": "gestor", "ViewOnly": "usuario de solo lectura"},
}

PASSWORD_PAGE = {
    "en": {"set": "Set your password", "reset": "Reset your password", "new": "New password (at least 12 characters)",
           "repeat": "Repeat it", "save": "Save password", "differ": "The two passwords differ.",
           "short": "The password must have at least 12 characters.",
           "saved": "Your password is saved. You can now sign in.",
           "invalid": "This link is unknown, expired or already used; ask for a new one."},
    "fr": {"set": "Choisissez votre mot de passe", "reset": "Réinitialisez votre mot de passe",
           "new": "Nouveau mot de passe (au moins 12 caractères)", "repeat": "Répétez-le",
           "save": "Enregistrer le mot de passe", "differ": "Les deux mots de passe diffèrent.",
           "short": "Le mot de passe doit comporter au moins 12 caractères.",
           "saved": "Votre mot de passe est enregistré. Vous pouvez maintenant vous connecter.",
           "invalid": "Ce lien est inconnu, expiré ou déjà utilisé ; demandez-en un nouveau."},
    "es": {"set": "Elija su contraseña", "reset": "Restablezca su contraseña",
           "new": "Nueva contraseña (al menos 12 caracteres)", "repeat": "Repítala", "save": "Guardar contraseña",
           "differ": "Las dos contraseñas no coinciden.", "short": "La contraseña debe tener al menos 12 caracteres.",
           "saved": "Su contraseña está guardada. Ya puede iniciar sesión.",
           "invalid": "Este enlace es desconocido, ha caducado o ya se usó; solicite uno nuevo."},
}  # fmt: skip


def language_or_default(language: str | None) -> str:
    return language if language in LANGUAGES else "en"


def role_label(role: str, language: str) -> str:
    return ROLE_LABELS[language_or_default(language)].get(role, role)


def preferred_language(accept_language: str | None) -> str:
    """The first of our languages in an ``Accept-Language`` header (order of preference, quality ignored)."""
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"


def country_name(code: str, language: str) -> str:
    """An ISO 3166 alpha-2 country as ``language`` names it (pycountry's common name where it has one, e.g. "South
    Korea", else its name, translated with pycountry's gettext catalogues); an unknown code is shown as given."""
    country = pycountry.countries.get(alpha_2=code.strip())
    if country is None:
        return code
    name: str = getattr(country, "common_name", None) or country.name
    language = language_or_default(language)
    return name if language == "en" else _country_translations(language).gettext(name)


@cache
def _country_translations(language: str) -> gettext.NullTranslations:
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True)
