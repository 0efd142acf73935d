"""The programme pages (issue 12): the list, one programme with the actions its reader may take, and the creation
form with the calculator preview; over HTTP for the rules, in Chromium for the main path and accessibility."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from sqlalchemy import text

from node.domain.serials import parse
from tests.api.identity.world import World, real_png, unique
from tests.api.programmes.test_programme_lifecycle import new_programme
from tests.web.conftest import (
    as_caller,
    csrf_of,
    log_in,
    screenshot,
    serious_violations,
)


def api_create(app_client: TestClient, world: World, **overrides: Any) -> int:
    response = app_client.post("/programmes", json=new_programme(world, **overrides),
                               headers=world.headers("dev_admin"))  # fmt: skip
    assert response.status_code == 201, response.text
    pid: int = response.json()["programme_id"]
    return pid


def api_write(app_client: TestClient, world: World, caller: str, path: str, body: dict[str, Any]) -> None:
    headers = world.headers(caller) | {"Idempotency-Key": unique("key-")}
    response = app_client.post(path, json=body, headers=headers)
    assert response.status_code == 200, response.text


def forms_of(html: str) -> set[str]:
    return set(re.findall(r'data-action="([a-z]+)"', html))


def test_the_list_and_the_page_show_each_role_only_the_actions_it_may_take(
    app_client: TestClient, world: World
) -> None:
    pid = api_create(app_client, world, title="Clinic solar roofs")
    log_in(app_client, world, "gov_admin")
    listed = app_client.get("/app/programmes", params={"q": "Clinic solar", "stage": "AwaitingAuthorization"})
    assert listed.status_code == 200
    assert f'href="/app/programmes/{pid}"' in listed.text
    assert "Register a programme" in listed.text
    shown = app_client.get(f"/app/programmes/{pid}")
    assert shown.status_code == 200
    assert "Clinic solar roofs" in shown.text
    assert forms_of(shown.text) == {"authorise", "reject", "material"}

    log_in(app_client, world, "gov_viewonly")
    assert forms_of(app_client.get(f"/app/programmes/{pid}").text) == set()
    log_in(app_client, world, "dev_admin")
    assert forms_of(app_client.get(f"/app/programmes/{pid}").text) == {"material"}
    log_in(app_client, world, "dev_viewonly")
    assert forms_of(app_client.get(f"/app/programmes/{pid}").text) == set()
    log_in(app_client, world, "cert_admin")  # a programme awaiting authorisation is not a certifier's to read
    hidden = app_client.get(f"/app/programmes/{pid}")
    assert hidden.status_code == 404
    assert f'href="/app/programmes/{pid}"' not in app_client.get("/app/programmes").text

    api_write(app_client, world, "gov_admin", f"/programmes/{pid}/authorise", {"issue_amount": 100})
    certifier_view = app_client.get(f"/app/programmes/{pid}")
    assert forms_of(certifier_view.text) == {"certify"}
    assert "Register a programme" not in app_client.get("/app/programmes").text
    log_in(app_client, world, "gov_manager")
    assert forms_of(app_client.get(f"/app/programmes/{pid}").text) == {"issue", "material"}
    api_write(app_client, world, "cert_admin", f"/programmes/{pid}/certify", {})
    assert forms_of(app_client.get(f"/app/programmes/{pid}").text) == {"issue", "revoke", "material"}
    log_in(app_client, world, "cert_admin")
    assert forms_of(app_client.get(f"/app/programmes/{pid}").text) == {"revoke"}


def test_the_list_filters_sorts_and_pages_like_the_api(app_client: TestClient, world: World) -> None:
    tag = unique("Paged ")
    ids = [api_create(app_client, world, title=f"{tag} {n}") for n in range(3)]
    log_in(app_client, world, "gov_viewonly")
    first = app_client.get("/app/programmes", params={"q": tag, "sort": "programme_id", "order": "desc", "limit": 2})
    assert [int(i) for i in re.findall(r'data-programme="(\d+)"', first.text)] == [ids[2], ids[1]]
    next_link = re.search(r'href="(/app/programmes\?[^"]+)" rel="next"', first.text)
    assert next_link is not None
    second = app_client.get(next_link.group(1).replace("&amp;", "&"))
    assert [int(i) for i in re.findall(r'data-programme="(\d+)"', second.text)] == [ids[0]]
    assert 'rel="next"' not in second.text
    wrong = app_client.get("/app/programmes", params={"sectoral_scope": "99", "starts_from": "yesterday"})
    assert wrong.status_code == 200
    assert 'id="sectoral_scope-error"' in wrong.text
    assert 'aria-describedby="starts_from-error" aria-invalid="true"' in wrong.text


def test_a_change_without_the_csrf_token_is_refused(app_client: TestClient, world: World) -> None:
    pid = api_create(app_client, world)
    log_in(app_client, world, "gov_admin")
    refused = app_client.post(f"/app/programmes/{pid}/authorise", data={"issue_amount": "0"}, follow_redirects=False)
    assert refused.status_code == 403
    assert world.registry.view("getProgramme", pid)[1] == 1
    created = app_client.post("/app/programmes", data={"title": "No token"}, follow_redirects=False)
    assert created.status_code == 403


def test_an_action_error_is_shown_next_to_its_field_and_a_double_submit_is_one_write(
    app_client: TestClient, world: World
) -> None:
    pid = api_create(app_client, world)
    log_in(app_client, world, "gov_admin")
    token = csrf_of(app_client.get(f"/app/programmes/{pid}").text)
    too_many_form = {"csrf": token, "issue_amount": "5000", "idempotency_key": unique("k-")}
    too_many = app_client.post(f"/app/programmes/{pid}/authorise", data=too_many_form)
    assert too_many.status_code == 422
    assert 'id="authorise-issue_amount-error"' in too_many.text
    assert "the estimate is 1,000" in too_many.text
    assert 'aria-describedby="authorise-issue_amount-hint authorise-issue_amount-error" aria-invalid="true"' in (
        too_many.text
    )
    key = unique("double-")
    form = {"csrf": token, "issue_amount": "100", "idempotency_key": key}
    for _ in range(2):
        done = app_client.post(f"/app/programmes/{pid}/authorise", data=form, follow_redirects=False)
        assert (done.status_code, done.headers["location"]) == (303, f"/app/programmes/{pid}?done=authorised")
    assert world.registry.view("getProgramme", pid)[10] == 100
    issue = {"csrf": token, "amount": "50", "idempotency_key": unique("issue-")}
    for _ in range(2):
        assert app_client.post(f"/app/programmes/{pid}/issue", data=issue, follow_redirects=False).status_code == 303
    assert world.registry.view("getProgramme", pid)[10] == 150
    shown = app_client.get(f"/app/programmes/{pid}?done=issued")
    assert "The credits are issued." in shown.text
    assert 'data-figure="issued">150<' in shown.text
    rejected_blank = app_client.post(f"/app/programmes/{pid}/revoke", data={"csrf": token, "certifier_id": ""})
    assert rejected_blank.status_code == 422
    assert 'id="revoke-error"' in rejected_blank.text or "revoke-certifier_id-error" in rejected_blank.text


def test_a_developer_adds_a_material_and_the_details_are_anchored_again(app_client: TestClient, world: World) -> None:
    pid = api_create(app_client, world)
    log_in(app_client, world, "dev_admin")
    token = csrf_of(app_client.get(f"/app/programmes/{pid}").text)
    form = {"csrf": token, "kind": "DesignDocument", "title": "Design document v1", "idempotency_key": unique("m-")}
    empty = app_client.post(f"/app/programmes/{pid}/materials", data=form,
                            files={"file": ("empty.pdf", b"", "application/pdf")})  # fmt: skip
    assert empty.status_code == 422
    assert 'id="material-file-error"' in empty.text
    assert "The file is empty." in empty.text
    form["idempotency_key"] = unique("m-")
    added = app_client.post(f"/app/programmes/{pid}/materials", data=form, follow_redirects=False,
                            files={"file": ("site.png", real_png(), "image/png")})  # fmt: skip
    assert (added.status_code, added.headers["location"]) == (303, f"/app/programmes/{pid}?done=material")
    shown = app_client.get(added.headers["location"])
    assert "Design document v1" in shown.text
    assert "The material is added" in shown.text
    anchored = world.registry.view("getProgramme", pid)[17].hex()
    assert anchored in shown.text
    assert 'data-event="ProgrammeDetailsUpdated"' in shown.text


def test_the_creation_form_shows_each_error_next_to_its_field(app_client: TestClient, world: World) -> None:
    log_in(app_client, world, "dev_admin")
    blank = app_client.get("/app/programmes/new")
    assert blank.status_code == 200
    with world.engine.connect() as conn:
        tax_id = conn.execute(text("select tax_id from app.organisation where organisation_id = :id"),
                              {"id": world.developer}).scalar_one()  # fmt: skip
    assert f'value="{tax_id}"' in blank.text  # the caller's organisation is the default proponent
    token = csrf_of(blank.text)
    invalid = app_client.post("/app/programmes", data={
        "csrf": token, "title": "", "external_id": unique("X-"), "sector": "Energy", "sectoral_scope": "14",
        "type_of_mitigation": "Solar", "start_date": "2024-01-01", "end_date": "2023-01-01",
        "proponents-0-tax_id": tax_id, "proponents-0-percentage": "100", "estimate_source": "given",
        "credit_estimate": "10", "geographical_location": "Lagos", "greenhouse_gases": "CO2",
        "estimated_programme_cost_usd": "1000",
    })  # fmt: skip
    assert invalid.status_code == 422
    assert 'id="title-error"' in invalid.text
    assert re.search(r'id="title"[^>]*aria-describedby="title-error" aria-invalid="true"', invalid.text)
    unknown = app_client.post("/app/programmes", data={
        "csrf": token, "title": "Unknown owner", "external_id": unique("X-"), "sector": "Energy",
        "sectoral_scope": "1", "type_of_mitigation": "Solar", "start_date": "2024-01-01", "end_date": "2025-01-01",
        "proponents-0-tax_id": "NO-SUCH-TAX-ID", "proponents-0-percentage": "100", "estimate_source": "given",
        "credit_estimate": "10", "geographical_location": "Lagos", "greenhouse_gases": "CO2",
        "estimated_programme_cost_usd": "1000",
    })  # fmt: skip
    assert unknown.status_code == 422
    assert 'id="proponents-0-tax_id-error"' in unknown.text
    assert "NO-SUCH-TAX-ID" in unknown.text


def test_the_calculator_preview_answers_a_fragment(app_client: TestClient, world: World) -> None:
    log_in(app_client, world, "dev_admin")
    token = csrf_of(app_client.get("/app/programmes/new").text)
    headers = {"HX-Request": "true", "X-CSRF-Token": token}
    good = app_client.post("/app/programmes/estimate", headers=headers,
                           data={"methodology": "biochar", "calc_weight": "10"})  # fmt: skip
    assert good.status_code == 200
    assert good.text.lstrip().startswith('<fieldset id="calculator"')
    assert 'data-estimate="37"' in good.text  # 10 t × 3.66 tCO2e
    wrong_unit = {"methodology": "agriculture", "calc_land_area": "5", "calc_land_area_unit": "parsec"}
    bad = app_client.post("/app/programmes/estimate", headers=headers, data=wrong_unit)
    assert 'id="calc_land_area_unit-error"' in bad.text
    whole = app_client.post("/app/programmes/estimate", data={"csrf": token, "methodology": "biochar",
                                                               "calc_weight": "10"})  # fmt: skip
    assert "<h1>" in whole.text
    assert 'data-estimate="37"' in whole.text


# ---------------------------------------------------------------------------------------------- in the browser


def create_in_browser(page: Page, live_url: str, world: World, land_area: str = "50") -> tuple[int, int]:
    """A developer's Admin registers a rice programme through the form, with the calculator's preview; returns the
    programme id and its estimate (checked against the contract)."""
    registry = world.registry
    as_caller(page, live_url, world, "dev_admin")
    page.goto(f"{live_url}/app/programmes/new")
    external_id = unique("WEB-")
    page.locator("#title").fill("Rice paddies of the delta")
    page.locator("#external_id").fill(external_id)
    page.locator("#sector").select_option("Agriculture")
    page.locator("#sectoral_scope").select_option("15")
    page.locator("#type_of_mitigation").select_option("Agriculture")
    page.get_by_label("Start date").fill("2024-01-01")
    page.get_by_label("End date").fill("2025-01-01")
    page.get_by_label("The calculator computes it").check()
    page.locator("#methodology").select_option("agriculture")
    page.locator("#calc_land_area").fill(land_area)
    page.locator("#calc_land_area_unit").fill("ha")
    page.get_by_role("button", name="Preview the estimate").click()
    preview = page.locator("[data-estimate]")
    expect(preview).to_be_visible()
    assert page.url.endswith("/app/programmes/new")  # htmx swapped the calculator in: the page stayed
    estimate = int(preview.get_attribute("data-estimate") or "0")
    assert estimate > 0
    page.locator("#geographical_location").fill("Lagos, Kano")
    page.get_by_label("CO2", exact=True).check()
    page.locator("#estimated_programme_cost_usd").fill("250000")
    page.get_by_role("button", name="Register the programme").click()
    page.wait_for_url(re.compile(r"/app/programmes/\d+\?done=created"))
    pid = int(page.url.split("/app/programmes/")[1].split("?")[0])
    view = registry.view("getProgramme", pid)
    assert (view[1], view[2], view[9]) == (1, external_id, estimate)
    expect(page.get_by_role("status")).to_contain_text("awaits authorisation")
    expect(page.locator("[data-stage]")).to_have_attribute("data-stage", "AwaitingAuthorization")
    expect(page.locator('[data-figure="estimate"]')).to_have_text(f"{estimate:,}")
    return pid, estimate


def authorise_in_browser(page: Page, live_url: str, world: World, pid: int, issue: int) -> None:
    """The Government's Admin authorises the programme with a first issuance (checked against the contract)."""
    as_caller(page, live_url, world, "gov_admin")
    page.goto(f"{live_url}/app/programmes/{pid}")
    authorise = page.locator('form[data-action="authorise"]')
    authorise.get_by_label("Credits to issue now").fill(str(issue))
    authorise.get_by_role("button", name="Authorise").click()
    page.wait_for_url(re.compile(r"done=authorised"))
    view = world.registry.view("getProgramme", pid)
    assert (view[1], view[10]) == (2, issue)
    assert world.registry.view("balanceOf", pid, world.developer) == issue
    expect(page.locator("[data-stage]")).to_have_attribute("data-stage", "Authorised")


