"""Password-guess throttling over ``app.login_attempt``, shared by every API process through PostgreSQL (ADR 0009).

Every attempt to prove a password (``POST /auth/login``, the old password of ``POST /auth/password``) passes these
limits over the failures of the last ``LOGIN_WINDOW_SECONDS``:

- **per account and client address**: ``LOGIN_MAX_FAILURES_PER_ACCOUNT``; a success from that address resets it.
  Keyed by the pair, so that whoever knows an email cannot lock its owner out from somewhere else.
- **per client address**, across accounts: ``LOGIN_MAX_FAILURES_PER_ADDRESS``; one address cannot spray. An IPv6
  client counts by its /64, and its /48 gets ``NETWORK_LIMIT_FACTOR`` times that limit on top, so one site cannot
  walk through its 65,536 /64s.
- **per account**, across addresses: ``ACCOUNT_CEILING_FACTOR`` pair limits. Beyond it an address that has not
  logged into the account lately gets no answer about the password any more (new-device confirmation by email):
  the password is still checked, at the same cost, but the answer is the same whatever it was, and only a right
  password emails the account a one-time sign-in link. A distributed attack learns nothing once its burst is
  spent, and the owner, from anywhere, is never locked out. The owner's usual addresses are not affected at all.

Beyond the first three the answer is 429 with ``Retry-After`` before the password is looked at, and nothing is
recorded.

Check and count are one step: the caller's transaction takes advisory locks on the account, the network and the
address, checks, and records the attempt as a *failure*; once it commits the locks are released and the password is
verified (Argon2 is slow, holding a lock across it would serialise every login of an address), and only a match
flips the row to a success. So parallel guesses all count, and a request that dies half-way counts as a failure.

The API only says which client a request comes from (``api.auth.rate_limit``); the rules are here, beside the one
other thing that needs them: ``prune``, which ``registry up`` runs in the background.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, Engine, and_, delete, exists, func, insert, select, text, update

from node.config import Settings
from node.errors import TooManyRequests
from node.models.app import login_attempt

ACCOUNT_CEILING_FACTOR = 5
"""The per-account ceiling across addresses, in pair limits (25 failures per window with the defaults)."""

NETWORK_LIMIT_FACTOR = 5
"""The limit of an IPv6 client's /48, in per-address limits (100 failures per window with the defaults)."""

KNOWN_ADDRESS_DAYS = 30
"""An address that logged into an account within this many days is the owner's: the ceiling does not apply to it."""

PRUNE_BATCH = 10_000
"""Rows deleted per statement by ``prune``: short transactions, whatever the backlog."""

LOGIN_LINK_DETAIL = (
    "Too many failed sign-ins on this account; if the password was right, we emailed the account a one-time "
    "sign-in link."
)
"""The one answer past the ceiling from an unfamiliar address, whatever the password."""

_ACCOUNT_LOCK = 0x4C47_4E41  # "LGNA": advisory lock namespace of accounts (two-int form, apart from bigint keys)
_ADDRESS_LOCK = 0x4C47_4E49  # "LGNI": advisory lock namespace of client addresses
_NETWORK_LOCK = 0x4C47_4E4E  # "LGNN": advisory lock namespace of client networks

_a = login_attempt.c


class LoginLinkRequired(TooManyRequests):
    """Past the account's ceiling, from an address new to it: the password decides only whether a sign-in link is
    emailed, never the answer (so the answer tells a guesser nothing)."""

    type_slug = "login-link-required"
    title = "Sign-in link required"


@dataclass(frozen=True)
class ClientAddress:
    """Where an attempt comes from, as counted."""

    address: str
    """The address: an IPv6 client's /64 (which one host usually holds whole), an IPv4 address as it is."""
    network: str
    """The wider network one party usually holds: an IPv6 client's /48, else the address itself."""


def client_address(host: str | None) -> ClientAddress:
    """The keys an attempt from ``host`` counts under; an IPv4-mapped IPv6 address counts as its IPv4 address."""
    if not host:
        return ClientAddress("unknown", "unknown")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return ClientAddress(host, host)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ClientAddress(str(ip.ipv4_mapped), str(ip.ipv4_mapped))
        return ClientAddress(str(ipaddress.IPv6Network((ip, 64), strict=False)),
                             str(ipaddress.IPv6Network((ip, 48), strict=False)))  # fmt: skip
    return ClientAddress(str(ip), str(ip))


@dataclass(frozen=True)
class Attempt:
    attempt_id: int
    needs_login_link: bool
    """The account is past its ceiling and the address new to it: answer ``LOGIN_LINK_DETAIL`` whatever the
    password, email a sign-in link only if it was right, and leave the attempt a failure either way (a right
    password counted differently would show in the limits)."""


