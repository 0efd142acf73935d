"""Account emails delivered to a real SMTP server, and their set-password and reset links followed end to end."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from node.config import Settings
from node.email.worker import OutboxWorker
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
    fresh = _deliver(mailbox, email)[-1]
    assert fresh["Subject"].startswith("Set your password")
    assert app_client.get(welcome).status_code == 400
    assert app_client.get(_link(fresh)).status_code == 200
