"""Read-your-writes in the API: a write answers only once the indexer has applied the block of its transaction.

The application's lifespan runs one ``IndexWaiter`` (node/indexer_wait.py) per process; endpoints take it as the
``IndexWaiterDep`` dependency and call ``await_indexed`` with the receipt's block number before answering:

    def create(..., waiter: IndexWaiterDep, context: ...) -> ...:
        receipt = registry.create_programme(...)
        await_indexed(waiter, receipt["blockNumber"], context.settings.index_wait_seconds)

Endpoints here are sync ``def`` (run in a worker thread), so the blocking wait is fine; async code uses
``IndexWaiter.wait_for_block_async``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, FastAPI, Request

from node.context import NodeContext
from node.errors import IndexerBehind, ServiceUnavailable
from node.indexer_wait import IndexWaiter


@asynccontextmanager
async def index_waiter_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Starts the process's waiter with the application and stops it (and its connection) on shutdown.

    Starting never blocks on the database: the waiter connects in its own thread and retries, so the API comes up
    (and ``/health`` reports the outage) while PostgreSQL is down. One application may be served by overlapping
    lifespans (a test client and a uvicorn server on the same app): they share one waiter, closed by the last.
    """
    context: NodeContext = app.state.context
    users = getattr(app.state, "index_waiter_users", 0)
    if users == 0:
        app.state.index_waiter = IndexWaiter(context.engine).start()
    app.state.index_waiter_users = users + 1
    try:
        yield
    finally:
        app.state.index_waiter_users -= 1
        if app.state.index_waiter_users == 0:
            waiter: IndexWaiter = app.state.index_waiter
            del app.state.index_waiter
            await anyio.to_thread.run_sync(waiter.close)  # joins a thread: off the event loop


async def index_waiter(request: Request) -> IndexWaiter:
    """The process's waiter; 503 if the application runs without its lifespan (no waiter, no way to wait)."""
    waiter: IndexWaiter | None = getattr(request.app.state, "index_waiter", None)
    if waiter is None:
        raise ServiceUnavailable("The API is not ready to confirm indexed changes.")
    return waiter


IndexWaiterDep = Annotated[IndexWaiter, Depends(index_waiter)]


def await_indexed(waiter: IndexWaiter, block: int, timeout: float) -> None:
    """Returns once the indexer has applied ``block``; raises ``IndexerBehind`` (503, Retry-After) after ``timeout``.

    The transaction is mined when this is called, so the error says the change is done but not yet readable.
    """
    if not waiter.wait_for_block(block, timeout):
        raise IndexerBehind(
            "The change is recorded on the chain in block {block}, but the registry has not indexed it yet; "
            "read it again shortly.",
            params={"block": block},
            block=block,
            indexed_block=waiter.indexed_block,
        )
