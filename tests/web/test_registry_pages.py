"""The public pages of issue 12, without signing in: programme search and detail over HTTP, and the serial lookup
in a real browser (a transferred credit names its holder and the transfer's transaction, a retired one its
retirement, a malformed serial its error next to the field), with no serious axe finding in en, fr and es."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page
from sqlalchemy import text

from node.chain.deployment import Deployment
from node.domain.serials import parse
from tests.api.credits.test_retirements import CROSS_BORDER, retire
from tests.api.credits.test_transfers import send
from tests.api.identity.world import World, unique
from tests.api.programmes.test_programme_lifecycle import create, post
from tests.web.conftest import screenshot, serious_violations


@dataclass(frozen=True)
class Public:
    word: str
    """In the title of every programme made here, so a search finds them all (and only them)."""
    authorised: int
    other_authorised: int
    pending: int
    rejected: int
    transferred_serial: str
    """One credit the developer sent to the certifier."""
    transfer_tx: str
    retired_serial: str
    """One credit retired cross-border."""
    retirement_tx: str


def _authorise(app_client: TestClient, world: World, pid: int, issue: int) -> None:
    done = post(app_client, world, "root", f"/programmes/{pid}/authorise", {"issue_amount": issue})
    assert done.status_code == 200, done.text


def _one_credit(app_client: TestClient, world: World, pid: int, query: str) -> str:
    """The serial number of the first credit of the programme's first block matching ``query``."""
    blocks = app_client.get(f"/programmes/{pid}/blocks?{query}", headers=world.headers("gov_admin")).json()["items"]
    block = parse(blocks[0]["serial_number"])
    return str(replace(block, end=block.start))


@pytest.fixture(scope="module")
def public(app_client: TestClient, world: World) -> Public:
    word = unique("Mangrove")
    titled = {"title": f"{word} restoration"}
    authorised = int(create(app_client, world, caller="root", **titled)["programme_id"])
    _authorise(app_client, world, authorised, 500)
    other = int(
        create(
            app_client,
            world,
            caller="root",
            title=f"{word} wind farm",
            sector="Forestry",
            sectoral_scope=14,
            type_of_mitigation="Forestry",
        )["programme_id"]
    )
    _authorise(app_client, world, other, 10)
    pending = int(create(app_client, world, caller="root", title=f"{word} pending")["programme_id"])
    rejected = int(create(app_client, world, caller="root", title=f"{word} rejected")["programme_id"])
    refused = post(app_client, world, "gov_admin", f"/programmes/{rejected}/reject", {"remarks": "Baseline unclear"})
    assert refused.status_code == 200, refused.text
    sent = send(app_client, world, "dev_admin", authorised, world.developer, world.certifier, 100)
    assert sent.status_code == 201, sent.text
    retired = retire(app_client, world, "gov_manager", authorised, world.developer, amount=50, **CROSS_BORDER)
    assert retired.status_code == 201, retired.text
    return Public(
        word=word, authorised=authorised, other_authorised=other, pending=pending, rejected=rejected,
        transferred_serial=_one_credit(app_client, world, authorised, f"holder={world.certifier}"),
        transfer_tx=sent.json()["tx_hash"],
        retired_serial=_one_credit(app_client, world, authorised, "state=retired_international"),
        retirement_tx=retired.json()["tx_hashes"][0],
    )  # fmt: skip


def _name(world: World, organisation_id: int) -> str:
    with world.engine.connect() as conn:
        name: str = conn.execute(text("select name from app.organisation where organisation_id = :o"),
                                 {"o": organisation_id}).scalar_one()  # fmt: skip
    return name


def _anonymous(app_client: TestClient, path: str, **params: Any) -> Any:
    app_client.cookies.clear()
    return app_client.get(path, params=params)


# Over HTTP, without a session.


def test_the_search_finds_authorised_programmes_and_never_pending_or_rejected_ones(
    app_client: TestClient, public: Public
) -> None:
    found = _anonymous(app_client, "/registry/programmes", q=public.word)
    assert found.status_code == 200
    assert f'/registry/programmes/{public.authorised}"' in found.text
    assert f'/registry/programmes/{public.other_authorised}"' in found.text
    assert f"{public.word} pending" not in found.text
    assert f"{public.word} rejected" not in found.text
    by_sector = _anonymous(app_client, "/registry/programmes", q=public.word, sector="Forestry")
    assert f"{public.word} wind farm" in by_sector.text
    assert f"{public.word} restoration" not in by_sector.text
    nothing = _anonymous(app_client, "/registry/programmes", q=public.word + " pending")
    assert "No authorised programme matches this search." in nothing.text
    stale = _anonymous(app_client, "/registry/programmes", q=public.word, after="not-a-cursor")
    assert stale.status_code == 200
    assert "no longer exists" in stale.text


