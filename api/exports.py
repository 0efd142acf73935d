"""``/exports``: the programme, transfer and retirement lists as CSV files, streamed.

Thin: the query parameters are the lists' own dependencies (``programme_selection``, ``transfer_selection``,
``retirement_selection``), so an export takes exactly the filters and order its list takes, minus the page; the rows
come from :mod:`node.exports`. Nothing is buffered: the body is written batch by batch from a server-side cursor
while the client downloads it.

The query runs (and its first batch is read) before the answer starts, so a refused query is still a problem
document. The response returns the database connection when it ends, however it ends (``CSVResponse``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from api.auth.dependencies import CurrentPrincipal, context_of
from api.credits import TransferSelectionDep
from api.problems import documented
from api.programmes import ProgrammeSelectionDep
from api.retirements import RetirementSelectionDep
from node.exports import tables
from node.exports.csv_stream import Column, RowBatches, csv_chunks

router = APIRouter(prefix="/exports", tags=["exports"])


class CSVResponse(StreamingResponse):
    """The export as a streamed ``text/csv; charset=utf-8`` attachment (Starlette adds the charset to ``text/``).

    The rows' connection is returned when the answer ends, however it ends: the last row, an error, the client
    going away mid-download (cancellation), or before the first byte (the body never started, so a ``finally`` in
    the body alone would not run)."""

    media_type = "text/csv"

    def __init__(self, rows: RowBatches, columns: Sequence[Column], name: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        super().__init__(_body(csv_chunks(columns, rows)),
                         headers={"Content-Disposition": f'attachment; filename="{name}-{stamp}.csv"'})  # fmt: skip
        self.rows = rows

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(self.rows.close)


def _csv_documented(what: str) -> dict[int | str, dict[str, Any]]:
    ok = {"description": f"{what} as CSV (RFC 4180, UTF-8): a header row, then one row per item, in the list's "
                         "order. Times are ISO 8601 UTC, lists are joined with `;`, and a text cell that a "
                         "spreadsheet would read as a formula starts with `'`.",
          "content": {CSVResponse.media_type: {"schema": {"type": "string"}}}}  # fmt: skip
    return {200: ok} | documented(401)


_CSV_ROUTE: dict[str, Any] = {"response_class": CSVResponse, "status_code": 200}
"""The status is stated: FastAPI would read its default from the response class's ``__init__``, which takes rows."""


async def _body(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """The chunks, each made in a worker thread: reading a batch blocks on the database."""
    while (chunk := await run_in_threadpool(next, chunks, None)) is not None:
        yield chunk


@router.get("/programmes.csv", responses=_csv_documented("The programmes"), **_CSV_ROUTE,
            operation_id="export_programmes", summary="Export programmes as CSV")  # fmt: skip
def export_programmes(principal: CurrentPrincipal, request: Request, selection: ProgrammeSelectionDep) -> CSVResponse:
    """Every programme `GET /programmes` shows the caller for the same filters and sort, in one file."""
    rows = tables.programme_rows(context_of(request).engine, principal, selection.filters, sort=selection.sort,
                                 order=selection.order)  # fmt: skip
    return CSVResponse(rows, tables.PROGRAMME_COLUMNS, "programmes")


@router.get("/transfers.csv", responses=_csv_documented("The transfers"), **_CSV_ROUTE,
            operation_id="export_transfers", summary="Export transfers as CSV")  # fmt: skip
def export_transfers(principal: CurrentPrincipal, request: Request, selection: TransferSelectionDep) -> CSVResponse:
    """Every transfer `GET /transfers` shows the caller for the same filters and order, in one file."""
    rows = tables.transfer_rows(context_of(request).engine, principal, selection.filters,
                                newest_first=selection.newest_first)  # fmt: skip
    return CSVResponse(rows, tables.TRANSFER_COLUMNS, "transfers")


@router.get("/retirements.csv", responses=_csv_documented("The retirements"), **_CSV_ROUTE,
            operation_id="export_retirements", summary="Export retirements as CSV")  # fmt: skip
def export_retirements(principal: CurrentPrincipal, request: Request, selection: RetirementSelectionDep) -> CSVResponse:
    """Every retirement `GET /retirements` shows the caller for the same filters and order, in one file."""
    rows = tables.retirement_rows(context_of(request).engine, principal, selection.filters,
                                  newest_first=selection.newest_first)  # fmt: skip
    return CSVResponse(rows, tables.RETIREMENT_COLUMNS, "retirements")
