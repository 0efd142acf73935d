"""The credit permission matrix (reference §4.2, Transfers column): every credit endpoint, as every caller.

Targets named "fresh" are made for each cell (a programme authorised by Root with 100 credits issued to the
developer, and a request the certifier asked for), so cells never depend on each other.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.api.credits.test_retirements import CROSS_BORDER, retire
from tests.api.credits.test_transfers import authorised, send
from tests.api.identity.world import CALLERS, World, unique

Action = Callable[[TestClient, World, str, dict[str, str]], httpx.Response]


def _request(api: TestClient, w: World) -> int:
    """A fresh pending request: the certifier asks the developer for 5 credits."""
    made = send(api, w, "cert_admin", authorised(api, w, 100), w.developer, w.certifier, 5)
    assert made.status_code == 201, made.text
    return int(made.json()["transfer_id"])


def _send_own(api: TestClient, w: World, c: str, h: dict[str, str]) -> httpx.Response:
    """The caller's organisation sends 1 credit it holds (Root gives it 10 first, when it is not anonymous)."""
    pid = authorised(api, w, 100)
    own = w.members[c].organisation_id if c != "anonymous" else w.developer
    if own != w.developer:
        assert send(api, w, "dev_admin", pid, w.developer, own, 10).status_code in (201, 409)
    receiver = w.government if own != w.government else w.developer
    body = {"programme_id": pid, "from_organisation_id": own, "to_organisation_id": receiver, "amount": 1}
    response: httpx.Response = api.post("/transfers", json=body, headers=h | {"Idempotency-Key": unique("k-")})
    return response


def _retirement_request(api: TestClient, w: World) -> int:
    """A fresh pending request: the developer asks to retire 5 of its credits cross-border."""
    made = retire(api, w, "dev_admin", authorised(api, w, 100), w.developer, amount=5, **CROSS_BORDER)
    assert made.status_code == 201, made.text
    return int(made.json()["retirement_id"])


def _retire(kind: dict[str, object]) -> Action:
    def action(api: TestClient, w: World, c: str, h: dict[str, str]) -> httpx.Response:
        body = {"programme_id": authorised(api, w, 100), "from_organisation_id": w.developer, **kind}
        response: httpx.Response = api.post("/retirements", json=body, headers=h | {"Idempotency-Key": unique("k-")})
        return response

    return action


ACTIONS: dict[str, Action] = {
    "GET /retirement-accounts": lambda api, w, c, h: api.get("/retirement-accounts", headers=h),
    "GET /transfers": lambda api, w, c, h: api.get("/transfers", headers=h),
    "GET /exports/transfers.csv": lambda api, w, c, h: api.get("/exports/transfers.csv", headers=h),
    "GET /transfers/{fresh request}": lambda api, w, c, h: api.get(f"/transfers/{_request(api, w)}", headers=h),
    "POST /transfers (own credits)": _send_own,
    "POST /transfers (developer's to the certifier)": lambda api, w, c, h: api.post("/transfers", headers=h | {
        "Idempotency-Key": unique("k-")}, json={"programme_id": authorised(api, w, 100), "amount": 1,
                                                "from_organisation_id": w.developer,
                                                "to_organisation_id": w.certifier}),
    "POST /transfers/{fresh request}/approve": lambda api, w, c, h: api.post(
        f"/transfers/{_request(api, w)}/approve", json={}, headers=h),
    "POST /transfers/{fresh request}/reject": lambda api, w, c, h: api.post(
        f"/transfers/{_request(api, w)}/reject", json={}, headers=h),
    "POST /transfers/{fresh request}/cancel": lambda api, w, c, h: api.post(
        f"/transfers/{_request(api, w)}/cancel", json={}, headers=h),
    "GET /settings/credits": lambda api, w, c, h: api.get("/settings/credits", headers=h),
    "PUT /settings/credits/transfer-pause (resume)": lambda api, w, c, h: api.put(
        "/settings/credits/transfer-pause", json={"paused": False}, headers=h),
    "PUT /settings/credits/omge-rate": lambda api, w, c, h: api.put(
        "/settings/credits/omge-rate", json={"omge_bps": 100}, headers=h),
    "GET /retirements": lambda api, w, c, h: api.get("/retirements", headers=h),
    "GET /exports/retirements.csv": lambda api, w, c, h: api.get("/exports/retirements.csv", headers=h),
    "GET /retirements/{fresh request}": lambda api, w, c, h: api.get(
        f"/retirements/{_retirement_request(api, w)}", headers=h),
    "POST /retirements (cross-border, developer's)": _retire(CROSS_BORDER | {"amount": 1}),
    "POST /retirements (legal action, developer's)": _retire({"retirement_type": "legal_action"}),
    "POST /retirements/{fresh request}/recognise": lambda api, w, c, h: api.post(
        f"/retirements/{_retirement_request(api, w)}/recognise", json={}, headers=h),
    "POST /retirements/{fresh request}/not-recognise": lambda api, w, c, h: api.post(
        f"/retirements/{_retirement_request(api, w)}/not-recognise", json={}, headers=h),
    "POST /retirements/{fresh request}/cancel": lambda api, w, c, h: api.post(
        f"/retirements/{_retirement_request(api, w)}/cancel", json={}, headers=h),
}  # fmt: skip

