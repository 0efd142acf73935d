"""Session tokens: HS256 JWTs (PyJWT) with the claims every permission check needs.

A token is only trusted after its signature checks, but "signed by us" does not make every claim well formed
(an older format, a bug, a leaked secret used carelessly): every claim is checked for its type and range, and any
defect is an ``InvalidToken``, a 401, never a crash deeper down.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt

from node.errors import NotAuthenticated

ALGORITHM = "HS256"
ISSUER = "national-carbon-registry"
MAX_BIGINT = 2**63 - 1
"""User and organisation ids are PostgreSQL ``bigint``s; a larger id would fail in the database, not here."""
MAX_INTEGER = 2**31 - 1
"""``session_version`` is a PostgreSQL ``integer``."""
_DECIMAL_ID = re.compile(r"[1-9][0-9]{0,18}")
"""ASCII digits only: ``int()`` would also take ``"１２"``, ``" 12"`` or ``"1_2"``."""
REQUIRED_CLAIMS = ("sub", "exp", "iat", "iss", "role", "org", "org_role", "org_state", "pwd_change", "sv")


class InvalidToken(NotAuthenticated):
    """The token is malformed, tampered with, expired, or carries a malformed claim (401).

    The message is one of a fixed set, so a caller can quote it as the reason in its own message: "token expired",
    "token invalid", or "token invalid (claim {claim})" with the claim's name in ``params["claim"]``.
    """


@dataclass(frozen=True)
class Claims:
    user_id: int
    role: str
    organisation_id: int
    organisation_role: str
    organisation_state: str
    must_change_password: bool
    session_version: int = 0
    """The user's session version when issued; a password change raises it and so ends older sessions."""


def load_or_create_secret(path: Path) -> str:
    """The signing secret kept in ``path`` (created once, readable by the owner only)."""
    if path.is_file():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(secret)
    return secret


def issue_token(claims: Claims, secret: str, expires_in: int) -> str:
    now = datetime.now(UTC)
    payload: dict[str, Any] = {
        "sub": str(claims.user_id), "role": claims.role, "org": claims.organisation_id,
        "org_role": claims.organisation_role, "org_state": claims.organisation_state,
        "pwd_change": claims.must_change_password, "sv": claims.session_version, "iss": ISSUER, "iat": now,
        "exp": now + timedelta(seconds=expires_in),
    }  # fmt: skip
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def _user_id(value: Any) -> int:
    if not isinstance(value, str) or not _DECIMAL_ID.fullmatch(value) or int(value) > MAX_BIGINT:
        raise InvalidToken("token invalid (claim {claim})", params={"claim": "sub"})
    return int(value)


def _integer(payload: dict[str, Any], name: str, low: int, high: int) -> int:
    value = payload[name]
    if type(value) is not int or not low <= value <= high:  # bool is an int subclass: refused too
        raise InvalidToken("token invalid (claim {claim})", params={"claim": name})
    return value


def _text(payload: dict[str, Any], name: str) -> str:
    value = payload[name]
    if not isinstance(value, str) or not value:
        raise InvalidToken("token invalid (claim {claim})", params={"claim": name})
    return value


def read_token(token: str, secret: str) -> Claims:
    """The claims of a token we signed, each of the type and range we issue, else ``InvalidToken``."""
    try:
        payload = jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=ISSUER,
                             options={"require": list(REQUIRED_CLAIMS)})  # fmt: skip
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("token expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("token invalid") from exc
    if not isinstance(payload.get("pwd_change"), bool):
        raise InvalidToken("token invalid (claim {claim})", params={"claim": "pwd_change"})
    return Claims(
        user_id=_user_id(payload["sub"]),
        role=_text(payload, "role"),
        organisation_id=_integer(payload, "org", 1, MAX_BIGINT),
        organisation_role=_text(payload, "org_role"),
        organisation_state=_text(payload, "org_state"),
        must_change_password=payload["pwd_change"],
        session_version=_integer(payload, "sv", 0, MAX_INTEGER),
    )
