"""A bearer token signed with our secret but carrying a malformed claim answers 401, never 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from node.config import Settings
from node.identity.bootstrap import setup
from node.security.tokens import ALGORITHM, ISSUER


@pytest.mark.parametrize(
    "changes",
    [{"sub": "root"}, {"sub": str(2**63)}, {"sub": "１"}, {"org": None}, {"sv": None}, {"sv": "0"},
     {"pwd_change": None}],
)  # fmt: skip
def test_a_signed_token_with_a_malformed_claim_is_401(
    api: TestClient, settings: Settings, engine: Engine, changes: dict[str, Any]
) -> None:
    root = setup(engine, settings).root_user_id
    now = datetime.now(UTC)
    payload: dict[str, Any] = {"sub": str(root), "role": "Root", "org": 1, "org_role": "Government",
                               "org_state": "active", "pwd_change": False, "sv": 0, "iss": ISSUER, "iat": now,
                               "exp": now + timedelta(hours=1)}  # fmt: skip
    good = jwt.encode(payload, settings.token_secret(), algorithm=ALGORITHM)
    accepted = api.get("/auth/me", headers={"Authorization": f"Bearer {good}"})  # Root must change its password first
    assert accepted.json()["type"] == "/problems/password-change-required"
    for name, value in changes.items():
        if value is None:
            payload.pop(name)
        else:
            payload[name] = value
    bad = jwt.encode(payload, settings.token_secret(), algorithm=ALGORITHM)
    response = api.get("/auth/me", headers={"Authorization": f"Bearer {bad}"})
    assert (response.status_code, response.json()["type"]) == (401, "/problems/not-authenticated")