# fmt: off
MATRIX: dict[str, tuple[int, ...]] = {
    #                                                 anon root gAdm gMgr gVw  dAdm dMgr dVw  cAdm api  susp
    "GET /retirement-accounts":                        (401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /transfers":                                  (401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /exports/transfers.csv":                     (401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /transfers/{fresh request}":                  (401, 200, 200, 200, 200, 200, 200, 200, 200, 404, 404),
    "POST /transfers (own credits)":                   (401, 201, 201, 201, 403, 201, 201, 403, 201, 201, 403),
    "POST /transfers (developer's to the certifier)":  (401, 201, 201, 201, 403, 201, 201, 403, 201, 403, 403),
    "POST /transfers/{fresh request}/approve":         (401, 403, 403, 403, 403, 200, 200, 403, 403, 403, 403),
    "POST /transfers/{fresh request}/reject":          (401, 403, 403, 403, 403, 200, 200, 403, 403, 403, 403),
    "POST /transfers/{fresh request}/cancel":          (401, 200, 200, 200, 403, 403, 403, 403, 200, 403, 403),
    "GET /settings/credits":                           (401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "PUT /settings/credits/transfer-pause (resume)":   (401, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403),
    "PUT /settings/credits/omge-rate":                 (401, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403),
    "GET /retirements":                                (401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /exports/retirements.csv":                   (401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "GET /retirements/{fresh request}":                (401, 200, 200, 200, 200, 200, 200, 200, 404, 404, 404),
    "POST /retirements (cross-border, developer's)":   (401, 201, 201, 201, 403, 201, 201, 403, 403, 403, 403),
    "POST /retirements (legal action, developer's)":   (401, 201, 201, 201, 403, 403, 403, 403, 403, 403, 403),
    "POST /retirements/{fresh request}/recognise":     (401, 200, 200, 200, 403, 403, 403, 403, 403, 403, 403),
    "POST /retirements/{fresh request}/not-recognise": (401, 200, 200, 200, 403, 403, 403, 403, 403, 403, 403),
    "POST /retirements/{fresh request}/cancel":        (401, 403, 403, 403, 403, 200, 200, 403, 403, 403, 403),
}
# fmt: on
CASES = [
    (action, caller, status) for action, row in MATRIX.items() for caller, status in zip(CALLERS, row, strict=True)
]


@pytest.mark.parametrize(("action", "caller", "expected"), CASES, ids=[f"{a} as {c}" for a, c, _ in CASES])
def test_permission_matrix(app_client: TestClient, world: World, action: str, caller: str, expected: int) -> None:
    response = ACTIONS[action](app_client, world, caller, world.headers(caller))
    assert response.status_code == expected, response.text
    if expected >= 400:
        assert response.headers["content-type"] == "application/problem+json"
