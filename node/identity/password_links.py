"""Set-your-password, forgot-password and sign-in links: random single-use tokens, stored only as SHA-256 hashes.

A new token of a purpose replaces the user's unused ones; using a token marks it used and deletes the others,
so a link works once. The seed emailed clear-text passwords instead; nobody but the user ever knows ours.

A link stands for the account as it was when sent: the token row keeps the user's session version (raised by
every password change) and email, and a link whose user has changed either since is void. Binding, rather than
deleting tokens on each change, makes the one place a link is used the one place this is enforced: a password
changed through ``/auth/password``, a reset, an Admin changing the email, or any path added later cannot forget
to void the links. The known change paths also delete unused links (``set_password``, ``void_links`` on an email
change), because binding alone revives a link once its values come back (an email changed A -> B -> A).

Whatever issues links or counts the emails sent for them locks the user's row first, so parallel requests for
one account are served one after the other: the hourly limits hold and only the last link of a purpose survives.

Sign-in links (purpose ``login``) are the new-device confirmation of ADR 0009: emailed only when a right password
came from an address new to an account past its failure ceiling, redeemed for a session, never for a password
(and set or reset links never for a session).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlencode

from sqlalchemy import Connection, Row, delete, func, insert, select, update

from node.config import Settings
from node.email.outbox import enqueue
from node.errors import InvalidInput, InvalidPasswordToken
from node.i18n import role_label
from node.identity import audit, login_attempts
from node.identity.login_attempts import ClientAddress
from node.identity.schemas import lookup_email
from node.models.app import email_outbox, password_token, user_account
from node.security.passwords import hash_password, verify_password

Purpose = Literal["set", "reset", "login"]
PASSWORD_PURPOSES: tuple[Purpose, ...] = ("set", "reset")
"""The links that set a password (and the only ones the password pages and ``/auth/reset-password`` accept)."""
RESET_EMAILS_PER_HOUR = 5
"""Forgot-password emails per account per hour: more requests are accepted silently but send nothing."""
LOGIN_LINK_MINUTES = 15
"""Validity of a sign-in link: it stands in for a login that is happening now."""
LOGIN_LINKS_PER_HOUR = 3
"""Sign-in link emails per account per hour: anyone who knows the password could otherwise flood the mailbox."""
_PAGES: dict[Purpose, str] = {"set": "set-password", "reset": "reset-password", "login": "login-link"}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _validity(settings: Settings, purpose: Purpose) -> timedelta:
    if purpose == "set":
        return timedelta(hours=settings.set_password_token_hours)
    if purpose == "login":
        return timedelta(minutes=LOGIN_LINK_MINUTES)
    return timedelta(minutes=settings.reset_password_token_minutes)


def _lock_user(conn: Connection, user_id: int) -> Row[Any]:
    """The user's row, locked until the transaction ends: what issues or counts links runs once at a time per user."""
    return conn.execute(select(user_account).where(user_account.c.user_id == user_id).with_for_update()).one()


def _sent_within_an_hour(conn: Connection, recipient: str, template: str) -> int:
    return int(conn.execute(
        select(func.count()).where(
            email_outbox.c.recipient == recipient,
            email_outbox.c.template == template,
            email_outbox.c.created_at > datetime.now(UTC) - timedelta(hours=1),
        )
    ).scalar_one())  # fmt: skip


def issue_link(conn: Connection, settings: Settings, user_id: int, purpose: Purpose) -> str:
    """A fresh link for ``purpose``, bound to the user's current password and email; earlier unused links of that
    purpose stop working."""
    token = secrets.token_urlsafe(32)
    t = password_token.c
    user = _lock_user(conn, user_id)  # before the delete: a parallel issue must not leave two links
    conn.execute(delete(password_token).where(t.user_id == user_id, t.purpose == purpose, t.used_at.is_(None)))
    expires_at = datetime.now(UTC) + _validity(settings, purpose)
    conn.execute(insert(password_token).values(token_hash=_hash(token), user_id=user_id, purpose=purpose,
                                               expires_at=expires_at, session_version=user.session_version,
                                               email=user.email))  # fmt: skip
    return f"{settings.public_url.rstrip('/')}/{_PAGES[purpose]}?{urlencode({'token': token})}"


