"""Message catalogs of the web UI: English messages are the ids, French and Spanish come from ``locale/``.

Why read the ``.po`` files at start-up (Babel) rather than compiled ``.mo`` files: nothing to build or to forget
to rebuild; a catalog per feature (``locale/<lang>/LC_MESSAGES/<feature>.po``) keeps parallel work on features out
of one shared file. ``tests/web/test_catalogs.py`` checks every message the templates and pages use is translated.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from node.i18n import LANGUAGES

LOCALE_DIR = Path(__file__).resolve().parent / "locale"


def catalog(language: str) -> Catalog:
    """Every feature's messages of ``language``, merged (a message defined twice must agree)."""
    merged = Catalog(locale=language)
    for path in sorted((LOCALE_DIR / language / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as file:
            for message in read_po(file, locale=language):
                if message.id and message.string:
                    merged.add(message.id, message.string, context=message.context)
    return merged


@cache
def translations(language: str) -> NullTranslations:
    """English needs a catalog only where a message id is a code (a stage as the API names it, say)."""
    if language not in LANGUAGES or not (LOCALE_DIR / language).is_dir():
        return NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, catalog(language))
    buffer.seek(0)
    return Translations(fp=buffer)
