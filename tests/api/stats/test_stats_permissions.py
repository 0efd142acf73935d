"""The analytics permission matrix: every statistics endpoint, as every caller.

Anyone signed in may ask for any statistic (suspended organisations read too); what each caller's figures cover is
its visibility, tested in ``test_stats.py``. The public figures need no login.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient

from node.stats.schemas import StatType
from tests.api.identity.world import CALLERS, World

Action = Callable[[TestClient, dict[str, str]], httpx.Response]


def _get_stat(stat_type: StatType) -> Action:
    return lambda api, h: api.get(f"/stats/{stat_type.value}", headers=h)


ACTIONS: dict[str, Action] = {
    "POST /stats (the dashboard)": lambda api, h: api.post(
        "/stats", json={"stats": [{"type": t.value} for t in StatType]}, headers=h),
    **{f"GET /stats/{t.value}": _get_stat(t) for t in StatType},
    "GET /stats/programmes_by_stage?only_mine": lambda api, h: api.get(
        "/stats/programmes_by_stage", params={"only_mine": "true", "group_by": "day"}, headers=h),
    "GET /public/stats": lambda api, h: api.get("/public/stats", headers=h),
}  # fmt: skip

SIGNED_IN = (401, *(200,) * (len(CALLERS) - 1))
MATRIX: dict[str, tuple[int, ...]] = dict.fromkeys(ACTIONS, SIGNED_IN) | {"GET /public/stats": (200,) * len(CALLERS)}
CASES = [
    (action, caller, status) for action, row in MATRIX.items() for caller, status in zip(CALLERS, row, strict=True)
]


@pytest.mark.parametrize(("action", "caller", "expected"), CASES, ids=[f"{a} as {c}" for a, c, _ in CASES])
def test_permission_matrix(app_client: TestClient, world: World, action: str, caller: str, expected: int) -> None:
    response = ACTIONS[action](app_client, world.headers(caller))
    assert response.status_code == expected, response.text
    if expected >= 400:
        assert response.headers["content-type"] == "application/problem+json"
