"""The identity permission matrix: every identity and organisation endpoint, called as every kind of caller.

(Login and changing one's password take a password, not a caller: tests/api/auth covers them.)

Read a row as "this request, made by each caller, answers with this status". Targets named "fresh" are created
for each cell, so cells never depend on each other. 404 means the row-level filter hides the target from the
caller; 403 that the caller sees it but may not act; 409 that nobody may (the Government cannot be suspended).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient

from node.identity import api_keys
from tests.api.identity.world import CALLERS, World, real_png, unique

PNG = real_png()
IMPORT_CSV = b"NAME,EMAIL,PHONE,TAX ID,TYPE\nMatrix Energy,m@matrix.example.org,+234 800 100 2000,MX-1,Developer\n"
Action = Callable[[TestClient, World, str, dict[str, str]], httpx.Response]


def _own_org(world: World, caller: str) -> int:
    return world.members[caller].organisation_id if caller != "anonymous" else world.developer


def _own_user(world: World, caller: str) -> int:
    return world.members[caller].user_id if caller != "anonymous" else world.members["dev_viewonly"].user_id


def _api_admin_with_key(world: World) -> int:
    admin = world.user(world.api_org, "Admin")
    with world.engine.begin() as conn:
        api_keys.issue_key(conn, world.settings, world.principal(world.members["root"].user_id), admin)
    return admin


def _new_org_body() -> dict[str, object]:
    tag = unique("new")
    return {"name": f"New {tag}", "role": "ProgrammeDeveloper", "tax_id": f"T-{tag}", "email": f"{tag}@example.org",
            "phone": "+234 800 000 0001", "address": "Abuja", "admin": {"email": f"a-{tag}@example.org",
                                                                          "name": "First Admin"}}  # fmt: skip


def _new_user_body(organisation_id: int) -> dict[str, object]:
    return {"email": f"{unique('u')}@example.org", "name": "New User", "role": "ViewOnly",
            "organisation_id": organisation_id}  # fmt: skip


def _suspended_org(world: World) -> int:
    organisation_id = world.organisation()
    world.suspend(organisation_id)
    return organisation_id


ACTIONS: dict[str, Action] = {
    "GET /organisations": lambda api, w, c, h: api.get("/organisations", headers=h),
    "GET /organisations/{developer}": lambda api, w, c, h: api.get(f"/organisations/{w.developer}", headers=h),
    "GET /organisations/{developer}/holdings": lambda api, w, c, h: api.get(
        f"/organisations/{w.developer}/holdings", headers=h),
    "POST /organisations (+ first Admin)": lambda api, w, c, h: api.post("/organisations", headers=h,
                                                                         json=_new_org_body()),
    "PATCH /organisations/{developer}": lambda api, w, c, h: api.patch(f"/organisations/{w.developer}", headers=h,
                                                                       json={"phone": "+234 800 111 2222"}),
    "PATCH /organisations/{own}": lambda api, w, c, h: api.patch(f"/organisations/{_own_org(w, c)}", headers=h,
                                                                 json={"website": "https://example.org/"}),
    "PUT /organisations/{own}/logo": lambda api, w, c, h: api.put(f"/organisations/{_own_org(w, c)}/logo", headers=h,
                                                                  files={"file": ("logo.png", PNG, "image/png")}),
    "POST /organisations/import (dry run)": lambda api, w, c, h: api.post(
        "/organisations/import", headers=h, data={"dry_run": "true"},
        files={"organisations_file": ("organisations.csv", IMPORT_CSV, "text/csv")}),
    "POST /organisations/{fresh}/suspend": lambda api, w, c, h: api.post(
        f"/organisations/{w.organisation()}/suspend", headers=h, json={"remarks": "audit"}),
    "POST /organisations/{fresh suspended}/activate": lambda api, w, c, h: api.post(
        f"/organisations/{_suspended_org(w)}/activate", headers=h, json={"remarks": "cleared"}),
    "POST /organisations/{government}/suspend": lambda api, w, c, h: api.post(
        f"/organisations/{w.government}/suspend", headers=h, json={"remarks": "no"}),
    "GET /users": lambda api, w, c, h: api.get("/users", headers=h),
    "GET /users/{developer ViewOnly}": lambda api, w, c, h: api.get(
        f"/users/{w.members['dev_viewonly'].user_id}", headers=h),
    "POST /users (own organisation)": lambda api, w, c, h: api.post("/users", headers=h,
                                                                    json=_new_user_body(_own_org(w, c))),
    "POST /users (developer, has an Admin)": lambda api, w, c, h: api.post("/users", headers=h,
                                                                           json=_new_user_body(w.developer)),
    "POST /users (fresh organisation, no Admin)": lambda api, w, c, h: api.post(
        "/users", headers=h, json=_new_user_body(w.organisation(admin=False))),
    "PATCH /users/{self} name": lambda api, w, c, h: api.patch(f"/users/{_own_user(w, c)}", headers=h,
                                                               json={"name": "Renamed Self"}),
    "PATCH /users/{self} role": lambda api, w, c, h: api.patch(f"/users/{_own_user(w, c)}", headers=h,
                                                               json={"role": "Admin"}),
    "PATCH /users/{fresh developer ViewOnly}": lambda api, w, c, h: api.patch(
        f"/users/{w.user(w.developer)}", headers=h, json={"name": "Renamed", "role": "Manager"}),
    "DELETE /users/{fresh developer ViewOnly}": lambda api, w, c, h: api.delete(
        f"/users/{w.user(w.developer)}", headers=h),
    "DELETE /users/{root}": lambda api, w, c, h: api.delete(f"/users/{w.members['root'].user_id}", headers=h),
    "POST /users/{fresh developer user}/invitation": lambda api, w, c, h: api.post(
        f"/users/{w.user(w.developer)}/invitation", headers=h),
    "GET /users/{self}/api-key": lambda api, w, c, h: api.get(f"/users/{_own_user(w, c)}/api-key", headers=h),
    "GET /users/{fresh API Admin with a key}/api-key": lambda api, w, c, h: api.get(
        f"/users/{_api_admin_with_key(w)}/api-key", headers=h),
    "POST /users/{self}/api-key": lambda api, w, c, h: api.post(f"/users/{_own_user(w, c)}/api-key", headers=h),
    "POST /users/{fresh API Admin}/api-key": lambda api, w, c, h: api.post(
        f"/users/{w.user(w.api_org, 'Admin')}/api-key", headers=h),
    "DELETE /users/{fresh API Admin}/api-key": lambda api, w, c, h: api.delete(
        f"/users/{w.user(w.api_org, 'Admin')}/api-key", headers=h),
    "GET /auth/me": lambda api, w, c, h: api.get("/auth/me", headers=h),
    "GET /audit-events": lambda api, w, c, h: api.get("/audit-events", headers=h),
    "POST /auth/forgot-password": lambda api, w, c, h: api.post("/auth/forgot-password", headers=h,
                                                                json={"email": "nobody@example.org"}),
    "POST /auth/reset-password (unknown link)": lambda api, w, c, h: api.post(
        "/auth/reset-password", headers=h, json={"token": "x" * 43, "new_password": "a long new passphrase"}),
    "POST /auth/login-link (unknown link)": lambda api, w, c, h: api.post(
        "/auth/login-link", headers=h, json={"token": "x" * 43}),
}  # fmt: skip

# fmt: off
MATRIX: dict[str, tuple[int, ...]] = {
    #                                           anon root gAdm gMgr gVw  dAdm dMgr dVw  cAdm api  susp
    "GET /organisations":                        (401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /organisations/{developer}":            (401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /organisations/{developer}/holdings":   (401, 200, 200, 200, 200, 200, 200, 200, 403, 403, 403),
    "POST /organisations (+ first Admin)":       (401, 201, 201, 403, 403, 403, 403, 403, 403, 201, 403),
    "PATCH /organisations/{developer}":          (401, 403, 403, 403, 403, 200, 403, 403, 403, 403, 403),
    "PATCH /organisations/{own}":                (401, 200, 200, 403, 403, 200, 403, 403, 200, 200, 403),
    "PUT /organisations/{own}/logo":             (401, 200, 200, 403, 403, 200, 403, 403, 200, 200, 403),
    "POST /organisations/import (dry run)":      (401, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403),
    "POST /organisations/{fresh}/suspend":       (401, 200, 200, 200, 403, 403, 403, 403, 403, 403, 403),
    "POST /organisations/{fresh suspended}/activate":
                                                 (401, 200, 200, 200, 403, 403, 403, 403, 403, 403, 403),
    "POST /organisations/{government}/suspend":  (401, 409, 409, 409, 403, 403, 403, 403, 403, 403, 403),
    "GET /users":                                (401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /users/{developer ViewOnly}":           (401, 200, 200, 200, 200, 200, 200, 200, 404, 404, 404),
    "POST /users (own organisation)":            (401, 201, 201, 403, 403, 201, 403, 403, 201, 201, 403),
    "POST /users (developer, has an Admin)":     (401, 403, 403, 403, 403, 201, 403, 403, 403, 403, 403),
    "POST /users (fresh organisation, no Admin)":(401, 201, 201, 403, 403, 403, 403, 403, 403, 403, 403),
    "PATCH /users/{self} name":                  (401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 403),
    "PATCH /users/{self} role":                  (401, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403),
    "PATCH /users/{fresh developer ViewOnly}":   (401, 403, 403, 403, 403, 200, 403, 403, 404, 404, 404),
    "DELETE /users/{fresh developer ViewOnly}":  (401, 403, 403, 403, 403, 204, 403, 403, 404, 404, 404),
    "DELETE /users/{root}":                      (401, 403, 403, 403, 403, 404, 404, 404, 404, 404, 404),
    "POST /users/{fresh developer user}/invitation":
                                                 (401, 403, 403, 403, 403, 202, 403, 403, 404, 404, 404),
    "GET /users/{self}/api-key":                 (401, 403, 403, 403, 403, 403, 403, 403, 403, 200, 403),
    "GET /users/{fresh API Admin with a key}/api-key":
                                                 (401, 200, 403, 403, 403, 404, 404, 404, 404, 403, 404),
    "POST /users/{self}/api-key":                (401, 403, 403, 403, 403, 403, 403, 403, 403, 201, 403),
    "POST /users/{fresh API Admin}/api-key":     (401, 201, 403, 403, 403, 404, 404, 404, 404, 403, 404),
    "DELETE /users/{fresh API Admin}/api-key":   (401, 204, 403, 403, 403, 404, 404, 404, 404, 403, 404),
    "GET /auth/me":                              (401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /audit-events":                         (401, 200, 200, 200, 403, 200, 403, 403, 200, 200, 200),
    "POST /auth/forgot-password":                (202, 202, 202, 202, 202, 202, 202, 202, 202, 202, 202),
    "POST /auth/reset-password (unknown link)":  (400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400),
    "POST /auth/login-link (unknown link)":      (400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400),
}
# fmt: on
CASES = [
    (action, caller, status) for action, row in MATRIX.items() for caller, status in zip(CALLERS, row, strict=True)
]


def _template(method_and_path: str) -> str:
    """``PATCH /users/{self} role`` and ``PATCH /users/{user_id}`` both become ``PATCH /users/{}``."""
    return " ".join(re.sub(r"\{[^}]*\}", "{}", method_and_path).split(" ")[:2])


def test_the_matrix_covers_every_identity_endpoint(app_client: TestClient) -> None:
    paths = app_client.get("/openapi.json").json()["paths"]
    identity = ("/organisations", "/users", "/auth", "/audit")
    password_only = {"POST /auth/login", "POST /auth/password"}
    routes = {_template(f"{method.upper()} {path}") for path, operations in paths.items()
              for method in operations if path.startswith(identity)} - password_only  # fmt: skip
    assert routes, "no identity routes found"
    assert routes <= {_template(action) for action in MATRIX}, routes - {_template(action) for action in MATRIX}


@pytest.mark.parametrize(("action", "caller", "expected"), CASES, ids=[f"{a} as {c}" for a, c, _ in CASES])
def test_permission_matrix(app_client: TestClient, world: World, action: str, caller: str, expected: int) -> None:
    response = ACTIONS[action](app_client, world, caller, world.headers(caller))
    assert response.status_code == expected, response.text
    if expected >= 400:
        problem = response.json()
        assert response.headers["content-type"] == "application/problem+json"
        assert problem["status"] == expected
        assert problem["type"].startswith("/problems/")
