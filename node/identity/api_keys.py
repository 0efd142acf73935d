"""API keys for MRV systems: the Admin of an API organisation gets one key at a time, shown once.

A key is ``ncr_<prefix>_<secret>``: the prefix finds the row, the SHA-256 of the whole key proves it. Issuing a
key revokes the earlier one (regeneration); revoking leaves the user without a key. The seed emailed the key
itself; ours is never emailed, only announced.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from node.config import Settings
from node.email.outbox import enqueue
from node.errors import NotFound
from node.identity import audit, permissions
from node.identity.permissions import Principal, UserTarget
from node.identity.principals import API_KEY_PREFIX, hash_api_key
from node.models.app import api_key, organisation, user_account


@dataclass(frozen=True)
class IssuedKey:
    key_id: int
    key: str
    prefix: str


def _target(conn: Connection, principal: Principal, user_id: int) -> tuple[UserTarget, Any]:
    """The key holder (checked against the matrix) and its row (email, name, language for the notice)."""
    row = conn.execute(
        select(user_account, organisation.c.role.label("organisation_role"))
        .join(organisation, organisation.c.organisation_id == user_account.c.organisation_id)
        .where(user_account.c.user_id == user_id)
    ).first()
    if row is None:
        raise NotFound("No user {user_id}.", params={"user_id": user_id})
    target = UserTarget(row.user_id, row.role, row.organisation_id)
    if not permissions.can_see_user(principal, target):
        raise NotFound("No user {user_id}.", params={"user_id": user_id})
    permissions.authorize_api_keys(principal, target, row.organisation_role)
    return target, row


def revoke_all(conn: Connection, user_id: int) -> int:
    """Revokes the user's live keys without a caller check: for changes that end the right to a key (a demotion
    from Admin); returns how many were live."""
    return conn.execute(
        update(api_key)
        .where(api_key.c.user_id == user_id, api_key.c.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    ).rowcount


def issue_key(conn: Connection, settings: Settings, principal: Principal, user_id: int) -> IssuedKey:
    target, user = _target(conn, principal, user_id)
    revoke_all(conn, user_id)
    prefix = secrets.token_hex(6)
    key = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key_id = int(conn.execute(
        insert(api_key).values(user_id=user_id, prefix=prefix, secret_hash=hash_api_key(key))
        .returning(api_key.c.key_id)
    ).scalar_one())  # fmt: skip
    enqueue(conn, settings, to=user.email, language=user.language, template="api_key_issued", name=user.name,
            email=user.email, prefix=f"{API_KEY_PREFIX}_{prefix}")  # fmt: skip
    audit.record(conn, principal, "api_key.issue", organisation_id=target.organisation_id, target_id=user_id,
                 prefix=f"{API_KEY_PREFIX}_{prefix}")  # fmt: skip
    return IssuedKey(key_id, key, f"{API_KEY_PREFIX}_{prefix}")


def revoke_keys(conn: Connection, principal: Principal, user_id: int) -> int:
    target, _ = _target(conn, principal, user_id)
    revoked = revoke_all(conn, user_id)
    audit.record(conn, principal, "api_key.revoke", organisation_id=target.organisation_id, target_id=user_id,
                 revoked=revoked)  # fmt: skip
    return revoked


def active_key(conn: Connection, user_id: int) -> Mapping[str, Any] | None:
    """The user's key in use (its prefix, when it was issued and last used), or None: never the key itself."""
    row = conn.execute(
        select(api_key.c.prefix, api_key.c.created_at, api_key.c.last_used_at)
        .where(api_key.c.user_id == user_id, api_key.c.revoked_at.is_(None))
        .order_by(api_key.c.key_id.desc())
    ).mappings().first()  # fmt: skip
    return dict(row) if row is not None else None


def key_in_use(conn: Connection, principal: Principal, user_id: int) -> Mapping[str, Any]:
    """The key in use of a user whose keys the caller manages (``GET /users/{id}/api-key``): its public prefix and
    when it was issued and last used, never the key; 404 when there is none."""
    _target(conn, principal, user_id)
    found = active_key(conn, user_id)
    if found is None:
        raise NotFound("User {user_id} has no API key in use.", params={"user_id": user_id})
    return {**found, "prefix": f"{API_KEY_PREFIX}_{found['prefix']}"}
