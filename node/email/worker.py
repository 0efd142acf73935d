"""Delivers the email outbox over SMTP, with retries; `registry worker` runs it, and `registry up` in a thread.

Rows are claimed with ``FOR UPDATE SKIP LOCKED``, so several workers never send the same email. A row is
marked sent in the transaction that claimed it: an SMTP server that accepted a message just before the database
failed would see it again (SMTP itself is at-least-once). Permanent refusals (5xx) fail at once; transient
errors are retried with exponential backoff until ``EMAIL_MAX_ATTEMPTS``.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any, Protocol

from sqlalchemy import Engine, select, update

from node.config import Settings
from node.models.app import email_outbox

logger = logging.getLogger("registry.email")
BATCH = 20
MAX_BACKOFF = timedelta(hours=1)


class Sender(Protocol):
    def deliver(self, row: Any) -> None:
        """Delivers one outbox row (its recipient, subject, body, language and id); raises to retry or fail it."""


class PermanentFailure(Exception):
    """The server refused the message for good (5xx): retrying would not help."""


class SmtpSender:
    """One SMTP connection per batch is enough for account email volumes."""

    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host is not None
        self._settings = settings
        self._host: str = settings.smtp_host

    def deliver(self, row: Any) -> None:
        self.send(build_message(self._settings, row))

    def send(self, message: EmailMessage) -> None:
        s = self._settings
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if s.smtp_security == "tls":
            smtp = smtplib.SMTP_SSL(self._host, s.smtp_port, timeout=s.smtp_timeout, context=context)
        else:
            smtp = smtplib.SMTP(self._host, s.smtp_port, timeout=s.smtp_timeout)
        with smtp:
            if s.smtp_security == "starttls":
                smtp.starttls(context=context)
            if s.smtp_username and s.smtp_password:
                smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
            try:
                smtp.send_message(message)
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [code for code, _ in exc.recipients.values()]
                if all(code >= 500 for code in codes):
                    raise PermanentFailure(str(exc.recipients)) from exc
                raise
            except smtplib.SMTPResponseException as exc:
                if exc.smtp_code >= 500:
                    raise PermanentFailure(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
                raise


class LogSender:
    """No SMTP: the email goes to the log (a development node needs the links). ``reason`` says why, so an operator
    who set ``SMTP_HOST`` but not ``EMAIL_DISABLED`` is never told email was "disabled"."""

    def __init__(self, reason: str = "email disabled") -> None:
        self.reason = reason

    def deliver(self, row: Any) -> None:
        """Logs the row's fields: building a MIME message only to log its text was about a fifth of the background
        process's CPU per transfer (bench.api, ADR 0021)."""
        logger.info("email not sent (%s) to=%s subject=%s\n%s", self.reason, row.recipient, row.subject,
                    row.body or "")  # fmt: skip


def log_reason(settings: Settings) -> str:
    """Why emails are logged rather than sent."""
    return "EMAIL_DISABLED is set" if settings.email_disabled else "SMTP_HOST is not set"


def build_message(settings: Settings, row: Any) -> EmailMessage:
    message = EmailMessage()
    message.set_content(row.body or "")  # first: it replaces every Content-* header
    message["From"] = settings.email_from
    message["To"] = row.recipient
    message["Subject"] = row.subject
    message["Date"] = formatdate(localtime=False)
    domain = parseaddr(settings.email_from)[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(idstring=f"outbox-{row.email_id}", domain=domain)
    message["Content-Language"] = row.language
    message["Auto-Submitted"] = "auto-generated"
    return message


class OutboxWorker:
    def __init__(self, engine: Engine, settings: Settings, sender: Sender | None = None) -> None:
        self._engine = engine
        self._settings = settings
        self.sender: Sender = sender or (
            SmtpSender(settings) if settings.sends_email else LogSender(log_reason(settings))
        )
        self._sent_status = "logged" if isinstance(self.sender, LogSender) else "sent"

    def run_once(self) -> int:
        """Delivers the emails due now; returns how many rows it handled (sent, retried or failed)."""
        o = email_outbox.c
        with self._engine.begin() as conn:
            rows = conn.execute(
                select(email_outbox)
                .where(o.status == "pending", o.next_attempt_at <= datetime.now(UTC))
                .order_by(o.email_id)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                values = self._deliver(row)
                conn.execute(update(email_outbox).where(o.email_id == row.email_id).values(**values))
        return len(rows)

    def _deliver(self, row: Any) -> dict[str, Any]:
        now = datetime.now(UTC)
        attempts = row.attempts + 1
        try:
            self.sender.deliver(row)
        except PermanentFailure as exc:
            logger.warning("email %s to %s refused for good: %s", row.email_id, row.recipient, exc)
            return {"status": "failed", "attempts": attempts, "last_error": str(exc)[:1000]}
        except (OSError, smtplib.SMTPException) as exc:
            if attempts >= self._settings.email_max_attempts:
                logger.warning("email %s to %s failed after %s attempts: %s", row.email_id, row.recipient,
                               attempts, exc)  # fmt: skip
                return {"status": "failed", "attempts": attempts, "last_error": str(exc)[:1000]}
            delay = min(timedelta(seconds=5 * 2 ** (attempts - 1)), MAX_BACKOFF)
            return {"attempts": attempts, "last_error": str(exc)[:1000], "next_attempt_at": now + delay}
        return {"status": self._sent_status, "attempts": attempts, "sent_at": now, "body": None, "last_error": None}

    def run(self, stop: threading.Event) -> None:
        """Polls until ``stop`` is set; a database or SMTP outage only delays delivery."""
        while not stop.is_set():
            try:
                busy = self.run_once() == BATCH
            except Exception:
                logger.exception("email outbox pass failed; retrying")
                busy = False
            if not busy:
                stop.wait(self._settings.worker_poll_interval)


class OutboxWorkerThread:
    """The worker inside `registry up`."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=OutboxWorker(engine, settings).run, args=(self._stop,), name="email-outbox", daemon=True
        )

    def start(self) -> OutboxWorkerThread:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
