"""The credit pages (issue 12): holdings, transfers and retirements, over HTTP per role and in a real browser along
the acceptance path "transfer by request -> approve -> retire -> recognise", each step checked against the contract,
with axe-core finding nothing serious in English, French and Spanish."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page

from tests.api.credits.test_retirements import CROSS_BORDER, retire
from tests.api.credits.test_transfers import authorised, send
from tests.api.identity.world import World
from tests.web.conftest import (
    as_caller,
    log_in,
    screenshot,
    serious_violations,
    shown_state,
    too_wide,
)
from tests.web.test_programmes import authorise_in_browser, create_in_browser, issue_in_browser


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found is not None, f"no hidden {name}"
    return found.group(1)


def form_of(app_client: TestClient, path: str) -> dict[str, str]:
    shown = app_client.get(path)
    assert shown.status_code == 200, shown.text
    return {"csrf": hidden(shown.text, "csrf"), "key": hidden(shown.text, "key")}


def api_state(app_client: TestClient, world: World, kind: str, item_id: int) -> Any:
    return app_client.get(f"/{kind}/{item_id}", headers=world.headers("gov_admin")).json()


def test_transfer_pages_show_each_role_only_the_actions_it_may_take(app_client: TestClient, world: World) -> None:
    dev, cert = world.developer, world.certifier
    pid = authorised(app_client, world, 500)
    asked = send(app_client, world, "cert_admin", pid, dev, cert, 20)
    assert asked.status_code == 201, asked.text
    tid = asked.json()["transfer_id"]
    approve, reject, cancel = (f'action="/app/transfers/{tid}/{a}"' for a in ("approve", "reject", "cancel"))

    log_in(app_client, world, "dev_viewonly")
    seen = app_client.get(f"/app/transfers/{tid}")
    assert seen.status_code == 200
    assert 'data-state="pending"' in seen.text
    assert approve not in seen.text
    assert reject not in seen.text
    assert cancel not in seen.text
    listed = app_client.get(f"/app/transfers?programme_id={pid}")
    assert f'data-transfer="{tid}"' in listed.text
    assert 'href="/app/transfers/new"' not in listed.text  # ViewOnly neither sends nor requests

    log_in(app_client, world, "dev_admin")
    seen = app_client.get(f"/app/transfers/{tid}")
    assert approve in seen.text
    assert reject in seen.text
    assert cancel not in seen.text
    assert 'href="/app/transfers/new"' in app_client.get("/app/transfers").text
    held = app_client.get("/app/holdings")
    assert held.status_code == 200
    assert f'data-programme="{pid}"' in held.text
    blocks = app_client.get(f"/app/holdings/{pid}/blocks")
    assert blocks.status_code == 200
    assert "NG-" in blocks.text
    # Without the CSRF token nothing changes.
    forged = app_client.post(f"/app/transfers/{tid}/approve", data={"remarks": "x"}, follow_redirects=False)
    assert forged.status_code == 403
    forged_new = app_client.post("/app/transfers", data={"programme_id": str(pid), "amount": "1"},
                                 follow_redirects=False)  # fmt: skip
    assert forged_new.status_code == 403
    assert api_state(app_client, world, "transfers", tid)["state"] == "pending"

    log_in(app_client, world, "cert_admin")
    seen = app_client.get(f"/app/transfers/{tid}")
    assert cancel in seen.text
    assert approve not in seen.text
    # The list filters like the API, and a bad filter is shown next to its field.
    pending = app_client.get(f"/app/transfers?programme_id={pid}&state=pending")
    assert f'data-transfer="{tid}"' in pending.text
    executed = app_client.get(f"/app/transfers?programme_id={pid}&state=executed")
    assert f'data-transfer="{tid}"' not in executed.text
    bad = app_client.get("/app/transfers?programme_id=abc")
    assert bad.status_code == 200
    assert 'id="programme_id-error"' in bad.text
    assert 'aria-invalid="true"' in bad.text
    token = hidden(seen.text, "csrf")
    withdrawn = app_client.post(f"/app/transfers/{tid}/cancel", data={"csrf": token, "remarks": "No longer needed"},
                                follow_redirects=False)  # fmt: skip
    assert (withdrawn.status_code, withdrawn.headers["location"]) == (303, f"/app/transfers/{tid}?done=cancelled")
    assert api_state(app_client, world, "transfers", tid)["state"] == "cancelled"
    shown = app_client.get(withdrawn.headers["location"])
    assert "The request was cancelled." in shown.text
    assert "No longer needed" in shown.text


def test_the_transfer_form_shows_errors_next_to_their_fields_and_writes_once(
    app_client: TestClient, world: World
) -> None:
    registry, dev, cert = world.registry, world.developer, world.certifier
    pid = authorised(app_client, world, 300)
    log_in(app_client, world, "dev_admin")
    fields = {"programme_id": str(pid), "from_organisation_id": str(dev), "to_organisation_id": str(cert)}
    zero = app_client.post("/app/transfers", data=form_of(app_client, "/app/transfers/new") | fields | {"amount": "0"})
    assert zero.status_code == 422
    assert 'id="amount-error"' in zero.text
    assert re.search(r'id="amount"[^>]*aria-describedby="amount-hint amount-error" aria-invalid="true"', zero.text)
    too_much = app_client.post("/app/transfers",
                               data=form_of(app_client, "/app/transfers/new") | fields | {"amount": "301"})  # fmt: skip
    assert too_much.status_code == 409
    error = re.search(r'<p class="error" id="amount-error">([^<]*)</p>', too_much.text)
    assert error is not None
    assert "fewer than 301" in error.group(1)
    once = form_of(app_client, "/app/transfers/new") | fields | {"amount": "30"}
    first = app_client.post("/app/transfers", data=once, follow_redirects=False)
    assert first.status_code == 303, first.text
    assert re.fullmatch(r"/app/transfers/\d+\?done=executed", first.headers["location"])
    again = app_client.post("/app/transfers", data=once, follow_redirects=False)  # a double submit
    assert again.headers["location"] == first.headers["location"]
    assert (registry.view("balanceOf", pid, dev), registry.view("balanceOf", pid, cert)) == (270, 30)
    assert "The credits were sent." in app_client.get(first.headers["location"]).text


def test_retirement_pages_per_role(app_client: TestClient, world: World) -> None:
    dev = world.developer
    pid = authorised(app_client, world, 200)
    made = retire(app_client, world, "dev_admin", pid, dev, amount=5, **CROSS_BORDER)
    assert made.status_code == 201, made.text
    rid = made.json()["retirement_id"]
    recognise, refuse, cancel = (f'action="/app/retirements/{rid}/{a}"' for a in ("recognise", "not-recognise",
                                                                                     "cancel"))  # fmt: skip

    log_in(app_client, world, "dev_admin")
    form = app_client.get(f"/app/retirements/new?programme_id={pid}")
    assert form.status_code == 200
    assert 'value="legal_action"' not in form.text  # a holder only requests cross-border retirements
    assert 'name="retirement_type" value="cross_border"' in form.text
    mine = app_client.get(f"/app/retirements/{rid}")
    assert cancel in mine.text
    assert recognise not in mine.text
    listed = app_client.get(f"/app/retirements?programme_id={pid}&retirement_type=cross_border&state=pending")
    assert f'data-retirement="{rid}"' in listed.text
    assert f'data-retirement="{rid}"' not in app_client.get(f"/app/retirements?programme_id={pid}&state=retired").text

    log_in(app_client, world, "gov_viewonly")
    seen = app_client.get(f"/app/retirements/{rid}")
    assert recognise not in seen.text
    assert cancel not in seen.text
    assert 'href="/app/retirements/new"' not in app_client.get("/app/retirements").text

    log_in(app_client, world, "gov_manager")
    seen = app_client.get(f"/app/retirements/{rid}")
    assert recognise in seen.text
    assert refuse in seen.text
    assert cancel not in seen.text
    government_form = app_client.get(f"/app/retirements/new?programme_id={pid}&from_organisation_id={dev}")
    assert 'value="legal_action"' in government_form.text
    assert 'value="other"' in government_form.text
    forged = app_client.post(f"/app/retirements/{rid}/recognise", data={}, follow_redirects=False)
    assert forged.status_code == 403
    assert api_state(app_client, world, "retirements", rid)["state"] == "pending"
    # A legal-action retirement covers everything: a partial amount is refused next to the amount.
    partial = app_client.post("/app/retirements", data=form_of(app_client, "/app/retirements/new") | {
        "programme_id": str(pid), "from_organisation_id": str(dev), "retirement_type": "legal_action", "amount": "10",
    })  # fmt: skip
    assert partial.status_code == 422
    assert 'id="amount-error"' in partial.text
    refused = app_client.post(f"/app/retirements/{rid}/not-recognise",
                              data={"csrf": hidden(seen.text, "csrf"), "remarks": "No corresponding adjustment"},
                              follow_redirects=False)  # fmt: skip
    assert refused.headers["location"] == f"/app/retirements/{rid}?done=not_recognised"
    assert api_state(app_client, world, "retirements", rid)["state"] == "not_recognised"
    assert world.registry.view("balanceOf", pid, dev) == 200


def test_the_main_path_create_authorise_issue_transfer_by_request_approve_retire_recognise_in_the_browser(
    page: Page, live_url: str, app_client: TestClient, world: World
) -> None:
    """Issue 12's end-to-end path, each role in its own session and every step checked against the contract."""
    registry, dev, cert = world.registry, world.developer, world.certifier
    pid, estimate = create_in_browser(page, live_url, world, land_area="5000")
    assert estimate >= 500
    authorise_in_browser(page, live_url, world, pid, 400)
    issue_in_browser(page, pid, 100)
    assert registry.view("balanceOf", pid, dev) == 500

    # The Government requests a transfer from the developer to the certifier: it waits for the developer.
    as_caller(page, live_url, world, "gov_admin")
    page.goto(f"{live_url}/app/transfers/new?programme_id={pid}&from_organisation_id={dev}")
    page.locator("#to_organisation_id").select_option(str(cert))
    page.get_by_label("Amount").fill("100")
    page.get_by_label("Remarks (optional)").fill("Sale under contract 7")
    page.get_by_role("button", name="Send or request").click()
    page.wait_for_url(re.compile(r"/app/transfers/\d+\?done=pending"))
    tid = int(page.url.split("/app/transfers/")[1].split("?")[0])
    assert shown_state(page) == "pending"
    assert page.get_by_role("status").inner_text().startswith("The transfer request was recorded")
    assert (registry.view("balanceOf", pid, dev), registry.view("balanceOf", pid, cert)) == (500, 0)
    screenshot(page, "credits-transfer-requested")

    # The developer's Admin approves it; an over-balance send shows the 409 problem next to the amount.
    as_caller(page, live_url, world, "dev_admin")
    page.goto(f"{live_url}/app/transfers/{tid}")
    page.locator("#remarks-approve").fill("Paid")
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(re.compile(rf"/app/transfers/{tid}\?done=approved"))
    assert shown_state(page) == "approved"
    assert (registry.view("balanceOf", pid, dev), registry.view("balanceOf", pid, cert)) == (400, 100)
    page.goto(f"{live_url}/app/transfers/new?programme_id={pid}")
    page.locator("#to_organisation_id").select_option(str(cert))
    page.get_by_label("Amount").fill("10000")
    page.get_by_role("button", name="Send or request").click()
    page.wait_for_load_state()
    assert "fewer than 10,000" in page.locator("#amount-error").inner_text()
    assert page.get_by_label("Amount").get_attribute("aria-invalid") == "true"
    assert registry.view("balanceOf", pid, dev) == 400
    page.goto(f"{live_url}/app/holdings")
    assert page.locator(f'tr[data-programme="{pid}"] td[data-held]').inner_text() == "400"

    # The holder requests a cross-border retirement of what it received.
    as_caller(page, live_url, world, "cert_admin")
    page.goto(f"{live_url}/app/retirements/new?programme_id={pid}")
    page.get_by_label("Amount").fill("40")
    page.get_by_label("Receiving country").select_option("CH")
    page.get_by_label("Beneficiary").fill("KliK Foundation")
    page.get_by_role("button", name="Request the retirement").click()
    page.wait_for_url(re.compile(r"/app/retirements/\d+\?done=requested"))
    rid = int(page.url.split("/app/retirements/")[1].split("?")[0])
    assert shown_state(page) == "pending"
    assert registry.view("balanceOf", pid, cert) == 100

    # The Government recognises it: the credits are retired on chain.
    as_caller(page, live_url, world, "gov_manager")
    page.goto(f"{live_url}/app/retirements/{rid}")
    page.locator("#remarks-recognise").fill("Under the bilateral agreement")
    page.get_by_role("button", name="Recognise", exact=True).click()
    page.wait_for_url(re.compile(rf"/app/retirements/{rid}\?done=recognised"))
    assert shown_state(page) == "recognised"
    chain_ids = page.locator("dd[data-chain-ids]").get_attribute("data-chain-ids") or ""
    on_chain = [world.registry.retirement(int(one)) for one in chain_ids.split(",")]
    assert sum(r["amount"] for r in on_chain) == 40
    assert {(r["programmeId"], r["from"], r["beneficiary"]) for r in on_chain} == {(pid, cert, "KliK Foundation")}
    assert registry.view("balanceOf", pid, cert) == 60
    assert "Under the bilateral agreement" in page.locator("dl.facts").inner_text()
    screenshot(page, "credits-retirement-recognised")

    # The Government's holdings page shows its retirement accounts: the 40 credits, split by the OMGE rate.
    page.goto(f"{live_url}/app/holdings")
    shown = {kind: int(page.locator(f'[data-figure="retired-{kind}"]').inner_text().replace(",", ""))
             for kind in ("international", "local", "omge")}  # fmt: skip
    assert shown == {
        "international": 40 - sum(r["omgeAmount"] for r in on_chain),
        "local": 0,
        "omge": sum(r["omgeAmount"] for r in on_chain),
    }


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_the_credit_pages_pass_axe_in_each_language(
    page: Page, live_url: str, app_client: TestClient, world: World, language: str
) -> None:
    dev, cert = world.developer, world.certifier
    pid = authorised(app_client, world, 100)
    tid = send(app_client, world, "cert_admin", pid, dev, cert, 5).json()["transfer_id"]
    rid = retire(app_client, world, "dev_admin", pid, dev, amount=5, **CROSS_BORDER).json()["retirement_id"]
    as_caller(page, live_url, world, "dev_admin")
    page.goto(f"{live_url}/language?lang={language}&next=/app/transfers")
    try:
        for path in ("/app/holdings", f"/app/holdings/{pid}/blocks", "/app/transfers", f"/app/transfers/{tid}",
                     "/app/transfers/new", "/app/retirements", f"/app/retirements/{rid}", "/app/retirements/new",
                     "/app/transfers?programme_id=x"):  # fmt: skip
            page.goto(f"{live_url}{path}")
            assert page.locator("html").get_attribute("lang") == language
            assert serious_violations(page) == [], path
        page.goto(f"{live_url}/app/transfers/new")
        page.locator("form.narrow button[type=submit]").click()  # nothing filled in: every error next to its field
        page.wait_for_load_state()
        assert page.locator("#programme_id").get_attribute("aria-invalid") == "true"
        assert serious_violations(page) == []
        screenshot(page, f"credits-transfer-form-errors-{language}")
        if language == "en":
            page.set_viewport_size({"width": 360, "height": 740})
            for path in ("/app/transfers", f"/app/transfers/{tid}", "/app/retirements/new", "/app/holdings"):
                page.goto(f"{live_url}{path}")
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 360, f"{path} is {width} px wide at a 360 px viewport: {too_wide(page)}"
            page.goto(f"{live_url}/app/transfers/{tid}")
            page.locator("#remarks-approve").focus()
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.id") == "approve"
            screenshot(page, "credits-transfer-360")
    finally:
        page.goto(f"{live_url}/language?lang=en&next=/")
