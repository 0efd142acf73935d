"""Every message the web UI shows is in the French and Spanish catalogs (issue 12: no untranslated string).

The messages are extracted from the templates and the page code the way ``pybabel extract`` would (Jinja's Babel
extractor, and ``_``/``N_``/``gettext`` calls in Python), so a new string without a translation fails here, in
every language, before any browser test runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from api.web.i18n import LOCALE_DIR, catalog

WEB = Path(__file__).resolve().parents[2] / "api" / "web"
METHODS = [("**/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}


def extracted() -> set[str]:
    messages = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        WEB, METHODS, keywords=KEYWORDS, options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    ):
        for one in message if isinstance(message, tuple) else (message,):
            if one:
                messages.add(one)
    return messages


def test_the_extraction_finds_the_layouts_messages() -> None:
    assert {"Sign in", "Skip to content", "Dashboard", "Authorised"} <= extracted()


@pytest.mark.parametrize("language", ["fr", "es"])
def test_every_message_is_translated(language: str) -> None:
    translated = catalog(language)
    missing = sorted(m for m in extracted() if not (translated.get(m) and translated.get(m).string))  # type: ignore[union-attr]
    assert missing == [], f"{len(missing)} messages without a {language} translation"


@pytest.mark.parametrize("language", ["fr", "es"])
def test_a_message_in_several_catalogs_has_one_translation(language: str) -> None:
    """The feature catalogs are merged into one: a message translated two ways would depend on the file order."""
    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for path in sorted((LOCALE_DIR / language / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as file:
            for message in read_po(file, locale=language):
                if not message.id or not message.string:
                    continue
                key = message.id if isinstance(message.id, str) else message.id[0]
                earlier = seen.setdefault(key, (path.name, str(message.string)))
                if earlier[1] != str(message.string):
                    clashes.append(f"{key!r}: {earlier} vs {(path.name, message.string)}")
    assert clashes == []