def issue_in_browser(page: Page, pid: int, amount: int) -> None:
    """On the programme's page, as the Government: issues ``amount`` more credits."""
    page.locator("#issue-amount").fill(str(amount))
    page.locator('form[data-action="issue"]').get_by_role("button", name="Issue credits").click()
    page.wait_for_url(re.compile(r"done=issued"))


def test_create_authorise_issue_certify_in_the_browser(page: Page, live_url: str, world: World) -> None:
    registry = world.registry
    pid, estimate = create_in_browser(page, live_url, world)
    authorise_in_browser(page, live_url, world, pid, 10)
    view = registry.view("getProgramme", pid)
    expect(page.locator('[data-figure="issued"]')).to_have_text("10")
    serial = parse(page.locator("[data-serial]").inner_text().strip())
    assert (serial.programme_id, serial.start, serial.end) == (pid, view[12], view[13])
    expect(page.locator("[data-block]")).to_have_count(1)

    issue = page.locator('form[data-action="issue"]')
    issue.get_by_label("Credits to issue").fill(str(estimate * 10))  # more than is left: refused next to the field
    issue.get_by_role("button", name="Issue credits").click()
    page.wait_for_load_state()
    amount = page.locator("#issue-amount")
    expect(amount).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#issue-amount-error")).to_contain_text("Cannot issue")
    assert registry.view("getProgramme", pid)[10] == 10
    issue_in_browser(page, pid, 5)
    assert registry.view("getProgramme", pid)[10] == 15
    assert registry.view("balanceOf", pid, world.developer) == 15
    expect(page.locator('[data-figure="issued"]')).to_have_text("15")
    expect(page.locator('li[data-event="CreditsIssued"]')).to_have_count(2)

    as_caller(page, live_url, world, "cert_admin")
    page.goto(f"{live_url}/app/programmes/{pid}")
    page.locator('form[data-action="certify"]').get_by_role("button", name="Certify").click()
    page.wait_for_url(re.compile(r"done=certified"))
    assert registry.view("isCertifiedBy", pid, world.certifier) is True
    expect(page.locator(f'[data-certifier="{world.certifier}"]')).to_have_text("Certifier SA")
    expect(page.locator('li[data-event="ProgrammeCertified"]')).to_have_count(1)
    assert serious_violations(page) == []


