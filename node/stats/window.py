"""A statistic's time window, split into the whole UTC months the summaries answer and the partial ends the
per-programme facts answer (ADR 0018).

Why split: ``chain.programme_month`` holds one row per month, stage and sector (a few thousand rows for a
hundred thousand programmes over five years), so whole months cost almost nothing; the days before the first whole
month and after the last one are read from ``chain.programme_fact`` through its ``created_at`` index. A series per
day needs days, which only the facts have, so it reads the facts for the whole window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from node.stats.schemas import GroupBy, Window


def _month_start(moment: datetime) -> datetime:
    utc = moment.astimezone(UTC)
    return datetime(utc.year, utc.month, 1, tzinfo=UTC)


def _next_month(moment: datetime) -> datetime:
    return datetime(moment.year + moment.month // 12, moment.month % 12 + 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Span:
    """``[start, end)`` (either end open), and the whole months ``[full_from, full_to)`` inside it, if any."""

    start: datetime | None
    end: datetime | None
    group_by: GroupBy | None
    use_months: bool
    full_from: datetime | None = None
    full_to: datetime | None = None

    @classmethod
    def of(cls, window: Window) -> Span:
        start, end, group_by = window.created_from, window.created_before, window.group_by
        if group_by is GroupBy.DAY:
            return cls(start, end, group_by, use_months=False)
        full_from = None
        if start is not None:
            aligned = _month_start(start)
            full_from = aligned if aligned == start else _next_month(aligned)
        full_to = None if end is None else _month_start(end)
        if full_from is not None and full_to is not None and full_from >= full_to:
            return cls(start, end, group_by, use_months=False)
        return cls(start, end, group_by, use_months=True, full_from=full_from, full_to=full_to)

    def params(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "full_from": _day(self.full_from),
                "full_to": _day(self.full_to), "full_from_ts": self.full_from, "full_to_ts": self.full_to}  # fmt: skip

    def month_condition(self) -> str:
        """Which ``programme_month`` rows: the whole months."""
        parts = ["true"]
        if self.full_from is not None:
            parts.append("month >= :full_from")
        if self.full_to is not None:
            parts.append("month < :full_to")
        return " and ".join(parts)

    def fact_condition(self, column: str) -> str | None:
        """Which facts complete the months (or make the whole window): ``None`` when none do."""
        if not self.use_months:
            return whole_window(self, column)
        edges = []
        if self.start is not None and self.full_from is not None and self.start < self.full_from:
            edges.append(f"({column} >= :start and {column} < :full_from_ts)")
        if self.end is not None and self.full_to is not None and self.full_to < self.end:
            edges.append(f"({column} >= :full_to_ts and {column} < :end)")
        return f"({' or '.join(edges)})" if edges else None

    def month_period(self) -> str:
        """The period of a ``programme_month`` row (never by day)."""
        if self.group_by is GroupBy.YEAR:
            return "date_trunc('year', month)::date"
        return "month" if self.group_by is GroupBy.MONTH else "null::date"

    def period(self, column: str) -> str:
        """The period of a time column: its UTC day, month or year, or null without grouping."""
        if self.group_by is None:
            return "null::date"
        return f"date_trunc('{self.group_by.value}', {column} at time zone 'UTC')::date"


def whole_window(span: Span, column: str) -> str:
    parts = ["true"]
    if span.start is not None:
        parts.append(f"{column} >= :start")
    if span.end is not None:
        parts.append(f"{column} < :end")
    return " and ".join(parts)


def _day(moment: datetime | None) -> date | None:
    return None if moment is None else moment.date()
