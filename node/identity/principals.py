"""Who is calling, read from the database on every request: a session token or an API key becomes a Principal.

Reading the user and its organisation per request (one indexed join) means a deleted user, a changed role, a
suspension or a password change takes effect at once, not when a token expires. An API key stands for an Admin
of an active API organisation: it is honoured only while its holder still is one (a demotion also revokes it, a
deletion deletes it; this check is the guarantee, whatever path changed the row).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, select, update

from node.errors import NotAuthenticated, OrganisationSuspended
from node.identity.permissions import ADMIN, API, SUSPENDED, Principal
from node.models.app import api_key, organisation, user_account

API_KEY_PREFIX = "ncr"


def _principal_query() -> Select[Any]:
    return select(
        user_account.c.user_id,
        user_account.c.email,
        user_account.c.role,
        user_account.c.organisation_id,
        user_account.c.session_version,
        user_account.c.must_change_password,
        organisation.c.role.label("organisation_role"),
        organisation.c.state.label("organisation_state"),
    ).join(organisation, organisation.c.organisation_id == user_account.c.organisation_id)


_FOR_SESSION = _principal_query().where(user_account.c.user_id == bindparam("p_user_id"))
_FOR_API_KEY = (_principal_query()
                .add_columns(api_key.c.key_id, api_key.c.secret_hash)
                .join(api_key, api_key.c.user_id == user_account.c.user_id)
                .where(api_key.c.prefix == bindparam("p_prefix"), api_key.c.revoked_at.is_(None)))  # fmt: skip
_KEY_USED = (update(api_key).where(api_key.c.key_id == bindparam("p_key_id"))
             .values(last_used_at=bindparam("p_at", type_=api_key.c.last_used_at.type)))  # fmt: skip
"""Built once, on every request's path (ADR 0020: keying a statement object cost more than running it)."""


def principal_for_session(conn: Connection, user_id: int, session_version: int) -> Principal:
    row = conn.execute(_FOR_SESSION, {"p_user_id": user_id}).first()
    if row is None:
        raise NotAuthenticated("The token's user no longer exists.")
    if session_version != row.session_version:
        raise NotAuthenticated("The password changed after this token was issued; log in again.")
    return Principal(row.user_id, row.email, row.role, row.organisation_id, row.organisation_role,
                     row.organisation_state, must_change_password=row.must_change_password)  # fmt: skip


def hash_api_key(key: str) -> str:
    """SHA-256: API keys carry 256 random bits, so a slow password hash would add cost and no safety."""
    return hashlib.sha256(key.encode()).hexdigest()


def split_api_key(key: str) -> str | None:
    """The public prefix of a well-formed key (``ncr_<prefix>_<secret>``), else None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1]


def principal_for_api_key(conn: Connection, key: str) -> Principal:
    """The key's holder, if the key is live and its holder is still an Admin of an active API organisation."""
    invalid = NotAuthenticated("The API key is not valid or was revoked.")
    prefix = split_api_key(key)
    if prefix is None:
        raise invalid
    row = conn.execute(_FOR_API_KEY, {"p_prefix": prefix}).first()
    if row is None or not hmac.compare_digest(row.secret_hash, hash_api_key(key)):
        raise invalid
    if row.role != ADMIN or row.organisation_role != API:
        raise NotAuthenticated("The API key's holder is no longer an Admin of an API organisation.")
    if row.organisation_state == SUSPENDED:
        raise OrganisationSuspended("The API key's organisation is suspended; the key works again on reactivation.")
    conn.execute(_KEY_USED, {"p_key_id": row.key_id, "p_at": datetime.now(UTC)})
    return Principal(row.user_id, row.email, row.role, row.organisation_id, row.organisation_role,
                     row.organisation_state, via_api_key=True)  # fmt: skip
