"""The web UI's permission matrix: every signed-in page, as every kind of caller (API keys do not sign in to pages).

Signed out, a page sends to the sign-in page (303). Signed in, a page a caller may not use at all is refused before
its form is filled in (403); the actions on a page are shown per role and tested with each feature
(``test_programmes.py``, ``test_credits.py``, ``test_organisations.py``, ``test_settings.py``).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.credits.test_transfers import authorised
from tests.api.identity.world import World
from tests.web.conftest import log_in

CALLERS = ("anonymous", "root", "gov_admin", "gov_viewonly", "dev_admin", "dev_viewonly", "cert_admin",
           "suspended_admin")  # fmt: skip

# fmt: off
MATRIX: dict[str, tuple[int, ...]] = {
    #                                 anon root gAdm gVw  dAdm dVw  cAdm susp
    "/app/dashboard":                 (303, 200, 200, 200, 200, 200, 200, 200),
    "/app/programmes":                (303, 200, 200, 200, 200, 200, 200, 200),
    "/app/programmes/new":            (303, 200, 200, 403, 200, 403, 403, 403),
    "/app/programmes/{pid}":          (303, 200, 200, 200, 200, 200, 200, 200),
    "/app/holdings":                  (303, 200, 200, 200, 200, 200, 200, 200),
    "/app/transfers":                 (303, 200, 200, 200, 200, 200, 200, 200),
    "/app/transfers/new":             (303, 200, 200, 200, 200, 200, 200, 200),
    "/app/retirements":               (303, 200, 200, 200, 200, 200, 200, 200),
    "/app/retirements/new":           (303, 200, 200, 200, 200, 200, 200, 200),
    "/app/organisations":             (303, 200, 200, 200, 200, 200, 200, 200),
    "/app/organisations/new":         (303, 200, 200, 403, 403, 403, 403, 403),
    "/app/organisations/import":      (303, 200, 200, 403, 403, 403, 403, 403),
    "/app/users":                     (303, 200, 200, 200, 200, 200, 200, 200),
    "/app/users/new":                 (303, 200, 200, 403, 200, 403, 200, 403),
    "/app/settings":                  (303, 200, 200, 200, 200, 200, 200, 200),
    "/app/settings/constants/solar":  (303, 200, 200, 200, 200, 200, 200, 200),
    "/app/audit":                     (303, 200, 200, 403, 200, 403, 200, 200),
    "/password":                      (303, 200, 200, 200, 200, 200, 200, 200),
}
# fmt: on
CASES = [(path, caller, status) for path, row in MATRIX.items() for caller, status in zip(CALLERS, row, strict=True)]


@pytest.fixture(scope="module")
def programme_id(app_client: TestClient, world: World) -> int:
    return authorised(app_client, world, 10)


@pytest.mark.parametrize(("path", "caller", "expected"), CASES, ids=[f"{p} as {c}" for p, c, _ in CASES])
def test_web_permission_matrix(
    app_client: TestClient, world: World, programme_id: int, path: str, caller: str, expected: int
) -> None:
    app_client.cookies.clear()
    if caller != "anonymous":
        log_in(app_client, world, caller)
    answer = app_client.get(path.format(pid=programme_id), follow_redirects=False)
    assert answer.status_code == expected, answer.text[:300]
    if expected == 303:
        assert answer.headers["location"].startswith(("/login", "/password"))


def test_a_change_without_the_csrf_token_is_refused_and_an_api_key_opens_no_page(
    app_client: TestClient, world: World
) -> None:
    log_in(app_client, world, "gov_admin")
    assert app_client.post("/logout", data={}).status_code == 403
    app_client.cookies.clear()
    keyed = app_client.get("/app/dashboard", headers=world.headers("api_key"), follow_redirects=False)
    assert keyed.status_code == 303  # pages read the session cookie only