def begin_attempt(conn: Connection, settings: Settings, email: str, client: ClientAddress, *,
                  login_link: bool) -> Attempt:  # fmt: skip
    """Checks every limit and records this attempt as a failure, atomically.

    Raises ``TooManyRequests`` (and records nothing) when a limit is reached. Past the account's ceiling from an
    unfamiliar address, ``login_link`` says what the caller can do: a login records the attempt and answers by
    email (``Attempt.needs_login_link``); a password change, whose caller already has a session, is refused until
    the account is below the ceiling or the address became the owner's (a redeemed sign-in link). The caller
    commits before verifying the password, which releases the locks, then calls ``succeed`` if it matched.
    """
    # Always account, network, address: no two attempts ever wait for each other's locks in opposite orders (an
    # IPv4 client's network is its address: one lock is enough).
    locks = [(_ACCOUNT_LOCK, email), (_NETWORK_LOCK, client.network), (_ADDRESS_LOCK, client.address)]
    for namespace, key in locks if client.network != client.address else [locks[0], locks[2]]:
        conn.execute(text("select pg_advisory_xact_lock(cast(:ns as integer), hashtext(:key))"),
                     {"ns": namespace, "key": key})  # fmt: skip
    now: datetime = conn.execute(select(func.clock_timestamp())).scalar_one()  # after the locks: the real order
    window = timedelta(seconds=settings.login_window_seconds)
    since = now - window

    pair = and_(_a.email == email, _a.address == client.address)
    last_pair_success = select(func.max(_a.at)).where(pair, _a.succeeded).scalar_subquery()
    pair_failures = and_(pair, _a.at > func.greatest(last_pair_success, since))  # GREATEST skips a null
    per_address = settings.login_max_failures_per_address
    wait = max(
        _over_limit(conn, pair_failures, settings.login_max_failures_per_account, window, now),
        _over_limit(conn, and_(_a.address == client.address, _a.at > since), per_address, window, now),
        0 if client.network == client.address else _over_limit(  # an IPv4 client: the address limit is tighter
            conn, and_(_a.network == client.network, _a.at > since), per_address * NETWORK_LIMIT_FACTOR, window, now),
    )  # fmt: skip
    if wait > 0:
        raise TooManyRequests("Too many failed attempts; try again in {seconds} seconds.", params={"seconds": wait},
                              retry_after=wait)  # fmt: skip
    ceiling = settings.login_max_failures_per_account * ACCOUNT_CEILING_FACTOR
    ceiling_wait = 0 if _familiar(conn, email, client, now) else _over_limit(
        conn, and_(_a.email == email, _a.at > since), ceiling, window, now)  # fmt: skip
    if ceiling_wait > 0 and not login_link:
        raise TooManyRequests("Too many failed sign-ins on this account; sign in through an emailed sign-in link "
                              "from this address first, or try again in {seconds} seconds.",
                              params={"seconds": ceiling_wait}, retry_after=ceiling_wait)  # fmt: skip
    attempt_id: int = conn.execute(
        insert(login_attempt).values(email=email, address=client.address, network=client.network, succeeded=False,
                                     at=now).returning(_a.attempt_id)
    ).scalar_one()  # fmt: skip
    return Attempt(attempt_id, needs_login_link=ceiling_wait > 0)


def succeed(conn: Connection, attempt_id: int) -> None:
    """Marks an attempt recorded by ``begin_attempt`` as a success: the password matched."""
    conn.execute(update(login_attempt).where(_a.attempt_id == attempt_id).values(succeeded=True))


def remember_address(conn: Connection, email: str, client: ClientAddress) -> None:
    """Records a success without a password check: a redeemed sign-in link proves the password (it was only sent
    for a right one) and the mailbox, so the address counts as the owner's from now on and its pair count resets."""
    conn.execute(insert(login_attempt).values(email=email, address=client.address, network=client.network,
                                              succeeded=True, at=func.clock_timestamp()))  # fmt: skip


def prune(engine: Engine, settings: Settings, *, batch: int = PRUNE_BATCH) -> int:
    """Deletes the attempts no rule reads any more, in short transactions; returns how many.

    Failures count only within the window; successes matter for ``KNOWN_ADDRESS_DAYS`` (the familiar-address
    rule; a pair's count restarts at its last success, which only matters within the window too). Without this the
    table would grow with every attempt ever made, by up to the limits per address and network."""
    kept = {False: timedelta(seconds=settings.login_window_seconds), True: timedelta(days=KNOWN_ADDRESS_DAYS)}
    deleted = 0
    for succeeded, keep in kept.items():
        while True:
            with engine.begin() as conn:
                doomed = select(_a.attempt_id).where(_a.succeeded == succeeded, _a.at < func.now() - keep).limit(batch)
                count = conn.execute(delete(login_attempt).where(_a.attempt_id.in_(doomed.scalar_subquery()))).rowcount
            deleted += count
            if count < batch:
                break
    return deleted


def with_pruning(recover: Callable[[], object], engine: Engine, settings: Settings) -> Callable[[], None]:
    """``recover``, then ``prune``: the one background round of ``registry up`` does both, and a failure of one does
    not skip the other (the round's thread logs whichever failed and tries again next round)."""

    def round_() -> None:
        try:
            recover()
        finally:
            prune(engine, settings)

    return round_


def _familiar(conn: Connection, email: str, client: ClientAddress, now: datetime) -> bool:
    """Whether the account was logged into from this address lately: then the address is the owner's."""
    return bool(conn.execute(select(exists().where(
        _a.email == email, _a.address == client.address, _a.succeeded,
        _a.at > now - timedelta(days=KNOWN_ADDRESS_DAYS),
    ))).scalar_one())  # fmt: skip


def _over_limit(conn: Connection, where: ColumnElement[bool], limit: int, window: timedelta, now: datetime) -> int:
    """Seconds until fewer than ``limit`` failures match ``where`` (0: fewer already): when the ``limit``-th most
    recent one leaves the window."""
    oldest_that_blocks = conn.execute(
        select(_a.at).where(where, ~_a.succeeded).order_by(_a.at.desc()).offset(limit - 1).limit(1)
    ).scalar()
    return 0 if oldest_that_blocks is None else _seconds(oldest_that_blocks + window - now)


def _seconds(delta: timedelta) -> int:
    seconds = delta.total_seconds()
    return max(1, math.ceil(seconds)) if seconds > 0 else 0