def test_an_invalid_form_shows_its_error_next_to_the_field_in_the_browser(
    page: Page, live_url: str, world: World
) -> None:
    as_caller(page, live_url, world, "dev_admin")
    page.goto(f"{live_url}/app/programmes/new")
    page.get_by_role("button", name="Register the programme").click()
    page.wait_for_load_state()
    title = page.locator("#title")
    expect(title).to_have_attribute("aria-invalid", "true")
    expect(title).to_have_attribute("aria-describedby", "title-error")
    expect(page.locator("#title-error")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("The programme was not registered")
    assert serious_violations(page) == []


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_the_programme_pages_pass_axe_in_each_language(
    page: Page, live_url: str, world: World, app_client: TestClient, language: str
) -> None:
    pid = api_create(app_client, world, title="Cookstoves for households")
    api_write(app_client, world, "gov_admin", f"/programmes/{pid}/authorise", {"issue_amount": 40})
    as_caller(page, live_url, world, "gov_admin")
    page.goto(f"{live_url}/language?lang={language}&next=/app/programmes")
    assert page.locator("html").get_attribute("lang") == language
    assert serious_violations(page) == []
    page.goto(f"{live_url}/app/programmes/new")
    assert serious_violations(page) == []
    page.goto(f"{live_url}/app/programmes/{pid}")
    assert serious_violations(page) == []
    screenshot(page, f"programme-{language}")
    page.set_viewport_size({"width": 360, "height": 740})
    for path in (f"/app/programmes/{pid}", "/app/programmes/new", "/app/programmes"):
        page.goto(f"{live_url}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{path} is {width} px wide at a 360 px viewport"
