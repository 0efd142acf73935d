"""The organisation and user pages (issue 12): over HTTP per role (what each sees and may do, CSRF, errors next to
their fields), and in Chromium along the Government Admin's path (create an organisation and a user, suspend and
activate against the contract's frozen flag, CSV import with its dry run) and an API Admin's key, issued and
revoked; axe-core finds nothing serious in English, French and Spanish, and the pages fit 360 px."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page
from sqlalchemy import text

from tests.api.identity.world import World, real_png, unique
from tests.web.conftest import (
    as_caller,
    csrf_of,
    log_in,
    screenshot,
    serious_violations,
    shown_state,
    too_wide,
)


def token(app_client: TestClient) -> str:
    return csrf_of(app_client.get("/app/organisations").text)


def one(world: World, sql: str, **values: Any) -> Any:
    with world.engine.connect() as conn:
        return conn.execute(text(sql), values).scalar()


def new_organisation_form(tag: str, **overrides: str) -> dict[str, str]:
    return {"name": f"Solar {tag} Ltd", "role": "ProgrammeDeveloper", "tax_id": f"TX-{tag}",
            "email": f"{tag}@solar.example.org", "phone": "+234 800 555 0101", "address": "3 Sun Road, Abuja",
            "website": "", "admin_name": f"Admin {tag}", "admin_email": f"admin-{tag}@solar.example.org",
            "admin_phone": "", "admin_language": "fr"} | overrides  # fmt: skip


def test_each_role_sees_only_the_organisation_actions_it_may_take(app_client: TestClient, world: World) -> None:
    dev, gov, cert, suspended = world.developer, world.government, world.certifier, world.suspended
    suspend = f'action="/app/organisations/{dev}/suspend"'
    activate = f'action="/app/organisations/{suspended}/activate"'

    log_in(app_client, world, "root")
    listed = app_client.get("/app/organisations")
    assert listed.status_code == 200
    assert f'data-organisation="{dev}"' in listed.text
    assert 'href="/app/organisations/new"' in listed.text
    assert 'href="/app/organisations/import"' in listed.text
    shown = app_client.get(f"/app/organisations/{dev}").text
    assert suspend in shown
    assert f'href="/app/organisations/{dev}/edit"' not in shown  # Root edits only the Government
    assert f'href="/app/organisations/{gov}/edit"' in app_client.get(f"/app/organisations/{gov}").text

    log_in(app_client, world, "gov_admin")
    assert suspend in app_client.get(f"/app/organisations/{dev}").text
    assert activate in app_client.get(f"/app/organisations/{suspended}").text
    government = app_client.get(f"/app/organisations/{gov}").text
    assert f"/app/organisations/{gov}/suspend" not in government  # the Government is never suspended
    assert app_client.get("/app/organisations/import").status_code == 200
    everyone = app_client.get("/app/users").text
    assert f'data-user="{world.members["dev_admin"].user_id}"' in everyone

    log_in(app_client, world, "dev_admin")
    listed = app_client.get("/app/organisations").text
    assert 'href="/app/organisations/new"' not in listed
    assert 'href="/app/organisations/import"' not in listed
    own = app_client.get(f"/app/organisations/{dev}").text
    assert f'href="/app/organisations/{dev}/edit"' in own
    assert suspend not in own
    assert f'href="/app/users/new?organisation_id={dev}"' in own
    assert 'id="members-heading"' not in app_client.get(f"/app/organisations/{cert}").text  # others' users unseen
    assert app_client.get("/app/organisations/import").status_code == 403
    assert app_client.get("/app/organisations/new").status_code == 403
    mine = app_client.get("/app/users").text
    assert f'data-user="{world.members["dev_viewonly"].user_id}"' in mine
    assert f'data-user="{world.members["gov_admin"].user_id}"' not in mine
    assert app_client.get(f"/app/users/{world.members['gov_admin'].user_id}").status_code == 404

    log_in(app_client, world, "dev_viewonly")
    own = app_client.get(f"/app/organisations/{dev}").text
    assert f'href="/app/organisations/{dev}/edit"' not in own
    assert "/app/users/new" not in own
    assert app_client.get(f"/app/organisations/{dev}/edit").status_code == 403
    colleague = app_client.get(f"/app/users/{world.members['dev_manager'].user_id}").text
    assert 'action="/app/users/' not in colleague  # no edit, delete or key form for a ViewOnly user
    myself = app_client.get(f"/app/users/{world.members['dev_viewonly'].user_id}").text
    assert f'action="/app/users/{world.members["dev_viewonly"].user_id}/edit"' in myself
    assert 'id="role"' not in myself  # a user never changes its own role
    assert "/delete" not in myself


def test_the_lists_filter_sort_and_page_like_the_api(app_client: TestClient, world: World) -> None:
    log_in(app_client, world, "gov_viewonly")
    certifiers = app_client.get("/app/organisations", params={"role": "Certifier"}).text
    assert f'data-organisation="{world.certifier}"' in certifiers
    assert f'data-organisation="{world.developer}"' not in certifiers
    suspended = app_client.get("/app/organisations", params={"state": "suspended"}).text
    assert f'data-organisation="{world.suspended}"' in suspended
    assert f'data-organisation="{world.developer}"' not in suspended
    found = app_client.get("/app/organisations", params={"q": "developer ltd"}).text
    assert f'data-organisation="{world.developer}"' in found
    ordered = app_client.get("/app/organisations", params={"sort": "name", "order": "desc", "size": "100"}).text
    ids = [int(i) for i in re.findall(r'data-organisation="(\d+)"', ordered)]
    assert ids.index(world.suspended) < ids.index(world.developer)  # "Suspended Ltd" before "Developer Ltd"
    paged = app_client.get("/app/organisations", params={"size": "1", "page": "2", "sort": "organisation_id"}).text
    assert len(re.findall(r'data-organisation="', paged)) == 1
    assert 'rel="prev"' in paged
    bad = app_client.get("/app/organisations", params={"role": "Wizard", "page": "x"})
    assert bad.status_code == 200
    assert 'id="role-error"' in bad.text
    assert re.search(r'id="role"[^>]*aria-describedby="role-error" aria-invalid="true"', bad.text)
    managers = app_client.get("/app/users", params={"role": "Manager", "organisation_id": str(world.developer)}).text
    assert re.findall(r'data-user="(\d+)"', managers) == [str(world.members["dev_manager"].user_id)]


def test_changes_need_the_csrf_token_and_errors_sit_next_to_their_fields(app_client: TestClient, world: World) -> None:
    dev = world.developer
    log_in(app_client, world, "gov_admin")
    forged = app_client.post(f"/app/organisations/{dev}/suspend", data={"remarks": "x"}, follow_redirects=False)
    assert forged.status_code == 403
    assert one(world, "select state from app.organisation where organisation_id = :o", o=dev) == "active"
    forged_new = app_client.post("/app/organisations/new", data=new_organisation_form(unique("f")),
                                 follow_redirects=False)  # fmt: skip
    assert forged_new.status_code == 403
    taken = one(world, "select tax_id from app.organisation where organisation_id = :o", o=dev)
    form = new_organisation_form(unique("d"), tax_id=taken) | {"csrf": token(app_client)}
    duplicate = app_client.post("/app/organisations/new", data=form, follow_redirects=False)
    assert duplicate.status_code == 409
    error = re.search(r'<p class="error" id="tax_id-error">([^<]*)</p>', duplicate.text)
    assert error is not None
    assert "tax id already exists" in error.group(1)
    assert re.search(r'id="tax_id"[^>]*aria-invalid="true"', duplicate.text)
    blank = app_client.post("/app/organisations/new", data=new_organisation_form(unique("b"), phone="", name="")
                            | {"csrf": token(app_client)})  # fmt: skip
    assert blank.status_code == 422
    assert 'id="phone-error"' in blank.text
    assert 'id="name-error"' in blank.text
    bad_phone = app_client.post("/app/organisations/new", data=new_organisation_form(unique("p"), admin_phone="12")
                                | {"csrf": token(app_client)})  # fmt: skip
    assert bad_phone.status_code == 422
    assert 'id="admin_phone-error"' in bad_phone.text
    no_reason = app_client.post(f"/app/organisations/{dev}/suspend", data={"csrf": token(app_client), "remarks": " "})
    assert no_reason.status_code == 422
    assert 'id="suspend-remarks-error"' in no_reason.text
    assert one(world, "select state from app.organisation where organisation_id = :o", o=dev) == "active"


def test_users_are_created_edited_invited_and_deleted_by_their_admin(app_client: TestClient, world: World) -> None:
    dev = world.developer
    log_in(app_client, world, "dev_admin")
    email = f"{unique('clerk')}@developer.example.org"
    form = {"organisation_id": str(dev), "name": "Chioma Clerk", "email": email, "role": "ViewOnly", "phone": "",
            "language": "es", "csrf": token(app_client)}  # fmt: skip
    made = app_client.post("/app/users/new", data=form, follow_redirects=False)
    assert made.status_code == 303, made.text
    found = re.fullmatch(r"/app/users/(\d+)\?done=user-created", made.headers["location"])
    assert found is not None
    user_id = int(found.group(1))
    assert one(world, "select count(*) from app.email_outbox where recipient = :e and template = 'welcome'", e=email) \
        == 1  # fmt: skip
    again = app_client.post("/app/users/new", data=form)
    assert again.status_code == 409
    assert 'id="email-error"' in again.text
    shown = app_client.get(made.headers["location"]).text
    assert "The user was created" in shown
    assert f'action="/app/users/{user_id}/invitation"' in shown
    assert f'action="/app/users/{user_id}/api-key"' not in shown  # keys are for API organisations' Admins
    edit = {"csrf": csrf_of(shown), "name": "Chioma Clerk", "email": email, "role": "Manager", "phone": "123",
            "language": "es"}  # fmt: skip
    refused = app_client.post(f"/app/users/{user_id}/edit", data=edit)
    assert refused.status_code == 422
    assert 'id="phone-error"' in refused.text
    saved = app_client.post(f"/app/users/{user_id}/edit", data=edit | {"phone": "+234 800 000 0042"},
                            follow_redirects=False)  # fmt: skip
    assert saved.headers["location"] == f"/app/users/{user_id}?done=updated"
    assert one(world, "select role from app.user_account where user_id = :u", u=user_id) == "Manager"
    invited = app_client.post(f"/app/users/{user_id}/invitation", data={"csrf": csrf_of(shown)}, follow_redirects=False)
    assert invited.headers["location"] == f"/app/users/{user_id}?done=invited"
    myself = world.members["dev_admin"].user_id
    refused_self = app_client.post(f"/app/users/{myself}/delete", data={"csrf": csrf_of(shown)})
    assert refused_self.status_code == 403
    assert "cannot delete their own account" in refused_self.text
    gone = app_client.post(f"/app/users/{user_id}/delete", data={"csrf": csrf_of(shown)}, follow_redirects=False)
    assert gone.headers["location"] == "/app/users?done=user-deleted"
    assert one(world, "select count(*) from app.user_account where user_id = :u", u=user_id) == 0
    assert one(world, "select count(*) from app.audit_event where action = 'user.delete' and target_id = :u",
               u=user_id) == 1  # fmt: skip


# ---------------------------------------------------------------------------------------------- in the browser


def test_the_government_admin_manages_organisations_and_users_in_the_browser(
    page: Page, live_url: str, world: World
) -> None:
    tag = unique("b")
    as_caller(page, live_url, world, "gov_admin")
    page.goto(f"{live_url}/app/organisations")
    page.get_by_role("link", name="New organisation").click()
    form = new_organisation_form(tag)
    for field in ("name", "tax_id", "email", "phone", "address", "admin_name", "admin_email"):
        page.locator(f"#{field}").fill(form[field])
    page.locator("#admin_language").select_option("fr")
    page.get_by_role("button", name="Create the organisation").click()
    page.wait_for_url(re.compile(r"/app/organisations/\d+\?done=created"))
    org = int(page.url.split("/app/organisations/")[1].split("?")[0])
    assert page.get_by_role("status").inner_text().startswith("The organisation was created")
    assert shown_state(page) == "active"
    admin_email = form["admin_email"]
    assert one(world, "select count(*) from app.audit_event where action = 'organisation.create' and target_id = :o",
               o=org) == 1  # fmt: skip
    assert one(world, "select language from app.email_outbox where recipient = :e and template = 'welcome'",
               e=admin_email) == "fr"  # fmt: skip
    screenshot(page, "organisations-created")

    # Suspend (a reason is required) then activate: the node freezes and unfreezes the chain account.
    page.get_by_role("button", name="Suspend the organisation").click()
    page.wait_for_load_state()
    assert page.locator("#suspend-remarks").get_attribute("aria-invalid") == "true"
    assert world.registry.view("isFrozen", org) is False
    page.get_by_label("Reason").fill("Unpaid registry fees")
    page.get_by_role("button", name="Suspend the organisation").click()
    page.wait_for_url(re.compile(rf"/app/organisations/{org}\?done=suspended"))
    assert shown_state(page) == "suspended"
    assert world.registry.view("isFrozen", org) is True
    page.get_by_label("Reason").fill("Fees paid")
    page.get_by_role("button", name="Activate the organisation").click()
    page.wait_for_url(re.compile(rf"/app/organisations/{org}\?done=activated"))
    assert shown_state(page) == "active"
    assert world.registry.view("isFrozen", org) is False
    assert one(world, "select count(*) from app.audit_event where action in ('organisation.suspend', "
                      "'organisation.activate') and target_id = :o", o=org) == 2  # fmt: skip

    # A new Government user: the form has no password; the user is emailed a link.
    page.goto(f"{live_url}/app/users/new")
    page.locator("#organisation_id").select_option(str(world.government))
    page.get_by_label("Name", exact=True).fill("Grace Clerk")
    user_email = f"{tag}.clerk@gov.example.org"
    page.get_by_label("Email", exact=True).fill(user_email)
    page.locator("#role").select_option("Manager")
    assert page.locator("input[type=password]").count() == 0
    page.get_by_role("button", name="Create the user").click()
    page.wait_for_url(re.compile(r"/app/users/\d+\?done=user-created"))
    user_id = int(page.url.split("/app/users/")[1].split("?")[0])
    assert page.locator("dd[data-role]").get_attribute("data-role") == "Manager"
    assert one(world, "select count(*) from app.email_outbox where recipient = :e and template = 'welcome'",
               e=user_email) == 1  # fmt: skip
    assert one(world, "select actor_user_id from app.audit_event where action = 'user.create' and target_id = :u",
               u=user_id) == world.members["gov_admin"].user_id  # fmt: skip

    # CSV import: a dry run writes nothing, then the real import creates the rows.
    orgs_csv = (f"NAME,EMAIL,PHONE,TAX ID,TYPE\nWind {tag} Ltd,{tag}@wind.example.org,+234 800 100 2000,W-{tag},"
                f"Developer\nBroken {tag},not-an-email,+234 1,BR-{tag},Developer\n")  # fmt: skip
    wendy = f"wendy-{tag}@wind.example.org"
    users_csv = (
        f"NAME,EMAIL,PHONE,ORGANISATION TAX ID,ORGANISATION TYPE,ROLE\nWendy Wind,{wendy},,W-{tag},Developer,admin\n"
    )
    page.goto(f"{live_url}/app/organisations/import")
    files = {"#organisations_file": ("organisations.csv", orgs_csv), "#users_file": ("users.csv", users_csv)}

    def upload() -> None:
        for selector, (name, content) in files.items():
            page.locator(selector).set_input_files({"name": name, "mimeType": "text/csv", "buffer": content.encode()})

    upload()
    assert page.get_by_role("checkbox", name="Dry run").is_checked()
    page.get_by_role("button", name="Import", exact=True).click()
    page.wait_for_load_state()
    assert page.locator("#results-heading").inner_text() == "Dry run: nothing was written"
    assert page.locator('tr[data-line="organisations.csv:2"]').get_attribute("data-status") == "created"
    assert page.locator('tr[data-line="organisations.csv:3"]').get_attribute("data-status") == "error"
    assert page.locator('tr[data-line="users.csv:2"]').get_attribute("data-status") == "created"
    assert one(world, "select count(*) from app.organisation where tax_id = :t", t=f"W-{tag}") == 0
    screenshot(page, "organisations-import-dry-run")
    upload()
    page.get_by_role("checkbox", name="Dry run").uncheck()
    page.get_by_role("button", name="Import", exact=True).click()
    page.wait_for_load_state()
    assert page.locator("#results-heading").inner_text() == "Import done"
    assert one(world, "select count(*) from app.organisation where tax_id = :t", t=f"W-{tag}") == 1
    assert one(world, "select role from app.user_account where email = :e", e=wendy) == "Admin"


def test_an_api_admin_issues_and_revokes_its_key_in_the_browser(
    page: Page, live_url: str, app_client: TestClient, world: World
) -> None:
    admin = world.members["api_key"].user_id
    as_caller(page, live_url, world, "api_key")
    page.goto(f"{live_url}/app/users/{admin}")
    page.locator("#issue-key").click()
    page.wait_for_load_state()
    key = page.locator("#issued-key").input_value()
    assert key.startswith("ncr_")
    assert "shown only this once" in page.get_by_role("alert").first.inner_text()
    assert app_client.get(f"/users/{admin}", headers={"api-key": key}).status_code == 200
    assert serious_violations(page) == []
    page.goto(f"{live_url}/app/users/{admin}")  # a reload never shows the key again
    assert page.locator("#issued-key").count() == 0
    assert key not in page.content()
    page.get_by_role("button", name="Revoke the key").click()
    page.wait_for_url(re.compile(rf"/app/users/{admin}\?done=key-revoked"))
    assert page.locator("#live-key").inner_text() == "No key is active."
    assert app_client.get(f"/users/{admin}", headers={"api-key": key}).status_code == 401


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_the_organisation_pages_pass_axe_in_each_language(
    page: Page, live_url: str, world: World, language: str
) -> None:
    dev, gov = world.developer, world.government
    colleague = world.members["dev_manager"].user_id
    as_caller(page, live_url, world, "gov_admin")
    page.goto(f"{live_url}/language?lang={language}&next=/app/organisations")
    paths = ("/app/organisations", f"/app/organisations/{dev}", f"/app/organisations/{world.suspended}",
             "/app/organisations/new", f"/app/organisations/{gov}/edit", "/app/organisations/import", "/app/users",
             f"/app/users/{colleague}", f"/app/users/{world.members['gov_viewonly'].user_id}", "/app/users/new",
             "/app/organisations?role=x", f"/app/users?organisation_id={dev}")  # fmt: skip
    try:
        for path in paths:
            page.goto(f"{live_url}{path}")
            assert page.locator("html").get_attribute("lang") == language
            assert serious_violations(page) == [], path
        for path in ("/app/organisations/new", "/app/users/new", "/app/organisations/import"):
            page.goto(f"{live_url}{path}")
            page.locator("form.narrow button[type=submit]").click()  # nothing filled in: errors next to the fields
            page.wait_for_load_state()
            assert page.locator(".error-summary").count() == 1, path
            assert serious_violations(page) == [], path
        screenshot(page, f"organisations-import-errors-{language}")
        if language == "en":
            page.set_viewport_size({"width": 360, "height": 740})
            for path in paths:
                page.goto(f"{live_url}{path}")
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 360, f"{path} is {width} px wide at a 360 px viewport: {too_wide(page)}"
            page.goto(f"{live_url}/app/organisations/{dev}")
            screenshot(page, "organisations-detail-360")
    finally:
        page.goto(f"{live_url}/language?lang=en&next=/")


def test_an_admin_edits_its_organisation_and_a_required_contact_cannot_be_cleared(
    app_client: TestClient, world: World
) -> None:
    dev = world.developer
    log_in(app_client, world, "dev_admin")
    shown = app_client.get(f"/app/organisations/{dev}/edit")
    assert shown.status_code == 200
    current = dict(re.findall(r'id="(\w+)" name="\w+" type="\w+" value="([^"]*)"', shown.text))
    cleared = app_client.post(f"/app/organisations/{dev}/edit",
                              data=current | {"phone": "", "csrf": csrf_of(shown.text)})  # fmt: skip
    assert cleared.status_code == 422
    assert re.search(r'<p class="error" id="phone-error">[^<]*must keep its phone', cleared.text)
    website = "https://developer.example.org/"
    saved = app_client.post(f"/app/organisations/{dev}/edit", data=current | {"website": website,
                            "csrf": csrf_of(shown.text)}, follow_redirects=False)  # fmt: skip
    assert saved.headers["location"] == f"/app/organisations/{dev}?done=updated"
    assert one(world, "select website from app.organisation where organisation_id = :o", o=dev) == website


def test_the_csv_import_checks_its_caller_its_token_and_its_files(app_client: TestClient, world: World) -> None:
    log_in(app_client, world, "gov_manager")
    assert app_client.get("/app/organisations/import").status_code == 403  # Managers do not import
    log_in(app_client, world, "gov_admin")
    csv_file = ("organisations.csv", b"NAME,EMAIL,PHONE,TAX ID,TYPE\n", "text/csv")
    forged = app_client.post("/app/organisations/import", files={"organisations_file": csv_file})
    assert forged.status_code == 403
    nothing = app_client.post("/app/organisations/import", data={"csrf": token(app_client), "dry_run": "yes"})
    assert nothing.status_code == 422
    assert 'id="form-error"' in nothing.text
    latin1 = ("organisations.csv", "NAME,EMAIL\nSociété,x@example.org\n".encode("latin-1"), "text/csv")
    binary = app_client.post("/app/organisations/import", data={"csrf": token(app_client), "dry_run": "yes"},
                             files={"organisations_file": latin1})  # fmt: skip
    assert binary.status_code == 422
    assert re.search(r'id="organisations_file-error">A CSV file must be UTF-8 text', binary.text)
    empty = app_client.post("/app/organisations/import", data={"csrf": token(app_client), "dry_run": "yes"},
                            files={"organisations_file": csv_file})  # fmt: skip
    assert empty.status_code == 200
    assert "The files have no rows." in empty.text
    app_client.cookies.set("registry_lang", "fr")  # each row's outcome in the page's language
    rows = ("organisations.csv", b"NAME,EMAIL,PHONE,TAX ID,TYPE\nMystery,m@example.org,+234 800 100 4000,MY-4,Wizard\n"
            b"Broken,not-an-email,+234 800 100 4000,BR-4,Developer\n", "text/csv")  # fmt: skip
    french = app_client.post("/app/organisations/import", data={"csrf": token(app_client), "dry_run": "yes"},
                             files={"organisations_file": rows})  # fmt: skip
    app_client.cookies.set("registry_lang", "en")
    assert french.status_code == 200
    assert "TYPE doit valoir Developer, Certifier ou API, et non 'Wizard'" in html.unescape(french.text)
    broken = re.search(r'data-line="organisations.csv:3".*?<td class="wrap">([^<]*)</td>', french.text, re.S)
    assert broken is not None
    assert broken.group(1).startswith("email: "), broken.group(1)
    assert "email address" not in broken.group(1)


def test_an_admin_uploads_the_organisations_logo_and_a_bad_file_is_refused_next_to_the_field(
    app_client: TestClient, world: World
) -> None:
    log_in(app_client, world, "dev_admin")
    path = f"/app/organisations/{world.developer}"
    token = csrf_of(app_client.get(path).text)
    done = app_client.post(f"{path}/logo", data={"csrf": token}, files={"logo": ("logo.png", real_png(), "image/png")},
                           follow_redirects=False)  # fmt: skip
    assert (done.status_code, done.headers["location"]) == (303, f"{path}?done=logo")
    shown = app_client.get(done.headers["location"]).text
    assert 'class="logo" src="' in shown
    assert "The logo was saved." in shown
    refused = app_client.post(f"{path}/logo", data={"csrf": token},
                              files={"logo": ("logo.png", b"<svg onload=alert(1)>", "image/png")})  # fmt: skip
    assert refused.status_code in (400, 415, 422)
    assert 'id="logo-error"' in refused.text
    forged = app_client.post(f"{path}/logo", data={"csrf": "x"}, files={"logo": ("l.png", real_png(), "image/png")})
    assert forged.status_code == 403
    log_in(app_client, world, "cert_admin")  # another organisation's Admin: no logo form, and refused
    assert f'action="{path}/logo"' not in app_client.get(path).text
    other = app_client.post(f"{path}/logo", data={"csrf": csrf_of(app_client.get(path).text)},
                            files={"logo": ("l.png", real_png(), "image/png")})  # fmt: skip
    assert other.status_code == 403
