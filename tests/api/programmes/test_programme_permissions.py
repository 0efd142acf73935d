"""The programme permission matrix (reference §4.2): every programme endpoint, called as every kind of caller.

Read a row as "this request, made by each caller, answers with this status". Targets named "fresh" are made for
each cell through the API as Root, so cells never depend on each other. 404 means the row filter hides the
programme from the caller; 403 that the caller may not act.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.api.identity.world import CALLERS, World, unique
from tests.api.programmes.test_programme_lifecycle import new_programme

Action = Callable[[TestClient, World, str, dict[str, str]], httpx.Response]


def _fresh(api: TestClient, world: World, stage: str = "awaiting") -> int:
    """A new programme owned by the developer, as Root made it: awaiting, authorised (100 issued) or certified."""
    root = world.headers("root")
    created = api.post("/programmes", json=new_programme(world), headers=root)
    assert created.status_code == 201, created.text
    pid = int(created.json()["programme_id"])
    if stage in ("authorised", "certified"):
        done = api.post(f"/programmes/{pid}/authorise", json={"issue_amount": 100}, headers=root)
        assert done.status_code == 200, done.text
    if stage == "certified":
        done = api.post(f"/programmes/{pid}/certify", json={}, headers=world.headers("cert_admin"))
        assert done.status_code == 200, done.text
    return pid


ACTIONS: dict[str, Action] = {
    "GET /programmes": lambda api, w, c, h: api.get("/programmes", headers=h),
    "GET /exports/programmes.csv": lambda api, w, c, h: api.get("/exports/programmes.csv", headers=h),
    "GET /programmes/{fresh awaiting}": lambda api, w, c, h: api.get(f"/programmes/{_fresh(api, w)}", headers=h),
    "GET /programmes/{fresh authorised}": lambda api, w, c, h: api.get(
        f"/programmes/{_fresh(api, w, 'authorised')}", headers=h),
    "GET /programmes/{fresh awaiting}/blocks": lambda api, w, c, h: api.get(
        f"/programmes/{_fresh(api, w)}/blocks", headers=h),
    "GET /programmes/{fresh authorised}/history": lambda api, w, c, h: api.get(
        f"/programmes/{_fresh(api, w, 'authorised')}/history", headers=h),
    "POST /programmes (developer's)": lambda api, w, c, h: api.post("/programmes", json=new_programme(w), headers=h),
    "POST /programmes/{fresh awaiting}/authorise": lambda api, w, c, h: api.post(
        f"/programmes/{_fresh(api, w)}/authorise", json={"issue_amount": 10}, headers=h),
    "POST /programmes/{fresh awaiting}/reject": lambda api, w, c, h: api.post(
        f"/programmes/{_fresh(api, w)}/reject", json={"remarks": "No baseline"}, headers=h),
    "POST /programmes/{fresh authorised}/issue": lambda api, w, c, h: api.post(
        f"/programmes/{_fresh(api, w, 'authorised')}/issue", json={"amount": 1},
        headers=h | {"Idempotency-Key": unique("issue-")}),
    "POST /programmes/{fresh authorised}/certify": lambda api, w, c, h: api.post(
        f"/programmes/{_fresh(api, w, 'authorised')}/certify", json={}, headers=h),
    "POST /programmes/{fresh certified}/revoke": lambda api, w, c, h: api.post(
        f"/programmes/{_fresh(api, w, 'certified')}/revoke", json={"certifier_id": w.certifier}, headers=h),
    "POST /programmes/{fresh awaiting}/materials": lambda api, w, c, h: api.post(
        f"/programmes/{_fresh(api, w)}/materials", headers=h, data={"kind": "Other", "title": "Letter"},
        files={"file": ("letter.pdf", b"%PDF-1.4\n" + c.encode(), "application/pdf")}),
}  # fmt: skip

# fmt: off
MATRIX: dict[str, tuple[int, ...]] = {
    #                                             anon root gAdm gMgr gVw  dAdm dMgr dVw  cAdm api  susp
    "GET /programmes":                             (401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /exports/programmes.csv":                 (401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /programmes/{fresh awaiting}":            (401, 200, 200, 200, 200, 200, 200, 200, 404, 200, 404),
    "GET /programmes/{fresh authorised}":          (401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /programmes/{fresh awaiting}/blocks":     (401, 200, 200, 200, 200, 200, 200, 200, 404, 200, 404),
    "GET /programmes/{fresh authorised}/history":  (401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "POST /programmes (developer's)":              (401, 201, 201, 201, 403, 201, 201, 403, 403, 201, 403),
    "POST /programmes/{fresh awaiting}/authorise": (401, 200, 200, 200, 403, 403, 403, 403, 403, 403, 403),
    "POST /programmes/{fresh awaiting}/reject":    (401, 200, 200, 200, 403, 403, 403, 403, 403, 403, 403),
    "POST /programmes/{fresh authorised}/issue":   (401, 200, 200, 200, 403, 403, 403, 403, 403, 403, 403),
    "POST /programmes/{fresh authorised}/certify": (401, 403, 403, 403, 403, 403, 403, 403, 200, 403, 403),
    "POST /programmes/{fresh certified}/revoke":   (401, 200, 200, 200, 403, 403, 403, 403, 200, 403, 403),
    "POST /programmes/{fresh awaiting}/materials": (401, 201, 201, 201, 403, 201, 201, 403, 404, 403, 404),
}
# fmt: on
CASES = [
    (action, caller, status) for action, row in MATRIX.items() for caller, status in zip(CALLERS, row, strict=True)
]


def _template(method_and_path: str) -> str:
    return " ".join(re.sub(r"\{[^}]*\}", "{}", method_and_path).split(" ")[:2])


def test_the_matrix_covers_every_programme_endpoint(app_client: TestClient) -> None:
    paths = app_client.get("/openapi.json").json()["paths"]
    routes = {_template(f"{method.upper()} {path}") for path, operations in paths.items()
              for method in operations if path.startswith("/programmes")}  # fmt: skip
    assert routes, "no programme routes found"
    assert routes <= {_template(action) for action in MATRIX}, routes - {_template(action) for action in MATRIX}


@pytest.mark.parametrize(("action", "caller", "expected"), CASES, ids=[f"{a} as {c}" for a, c, _ in CASES])
def test_permission_matrix(app_client: TestClient, world: World, action: str, caller: str, expected: int) -> None:
    response = ACTIONS[action](app_client, world, caller, world.headers(caller))
    assert response.status_code == expected, response.text
    if expected >= 400:
        problem = response.json()
        assert response.headers["content-type"] == "application/problem+json"
        assert problem["status"] == expected