def void_links(conn: Connection, user_id: int) -> None:
    """Deletes the user's unused links of every purpose: called on an email change, so that changing the email back
    cannot revive links sent before (the binding to the email alone would)."""
    t = password_token.c
    conn.execute(delete(password_token).where(t.user_id == user_id, t.used_at.is_(None)))


def send_set_password(conn: Connection, settings: Settings, user_id: int, *, welcome: bool, organisation: str) -> None:
    """Emails a set-your-password link: the welcome email for a new user, or a fresh link later."""
    user = _lock_user(conn, user_id)
    link = issue_link(conn, settings, user_id, "set")
    enqueue(conn, settings, to=user.email, language=user.language, template="welcome" if welcome else "set_password",
            name=user.name, email=user.email, role=role_label(user.role, user.language), organisation=organisation,
            link=link, valid_hours=settings.set_password_token_hours)  # fmt: skip


def request_reset(conn: Connection, settings: Settings, email: str) -> None:
    """Emails a reset link if the account exists. Says nothing either way, so accounts cannot be discovered; the
    API runs this after it has answered, so neither can the time the answer takes."""
    found = conn.execute(select(user_account.c.user_id).where(user_account.c.email == lookup_email(email))).first()
    if found is None:
        return
    user = _lock_user(conn, found.user_id)  # parallel requests count and issue one after the other
    if _sent_within_an_hour(conn, user.email, "reset_password") >= RESET_EMAILS_PER_HOUR:
        return
    link = issue_link(conn, settings, user.user_id, "reset")
    enqueue(conn, settings, to=user.email, language=user.language, template="reset_password", name=user.name,
            email=user.email, link=link, valid_minutes=settings.reset_password_token_minutes)  # fmt: skip


def send_login_link(conn: Connection, settings: Settings, user_id: int, client: ClientAddress) -> bool:
    """Emails a sign-in link, because the right password came from an address new to an account past its failure
    ceiling (ADR 0009); at most ``LOGIN_LINKS_PER_HOUR``. Returns whether one was queued. The email names the
    address, so an owner who did not sign in learns that the password is known to someone else."""
    user = _lock_user(conn, user_id)
    if _sent_within_an_hour(conn, user.email, "login_link") >= LOGIN_LINKS_PER_HOUR:
        return False
    link = issue_link(conn, settings, user_id, "login")
    enqueue(conn, settings, to=user.email, language=user.language, template="login_link", name=user.name,
            email=user.email, address=client.address, link=link, valid_minutes=LOGIN_LINK_MINUTES)  # fmt: skip
    return True


def redeem_login_link(conn: Connection, token: str, client: ClientAddress) -> int:
    """Uses a sign-in link, once; returns its user's id, for a session. The address it is redeemed from counts as
    the owner's from now on, so the next login from there needs no link."""
    user_id = check_token(conn, token, ("login",))
    t = password_token.c
    conn.execute(update(password_token).where(t.token_hash == _hash(token)).values(used_at=datetime.now(UTC)))
    conn.execute(delete(password_token).where(t.user_id == user_id, t.purpose == "login", t.used_at.is_(None)))
    email = conn.execute(select(user_account.c.email).where(user_account.c.user_id == user_id)).scalar_one()
    login_attempts.remember_address(conn, email, client)
    return user_id


def language_of(conn: Connection, user_id: int) -> str:
    return str(conn.execute(select(user_account.c.language).where(user_account.c.user_id == user_id)).scalar_one())


def check_token(conn: Connection, token: str, purposes: tuple[Purpose, ...] = PASSWORD_PURPOSES) -> int:
    """The user id of a usable token (the page checks before showing its form), else ``InvalidPasswordToken``.

    Usable: one of ``purposes`` (a sign-in link never sets a password, a reset link never opens a session), known,
    unused, unexpired, and its user still has the password (session version) and email the link was sent for."""
    t, u = password_token.c, user_account.c
    row = conn.execute(
        select(t.user_id, t.used_at, t.expires_at, t.session_version, t.email,
               u.session_version.label("current_version"), u.email.label("current_email"))
        .join(user_account, u.user_id == t.user_id)
        .where(t.token_hash == _hash(token), t.purpose.in_(purposes))
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
    """Sets the password of a set or reset token's user, once; returns the user id."""
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
