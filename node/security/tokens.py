"""Session tokens: HS256 JWTs (PyJWT) with the claims every permission check needs."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt

ALGORITHM = "HS256"
ISSUER = "national-carbon-registry"


class InvalidToken(Exception):
    """The token is malformed, tampered with, or expired."""


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


def read_token(token: str, secret: str) -> Claims:
    try:
        payload = jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=ISSUER,
                             options={"require": ["sub", "exp", "iat", "iss"]})  # fmt: skip
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("token expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("token invalid") from exc
    return Claims(int(payload["sub"]), payload["role"], int(payload["org"]), payload["org_role"],
                  payload["org_state"], bool(payload["pwd_change"]), int(payload.get("sv", 0)))  # fmt: skip
