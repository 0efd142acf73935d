"""The node's errors in the reader's language: a problem's message and pydantic's validation errors (issue 12:
"every error shows the problem's message next to the field it concerns", with no untranslated string).

A ``RegistryError`` carries a constant English template and its values (``node/errors.py``): the template is looked
up in the catalogs, then filled in with the values formatted for the language (numbers by Babel; a code word such as
a state or stage through the catalogs too). pydantic's own errors are worded here by their ``type`` rather than
taken from pydantic's English ``msg``; a validator's message is the registry's template (``invalid_value``) or a
constant ``ValueError``. Whatever has no translation falls back to a general sentence in the reader's language,
never to English words in a French or Spanish page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from babel.numbers import format_decimal
from pydantic_core import ErrorDetails

from api.web.i18n import translations
from api.web.render import N_
from node.errors import RegistryError

NOT_VALID = N_("This value is not valid.")

VALIDATION_MESSAGES: Mapping[str, str] = {
    "missing": N_("Fill in this field."),
    "string_too_long": N_("Enter at most {max_length} characters."),
    "too_short": N_("Give at least {min_length} items."),
    "too_long": N_("Give at most {max_length} items."),
    "greater_than": N_("Enter a number greater than {gt}."),
    "greater_than_equal": N_("Enter a number of at least {ge}."),
    "less_than": N_("Enter a number less than {lt}."),
    "less_than_equal": N_("Enter a number no greater than {le}."),
    "multiple_of": N_("Enter a multiple of {multiple_of}."),
    "int_parsing": N_("Enter a whole number."),
    "int_type": N_("Enter a whole number."),
    "int_from_float": N_("Enter a whole number."),
    "int_parsing_size": N_("Enter a whole number."),
    "decimal_parsing": N_("Enter a number."),
    "decimal_type": N_("Enter a number."),
    "float_parsing": N_("Enter a number."),
    "float_type": N_("Enter a number."),
    "finite_number": N_("Enter a number."),
    "decimal_max_places": N_("Use at most {decimal_places} decimal places."),
    "decimal_max_digits": N_("Use at most {max_digits} digits."),
    "decimal_whole_digits": N_("Use at most {whole_digits} digits before the decimal point."),
    "literal_error": N_("Choose one of the listed values."),
    "enum": N_("Choose one of the listed values."),
    "string_pattern_mismatch": N_("This value does not have the expected form."),
    "date_parsing": N_("Enter a date as YYYY-MM-DD."),
    "date_type": N_("Enter a date as YYYY-MM-DD."),
    "date_from_datetime_parsing": N_("Enter a date as YYYY-MM-DD."),
    "date_from_datetime_inexact": N_("Enter a date as YYYY-MM-DD."),
    "datetime_parsing": N_("Enter a date and time."),
    "datetime_type": N_("Enter a date and time."),
    "datetime_from_date_parsing": N_("Enter a date and time."),
    "timezone_aware": N_("Include a time zone."),
    "bool_parsing": N_("Choose yes or no."),
    "bool_type": N_("Choose yes or no."),
    "url_parsing": N_("Enter a web address (URL)."),
    "url_type": N_("Enter a web address (URL)."),
    "url_scheme": N_("Enter a web address (URL)."),
    "url_syntax_violation": N_("Enter a web address (URL)."),
    "url_too_long": N_("Enter at most {max_length} characters."),
    "extra_forbidden": N_("This field is not accepted here."),
    "json_invalid": N_("This is not valid JSON."),
}
"""pydantic's error types the registry's forms can meet, in the registry's words; the values come from ``ctx``."""

_VALIDATOR_TYPES = ("value_error", "assertion_error")


def _shown(value: Any, language: str, _: Callable[[str], str]) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal):
        return format_decimal(value, locale=language)
    if isinstance(value, str):
        # a code word (state, stage, sector) has a catalog entry; a name is shown as it is
        return _(value) if value else value
    return str(value)


_LABELS = frozenset({"block", "blockEnd", "serial", "account", "holder", "owner", "certifier", "target", "code",
                     "sectoralScope", "version"})  # fmt: skip


def _is_identifier(name: str) -> bool:
    """An id or a block number is a label, not a quantity: shown as it is, without grouped digits."""
    return name.lower().endswith("id") or name in _LABELS


def _filled(template: str, values: Mapping[str, Any], language: str) -> str:
    _ = translations(language).ugettext
    if not values:  # as the node does: a message without values is not a format string
        return str(_(template))
    shown = {name: str(value) if _is_identifier(name) else _shown(value, language, _) for name, value in values.items()}
    try:
        return str(_(template)).format(**shown)
    except (KeyError, IndexError, ValueError):  # a template whose values are missing: say it in general terms
        return str(_(NOT_VALID))


def _translated(template: str, language: str) -> bool:
    return language == "en" or translations(language).ugettext(template) != template


def translated(template: str, values: Mapping[str, Any], language: str) -> str:
    """A node template (an error's, a CSV import row's outcome) in ``language``, filled in with ``values``."""
    return _filled(template, values, language)


def problem_message(error: RegistryError, language: str) -> str:
    """A problem's message for the page: its template translated, then filled in (``tests/web/test_catalogs.py``
    makes sure every template the node raises has a translation)."""
    return translated(error.message, error.params, language)


def validation_message(item: ErrorDetails, language: str) -> str:
    """One pydantic error in the page's language, as a sentence (first letter upper-case)."""
    kind = item.get("type", "")
    context: dict[str, Any] = dict(item.get("ctx") or {})
    if kind == "string_too_short":
        template = N_("Fill in this field.") if context.get("min_length", 1) <= 1 else N_(
            "Enter at least {min_length} characters.")  # fmt: skip
    elif kind in VALIDATION_MESSAGES:
        template = VALIDATION_MESSAGES[kind]
    elif kind in _VALIDATOR_TYPES:
        template = str(context.pop("template", "") or context.pop("error", ""))
        if not _translated(template, language):  # a library's validator (an email address's, say)
            template = NOT_VALID if language != "en" else str(item.get("msg", "")).removeprefix("Value error, ")
            context = {}
    else:
        template = NOT_VALID
    text = _filled(template, context, language)
    return text[:1].upper() + text[1:]
