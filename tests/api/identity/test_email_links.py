"""Account emails delivered to a real SMTP server, and their set-password and reset links followed end to end.

A link stands for the account as it was when sent: a later password change (by any path) or email change voids
it. Forgot-password answers before it looks at the account, so its timing says nothing about existence.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text

from node.config import Settings
from node.email.worker import OutboxWorker
from node.identity import password_links
from node.security.passwords import hash_password
from tests.api.identity.world import World, unique
from tests.smtp import Recorder, smtp_server

LINK = re.compile(r"http://testserver(/(?:set|reset)-password\?token=[\w-]+)")


@pytest.fixture
def mailbox(world: World) -> Iterator[tuple[Recorder, OutboxWorker]]:
    with world.engine.begin() as conn:  # only this test's emails
        conn.execute(text("update app.email_outbox set status = 'sent' where status = 'pending'"))
    with smtp_server() as (recorder, port):
        settings = Settings.model_validate(world.settings.model_dump() | {
            "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"})  # fmt: skip
        yield recorder, OutboxWorker(world.engine, settings)


def _deliver(mailbox: tuple[Recorder, OutboxWorker], recipient: str) -> list[EmailMessage]:
    recorder, worker = mailbox
    while worker.run_once():
        pass
    return recorder.to(recipient)


def _link(message: EmailMessage) -> str:
    match = LINK.search(message.get_content())
    assert match, message.get_content()
    return match.group(1)


def test_a_new_admin_follows_the_welcome_link_sets_a_password_and_logs_in(
    app_client: TestClient, world: World, mailbox: tuple[Recorder, OutboxWorker]
) -> None:
    tag = unique("welcome")
    admin_email = f"{tag}@example.org"
    created = app_client.post("/organisations", headers=world.headers("gov_admin"), json={
        "name": f"Société {tag}", "role": "ProgrammeDeveloper", "tax_id": f"FR-{tag}",
        "email": f"org-{tag}@example.org", "phone": "+234 800 000 0002", "address": "Lagos",
        "admin": {"email": admin_email, "name": "Amina", "language": "fr"}})  # fmt: skip
    assert created.status_code == 201, created.text

    [welcome] = _deliver(mailbox, admin_email)
    assert welcome["Subject"].startswith("Bienvenue")
    assert welcome["Content-Language"] == "fr"
    assert "administrateur de Société" in welcome.get_content()
    link = _link(welcome)
    assert link.startswith("/set-password?token=")

    page = app_client.get(link)
    assert page.status_code == 200
    assert '<html lang="fr">' in page.text
    assert page.headers["cache-control"] == "no-store"
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token is not None
    mismatch = app_client.post("/set-password", data={"token": token.group(1), "new_password": "correct horse 1",
                                                      "confirm_password": "correct horse 2"})  # fmt: skip
    assert mismatch.status_code == 422
    saved = app_client.post("/set-password", data={"token": token.group(1), "new_password": "correct horse battery",
                                                   "confirm_password": "correct horse battery"})  # fmt: skip
    assert saved.status_code == 200
    assert "Votre mot de passe est enregistré" in saved.text  # the page speaks the user's language

    login = app_client.post("/auth/login", json={"email": admin_email, "password": "correct horse battery"})
    assert login.status_code == 200
    assert login.json()["must_change_password"] is False
    assert app_client.get(link).status_code == 400  # single use
    [changed] = _deliver(mailbox, admin_email)[1:]
    assert changed["Subject"] == "Votre mot de passe a été modifié"


def test_forgot_password_emails_a_one_hour_link_that_resets_once_and_ends_old_sessions(
    app_client: TestClient, world: World, mailbox: tuple[Recorder, OutboxWorker]
) -> None:
    user_id = world.user(world.developer, "Manager", language="es")
    email = world.principal(user_id).email
    old_session = {"Authorization": f"Bearer {world.token(user_id)}"}
    assert app_client.get("/auth/me", headers=old_session).status_code == 200

    assert app_client.post("/auth/forgot-password", json={"email": email.upper()}).status_code == 202
    messages = _deliver(mailbox, email)
    reset = messages[-1]
    assert reset["Subject"] == "Solicitud de restablecimiento de contraseña"
    assert "60 minutos" in reset.get_content()
    link = _link(reset)
    token = link.split("token=")[1]
    page = app_client.get(f"/reset-password?token={token}")
    assert "Restablezca su contraseña" in page.text  # the reset page says reset, not "set" (its path ends alike)
    with world.engine.connect() as conn:
        expires = conn.execute(text("select expires_at from app.password_token where user_id = :u "
                                    "and purpose = 'reset'"), {"u": user_id}).scalar_one()  # fmt: skip
    assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(minutes=60)

    short = app_client.post("/auth/reset-password", json={"token": token, "new_password": "short"})
    assert short.status_code == 422
    done = app_client.post("/auth/reset-password", json={"token": token, "new_password": "a brand new passphrase"})
    assert done.status_code == 200, done.text
    again = app_client.post("/auth/reset-password", json={"token": token, "new_password": "another passphrase!"})
    assert (again.status_code, again.json()["type"]) == (400, "/problems/invalid-password-token")

    assert app_client.get("/auth/me", headers=old_session).status_code == 401  # sessions before the change end
    login = app_client.post("/auth/login", json={"email": email, "password": "a brand new passphrase"})
    assert login.status_code == 200
    assert _deliver(mailbox, email)[-1]["Subject"] == "Su contraseña ha sido cambiada"


def test_an_expired_link_is_refused_and_unknown_emails_get_the_same_answer(
    app_client: TestClient, world: World, mailbox: tuple[Recorder, OutboxWorker]
) -> None:
    unknown = app_client.post("/auth/forgot-password", json={"email": "nobody-here@example.org"})
    assert unknown.status_code == 202
    user_id = world.user(world.developer)
    email = world.principal(user_id).email
    known = app_client.post("/auth/forgot-password", json={"email": email})
    assert known.json() == unknown.json()
    token = _link(_deliver(mailbox, email)[-1]).split("token=")[1]
    assert not _deliver(mailbox, "nobody-here@example.org")

    with world.engine.begin() as conn:
        conn.execute(text("update app.password_token set expires_at = now() - interval '1 second' "
                          "where user_id = :u"), {"u": user_id})  # fmt: skip
    expired = app_client.post("/auth/reset-password", json={"token": token, "new_password": "a brand new passphrase"})
    assert (expired.status_code, expired.json()["type"]) == (400, "/problems/invalid-password-token")
    refused = app_client.get(f"/reset-password?token={token}", headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert refused.status_code == 400
    assert "ha caducado" in refused.text


def test_a_new_forgot_password_link_replaces_the_previous_one(
    app_client: TestClient, world: World, mailbox: tuple[Recorder, OutboxWorker]
) -> None:
    user_id = world.user(world.developer)
    email = world.principal(user_id).email
    app_client.post("/auth/forgot-password", json={"email": email})
    first = _link(_deliver(mailbox, email)[-1]).split("token=")[1]
    app_client.post("/auth/forgot-password", json={"email": email})
    second = _link(_deliver(mailbox, email)[-1]).split("token=")[1]
    assert first != second
    assert app_client.post("/auth/reset-password", json={"token": first, "new_password": "x" * 12}).status_code == 400
    assert app_client.post("/auth/reset-password", json={"token": second, "new_password": "x" * 12}).status_code == 200


def test_a_resent_invitation_replaces_the_expired_welcome_link(
    app_client: TestClient, world: World, mailbox: tuple[Recorder, OutboxWorker]
) -> None:
    user_id = world.user(world.developer)
    email = world.principal(user_id).email
    welcome = _link(_deliver(mailbox, email)[-1])
    resent = app_client.post(f"/users/{user_id}/invitation", headers=world.headers("dev_admin"))
    assert resent.status_code == 202
    assert resent.headers["content-type"] == "application/json"  # as documented (schemathesis found an empty body)
    fresh = _deliver(mailbox, email)[-1]
    assert fresh["Subject"].startswith("Set your password")
    assert app_client.get(welcome).status_code == 400
    assert app_client.get(_link(fresh)).status_code == 200


def _with_password(world: World, user_id: int, password: str) -> None:
    with world.engine.begin() as conn:
        conn.execute(text("update app.user_account set password_hash = :h where user_id = :u"),
                     {"h": hash_password(password), "u": user_id})  # fmt: skip


def _reset_link(app_client: TestClient, mailbox: tuple[Recorder, OutboxWorker], email: str) -> str:
    assert app_client.post("/auth/forgot-password", json={"email": email}).status_code == 202
    return _link(_deliver(mailbox, email)[-1])


def _refused(app_client: TestClient, link: str) -> bool:
    token = link.split("token=")[1]
    posted = app_client.post("/auth/reset-password", json={"token": token, "new_password": "yet another passphrase"})
    return app_client.get(link).status_code == 400 and bool(posted.json()["type"] == "/problems/invalid-password-token")


def test_a_reset_link_dies_when_the_password_is_changed_through_auth_password(
    app_client: TestClient, world: World, mailbox: tuple[Recorder, OutboxWorker]
) -> None:
    user_id = world.user(world.developer)
    email = world.principal(user_id).email
    _with_password(world, user_id, "the first passphrase")
    link = _reset_link(app_client, mailbox, email)
    changed = app_client.post(
        "/auth/password",
        headers={"Authorization": f"Bearer {world.token(user_id)}"},
        json={"old_password": "the first passphrase", "new_password": "the second passphrase"},
    )
    assert changed.status_code == 200, changed.text
    assert _refused(app_client, link)
    login = app_client.post("/auth/login", json={"email": email, "password": "the second passphrase"})
    assert login.status_code == 200


def test_a_link_dies_even_if_a_password_change_left_the_token_row_behind(
    app_client: TestClient, world: World, mailbox: tuple[Recorder, OutboxWorker]
) -> None:
    user_id = world.user(world.developer)
    email = world.principal(user_id).email
    link = _reset_link(app_client, mailbox, email)
    with world.engine.begin() as conn:  # a change by a path that does not know about links
        conn.execute(text("update app.user_account set session_version = session_version + 1 where user_id = :u"),
                     {"u": user_id})  # fmt: skip
    assert _refused(app_client, link)


def test_an_admin_changing_the_email_voids_links_sent_to_the_old_address_and_tells_it(
    app_client: TestClient, world: World, mailbox: tuple[Recorder, OutboxWorker]
) -> None:
    user_id = world.user(world.developer, language="fr")
    old, new = world.principal(user_id).email, f"{unique('moved')}@example.org"
    _with_password(world, user_id, "a settled passphrase")
    link = _reset_link(app_client, mailbox, old)
    changed = app_client.patch(f"/users/{user_id}", headers=world.headers("dev_admin"), json={"email": new})
    assert changed.status_code == 200, changed.text

    notice = _deliver(mailbox, old)[-1]
    assert notice["Subject"] == "L'adresse e-mail de votre compte a été modifiée"
    assert old in notice.get_content()
    assert new in notice.get_content()
    assert _refused(app_client, link)
    assert not _deliver(mailbox, new)  # the user has a password: nothing to set at the new address
    assert app_client.post("/auth/login", json={"email": new, "password": "a settled passphrase"}).status_code == 200


def test_changing_the_email_back_does_not_revive_links_sent_before(
    app_client: TestClient, world: World, mailbox: tuple[Recorder, OutboxWorker]
) -> None:
    """Links are bound to (password, email); A -> B -> A restores both, so the change itself must void them."""
    user_id = world.user(world.developer)
    first, second = world.principal(user_id).email, f"{unique('detour')}@example.org"
    _with_password(world, user_id, "a settled passphrase")
    link = _reset_link(app_client, mailbox, first)
    for email in (second, first):
        changed = app_client.patch(f"/users/{user_id}", headers=world.headers("dev_admin"), json={"email": email})
        assert changed.status_code == 200, changed.text
    assert _refused(app_client, link)
    assert app_client.get(_reset_link(app_client, mailbox, first)).status_code == 200  # a new one works


def test_a_user_without_a_password_gets_a_fresh_welcome_link_at_the_new_address(
    app_client: TestClient, world: World, mailbox: tuple[Recorder, OutboxWorker]
) -> None:
    user_id = world.user(world.developer)
    old, new = world.principal(user_id).email, f"{unique('typo-fixed')}@example.org"
    welcome = _link(_deliver(mailbox, old)[-1])
    changed = app_client.patch(f"/users/{user_id}", headers=world.headers("dev_admin"), json={"email": new})
    assert changed.status_code == 200, changed.text
    assert _deliver(mailbox, old)[-1]["Subject"] == "The email address of your account was changed"
    assert app_client.get(welcome).status_code == 400
    fresh = _deliver(mailbox, new)
    assert [m["Subject"] for m in fresh] == ["Welcome to the National Carbon Registry"]
    assert app_client.get(_link(fresh[0])).status_code == 200


def test_an_unchanged_email_sends_no_notice(
    app_client: TestClient, world: World, mailbox: tuple[Recorder, OutboxWorker]
) -> None:
    user_id = world.user(world.developer)
    email = world.principal(user_id).email
    before = len(_deliver(mailbox, email))
    same = app_client.patch(f"/users/{user_id}", headers=world.headers("dev_admin"), json={"email": email.upper()})
    assert same.status_code == 200
    assert len(_deliver(mailbox, email)) == before


class _ForgotPasswordProbe:
    """Forgot-password requests driven at the ASGI boundary, recording in order when the answer starts, when its
    last byte leaves, and when work on the account starts."""

    def __init__(self, app_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
        self.app = app_client.app
        self.events: list[str] = []
        real = password_links.request_reset

        def recorded(conn: Connection, settings: Settings, address: str) -> None:
            self.events.append("account looked up")
            real(conn, settings, address)

        monkeypatch.setattr(password_links, "request_reset", recorded)

    def request(self, email: str) -> list[str]:
        self.events = []
        body = json.dumps({"email": email}).encode()
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": "/auth/forgot-password", "raw_path": b"/auth/forgot-password",
                 "query_string": b"", "root_path": "", "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
                 "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"),
                             (b"content-length", str(len(body)).encode())]}  # fmt: skip
        sent_body = False

        async def receive() -> dict[str, object]:
            nonlocal sent_body
            if sent_body:
                await asyncio.sleep(3600)  # the client stays connected
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                self.events.append(f"answer {message['status']} started")
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                self.events.append("answer sent")

        asyncio.run(self.app(scope, receive, send))  # type: ignore[arg-type]
        return self.events


def test_forgot_password_answers_before_it_looks_at_the_account_known_or_not(
    app_client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Timing cannot tell accounts apart when the answer leaves before any per-account work (measuring medians of
    both paths here would be flaky; this checks the order that makes them equal)."""
    email = world.principal(world.user(world.developer)).email
    probe = _ForgotPasswordProbe(app_client, monkeypatch)
    known = probe.request(email)
    unknown = probe.request(f"{unique('nobody')}@example.org")
    assert known == unknown == ["answer 202 started", "answer sent", "account looked up"]
    with world.engine.connect() as conn:  # the work did happen, after the answer
        queued = conn.execute(text("select count(*) from app.email_outbox where recipient = :e and template = "
                                   "'reset_password'"), {"e": email}).scalar_one()  # fmt: skip
    assert queued == 1


def test_the_same_password_cannot_be_set_again_through_a_link_and_the_link_survives_the_refusal(
    app_client: TestClient, world: World, mailbox: tuple[Recorder, OutboxWorker]
) -> None:
    user_id = world.user(world.developer)
    email = world.principal(user_id).email
    _with_password(world, user_id, "my only passphrase")
    link = _reset_link(app_client, mailbox, email)
    token = link.split("token=")[1]
    same = app_client.post("/auth/reset-password", json={"token": token, "new_password": "my only passphrase"})
    assert (same.status_code, same.json()["type"]) == (422, "/problems/invalid-input")
    page = app_client.post(link.split("?")[0], data={"token": token, "new_password": "my only passphrase",
                                                     "confirm_password": "my only passphrase"})  # fmt: skip
    assert page.status_code == 422
    assert "other than your current one" in page.text
    done = app_client.post("/auth/reset-password", json={"token": token, "new_password": "a different passphrase"})
    assert done.status_code == 200
