"""Every page, rendered in French and in Spanish, shows no English sentence of the catalogs (issue 12: "every page
in the three languages with no untranslated string").

``test_catalogs.py`` proves every message has a translation; this proves the pages use them: each page is read as
the Government's Admin (who sees every menu and form) and anonymously, and no English message of three words or
more whose translation differs appears in its text.
"""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from api.web.i18n import catalog
from tests.api.credits.test_transfers import authorised
from tests.api.identity.world import World
from tests.web.conftest import log_in
from tests.web.test_credits import form_of

PUBLIC = ("/", "/login", "/forgot-password", "/registry/programmes", "/registry/serials")
SIGNED_IN = ("/app/dashboard", "/app/programmes", "/app/programmes/new", "/app/holdings", "/app/transfers",
             "/app/transfers/new", "/app/retirements", "/app/retirements/new", "/app/organisations", "/app/users",
             "/app/organisations/new", "/app/organisations/import", "/app/settings", "/app/audit",
             "/app/settings/constants/solar")  # fmt: skip


def _text(page: str) -> str:
    """What a reader sees: the text outside tags, scripts and styles (JSON data for charts is data, not text)."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _english_sentences(language: str) -> list[str]:
    translated = catalog(language)
    return [m.id for m in translated if isinstance(m.id, str) and m.id and len(m.id.split()) >= 3
            and m.string and m.string != m.id and "%(" not in m.id]  # fmt: skip


@pytest.mark.parametrize("language", ["fr", "es"])
def test_no_page_shows_an_english_sentence(app_client: TestClient, world: World, language: str) -> None:
    pid = authorised(app_client, world, 100)
    sentences = _english_sentences(language)
    assert len(sentences) > 100
    found: dict[str, list[str]] = {}

    def read(path: str) -> None:
        app_client.cookies.set("registry_lang", language)
        answer = app_client.get(path)
        assert answer.status_code == 200, (path, answer.status_code)
        text = _text(answer.text)
        english = [s for s in sentences if s in text]
        if english:
            found[path] = english

    app_client.cookies.clear()
    for path in (*PUBLIC, f"/registry/programmes/{pid}"):
        read(path)
    log_in(app_client, world, "gov_admin")
    for path in (*SIGNED_IN, f"/app/programmes/{pid}", f"/app/organisations/{world.developer}"):
        read(path)
    assert found == {}


@pytest.mark.parametrize(
    ("language", "refusal", "invalid"),
    [("fr", "détient 300 crédits du programme {pid}, moins que 1\u202f000",
      "Saisissez un nombre supérieur ou égal à 1."),
     ("es", "{pid}, menos de 1.000", "Introduzca un número mayor o igual que 1.")],
)  # fmt: skip
def test_a_refusal_and_a_validation_error_are_shown_in_the_pages_language(
    app_client: TestClient, world: World, language: str, refusal: str, invalid: str
) -> None:
    """The node's problem (a 409 with its values) and pydantic's error (a 422) next to the amount, translated, with
    the numbers written as the language writes them and the programme id as it is."""
    pid = authorised(app_client, world, 300)
    log_in(app_client, world, "dev_admin")
    app_client.cookies.set("registry_lang", language)
    fields = {"programme_id": str(pid), "from_organisation_id": str(world.developer),
              "to_organisation_id": str(world.certifier)}  # fmt: skip
    shown = {}
    for amount in ("1000", "-5"):
        answer = app_client.post(
            "/app/transfers", data=form_of(app_client, "/app/transfers/new") | fields | {"amount": amount}
        )
        error = re.search(r'<p class="error" id="amount-error">([^<]*)</p>', answer.text)
        assert error is not None, answer.text
        shown[amount] = (answer.status_code, html.unescape(error.group(1)))
    assert shown["1000"][0] == 409
    assert refusal.format(pid=pid) in shown["1000"][1]
    assert "fewer" not in shown["1000"][1]
    assert shown["-5"] == (422, invalid)
