"""The web UI's frame over HTTP (no browser): the public home, signing in and out with the session cookie, CSRF,
the language switcher, and the redirects that must stay on this site."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.web.auth import safe_next
from tests.api.identity.world import World
from tests.web.conftest import PASSWORD, with_password


def test_the_home_page_shows_the_registrys_figures_to_anyone(app_client: TestClient, world: World) -> None:
    home = app_client.get("/")
    assert home.status_code == 200
    assert home.headers["content-type"].startswith("text/html")
    assert "National Carbon Registry" in home.text
    assert 'data-figure="issued"' in home.text
    assert home.headers["cache-control"] == "no-store"


def test_the_language_switcher_translates_and_remembers(app_client: TestClient, world: World) -> None:
    switched = app_client.get("/language", params={"lang": "fr", "next": "/"}, follow_redirects=False)
    assert switched.status_code == 303
    assert switched.headers["location"] == "/"
    french = app_client.get("/")
    assert "Registre national du carbone" in french.text
    assert '<html lang="fr">' in french.text
    app_client.get("/language", params={"lang": "es", "next": "/"})
    assert "Registro Nacional de Carbono" in app_client.get("/").text
    app_client.get("/language", params={"lang": "en", "next": "/"})


def test_signing_in_sets_an_httponly_session_cookie_and_signing_out_needs_the_csrf_token(
    app_client: TestClient, world: World
) -> None:
    email = with_password(world, "dev_admin")
    wrong = app_client.post("/login", data={"email": email, "password": "not it", "next": "/"})
    assert wrong.status_code == 400
    assert "The email or the password is wrong." in wrong.text
    done = app_client.post("/login", data={"email": email, "password": PASSWORD, "next": "/"}, follow_redirects=False)
    assert (done.status_code, done.headers["location"]) == (303, "/")
    cookie = done.headers["set-cookie"]
    assert "registry_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    forged = app_client.post("/logout", data={"csrf": "forged"}, follow_redirects=False)
    assert forged.status_code == 403
    home = app_client.get("/")
    token = home.text.split('name="csrf-token" content="')[1].split('"')[0]
    out = app_client.post("/logout", data={"csrf": token}, follow_redirects=False)
    assert out.status_code == 303
    assert 'registry_session=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]


def test_a_page_that_needs_a_session_sends_to_the_sign_in_page(app_client: TestClient, world: World) -> None:
    app_client.cookies.clear()
    login = app_client.get("/password", follow_redirects=False)
    assert (login.status_code, login.headers["location"]) == (303, "/login")


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "\\\\evil", "", "javascript:x"])
def test_redirects_after_sign_in_stay_on_this_site(target: str) -> None:
    assert safe_next(target) == "/app/dashboard"


def test_vendored_assets_are_served_and_nothing_else_of_node_modules(app_client: TestClient) -> None:
    assert app_client.get("/assets/vendor/htmx.min.js").status_code == 200
    assert app_client.get("/assets/app.css").status_code == 200
    assert app_client.get("/assets/vendor/..%2Fpackage.json").status_code == 404
    assert app_client.get("/assets/vendor/axe.min.js").status_code == 404
