"""Password-guess throttling, shared by every API process through PostgreSQL (ADR 0009).

Every attempt to prove a password (``POST /auth/login``, the old password of ``POST /auth/password``) passes
three limits over the failures of the last ``LOGIN_WINDOW_SECONDS``:

- **per account and client address**: ``LOGIN_MAX_FAILURES_PER_ACCOUNT``; a success from that address resets it.
  Keyed by the pair, so that whoever knows an email cannot lock its owner out from somewhere else.
- **per client address**, across accounts: ``LOGIN_MAX_FAILURES_PER_ADDRESS``; one address cannot spray.
- **per account**, across addresses: ``ACCOUNT_CEILING_FACTOR`` times the pair limit. Beyond it, an address that
  has not logged into the account lately waits a delay that doubles with every further failure, at most
  ``MAX_DELAY_SECONDS``: a distributed attack slows down, but nobody is blocked for the whole window, and the
  owner's usual addresses are not slowed at all.

Beyond a limit the answer is 429 with ``Retry-After`` before the password is looked at, and nothing is recorded.

Check and count are one step: the caller's transaction takes advisory locks on the account and the address,
checks, and records the attempt as a *failure*; once it commits the locks are released and the password is
verified (Argon2 is slow, holding a lock across it would serialise every login of an address), and only a match
flips the row to a success. So parallel guesses all count, and a request that dies half-way counts as a failure.
"""

from __future__ import annotations

import ipaddress
import math
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, and_, exists, func, insert, select, text, update

from node.config import Settings
from node.errors import TooManyRequests
from node.models.app import login_attempt

ACCOUNT_CEILING_FACTOR = 5
"""The per-account ceiling across addresses, in pair limits (25 failures per window with the defaults)."""

MAX_DELAY_SECONDS = 60
"""Longest wait the per-account ceiling imposes: it slows an attack down, it never locks the owner out."""

KNOWN_ADDRESS_DAYS = 30
"""An address that logged into an account within this many days is the owner's: the ceiling does not slow it."""

_ACCOUNT_LOCK = 0x4C47_4E41  # "LGNA": advisory lock namespace of accounts (two-int form, apart from bigint keys)
_ADDRESS_LOCK = 0x4C47_4E49  # "LGNI": advisory lock namespace of client addresses

_a = login_attempt.c


def address_key(host: str | None) -> str:
    """The client address as counted. An IPv6 client counts by its /64, which one host usually holds whole and
    could otherwise walk through; an IPv4-mapped IPv6 address counts as the IPv4 address it is."""
    if not host:
        return "unknown"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def begin_attempt(conn: Connection, settings: Settings, email: str, address: str) -> int:
    """Checks every limit and records this attempt as a failure, atomically; returns the attempt's id.

    Raises ``TooManyRequests`` (and records nothing) when a limit is reached. The caller commits before verifying
    the password, which releases the locks, then calls ``succeed`` if it matched.
    """
    # Always account, then address: no two attempts ever wait for each other's locks in opposite orders.
    conn.execute(text("select pg_advisory_xact_lock(cast(:ns as integer), hashtext(:key))"),
                 {"ns": _ACCOUNT_LOCK, "key": email})  # fmt: skip
    conn.execute(text("select pg_advisory_xact_lock(cast(:ns as integer), hashtext(:key))"),
                 {"ns": _ADDRESS_LOCK, "key": address})  # fmt: skip
    now: datetime = conn.execute(select(func.clock_timestamp())).scalar_one()  # after the locks: the real order
    window = timedelta(seconds=settings.login_window_seconds)
    since = now - window

    pair = and_(_a.email == email, _a.address == address)
    last_pair_success = select(func.max(_a.at)).where(pair, _a.succeeded).scalar_subquery()
    pair_failures = and_(pair, _a.at > func.greatest(last_pair_success, since))  # GREATEST skips a null
    address_failures = and_(_a.address == address, _a.at > since)
    ceiling = settings.login_max_failures_per_account * ACCOUNT_CEILING_FACTOR
    waits = (
        _over_limit(conn, pair_failures, settings.login_max_failures_per_account, window, now),
        _over_limit(conn, address_failures, settings.login_max_failures_per_address, window, now),
        _account_delay(conn, email, address, ceiling, since, now),
    )
    wait = max(waits)
    if wait > 0:
        raise TooManyRequests(f"Too many failed attempts; try again in {wait} seconds.", retry_after=wait)
    attempt_id: int = conn.execute(
        insert(login_attempt).values(email=email, address=address, succeeded=False, at=now)
        .returning(_a.attempt_id)
    ).scalar_one()  # fmt: skip
    return attempt_id


def succeed(conn: Connection, attempt_id: int) -> None:
    """Marks an attempt recorded by ``begin_attempt`` as a success: the password matched."""
    conn.execute(update(login_attempt).where(_a.attempt_id == attempt_id).values(succeeded=True))


def _over_limit(conn: Connection, where: ColumnElement[bool], limit: int, window: timedelta, now: datetime) -> int:
    """Seconds until fewer than ``limit`` failures match ``where`` (0: fewer already): when the ``limit``-th most
    recent one leaves the window."""
    oldest_that_blocks = conn.execute(
        select(_a.at).where(where, ~_a.succeeded).order_by(_a.at.desc()).offset(limit - 1).limit(1)
    ).scalar()
    return 0 if oldest_that_blocks is None else _seconds(oldest_that_blocks + window - now)


def _account_delay(conn: Connection, email: str, address: str, ceiling: int, since: datetime, now: datetime) -> int:
    """Seconds an address new to the account waits once the account's failures from everywhere reach the
    ceiling: 1 s after the last failure, doubling with each failure beyond, at most ``MAX_DELAY_SECONDS``."""
    known = conn.execute(select(exists().where(
        _a.email == email, _a.address == address, _a.succeeded, _a.at > now - timedelta(days=KNOWN_ADDRESS_DAYS)
    ))).scalar_one()  # fmt: skip
    if known:
        return 0
    failures, last = conn.execute(
        select(func.count(), func.max(_a.at)).where(_a.email == email, ~_a.succeeded, _a.at > since)
    ).one()
    if failures < ceiling:
        return 0
    delay = timedelta(seconds=min(MAX_DELAY_SECONDS, 2 ** min(failures - ceiling, 16)))
    return _seconds(last + delay - now)


def _seconds(delta: timedelta) -> int:
    seconds = delta.total_seconds()
    return max(1, math.ceil(seconds)) if seconds > 0 else 0
