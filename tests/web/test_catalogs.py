"""Every message the web UI shows is in the French and Spanish catalogs (issue 12: no untranslated string).

The messages are extracted from the templates and the page code the way ``pybabel extract`` would (Jinja's Babel
extractor, and ``_``/``N_``/``gettext`` calls in Python), so a new string without a translation fails here, in
every language, before any browser test runs.
"""

from __future__ import annotations

import ast
import string
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


# ------------------------------------------------------------------------------ the node's error messages

REPO = WEB.parents[1]
SOURCES = [REPO / "node", REPO / "api"]


def _python_files() -> list[Path]:
    return [path for root in SOURCES for path in sorted(root.rglob("*.py")) if "migrations" not in path.parts]


def _registry_error_names() -> tuple[set[str], set[str]]:
    """Names of the classes derived from ``RegistryError`` in ``node/`` and ``api/``; the second set is those derived
    from ``ContractRevert``, whose first argument is the Solidity error's name (their messages are REVERT_MESSAGES)."""
    bases: dict[str, set[str]] = {}
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef):
                named = [b for b in node.bases if isinstance(b, ast.Name | ast.Attribute)]
                names = {b.id if isinstance(b, ast.Name) else b.attr for b in named}
                bases.setdefault(node.name, set()).update(names)

    def closure(root: str) -> set[str]:
        found = {root}
        while True:
            more = {name for name, parents in bases.items() if parents & found} - found
            if not more:
                return found
            found |= more

    return closure("RegistryError"), closure("ContractRevert")


def _called(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def error_messages() -> tuple[dict[str, str], list[str]]:
    """Every message a ``RegistryError``, ``invalid_value`` or a validator's ``ValueError`` is given in ``node/`` and
    ``api/`` (template -> where), and the places that give something other than a constant string."""
    errors, reverts = _registry_error_names()
    found: dict[str, str] = {}
    not_constant: list[str] = []
    for path in _python_files():
        user_facing_value_errors = path.name == "schemas.py" or path == REPO / "api" / "calculator.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = _called(node)
            if name in reverts or "web" in path.relative_to(REPO).parts:
                continue
            if name in errors or name == "invalid_value" or (name == "ValueError" and user_facing_value_errors):
                where = f"{path.relative_to(REPO)}:{node.lineno}"
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.setdefault(first.value, where)
                else:
                    not_constant.append(where)
    return found, not_constant


def test_every_error_message_is_a_constant_template() -> None:
    """An f-string message could not be translated: values go in ``params`` (``invalid_value``'s keywords)."""
    assert error_messages()[1] == []


def test_the_error_extraction_finds_the_nodes_messages() -> None:
    messages = error_messages()[0]
    assert "A user with this email already exists." in messages
    assert len(messages) > 150


@pytest.mark.parametrize("language", ["fr", "es"])
def test_every_error_message_is_translated(language: str) -> None:
    from node.chain.errors import REVERT_MESSAGES
    from node.identity.csv_import import ROW_MESSAGES

    translated = catalog(language)
    wanted = set(error_messages()[0]) | set(REVERT_MESSAGES.values()) | set(ROW_MESSAGES)
    missing = sorted(m for m in wanted if not (translated.get(m) and translated.get(m).string))  # type: ignore[union-attr]
    assert missing == [], f"{len(missing)} error messages without a {language} translation"


def _placeholders(text: str) -> set[str]:
    return {field for _literal, field, _spec, _conversion in string.Formatter().parse(text) if field is not None}


@pytest.mark.parametrize("language", ["fr", "es"])
def test_a_translation_has_the_placeholders_of_its_message(language: str) -> None:
    """``{amount}`` in a message is filled in after translation: a translation that drops or renames it would fail."""
    wrong = []
    for message in catalog(language):
        if isinstance(message.id, str) and message.id and message.string and "{" in message.id + str(message.string):
            try:
                if _placeholders(message.id) != _placeholders(str(message.string)):
                    wrong.append(message.id)
            except ValueError:
                wrong.append(message.id)
    assert wrong == []
