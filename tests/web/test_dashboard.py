"""The dashboard (reference §11.3): per role over HTTP, and in a real browser its figures equal ``GET /stats`` for the
same caller and range, its charts and maps are drawn, axe finds nothing serious in English, French and Spanish, and
it fits 360 px. The registry holds the analytics tests' scenario (programmes at each stage, credits issued,
transferred and retired across a border, a pending request, a certification and a revocation, located programmes).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page

from api.web.i18n import translations
from api.web.pages.dashboard import choropleth, period_of, tile_origin
from api.web.session import COOKIE
from node.config import Settings
from tests.api.identity.world import World
from tests.api.stats.test_stats import Scenario, scenario
from tests.web.conftest import screenshot, serious_violations, sign_in

__all__ = ["scenario"]

CARDS = {
    "gov_admin": ["Programmes awaiting authorisation", "Pending transfer requests sent",
                  "Pending transfer requests to approve", "Retirement requests to recognise", "Credit balance"],
    "dev_admin": ["Pending transfer requests sent", "Pending transfer requests to approve",
                  "Pending retirement requests", "Credit balance"],
    "cert_admin": ["Programmes you can certify", "Programmes you certified", "Certifications you revoked"],
}  # fmt: skip
CHARTS = ("stages", "credit_states", "certified_credits", "stages_series", "sectors", "credits_series",
          "certified_series")  # fmt: skip


def dashboard(app_client: TestClient, world: World, caller: str, **params: str) -> Any:
    app_client.cookies.set(COOKIE, world.token(world.members[caller].user_id))
    try:
        return app_client.get("/app/dashboard", params=params)
    finally:
        app_client.cookies.clear()


def card_labels(html: str) -> list[str]:
    return re.findall(r'<div class="card"[^>]*>\s*<p class="label">([^<]+)</p>', html)


@pytest.mark.parametrize("caller", sorted(CARDS))
def test_each_role_gets_its_cards_charts_and_maps(
    app_client: TestClient, world: World, scenario: Scenario, caller: str
) -> None:
    shown = dashboard(app_client, world, caller)
    assert shown.status_code == 200, shown.text
    assert card_labels(shown.text) == CARDS[caller]
    for chart in CHARTS:
        assert f'data-chart="{chart}"' in shown.text
        assert f'data-table="{chart}"' in shown.text
    assert 'id="map-locations"' in shown.text
    assert 'id="map-countries"' in shown.text
    assert "Last updated" in shown.text
    assert shown.headers["cache-control"] == "no-store"
    assert "img-src 'self' data:;" in shown.headers["content-security-policy"]  # no tiles: the node's own policy


def test_ranges_views_and_a_wrong_custom_range(app_client: TestClient, world: World, scenario: Scenario) -> None:
    today = dashboard(app_client, world, "gov_admin", range="today", view="mine")
    assert 'id="range-today" name="range" value="today" checked' in today.text
    assert 'data-mine="true"' in today.text
    custom = dashboard(app_client, world, "gov_admin", range="custom", **{"from": "2020-01-01", "to": "2020-01-31"})
    assert 'data-from="2020-01-01T00:00:00+00:00" data-before="2020-02-01T00:00:00+00:00"' in custom.text
    assert "No located programme for this period." in custom.text
    wrong = dashboard(app_client, world, "gov_admin", range="custom", **{"from": "2020-02-01", "to": "2020-01-01"})
    assert wrong.status_code == 200
    assert "Enter a start date and an end date" in wrong.text
    fallback = dashboard(app_client, world, "dev_admin", range="nonsense", view="nonsense")
    assert 'id="range-14" name="range" value="14" checked' in fallback.text


def test_signed_out_callers_are_sent_to_sign_in(app_client: TestClient, world: World) -> None:
    app_client.cookies.clear()
    answer = app_client.get("/app/dashboard?range=7", follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/login?next=/app/dashboard%3Frange%3D7")


def test_periods_classes_and_tile_origins() -> None:
    day = date(2026, 3, 10)
    assert period_of("today", None, None, day).start == datetime(2026, 3, 10, tzinfo=UTC)
    assert period_of("7", None, None, day).start == datetime(2026, 3, 4, tzinfo=UTC)
    assert period_of("14", None, None, day).end is None
    assert period_of("custom", "2026-01-01", "not a date", day).error
    assert [(c["from"], c["to"]) for c in choropleth(50)] == [(1, 12), (13, 25), (26, 37), (38, 50)]
    assert [(c["from"], c["to"]) for c in choropleth(1)] == [(1, 1)]
    assert choropleth(0) == []
    assert tile_origin("https://{s}.tile.example.org/{z}/{x}/{y}.png") == "https://*.tile.example.org"
    with pytest.raises(ValueError, match="http"):
        Settings(map_tile_url="javascript:alert(1)")


def test_a_tile_url_adds_its_origin_to_the_pages_policy(
    app_client: TestClient, world: World, scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(world.settings, "map_tile_url", "https://tiles.example.org/{z}/{x}/{y}.png")
    shown = dashboard(app_client, world, "dev_admin")
    assert "img-src 'self' data: https://tiles.example.org;" in shown.headers["content-security-policy"]
    assert "script-src 'self';" in shown.headers["content-security-policy"]
    assert "https://tiles.example.org/{z}/{x}/{y}.png" in shown.text


# In the browser.


def _figure(text: str) -> float:
    """A number as the English page shows it (``1,234.5``); tables in closed ``<details>`` are read as text."""
    return float(text.strip().replace(",", ""))


def _drawn(page: Page) -> None:
    page.wait_for_function("document.querySelectorAll('canvas[data-drawn]').length === "
                           "document.querySelectorAll('canvas[data-chart]').length")  # fmt: skip
    page.wait_for_function("document.querySelectorAll('[data-map][data-drawn]').length === 2")


def _field(data: Any, path: str) -> float:
    if path.startswith("stage="):
        stage, attribute = path.removeprefix("stage=").split("/")
        return float(sum(row[attribute] for row in data if row["stage"] == stage))
    for part in path.split("."):
        data = data[0] if isinstance(data, list) else data
        data = data[part]
    return float(data)


@pytest.mark.parametrize("caller", ["gov_admin", "dev_admin", "cert_admin"])
def test_the_figures_in_the_browser_equal_the_stats_api(
    page: Page, live_url: str, app_client: TestClient, world: World, scenario: Scenario, caller: str
) -> None:
    sign_in(page, live_url, world, caller)
    page.goto(f"{live_url}/language?lang=en&next=/app/dashboard%3Frange%3D7")
    _drawn(page)
    window = page.locator("#dashboard-window")
    params: dict[str, str] = {"created_from": window.get_attribute("data-from") or ""}
    mine = window.get_attribute("data-mine") == "true"
    headers = world.headers(caller)

    def stat(stat_type: str, **extra: str) -> Any:
        answer = app_client.get(f"/stats/{stat_type}", params=params | extra, headers=headers)
        assert answer.status_code == 200, answer.text
        return answer.json()

    cards = page.locator(".card")
    assert cards.count() == len(CARDS[caller])
    for i in range(cards.count()):
        card = cards.nth(i)
        stat_type, key, path = (card.get_attribute(a) or "" for a in ("data-type", "data-stat", "data-field"))
        windowed = stat_type not in ("pending_requests", "my_credits")
        extra = {"only_mine": str(mine or key == "my_certification").lower()} if windowed else {}
        expected = (stat(stat_type, **extra) if windowed else
                    app_client.get(f"/stats/{stat_type}", headers=headers).json())  # fmt: skip
        assert _figure(card.locator(".figure").inner_text()) == _field(expected["data"], path), key
    shown_as = translations("en").ugettext  # the table names stages as the page's language does
    stages = {
        shown_as(row["stage"]): row["programmes"]
        for row in stat("programmes_by_stage", only_mine=str(mine).lower())["data"]
    }
    assert stages, "the scenario's programmes are in the window"
    for row in page.locator('table[data-table="stages"] tbody tr').all():
        label, value = row.locator("th").text_content() or "", _figure(row.locator("td").text_content() or "")
        assert value == stages.get(label, 0), label
    countries = {row["country"]: row["credits"] for row in stat("retirements_by_country")["data"]}
    shown = {row.get_attribute("data-country"): _figure(row.locator("td").nth(1).text_content() or "")
             for row in page.locator('table[data-table="countries"] tbody tr[data-country]').all()}  # fmt: skip
    assert shown == countries
    assert page.locator("canvas[data-chart]").count() == len(CHARTS)
    assert page.locator("#map-locations .leaflet-interactive").count() >= 1  # the located programmes' points
    assert page.locator("#map-countries path").count() > 100  # the shipped country outlines


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_the_dashboard_in_each_language_passes_axe(
    page: Page, live_url: str, world: World, scenario: Scenario, language: str
) -> None:
    sign_in(page, live_url, world, "gov_admin")
    page.goto(f"{live_url}/language?lang={language}&next=/app/dashboard")
    _drawn(page)
    assert page.locator("html").get_attribute("lang") == language
    assert serious_violations(page) == []
    screenshot(page, f"dashboard-{language}")


def test_the_dashboard_fits_360_pixels(page: Page, live_url: str, world: World, scenario: Scenario) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    sign_in(page, live_url, world, "dev_admin")
    page.goto(f"{live_url}/language?lang=fr&next=/app/dashboard")
    _drawn(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the dashboard is {width} px wide at a 360 px viewport"
    screenshot(page, "dashboard-360")
