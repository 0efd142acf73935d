"""Who an email goes to and the names it shows, shared by every feature's notifications."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, bindparam, select

from node.identity.permissions import ADMIN, MANAGER
from node.models.app import organisation, user_account

logger = logging.getLogger("registry.email")
_o, _u = organisation.c, user_account.c


def one_line(text: str) -> str:
    """A value shown inline (subject or label line) with its whitespace collapsed: a line break in a title must not
    end the subject line and push the rest into the body."""
    return " ".join(text.split())


_USERS = select(_u.user_id, _u.email, _u.name, _u.language).order_by(_u.user_id)


def users(conn: Connection, condition: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in conn.execute(_USERS.where(condition)).mappings()]


def members(conn: Connection, organisation_ids: Iterable[int]) -> list[dict[str, Any]]:
    """The Admins and Managers of these organisations, one row per user."""
    ids = sorted(set(organisation_ids))
    if not ids:
        return []
    return [dict(row) for row in conn.execute(_MEMBERS, {"p_ids": ids}).mappings()]


_MEMBERS = _USERS.where(_u.organisation_id.in_(bindparam("p_ids", expanding=True)), _u.role.in_((ADMIN, MANAGER)))
"""What :func:`members` runs (:func:`users` with its condition), built once: every email of a change reads it."""


def organisation_names(conn: Connection, organisation_ids: Iterable[int]) -> dict[int, str]:
    """Names by id. An id without a row is shown as ``#<id>`` and logged rather than raised: emails are written in
    the transaction of a change (often after its chain write), which must not fail over an email."""
    ids = set(organisation_ids)
    rows = conn.execute(select(_o.organisation_id, _o.name).where(_o.organisation_id.in_(ids))).all() if ids else []
    names = {int(row.organisation_id): one_line(row.name) for row in rows}
    for missing in ids - names.keys():
        logger.warning("An email names organisation %s, which is not in app.organisation", missing)
        names[missing] = f"#{missing}"
    return names
