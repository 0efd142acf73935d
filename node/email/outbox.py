"""Queueing an email: a row written in the caller's transaction, so it is sent if and only if the change commits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert

from node.config import Settings
from node.email.templates import render
from node.models.app import email_outbox

SECRET_VALUES = frozenset({"link"})
"""Template values that must not be kept once the email is delivered (they carry single-use tokens)."""


def enqueue(conn: Connection, settings: Settings, *, to: str, language: str, template: str, **values: Any) -> int:
    """Renders and queues one email; the worker delivers it after the transaction commits."""
    values = {"registry": settings.registry_name, "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")} | values
    email = render(template, language, values)
    context = {key: value for key, value in values.items() if key not in SECRET_VALUES}
    row = {"recipient": to, "template": template, "language": language, "subject": email.subject, "body": email.body,
           "context": context}  # fmt: skip
    email_id: int = conn.execute(_INSERT, row).scalar_one()
    return email_id


_INSERT = insert(email_outbox).returning(email_outbox.c.email_id)
"""Built once: keying a new statement object per email cost more than the insert itself (ADR 0020)."""
