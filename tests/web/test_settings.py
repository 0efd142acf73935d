"""The Government settings, the audit trail and the forgotten-password page (issue 12): over HTTP per role, and in a
real browser (pause and resume, a new OMGE rate, a new constants version, the audit trail filtered, a password reset
through the emailed link), each change checked against the contract or the API, with axe-core finding nothing
serious in English, French and Spanish. Each test restores the pause and the OMGE rate it changed (the module's
chain is shared by its tests)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page
from sqlalchemy import text

from tests.api.identity.world import World
from tests.web.conftest import (
    as_caller,
    csrf_of,
    log_in,
    screenshot,
    serious_violations,
    too_wide,
    with_password,
)

LINK = re.compile(r"(/reset-password\?token=[\w-]+)")
OUTBOX = text("select body from app.email_outbox where recipient = :e and template = 'reset_password' "
              "order by email_id desc limit 1")  # fmt: skip


def page_csrf(app_client: TestClient, path: str = "/app/settings") -> str:
    """The CSRF token of a page the test client reads (its session's)."""
    shown = app_client.get(path)
    assert shown.status_code == 200, shown.text
    return csrf_of(shown.text)


def credit_settings(app_client: TestClient, world: World) -> dict[str, object]:
    answer = app_client.get("/settings/credits", headers=world.headers("gov_admin"))
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


@contextmanager
def restored(app_client: TestClient, world: World) -> Iterator[None]:
    """Puts the pause and the OMGE rate back as they were, whatever the test did."""
    before = credit_settings(app_client, world)
    try:
        yield
    finally:
        headers = world.headers("gov_admin")
        if credit_settings(app_client, world) != before:
            app_client.put("/settings/credits/transfer-pause", json={"paused": before["transfers_paused"]},
                           headers=headers)  # fmt: skip
            app_client.put("/settings/credits/omge-rate", json={"omge_bps": before["omge_rate_bps"]}, headers=headers)
        assert credit_settings(app_client, world) == before


PAUSE_FORM = 'action="/app/settings/transfer-pause"'
OMGE_FORM = 'action="/app/settings/omge-rate"'


def constants_form(methodology: str) -> str:
    return f'action="/app/settings/constants/{methodology}"'


# ---------------------------------------------------------------------------------------------- over HTTP


def test_every_signed_in_user_reads_the_settings_and_only_the_government_gets_the_forms(
    app_client: TestClient, world: World
) -> None:
    app_client.cookies.clear()
    anonymous = app_client.get("/app/settings", follow_redirects=False)
    assert (anonymous.status_code, anonymous.headers["location"]) == (303, "/login?next=/app/settings")

    log_in(app_client, world, "gov_admin")
    shown = app_client.get("/app/settings")
    assert PAUSE_FORM in shown.text
    assert OMGE_FORM in shown.text
    for methodology in ("agriculture", "solar", "biochar", "cookstoves", "solar_water_pumping_off_grid",
                        "solar_water_pumping_on_grid"):  # fmt: skip
        assert f'href="/app/settings/constants/{methodology}"' in shown.text
        page = app_client.get(f"/app/settings/constants/{methodology}")
        assert page.status_code == 200
        assert constants_form(methodology) in page.text
        assert "<fieldset>" in page.text
    solar = app_client.get("/app/settings/constants/solar").text
    assert 'name="thresholds-value"' in solar  # the building types' thresholds, one input each
    assert '<label for="thresholds-1">' in solar
    assert 'name="emission_factor_unit"' in app_client.get("/app/settings/constants/biochar").text
    assert app_client.get("/app/settings/constants/nuclear").status_code == 404

    log_in(app_client, world, "gov_manager")  # may set constants, not the credit settings
    shown = app_client.get("/app/settings")
    assert PAUSE_FORM not in shown.text
    assert OMGE_FORM not in shown.text
    assert constants_form("solar") in app_client.get("/app/settings/constants/solar").text

    for caller in ("gov_viewonly", "dev_admin"):
        log_in(app_client, world, caller)
        shown = app_client.get("/app/settings")
        assert shown.status_code == 200
        assert 'data-paused="false"' in shown.text
        assert PAUSE_FORM not in shown.text
        assert OMGE_FORM not in shown.text
        page = app_client.get("/app/settings/constants/cookstoves")
        assert page.status_code == 200
        assert constants_form("cookstoves") not in page.text
        assert 'data-version="default"' in page.text


def test_refusals_are_shown_next_to_the_action_and_change_nothing(app_client: TestClient, world: World) -> None:
    with restored(app_client, world):
        log_in(app_client, world, "dev_admin")
        token = page_csrf(app_client)
        refused = app_client.post("/app/settings/transfer-pause", data={"csrf": token, "paused": "true"})
        assert refused.status_code == 403
        assert re.search(r'<p class="error" id="pause-error" role="alert">[^<]*Government Admins', refused.text)
        refused_rate = app_client.post("/app/settings/omge-rate", data={"csrf": token, "omge_bps": "300"})
        assert refused_rate.status_code == 403
        assert 'id="omge-error"' in refused_rate.text
        refused_constants = app_client.post("/app/settings/constants/cookstoves",
                                            data={"csrf": token, "emission_factor": "0.2"})  # fmt: skip
        assert refused_constants.status_code == 403
        assert 'id="form-error"' in refused_constants.text
        assert world.registry.view("paused") is False

        # Without the CSRF token nothing changes, even for the Government Admin.
        log_in(app_client, world, "gov_admin")
        assert app_client.post("/app/settings/transfer-pause", data={"paused": "true"}).status_code == 403
        assert app_client.post("/app/settings/omge-rate", data={"omge_bps": "300"}).status_code == 403
        forged = app_client.post("/app/settings/constants/cookstoves", data={"emission_factor": "0.2"})
        assert forged.status_code == 403
        assert world.registry.view("paused") is False
        assert credit_settings(app_client, world)["omge_rate_bps"] != 300


def test_a_bad_value_is_shown_next_to_its_field(app_client: TestClient, world: World) -> None:
    with restored(app_client, world):
        log_in(app_client, world, "gov_admin")
        token = page_csrf(app_client)
        rate = world.registry.omge_rate()
        for bad in ("10000", "-1", "1.5", "lots"):
            out_of_range = app_client.post("/app/settings/omge-rate", data={"csrf": token, "omge_bps": bad})
            assert out_of_range.status_code == 422
            error = re.search(r'<p class="error" id="omge_bps-error">([^<]*)</p>', out_of_range.text)
            assert error is not None
            assert "from 0 to 9999" in error.group(1)
            assert re.search(r'id="omge_bps"[^>]*aria-describedby="omge_bps-hint omge_bps-error" '
                             r'aria-invalid="true"', out_of_range.text)  # fmt: skip
            assert f'value="{bad}"' in out_of_range.text  # what was typed is shown again
        assert world.registry.omge_rate() == rate

        negative = app_client.post("/app/settings/constants/cookstoves", data={"csrf": token, "emission_factor": "-1"})
        assert negative.status_code == 422
        assert re.search(r'<p class="error" id="emission_factor-error">Enter a number greater than 0', negative.text)
        assert re.search(r'id="emission_factor"[^>]*aria-invalid="true"', negative.text)
        bad_unit = app_client.post("/app/settings/constants/agriculture", data={
            "csrf": token, "emission_factor": "0.05", "emission_factor_unit": "tCO2e/kWh/d"})  # fmt: skip
        assert bad_unit.status_code == 422
        assert 'id="emission_factor_unit-error"' in bad_unit.text
        assert 'value="tCO2e/kWh/d"' in bad_unit.text
        bad_type = app_client.post("/app/settings/constants/solar", data={
            "csrf": token, "emission_factor_below_threshold": "6.8", "emission_factor_above_threshold": "1.3",
            "emission_factor_unit": "tCO2/MWh", "threshold_unit": "kWh/year",
            "thresholds-key": ["Household", "Bad type"], "thresholds-value": ["55", "10"]})  # fmt: skip
        assert bad_type.status_code == 422
        assert re.search(r'<p class="error" id="thresholds-error">Bad type: ', bad_type.text)
        # The constants in force again: nothing to record, said next to the button.
        history = app_client.get("/calculator/constants/biochar", headers=world.headers("gov_admin")).json()
        unchanged = app_client.post("/app/settings/constants/biochar", data={
            "csrf": token, **{k: str(v) for k, v in history[0]["constants"].items()}})  # fmt: skip
        assert unchanged.status_code == 409
        assert re.search(r'<p class="error" id="form-error">These biochar constants are the ones in force',
                         unchanged.text)  # fmt: skip
        after = app_client.get("/calculator/constants/biochar", headers=world.headers("gov_admin")).json()
        assert len(after) == len(history)


def test_the_audit_trail_filters_sorts_and_pages_like_the_api(app_client: TestClient, world: World) -> None:
    app_client.cookies.clear()
    assert app_client.get("/app/audit", follow_redirects=False).headers["location"] == "/login?next=/app/audit"
    log_in(app_client, world, "dev_viewonly")
    refused = app_client.get("/app/audit")
    assert refused.status_code == 403
    assert "audit trail" in refused.text

    log_in(app_client, world, "gov_manager")
    api = app_client.get("/audit-events?size=5", headers=world.headers("gov_manager")).json()
    shown = app_client.get("/app/audit?size=20")
    assert shown.status_code == 200
    assert f'data-total="{api["total"]}"' in shown.text
    newest = api["items"][0]
    assert f'data-event="{newest["event_id"]}"' in shown.text
    ids = [int(i) for i in re.findall(r'data-event="(\d+)"', shown.text)]
    assert ids == sorted(ids, reverse=True)  # newest first, as the API
    by_action = app_client.get("/app/audit?sort=action&order=asc&size=100").text
    actions = re.findall(r'data-action="([^"]+)"', by_action)
    assert actions == sorted(actions)
    filtered = app_client.get(f"/app/audit?action={newest['action']}").text
    assert set(re.findall(r'data-action="([^"]+)"', filtered)) == {newest["action"]}
    page_two = app_client.get("/app/audit?size=20&page=2")
    assert page_two.status_code == 200
    if api["total"] > 20:
        assert 'rel="prev"' in page_two.text
    bad = app_client.get("/app/audit?organisation_id=abc&sort=nothing")
    assert bad.status_code == 200
    assert 'id="organisation_id-error"' in bad.text
    assert 'id="sort-error"' in bad.text
    assert re.search(r'id="organisation_id"[^>]*aria-invalid="true"', bad.text)

    log_in(app_client, world, "dev_admin")  # an Admin reads its own organisation's events only
    own = app_client.get("/app/audit?size=100")
    assert own.status_code == 200
    assert set(re.findall(r"Organisation (\d+)", own.text)) <= {str(world.developer)}


def test_forgot_password_answers_the_same_for_any_address(app_client: TestClient, world: World) -> None:
    app_client.cookies.clear()
    login = app_client.get("/login")
    assert 'href="/forgot-password"' in login.text
    form = app_client.get("/forgot-password")
    assert form.status_code == 200
    assert '<label for="email">' in form.text
    known = app_client.post("/forgot-password", data={"email": with_password(world, "dev_manager")},
                            follow_redirects=False)  # fmt: skip
    unknown = app_client.post("/forgot-password", data={"email": "nobody-at-all@example.org"}, follow_redirects=False)
    assert (known.status_code, known.headers["location"]) == (unknown.status_code, unknown.headers["location"])
    assert known.headers["location"] == "/forgot-password?sent=1"
    sent = app_client.get("/forgot-password?sent=1")
    assert "If this address belongs to an account, we emailed it a link" in sent.text
    invalid = app_client.post("/forgot-password", data={"email": "not an address"})
    assert invalid.status_code == 422
    assert re.search(r'<p class="error" id="email-error">Enter a valid email address.</p>', invalid.text)
    assert re.search(r'id="email"[^>]*aria-invalid="true" aria-describedby="email-error"', invalid.text)


# ---------------------------------------------------------------------------------------------- in the browser


def test_the_government_admin_changes_every_setting_in_the_browser(
    page: Page, live_url: str, app_client: TestClient, world: World
) -> None:
    registry = world.registry
    with restored(app_client, world):
        as_caller(page, live_url, world, "gov_admin")
        page.goto(f"{live_url}/app/settings")
        page.get_by_role("button", name="Pause transfers and retirements").click()
        page.wait_for_url(re.compile(r"/app/settings\?done=paused"))
        assert registry.view("paused") is True
        assert page.locator("[data-paused]").get_attribute("data-paused") == "true"
        assert credit_settings(app_client, world)["transfers_paused"] is True
        assert "paused registry-wide" in page.get_by_role("status").inner_text()
        page.get_by_role("button", name="Resume transfers and retirements").click()
        page.wait_for_url(re.compile(r"/app/settings\?done=resumed"))
        assert registry.view("paused") is False
        assert page.locator("[data-paused]").get_attribute("data-paused") == "false"

        new_rate = 250 if registry.omge_rate() != 250 else 300
        page.get_by_label("New rate in basis points").fill("12000")
        page.get_by_role("button", name="Set the OMGE rate").click()
        page.wait_for_load_state()
        assert "from 0 to 9999" in page.locator("#omge_bps-error").inner_text()
        page.get_by_label("New rate in basis points").fill(str(new_rate))
        page.get_by_role("button", name="Set the OMGE rate").click()
        page.wait_for_url(re.compile(r"/app/settings\?done=omge"))
        assert registry.view("omgeRate") == new_rate
        assert page.locator("[data-omge-bps]").get_attribute("data-omge-bps") == str(new_rate)
        screenshot(page, "settings-omge-rate")

        # A new version of the cookstoves constants: every estimate uses it from now on.
        headers = world.headers("gov_admin")
        before = app_client.get("/calculator/constants/cookstoves", headers=headers).json()
        factor = str(Decimal(before[0]["constants"]["emission_factor"]) + Decimal("0.001"))
        page.goto(f"{live_url}/app/settings/constants/cookstoves")
        page.get_by_label("Emission factor").fill(factor)
        page.get_by_role("button", name="Save the new version").click()
        page.wait_for_url(re.compile(r"/app/settings/constants/cookstoves\?done=saved"))
        after = app_client.get("/calculator/constants/cookstoves", headers=headers).json()
        assert len(after) == len(before) + 1
        assert Decimal(after[0]["constants"]["emission_factor"]) == Decimal(factor)
        version = after[0]["version"]
        assert page.locator("#current-heading + p").get_attribute("data-version") == str(version)
        assert page.locator(f'table.history tr[data-version="{version}"]').count() == 1
        screenshot(page, "settings-constants-saved")

        # The solar thresholds: one value changed, a building type added.
        solar = app_client.get("/calculator/constants/solar", headers=headers).json()[0]["constants"]
        household = str(Decimal(solar["thresholds"]["Household"]) + 1)
        page.goto(f"{live_url}/app/settings/constants/solar")
        page.get_by_label("Household", exact=True).fill(household)
        page.get_by_label("New building type").fill("Clinic")
        page.get_by_label("Its value").fill("400")
        page.get_by_role("button", name="Save the new version").click()
        page.wait_for_url(re.compile(r"/app/settings/constants/solar\?done=saved"))
        thresholds = app_client.get("/calculator/constants/solar", headers=headers).json()[0]["constants"]["thresholds"]
        assert (Decimal(thresholds["Household"]), Decimal(thresholds["Clinic"])) == (Decimal(household), Decimal(400))

        # The audit trail shows these changes, filtered by action.
        page.goto(f"{live_url}/app/audit")
        page.get_by_label("Action", exact=True).fill("registry.omge_rate")
        page.get_by_role("button", name="Apply").click()
        page.wait_for_url(re.compile(r"/app/audit\?.*action=registry.omge_rate"))
        rows = page.locator("tr[data-event]")
        assert rows.count() >= 1
        assert set(page.locator("tr[data-event]").evaluate_all("rows => rows.map(r => r.dataset.action)")) == {
            "registry.omge_rate"}  # fmt: skip
        newest = rows.first.inner_text()
        assert "omge_bps" in newest
        assert str(new_rate) in newest
        assert with_password(world, "gov_admin") in newest
        screenshot(page, "settings-audit-filtered")
    assert registry.view("paused") is False


def test_a_forgotten_password_is_reset_through_the_emailed_link(
    page: Page, live_url: str, world: World
) -> None:  # fmt: skip
    user_id = world.user(world.developer, "Manager")
    email = world.principal(user_id).email
    page.context.clear_cookies()
    page.goto(f"{live_url}/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.wait_for_url(re.compile(r"/forgot-password$"))
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Email me a link").click()
    page.wait_for_url(re.compile(r"/forgot-password\?sent=1"))
    assert "we emailed it a link" in page.get_by_role("status").inner_text()

    body = None
    deadline = time.monotonic() + 10
    while body is None and time.monotonic() < deadline:  # the email is queued after the answer has left
        with world.engine.connect() as conn:
            body = conn.execute(OUTBOX, {"e": email}).scalar()
        time.sleep(0.1)
    assert body is not None, "no reset email was queued"
    link = LINK.search(body)
    assert link is not None, body
    page.goto(f"{live_url}{link.group(1)}")
    assert page.locator("input[name=token]").count() == 1  # the reset form of api/auth/pages.py
    new_password = "my new and long passphrase"
    page.get_by_label("New password (at least 12 characters)").fill(new_password)
    page.get_by_label("Repeat it").fill(new_password)
    page.get_by_role("button", name="Save password").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").inner_text() == "Your password is saved. You can now sign in."

    page.goto(f"{live_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(new_password)
    page.get_by_role("button", name="Sign in").last.click()
    page.wait_for_url(re.compile(r"/app/dashboard"))
    assert page.get_by_role("button", name="Sign out").count() == 1


PAGES = ("/app/settings", "/app/settings/constants/solar", "/app/settings/constants/biochar",
         "/app/settings/constants/agriculture", "/app/audit", "/app/audit?organisation_id=x&action=registry.omge_rate",
         "/forgot-password", "/forgot-password?sent=1")  # fmt: skip


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_the_settings_pages_pass_axe_in_each_language(
    page: Page, live_url: str, app_client: TestClient, world: World, language: str
) -> None:
    as_caller(page, live_url, world, "gov_admin")
    page.goto(f"{live_url}/language?lang={language}&next=/app/settings")
    try:
        for path in PAGES:
            page.goto(f"{live_url}{path}")
            assert page.locator("html").get_attribute("lang") == language
            assert serious_violations(page) == [], path
        # Errors next to their fields pass too.
        page.goto(f"{live_url}/app/settings")
        page.locator("#omge_bps").fill("-5")
        page.locator("#omge_bps").press("Enter")
        page.wait_for_load_state()
        assert page.locator("#omge_bps").get_attribute("aria-invalid") == "true"
        assert serious_violations(page) == []
        page.goto(f"{live_url}/app/settings/constants/solar")
        page.locator("#emission_factor_unit").fill("kWh")
        page.locator("#thresholds-new-key").fill("not a name")
        page.locator("#thresholds-new-value").fill("3")
        page.locator("#save").click()
        page.wait_for_load_state()
        assert page.locator("#emission_factor_unit").get_attribute("aria-invalid") == "true"
        assert page.locator("#thresholds-error").count() == 1
        assert serious_violations(page) == []
        screenshot(page, f"settings-constants-errors-{language}")
        page.goto(f"{live_url}/forgot-password")
        page.locator("#email").fill("nope")
        page.locator("form.narrow button[type=submit]").click()
        page.wait_for_load_state()
        assert page.locator("#email").get_attribute("aria-invalid") == "true"
        assert serious_violations(page) == []
        if language == "en":
            page.set_viewport_size({"width": 360, "height": 740})
            for path in PAGES:
                page.goto(f"{live_url}{path}")
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 360, f"{path} is {width} px wide at a 360 px viewport: {too_wide(page)}"
            screenshot(page, "settings-forgot-password-360")
            page.goto(f"{live_url}/app/settings/constants/solar")
            screenshot(page, "settings-constants-360")
    finally:
        page.goto(f"{live_url}/language?lang=en&next=/")
