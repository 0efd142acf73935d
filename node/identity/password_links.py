"""Set-your-password and forgot-password links: random single-use tokens, stored only as SHA-256 hashes.

A new token of a purpose replaces the user's unused ones; using a token marks it used and deletes the others,
so a link works once. The seed emailed clear-text passwords instead; nobody but the user ever knows ours.

A link stands for the account as it was when sent: the token row keeps the user's session version (raised by
every password change) and email, and a link whose user has changed either since is void. Binding, rather than
deleting tokens on each change, makes the one place a link is used the one place this is enforced: a password
changed through ``/auth/password``, a reset, an Admin changing the email, or any path added later cannot forget
to void the links (``set_password`` still deletes unused ones, as housekeeping).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import urlencode

from sqlalchemy import Connection, delete, func, insert, select, update

from node.config import Settings
from node.email.outbox import enqueue
from node.errors import InvalidInput, InvalidPasswordToken
from node.i18n import role_label
from node.identity import audit
from node.identity.schemas import lookup_email
from node.models.app import email_outbox, password_token, user_account
from node.security.passwords import hash_password, verify_password

Purpose = Literal["set", "reset"]
RESET_EMAILS_PER_HOUR = 5
"""Forgot-password emails per account per hour: more requests are accepted silently but send nothing."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _validity(settings: Settings, purpose: Purpose) -> timedelta:
    if purpose == "set":
        return timedelta(hours=settings.set_password_token_hours)
    return timedelta(minutes=settings.reset_password_token_minutes)


def issue_link(conn: Connection, settings: Settings, user_id: int, purpose: Purpose) -> str:
    """A fresh link for ``purpose``, bound to the user's current password and email; earlier unused links of that
    purpose stop working."""
    token = secrets.token_urlsafe(32)
    t = password_token.c
    conn.execute(delete(password_token).where(t.user_id == user_id, t.purpose == purpose, t.used_at.is_(None)))
    user = conn.execute(
        select(user_account.c.session_version, user_account.c.email).where(user_account.c.user_id == user_id)
    ).one()
    expires_at = datetime.now(UTC) + _validity(settings, purpose)
    conn.execute(insert(password_token).values(token_hash=_hash(token), user_id=user_id, purpose=purpose,
                                               expires_at=expires_at, session_version=user.session_version,
                                               email=user.email))  # fmt: skip
    page = "set-password" if purpose == "set" else "reset-password"
    return f"{settings.public_url.rstrip('/')}/{page}?{urlencode({'token': token})}"


def send_set_password(conn: Connection, settings: Settings, user_id: int, *, welcome: bool, organisation: str) -> None:
    """Emails a set-your-password link: the welcome email for a new user, or a fresh link later."""
    user = conn.execute(select(user_account).where(user_account.c.user_id == user_id)).one()
    link = issue_link(conn, settings, user_id, "set")
    enqueue(conn, settings, to=user.email, language=user.language, template="welcome" if welcome else "set_password",
            name=user.name, email=user.email, role=role_label(user.role, user.language), organisation=organisation,
            link=link, valid_hours=settings.set_password_token_hours)  # fmt: skip


def request_reset(conn: Connection, settings: Settings, email: str) -> None:
    """Emails a reset link if the account exists. Says nothing either way, so accounts cannot be discovered; the
    API runs this after it has answered, so neither can the time the answer takes."""
    user = conn.execute(select(user_account).where(user_account.c.email == lookup_email(email))).first()
    if user is None:
        return
    recent = conn.execute(
        select(func.count()).where(
            email_outbox.c.recipient == user.email,
            email_outbox.c.template == "reset_password",
            email_outbox.c.created_at > datetime.now(UTC) - timedelta(hours=1),
        )
    ).scalar_one()
    if recent >= RESET_EMAILS_PER_HOUR:
        return
    link = issue_link(conn, settings, user.user_id, "reset")
    enqueue(conn, settings, to=user.email, language=user.language, template="reset_password", name=user.name,
            email=user.email, link=link, valid_minutes=settings.reset_password_token_minutes)  # fmt: skip


def language_of(conn: Connection, user_id: int) -> str:
    return str(conn.execute(select(user_account.c.language).where(user_account.c.user_id == user_id)).scalar_one())


def check_token(conn: Connection, token: str) -> int:
    """The user id of a usable token (the page checks before showing its form), else ``InvalidPasswordToken``.

    Usable: known, unused, unexpired, and its user still has the password (session version) and email the link
    was sent for."""
    t, u = password_token.c, user_account.c
    row = conn.execute(
        select(t.user_id, t.used_at, t.expires_at, t.session_version, t.email,
               u.session_version.label("current_version"), u.email.label("current_email"))
        .join(user_account, u.user_id == t.user_id)
        .where(t.token_hash == _hash(token))
        .with_for_update(of=password_token)
    ).first()  # fmt: skip
    if (
        row is None
        or row.used_at is not None
        or row.expires_at <= datetime.now(UTC)
        or (row.session_version, row.email) != (row.current_version, row.current_email)
    ):
        raise InvalidPasswordToken("This link is unknown, expired or already used; ask for a new one.")
    return int(row.user_id)


def use_token(conn: Connection, settings: Settings, token: str, new_password: str) -> int:
    """Sets the password of the token's user, once; returns the user id."""
    user_id = check_token(conn, token)
    now = datetime.now(UTC)
    t = password_token.c
    conn.execute(update(password_token).where(t.token_hash == _hash(token)).values(used_at=now))
    set_password(conn, settings, user_id, new_password, now, method="link")
    return user_id


def set_password(
    conn: Connection, settings: Settings, user_id: int, new_password: str, now: datetime, *, method: str
) -> None:
    """Stores the new hash, ends earlier sessions and voids unused links (both carry the session version this
    raises) and tells the user. A new password equal to the current one is refused on every path: "changing"
    the first password to itself would keep a password that sat in a file."""
    current = conn.execute(
        select(user_account.c.password_hash).where(user_account.c.user_id == user_id).with_for_update()
    ).scalar_one()
    if current is not None and verify_password(current, new_password):
        raise InvalidInput("The new password must differ from the current one.", field="new_password")
    user = conn.execute(
        update(user_account)
        .where(user_account.c.user_id == user_id)
        .values(
            password_hash=hash_password(new_password),
            must_change_password=False,
            password_changed_at=now,
            session_version=user_account.c.session_version + 1,
        )
        .returning(user_account.c.email, user_account.c.name, user_account.c.language, user_account.c.organisation_id)
    ).one()
    t = password_token.c
    conn.execute(delete(password_token).where(t.user_id == user_id, t.used_at.is_(None)))
    audit.record(conn, None, "user.password", organisation_id=user.organisation_id, target_id=user_id,
                 self_service=(user_id, user.email), method=method)  # fmt: skip
    enqueue(conn, settings, to=user.email, language=user.language, template="password_changed", name=user.name,
            email=user.email)  # fmt: skip