def test_a_programme_page_shows_its_public_details_and_how_to_verify_them(
    app_client: TestClient, world: World, public: Public, deployment: Deployment
) -> None:
    shown = _anonymous(app_client, f"/registry/programmes/{public.authorised}")
    assert shown.status_code == 200
    body = shown.text
    details = app_client.get(f"/programmes/{public.authorised}", headers=world.headers("gov_admin")).json()
    for expected in (f"{public.word} restoration", _name(world, world.developer), details["serial_number"],
                     deployment.registry, details["anchored_details_hash"], "Credits retired",
                     _name(world, world.certifier)):  # fmt: skip
        assert expected in body, expected
    assert details["owners"][0]["tax_id"] not in body  # public fields only
    assert "match the hash anchored on chain" in body


@pytest.mark.parametrize("which", ["pending", "rejected"])
def test_a_programme_that_is_not_authorised_is_not_found(app_client: TestClient, public: Public, which: str) -> None:
    pid = getattr(public, which)
    assert _anonymous(app_client, f"/registry/programmes/{pid}").status_code == 404
    assert _anonymous(app_client, "/registry/programmes/999999999").status_code == 404


def test_the_serial_lookup_answers_over_http(app_client: TestClient, world: World, public: Public) -> None:
    held = _anonymous(app_client, "/registry/serials", q=public.transferred_serial)
    assert held.status_code == 200
    assert _name(world, world.certifier) in held.text
    assert public.transfer_tx in held.text
    assert _anonymous(app_client, "/registry/serials", q="NG-X").status_code == 422
    unknown = public.transferred_serial.rsplit("-", 2)[0] + "-999999999-999999999"
    assert _anonymous(app_client, "/registry/serials", q=unknown).status_code == 404
    assert _anonymous(app_client, "/registry/serials").status_code == 200


# In the browser.


def _look_up(page: Page, base: str, serial: str) -> None:
    page.goto(f"{base}/language?lang=en&next=/registry/serials")
    page.get_by_role("textbox", name="Serial number").fill(serial)
    page.get_by_role("button", name="Look up").click()
    page.wait_for_load_state()


def test_the_lookup_of_a_transferred_credit_shows_its_holder_and_the_transfer(
    page: Page, live_url: str, world: World, public: Public
) -> None:
    _look_up(page, live_url, public.transferred_serial)
    assert page.locator("[data-state]").get_attribute("data-state") == "held"
    assert page.locator("[data-holder]").inner_text() == _name(world, world.certifier)
    assert page.locator("[data-latest-tx]").inner_text() == public.transfer_tx
    assert page.get_by_role("row", name="Transferred").count() == 1
    screenshot(page, "registry-serial-held")


def test_the_lookup_of_a_retired_credit_shows_the_retirement(
    page: Page, live_url: str, world: World, public: Public
) -> None:
    _look_up(page, live_url, public.retired_serial)
    assert page.locator("[data-state]").get_attribute("data-state") == "retired_international"
    assert page.locator("[data-holder]").count() == 0
    assert page.locator("[data-retirement]").inner_text() == "Cross-border transfer"
    answer = page.locator("section.answer").inner_text()
    assert "Switzerland" in answer
    assert CROSS_BORDER["beneficiary"] in answer
    assert _name(world, world.developer) in answer
    assert page.locator("[data-latest-tx]").inner_text() == public.retirement_tx
    screenshot(page, "registry-serial-retired")


def test_a_malformed_serial_shows_its_error_next_to_the_field(page: Page, live_url: str, public: Public) -> None:
    _look_up(page, live_url, "NG-not-a-serial")
    field = page.get_by_role("textbox", name="Serial number")
    assert field.get_attribute("aria-invalid") == "true"
    assert "q-error" in (field.get_attribute("aria-describedby") or "").split()
    assert page.locator("#q-error").inner_text().startswith("Enter a serial number like")
    assert field.input_value() == "NG-not-a-serial"
    assert serious_violations(page) == []


def _paths(public: Public) -> dict[str, str]:
    return {"programmes": f"/registry/programmes?q={public.word}",
            "programme": f"/registry/programmes/{public.authorised}",
            "serials": f"/registry/serials?q={public.retired_serial}"}  # fmt: skip


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_the_public_pages_pass_axe_in_each_language(page: Page, live_url: str, public: Public, language: str) -> None:
    paths = _paths(public)
    for name, path in paths.items():
        page.goto(f"{live_url}/language?lang={language}&next={quote(path, safe='/')}")
        assert page.locator("html").get_attribute("lang") == language
        assert serious_violations(page) == [], (name, language)
        screenshot(page, f"registry-{name}-{language}")


@pytest.mark.parametrize("name", ["programmes", "programme", "serials"])
def test_the_public_pages_fit_360_pixels(page: Page, live_url: str, public: Public, name: str) -> None:
    paths = _paths(public)
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"{live_url}{paths[name]}")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{name} is {width} px wide at a 360 px viewport"
