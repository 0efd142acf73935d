"""Streaming a query as CSV: a server-side cursor read in batches, each batch written as one chunk of bytes.

Why a server-side cursor: a client-side cursor (psycopg's default) receives the whole result before the first
row is returned, so an export would hold the whole table in memory. ``stream_results`` declares a cursor in
PostgreSQL instead and ``yield_per`` fetches a batch at a time; each batch is shaped (which may read related rows
on the same connection), written and dropped before the next is fetched.

The first batch is read before the caller starts responding, so a query PostgreSQL refuses still becomes a
problem answer (422 or 503) rather than a cut-off 200. The transaction is REPEATABLE READ and read-only: every
batch sees the same snapshot, so an export is one consistent picture even while credits move.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, CursorResult, Engine, Row, Select

BATCH_ROWS = 500
"""Rows fetched from the cursor (and written as one chunk) at a time: bounds the memory of one export."""

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""Leading characters that make a spreadsheet evaluate a cell (OWASP "CSV injection")."""

LIST_SEPARATOR = ";"

Shape = Callable[[Connection, Sequence[Row[Any]]], list[dict[str, Any]]]
"""Turns a batch of rows into the items the list shows (reading related rows on the same connection if need be)."""
Column = tuple[str, Callable[[Mapping[str, Any]], object]]
"""A CSV column: its header and how to read its value from an item."""


def neutralise(text: str) -> str:
    """``text`` prefixed with ``'`` when a spreadsheet would take it for a formula (the OWASP recommendation); the
    data comes from users (titles, remarks, names), the file is opened by officials."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def cell(value: object) -> str:
    """One value as CSV text: times in ISO 8601 UTC, booleans as true/false, lists joined with ``;`` (each element
    neutralised on its own, so a later split gives safe cells too), empty for null."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, list | tuple):
        return LIST_SEPARATOR.join(cell(element) for element in value)
    return neutralise(str(value))


def field(name: str) -> Column:
    """The column showing an item's field ``name`` as it is."""
    return name, lambda item: item[name]


def each(name: str, key: str, header: str) -> Column:
    """The column ``header`` listing ``key`` of every element of the item's list ``name`` (owners, certifiers)."""
    return header, lambda item: [element[key] for element in item[name]]


def csv_chunks(columns: Sequence[Column], batches: Iterable[list[dict[str, Any]]]) -> Iterator[bytes]:
    """The header row, then one UTF-8 chunk per batch of items."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180

    def flush() -> bytes:
        chunk = buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
        return chunk

    writer.writerow([header for header, _ in columns])
    yield flush()
    for items in batches:
        writer.writerows([cell(value(item)) for _, value in columns] for item in items)
        yield flush()


class RowBatches:
    """The shaped batches of ``statement``'s rows, read through a server-side cursor on a connection of its own.

    Reads the first batch when made (errors surface to the caller, before any byte is sent). ``close`` returns the
    connection; it is called at the end of the rows and must be called by whoever abandons them earlier (a client
    that disconnects mid-download).
    """

    def __init__(self, engine: Engine, statement: Select[Any], shape: Shape, *, batch_rows: int | None = None) -> None:
        self._shape = shape
        batch_rows = batch_rows or BATCH_ROWS  # read now, so a test can make batches small
        self._conn: Connection | None = engine.connect().execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
        try:
            self._result: CursorResult[Any] = self._conn.execution_options(
                stream_results=True, yield_per=batch_rows
            ).execute(statement)
            self._partitions = self._result.partitions()
            self._first: Sequence[Row[Any]] | None = next(self._partitions, None)
        except BaseException:
            self.close()
            raise

    def __iter__(self) -> Iterator[list[dict[str, Any]]]:
        try:
            if self._conn is None:
                return
            rows = self._first
            self._first = None
            while rows is not None:
                yield self._shape(self._conn, rows)
                rows = next(self._partitions, None)
        finally:
            self.close()

    def close(self) -> None:
        """Ends the cursor's transaction and returns the connection to the pool; safe to call again."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()  # rolls back the read-only transaction, which closes the cursor with it
