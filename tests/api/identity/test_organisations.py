"""Organisation fields and rules (§3.2), the list's filter, sort, search and pages, and logo upload."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.api.identity.world import World, real_png, unique

PNG = real_png()


def _body(**overrides: Any) -> dict[str, Any]:
    tag = unique("o")
    body = {"name": f"Org {tag}", "role": "ProgrammeDeveloper", "tax_id": f"TX-{tag}", "email": f"{tag}@example.org",
            "phone": "+234 800 000 0003", "address": "Kano", "website": "https://example.org",
            "admin": {"email": f"admin-{tag}@example.org", "name": "Admin"}}  # fmt: skip
    return body | overrides


@pytest.mark.parametrize(
    ("overrides", "status", "slug"),
    [
        ({"tax_id": None}, 422, "validation-error"),
        ({"email": "not-an-email"}, 422, "validation-error"),
        ({"website": "not a url"}, 422, "validation-error"),
        ({"country": "XX"}, 422, "validation-error"),
        ({"country": "KE"}, 422, "invalid-input"),  # only Certifiers may be foreign
        ({"role": "Government"}, 422, "validation-error"),  # exactly one, made by setup
        ({"role": "Nonsense"}, 422, "validation-error"),
        ({"admin": {"email": "x@example.org", "name": "X", "role": "Manager"}}, 422, "validation-error"),
        ({"unexpected": 1}, 422, "validation-error"),
    ],
    ids=["tax id required", "email", "website", "country code", "foreign developer", "second government",
         "unknown role", "first user not Admin", "unknown field"],
)  # fmt: skip
def test_invalid_organisations_are_refused_and_nothing_is_written(
    app_client: TestClient, world: World, overrides: dict[str, Any], status: int, slug: str
) -> None:
    body = _body(**overrides)
    response = app_client.post("/organisations", headers=world.headers("root"), json=body)
    assert (response.status_code, response.json()["type"]) == (status, f"/problems/{slug}"), response.text
    found = app_client.get("/organisations", headers=world.headers("root"), params={"q": body["name"]}).json()
    assert found["total"] == 0


def test_certifiers_may_be_foreign_api_organisations_need_no_contact_and_country_defaults(
    app_client: TestClient, world: World
) -> None:
    headers = world.headers("root")
    certifier = app_client.post("/organisations", headers=headers, json=_body(role="Certifier", country="ke"))
    assert certifier.status_code == 201, certifier.text
    assert certifier.json()["organisation"]["country"] == "KE"
    tag = unique("api")
    api_org = app_client.post("/organisations", headers=headers, json={
        "name": f"MRV {tag}", "role": "API", "admin": {"email": f"{tag}@example.org", "name": "MRV"}})  # fmt: skip
    assert api_org.status_code == 201, api_org.text
    assert api_org.json()["organisation"]["country"] == "NG"


def test_tax_id_and_email_are_unique(app_client: TestClient, world: World) -> None:
    headers = world.headers("root")
    first = _body()
    assert app_client.post("/organisations", headers=headers, json=first).status_code == 201
    for field in ("tax_id", "email"):
        duplicate = _body(**{field: first[field]})
        response = app_client.post("/organisations", headers=headers, json=duplicate)
        assert (response.status_code, response.json()["field"]) == (409, field)
    admin_taken = _body(admin={"email": first["admin"]["email"], "name": "Again"})
    assert app_client.post("/organisations", headers=headers, json=admin_taken).status_code == 409


def test_the_list_filters_sorts_searches_and_pages(app_client: TestClient, world: World) -> None:
    headers = world.headers("gov_viewonly")
    tag = unique("zz")
    for letter in "CAB":
        world.organisation("Certifier", name=f"{tag} {letter}")
    page = app_client.get("/organisations", headers=headers,
                          params={"q": tag, "sort": "name", "order": "desc", "size": 2}).json()  # fmt: skip
    assert (page["total"], page["size"], [o["name"][-1] for o in page["items"]]) == (3, 2, ["C", "B"])
    second = app_client.get(
        "/organisations", headers=headers, params={"q": tag, "sort": "name", "order": "desc", "size": 2, "page": 2}
    ).json()
    assert [o["name"][-1] for o in second["items"]] == ["A"]
    suspended = app_client.get("/organisations", headers=headers, params={"state": "suspended"}).json()
    assert suspended["items"]
    assert {o["state"] for o in suspended["items"]} == {"suspended"}
    certifiers = app_client.get("/organisations", headers=headers, params={"role": "Certifier", "size": 100}).json()
    assert {o["role"] for o in certifiers["items"]} == {"Certifier"}
    assert app_client.get("/organisations", headers=headers, params={"q": "100%_"}).json()["total"] == 0
    bad_sort = app_client.get("/organisations", headers=headers, params={"sort": "password"})
    assert (bad_sort.status_code, bad_sort.json()["type"]) == (422, "/problems/validation-error")  # not in the enum
    assert app_client.get("/organisations", headers=headers, params={"size": 1000}).status_code == 422


def test_an_admin_updates_its_organisation_and_uploads_a_logo_that_is_served(
    app_client: TestClient, world: World
) -> None:
    headers = world.headers("dev_admin")
    updated = app_client.patch(
        f"/organisations/{world.developer}",
        headers=headers,
        json={"website": "https://developer.example.org/", "address": "Port Harcourt"},
    )
    assert updated.status_code == 200
    assert updated.json()["address"] == "Port Harcourt"
    logo = app_client.put(f"/organisations/{world.developer}/logo", headers=headers,
                          files={"file": ("logo.png", PNG, "image/png")})  # fmt: skip
    assert logo.status_code == 200, logo.text
    url = logo.json()["logo_url"]
    assert url.startswith("http://testserver/files/logos/")
    served = app_client.get(url.removeprefix("http://testserver"))
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(served.content)).size == Image.open(io.BytesIO(PNG)).size  # re-encoded, same picture


def test_a_png_polyglot_carrying_html_is_refused_and_nothing_is_stored(app_client: TestClient, world: World) -> None:
    """Issue 8: PNG magic bytes followed by HTML were stored and served as image/png."""
    polyglot = b"\x89PNG\r\n\x1a\n<html><script>alert(document.cookie)</script></html>"
    response = app_client.put(f"/organisations/{world.certifier}/logo", headers=world.headers("cert_admin"),
                              files={"file": ("logo.png", polyglot, "image/png")})  # fmt: skip
    assert response.status_code == 415
    organisation = app_client.get(f"/organisations/{world.certifier}", headers=world.headers("cert_admin")).json()
    assert organisation["logo_url"] is None


def test_a_logo_upload_above_the_request_limit_is_refused_before_it_is_read(
    app_client: TestClient, world: World
) -> None:
    """Issue 8: a 60 MiB logo was read whole before its 413."""
    huge = b"\x89PNG" + b"0" * (60 * 1024 * 1024)
    response = app_client.put(f"/organisations/{world.developer}/logo", headers=world.headers("dev_admin"),
                              files={"file": ("logo.png", huge, "image/png")})  # fmt: skip
    assert response.status_code == 413
    assert response.json()["type"] == "/problems/payload-too-large"


@pytest.mark.parametrize(
    ("content", "status"),
    [(b"<svg onload='alert(1)'></svg>", 415), (b"GIF89a", 415), (real_png() + b"0" * (1024 * 1024), 413)],
    ids=["svg", "gif", "over 1 MiB"],
)
def test_logos_must_be_png_or_jpeg_up_to_one_mebibyte(
    app_client: TestClient, world: World, content: bytes, status: int
) -> None:
    response = app_client.put(f"/organisations/{world.developer}/logo", headers=world.headers("dev_admin"),
                              files={"file": ("logo", content, "image/png")})  # fmt: skip
    assert response.status_code == status


def test_required_fields_cannot_be_cleared_by_an_update(app_client: TestClient, world: World) -> None:
    headers = world.headers("dev_admin")
    for body, status in (({"name": None}, 422), ({"tax_id": None}, 422), ({"website": None}, 200)):
        response = app_client.patch(f"/organisations/{world.developer}", headers=headers, json=body)
        assert response.status_code == status, (body, response.text)
    api_org = app_client.patch(f"/organisations/{world.api_org}", headers=world.headers("api_key"),
                               json={"email": None})  # fmt: skip
    assert api_org.status_code == 200  # API organisations need no contact details
