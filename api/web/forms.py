"""Reading a page's query parameters and form fields without FastAPI's JSON 422: a bad value becomes a message next
to its field, in the page's language, and the page is shown again (ADR 0019)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time

from fastapi import Request

from api.web.render import gettext_for, language_of

Errors = dict[str, str]


class Parsed:
    """The values read so far, and ``errors``: field name -> the message shown next to it."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.errors: Errors = {}
        self._ = gettext_for(language_of(request))

    def integer(self, name: str, value: str, *, default: int | None = None, upper: int = 2**63 - 1) -> int | None:
        """A whole number from 1 to ``upper``; ``default`` when blank or wrong (then with its message)."""
        if not value.strip():
            return default
        try:
            number = int(value.strip())
        except ValueError:
            number = 0
        if not 1 <= number <= upper:
            self.errors[name] = str(self._("Enter a whole number of at least 1."))
            return default
        return number

    def choice(self, name: str, value: str, allowed: Collection[str], default: str | None = None) -> str | None:
        """One of ``allowed``; ``default`` when blank or not one of them (then with its message)."""
        if not value:
            return default
        if value not in allowed:
            self.errors[name] = str(self._("Choose one of the listed values."))
            return default
        return value

    def day(self, name: str, value: str) -> datetime | None:
        """A date (YYYY-MM-DD) as the UTC midnight that starts it."""
        if not value.strip():
            return None
        try:
            return datetime.combine(date.fromisoformat(value.strip()), time(), tzinfo=UTC)
        except ValueError:
            self.errors[name] = str(self._("Enter a date as YYYY-MM-DD."))
            return None
