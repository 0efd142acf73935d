"""Every response carries the security headers; uploaded files get a sandbox policy and are never sniffed."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.security_headers import FILE_POLICY, PAGE_POLICY


@pytest.mark.parametrize(
    ("method", "url"),
    [("GET", "/health"), ("GET", "/docs"), ("GET", "/openapi.json"), ("POST", "/auth/login"), ("GET", "/nowhere"),
     ("GET", "/users/1"), ("GET", "/set-password?token=x")],
)  # fmt: skip
def test_every_answer_carries_the_security_headers(api: TestClient, method: str, url: str) -> None:
    response = api.request(method, url, json={} if method == "POST" else None)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "strict-transport-security" not in response.headers  # the test node is plain HTTP


def test_refusals_of_the_request_guard_carry_them_too(api: TestClient) -> None:
    response = api.post("/auth/login", content=b"[" * 100, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.headers["x-content-type-options"] == "nosniff"


def test_auth_answers_are_never_cached(api: TestClient) -> None:
    assert api.post("/auth/login", json={"email": "a@example.org", "password": "x"}).headers["cache-control"] == (
        "no-store"
    )


def test_pages_may_only_load_the_nodes_own_scripts() -> None:
    assert "script-src 'self';" in PAGE_POLICY
    assert "unsafe-inline" not in PAGE_POLICY.split("script-src", 1)[1].split(";", 1)[0]


def test_uploaded_files_are_served_sandboxed_and_without_sniffing(api: TestClient) -> None:
    files = api.app.state.context.settings.files_dir  # type: ignore[attr-defined]
    (files / "logos").mkdir(parents=True, exist_ok=True)
    (files / "logos" / "x.png").write_bytes(b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>")
    response = api.get("/files/logos/x.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == FILE_POLICY
    assert "sandbox" in FILE_POLICY
    assert "script-src" not in FILE_POLICY


def test_docs_load_swagger_ui_from_the_node_itself(api: TestClient) -> None:
    page = api.get("/docs")
    assert page.status_code == 200
    assert "http" not in page.text.split("<body>", 1)[1]  # no CDN, no absolute URL
    for asset in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css", "/docs/static/swagger-init.js"):
        assert asset in page.text
        assert api.get(asset).status_code == 200
    assert "<script>" not in page.text  # no inline script: the CSP forbids it


def test_answers_to_api_key_callers_are_never_cached(api: TestClient) -> None:
    for header in ("api-key", "api_key"):
        assert api.get("/users", headers={header: "ncr_x_y"}).headers["cache-control"] == "no-store"


def test_docs_assets_serve_only_what_the_page_loads(api: TestClient) -> None:
    assert api.get("/docs/assets/index.html").status_code == 404
    assert api.get("/docs/assets/oauth2-redirect.html").status_code == 404
    assert api.get("/docs/assets/..%2Fpackage.json").status_code == 404
