"""The outbox worker: delivery over SMTP, retries with backoff while the server is down, permanent refusals,
the disabled mode, and every template rendering in every language."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from node.config import Settings
from node.email.outbox import enqueue
from node.email.templates import TEMPLATES, render
from node.email.worker import OutboxWorker
from node.i18n import LANGUAGES
from node.runtime.anvil import free_port
from tests.smtp import smtp_server

VALUES = {"registry": "Registry", "name": "Ada", "email": "ada@example.org", "role": "Admin", "organisation": "Org",
          "link": "https://x/y?token=t", "valid_hours": 72, "valid_minutes": 60, "when": "2026-11-30 12:00 UTC",
          "prefix": "ncr_abc", "remarks": "audit", "certifier": True, "old_email": "ada@example.org",
          "new_email": "ada@new.example.org", "address": "2001:db8:1:2::/64",
          "programme": "007", "title": "Solar Farm", "external_id": "EXT-1", "proponents": ["Org A", "Org B"],
          "credit_estimate": "1,000", "serial_number": "NG-ITMO-7-007-2026-0-1-500", "issued": "500",
          "date": "2026-11-30", "reason": "incomplete baseline", "amount": "500", "total_issued": "500",
          "shares": [{"organisation": "Org A", "amount": "500"}], "certifier_name": "Verify SA",
          "by_government": True, "to_certifier": False,
          "transfer": "12", "sender": "Org A", "receiver": "Org B", "initiator": "Org C", "third_party": True,
          "requested_by_receiver": False, "to_receiver": True, "by_system": True, "to_initiator": True,
          "retirement": "13", "holder": "Org A", "by_holder": True, "retirement_type": "cross_border",
          "cross_border": True, "kind": "cross-border transfer", "country": "Kenya", "beneficiary": "Org K",
          "international": "495", "omge": "5"}  # fmt: skip


@pytest.fixture
def outbox(engine: Engine) -> Engine:
    with engine.begin() as conn:
        conn.execute(text("truncate app.email_outbox"))
    return engine


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    return Settings.model_validate({"registry_data_dir": tmp_path, "smtp_security": "none"} | overrides)


def _queue(engine: Engine, settings: Settings, to: str = "ada@example.org") -> int:
    with engine.begin() as conn:
        return enqueue(conn, settings, to=to, language="en", template="password_changed", name="Ada", email=to)


def _row(engine: Engine, email_id: int) -> dict[str, object]:
    with engine.connect() as conn:
        row = (
            conn.execute(
                text(
                    "select status, attempts, body, last_error, next_attempt_at > now() as later "
                    "from app.email_outbox where email_id = :id"
                ),
                {"id": email_id},
            )
            .mappings()
            .one()
        )
    return dict(row)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_renders_in_every_language(template: str, language: str) -> None:
    email = render(template, language, VALUES)
    assert email.subject
    assert "{{" not in email.body
    assert "{%" not in email.body


def test_a_missing_template_value_is_an_error_not_a_blank() -> None:
    with pytest.raises(Exception, match="link"):
        render("welcome", "en", {k: v for k, v in VALUES.items() if k != "link"})


def test_an_email_is_retried_while_the_server_is_down_then_delivered_once(outbox: Engine, tmp_path: Path) -> None:
    port = free_port()
    settings = _settings(tmp_path, smtp_host="127.0.0.1", smtp_port=port)
    email_id = _queue(outbox, settings)
    worker = OutboxWorker(outbox, settings)
    assert worker.run_once() == 1
    down = _row(outbox, email_id)
    assert (down["status"], down["attempts"], down["later"]) == ("pending", 1, True)
    assert down["last_error"]
    assert worker.run_once() == 0  # backing off

    with outbox.begin() as conn:
        conn.execute(text("update app.email_outbox set next_attempt_at = now()"))
    with smtp_server() as (recorder, live_port):
        worker = OutboxWorker(outbox, _settings(tmp_path, smtp_host="127.0.0.1", smtp_port=live_port))
        assert worker.run_once() == 1
        assert worker.run_once() == 0
    assert len(recorder.messages) == 1
    assert recorder.messages[0]["Subject"] == "Your password was changed"
    sent = _row(outbox, email_id)
    assert (sent["status"], sent["attempts"], sent["body"]) == ("sent", 2, None)  # the delivered body is purged


def test_a_refused_recipient_fails_at_once_and_does_not_block_the_others(outbox: Engine, tmp_path: Path) -> None:
    with smtp_server() as (recorder, port):
        recorder.refuse.add("gone@example.org")
        settings = _settings(tmp_path, smtp_host="127.0.0.1", smtp_port=port)
        refused = _queue(outbox, settings, "gone@example.org")
        fine = _queue(outbox, settings, "here@example.org")
        OutboxWorker(outbox, settings).run_once()
    assert _row(outbox, refused)["status"] == "failed"
    assert _row(outbox, fine)["status"] == "sent"
    assert [m["To"] for m in recorder.messages] == ["here@example.org"]


def test_the_last_attempt_marks_the_email_failed(outbox: Engine, tmp_path: Path) -> None:
    settings = _settings(tmp_path, smtp_host="127.0.0.1", smtp_port=free_port(), email_max_attempts=1)
    email_id = _queue(outbox, settings)
    OutboxWorker(outbox, settings).run_once()
    assert _row(outbox, email_id)["status"] == "failed"


def test_disabled_email_is_logged_instead_of_sent(
    outbox: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(tmp_path, smtp_host="127.0.0.1", smtp_port=free_port(), email_disabled=True)
    email_id = _queue(outbox, settings)
    with caplog.at_level(logging.INFO, logger="registry.email"):
        OutboxWorker(outbox, settings).run_once()
    assert _row(outbox, email_id)["status"] == "logged"
    assert "Your password was changed" in caplog.text
    assert "EMAIL_DISABLED is set" in caplog.text


def test_without_smtp_host_the_log_says_so_rather_than_disabled(
    outbox: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(tmp_path)
    assert settings.smtp_host is None
    assert not settings.email_disabled
    _queue(outbox, settings)
    with caplog.at_level(logging.INFO, logger="registry.email"):
        OutboxWorker(outbox, settings).run_once()
    assert "SMTP_HOST is not set" in caplog.text
    assert "EMAIL_DISABLED" not in caplog.text


def test_an_email_queued_in_a_rolled_back_transaction_is_never_sent(outbox: Engine, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with outbox.connect() as conn:
        transaction = conn.begin()
        enqueue(conn, settings, to="ada@example.org", language="en", template="password_changed", name="Ada",
                email="ada@example.org")  # fmt: skip
        transaction.rollback()
    assert OutboxWorker(outbox, settings).run_once() == 0
