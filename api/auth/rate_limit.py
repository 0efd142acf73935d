"""Login rate limiting, per account and per client address, shared by every API process through PostgreSQL.

Failures count within a sliding window; a successful login resets the account's count. Over the limit, the
answer is 429 with ``Retry-After`` before the password is even checked, so guessing stays slow.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, func, insert, select

from node.config import Settings
from node.errors import TooManyRequests
from node.models.app import login_attempt


def check(conn: Connection, settings: Settings, email: str, address: str) -> None:
    """Raises ``TooManyRequests`` when the account or the address has too many recent failures."""
    now = datetime.now(UTC)
    window = now - timedelta(seconds=settings.login_window_seconds)
    a = login_attempt.c
    last_success = select(func.max(a.at)).where(a.email == email, a.succeeded).scalar_subquery()
    for column, value, limit, extra in (
        (a.email, email, settings.login_max_failures_per_account, a.at > func.coalesce(last_success, window)),
        (a.address, address, settings.login_max_failures_per_address, a.at > window),
    ):
        count, oldest = conn.execute(
            select(func.count(), func.min(a.at)).where(column == value, ~a.succeeded, a.at > window, extra)
        ).one()
        if count >= limit:
            retry_after = max(1, math.ceil((oldest + timedelta(seconds=settings.login_window_seconds) - now)
                                           .total_seconds()))  # fmt: skip
            raise TooManyRequests(
                f"Too many failed logins; try again in {retry_after} seconds.", retry_after=retry_after
            )


def record(conn: Connection, email: str, address: str, succeeded: bool) -> None:
    conn.execute(insert(login_attempt).values(email=email, address=address, succeeded=succeeded))
