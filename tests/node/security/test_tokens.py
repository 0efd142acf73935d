"""Session tokens: a token we signed is still checked claim by claim, and any malformed claim is a 401."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from node.errors import NotAuthenticated
from node.security.tokens import ALGORITHM, ISSUER, Claims, InvalidToken, issue_token, read_token

SECRET = "a test signing secret that is long enough for HS256"
CLAIMS = Claims(7, "Admin", 100, "ProgrammeDeveloper", "active", False, 3)


def _signed(**changes: Any) -> str:
    """A token with our signature whose payload differs from a good one by ``changes`` (None removes a claim)."""
    now = datetime.now(UTC)
    payload: dict[str, Any] = {"sub": "7", "role": "Admin", "org": 100, "org_role": "ProgrammeDeveloper",
                               "org_state": "active", "pwd_change": False, "sv": 3, "iss": ISSUER, "iat": now,
                               "exp": now + timedelta(hours=1)}  # fmt: skip
    for name, value in changes.items():
        if value is None:
            del payload[name]
        else:
            payload[name] = value
    return jwt.encode(payload, SECRET, algorithm=ALGORITHM)


def test_an_issued_token_reads_back_as_its_claims() -> None:
    assert read_token(issue_token(CLAIMS, SECRET, 60), SECRET) == CLAIMS
    assert read_token(_signed(), SECRET) == CLAIMS


@pytest.mark.parametrize(
    "changes",
    [
        {"sub": "abc"}, {"sub": ""}, {"sub": "-1"}, {"sub": "0"}, {"sub": "07"}, {"sub": " 7"}, {"sub": "7\n"},
        {"sub": "１２"}, {"sub": "1_2"}, {"sub": str(2**63)}, {"sub": 7}, {"sub": None},
        {"org": None}, {"org": "100"}, {"org": 0}, {"org": 2**63}, {"org": True}, {"org": 1.5},
        {"sv": None}, {"sv": "3"}, {"sv": -1}, {"sv": 2**31}, {"sv": False},
        {"role": None}, {"role": 1}, {"role": ""}, {"org_role": None}, {"org_state": ["active"]},
        {"pwd_change": None}, {"pwd_change": "false"}, {"pwd_change": 0},
        {"iss": "someone-else"}, {"iss": None}, {"iat": None}, {"exp": None}, {"exp": "tomorrow"},
    ],
)  # fmt: skip
def test_a_signed_token_with_a_malformed_or_missing_claim_is_not_authenticated(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidToken) as refused:
        read_token(_signed(**changes), SECRET)
    assert isinstance(refused.value, NotAuthenticated)
    assert refused.value.status_code == 401


def test_an_expired_or_foreign_token_is_not_authenticated() -> None:
    with pytest.raises(InvalidToken, match="expired"):
        read_token(_signed(exp=datetime.now(UTC) - timedelta(seconds=1)), SECRET)
    with pytest.raises(InvalidToken):
        read_token(_signed(), "another secret of sufficient length for HS256")
    with pytest.raises(InvalidToken):
        read_token(jwt.encode({"sub": "7"}, "", algorithm="none"), SECRET)
