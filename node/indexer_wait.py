"""Read-your-writes for the API: wait until the indexer has applied a block, woken by PostgreSQL LISTEN/NOTIFY.

An API write answers once its transaction is mined, but the next GET reads the ``chain`` projections, which only
the indexer fills. So a write waits until the indexer's cursor reaches the receipt's block before it answers.

The indexer issues ``pg_notify(INDEXED_CHANNEL, '<cursor block>')`` in the very transaction that applies a range
(or rolls a reorg back) and moves its cursor. PostgreSQL delivers a notification only when that transaction
commits, so a listener never hears of a block whose rows it cannot see yet. One ``IndexWaiter`` per API process
holds one dedicated connection that LISTENs, keeps the latest cursor, and wakes every waiting request through a
``threading.Condition``: no request polls the database, and the API needs one connection however many requests wait.

``api`` and ``indexer`` never import each other; both import the channel name from here.
"""

from __future__ import annotations

import logging
import os
import selectors
import threading
from types import TracebackType
from typing import Any
from urllib.parse import quote, quote_plus

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy import Engine
from sqlalchemy.engine import URL

from node.models import chain

logger = logging.getLogger("registry.index_waiter")

INDEXED_CHANNEL = "registry_indexed"
"""NOTIFY channel of the indexer; the payload is the cursor's block number after the commit."""

CURSOR_NAME = "registry"
"""The indexer cursor the API follows (``IndexerConfig.name``'s default, the one ``/health`` reports)."""

APPLICATION_NAME = "registry-index-waiter"
"""Shown in ``pg_stat_activity``, so an operator can tell the API's listening connection apart."""


def libpq_conninfo(url: URL) -> str:
    """The libpq form of a SQLAlchemy URL (``postgresql+psycopg://`` -> ``postgresql://``).

    The result holds the password: never log it (``_redact`` cleans messages that might quote it).
    """
    return url.set(drivername=url.get_backend_name()).render_as_string(hide_password=False)


def indexed_block(conn: psycopg.Connection[Any], cursor_name: str = CURSOR_NAME) -> int | None:
    """The cursor's block from ``chain.indexer_cursor``; None before the indexer's first run wrote its row."""
    table = chain.indexer_cursor
    assert table.schema is not None
    query = sql.SQL("select block_number from {} where name = %s").format(sql.Identifier(table.schema, table.name))
    row = conn.execute(query, (cursor_name,)).fetchone()
    return None if row is None else int(row[0])


class IndexWaiter:
    """Wakes requests waiting for the indexer: one per API process, one dedicated connection, one daemon thread.

    ``start()`` returns at once (the database may still be down): the thread connects, LISTENs, *then* reads the
    cursor, so a commit between the read and the LISTEN cannot be missed. A dropped connection is retried with a
    doubling backoff; requests waiting meanwhile keep waiting and are checked again against the cursor re-read when
    the connection comes back. With no notification for ``heartbeat`` seconds the thread re-reads the cursor: that
    detects a connection that died silently and corrects the cursor if a notification was ever lost.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        cursor_name: str = CURSOR_NAME,
        heartbeat: float = 30.0,
        min_backoff: float = 0.2,
        max_backoff: float = 10.0,
        connect_timeout: int = 10,
    ) -> None:
        self._conninfo = libpq_conninfo(engine.url)
        self._password = engine.url.password
        self._cursor_name = cursor_name
        self._heartbeat = heartbeat
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._connect_timeout = connect_timeout
        self._condition = threading.Condition()
        self._block: int | None = None
        self._connected = False
        self._closed = False
        self._stopping = threading.Event()
        self._wake: tuple[int, int] | None = None  # self-pipe: close() interrupts the thread's select at once
        self._thread = threading.Thread(target=self._run, name="index-waiter", daemon=True)
        self.backend_pid: int | None = None
        """PID of the listening connection's server process while connected (diagnostics, tests)."""

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> IndexWaiter:
        self._wake = os.pipe()
        self._thread.start()
        return self

    def close(self, timeout: float = 10.0) -> None:
        """Stops the thread and closes its connection; requests still waiting return at once (not indexed)."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        self._stopping.set()
        if self._wake is None:
            return
        os.write(self._wake[1], b"x")
        if self._thread.is_alive():
            self._thread.join(timeout)
        if not self._thread.is_alive():
            for fd in self._wake:
                os.close(fd)
            self._wake = None

    def __enter__(self) -> IndexWaiter:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # ------------------------------------------------------------------ waiting

    @property
    def indexed_block(self) -> int | None:
        """The latest cursor heard of (None before the first read or while the indexer has no cursor row)."""
        with self._condition:
            return self._block

    @property
    def connected(self) -> bool:
        with self._condition:
            return self._connected

    def wait_until_listening(self, timeout: float) -> bool:
        """True once the thread LISTENs and has read the cursor; False after ``timeout`` (readiness, tests)."""
        with self._condition:
            self._condition.wait_for(lambda: self._connected or self._closed, max(0.0, timeout))
            return self._connected

    def wait_for_block(self, block: int, timeout: float) -> bool:
        """Blocks until the indexer's committed cursor is at or past ``block``; False after ``timeout`` seconds.

        Returns at once when the cursor is already there, and (with the current answer) when the waiter is not
        running, so a request never hangs on an application whose lifespan did not start one.
        """
        with self._condition:
            self._condition.wait_for(
                lambda: self._reached(block) or self._closed or not self._thread.is_alive(), max(0.0, timeout)
            )
            return self._reached(block)

    async def wait_for_block_async(self, block: int, timeout: float) -> bool:
        """``wait_for_block`` from async code: the blocking wait runs in a worker thread, not on the event loop."""
        import anyio.to_thread  # here: the indexer imports this module for the channel name, and needs no anyio

        return await anyio.to_thread.run_sync(self.wait_for_block, block, timeout)

    def _reached(self, block: int) -> bool:
        return self._block is not None and self._block >= block

    def _publish(self, block: int | None) -> None:
        with self._condition:
            self._block = block
            self._connected = True
            self._condition.notify_all()

    # ------------------------------------------------------------------ the listening thread

    def _run(self) -> None:
        delay = self._min_backoff
        while not self._stopping.is_set():
            try:
                with self._connect() as conn:
                    conn.execute(sql.SQL("listen {}").format(sql.Identifier(INDEXED_CHANNEL)))
                    block = indexed_block(conn, self._cursor_name)  # after LISTEN: no lost wakeup
                    self._publish(block)
                    self.backend_pid = conn.info.backend_pid
                    logger.info("index waiter listening (cursor at block %s)", block)
                    delay = self._min_backoff
                    self._serve(conn)
            except Exception as exc:  # noqa: BLE001 - any failure means reconnecting, never a dead thread
                with self._condition:
                    self._connected = False
                self.backend_pid = None
                if self._stopping.is_set():
                    break
                logger.warning("index waiter lost its database connection (%s: %s); retrying in %.1f s",
                               type(exc).__name__, self._redact(" ".join(str(exc).split())), delay)  # fmt: skip
                self._stopping.wait(delay)
                delay = min(self._max_backoff, delay * 2)
        with self._condition:
            self._connected = False
            self._condition.notify_all()

    def _connect(self) -> psycopg.Connection[Any]:
        options: dict[str, Any] = {"connect_timeout": self._connect_timeout, "keepalives": 1,
                                   "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}  # fmt: skip
        options |= conninfo_to_dict(self._conninfo)  # the URL's own settings win
        options["application_name"] = APPLICATION_NAME
        return psycopg.connect(autocommit=True, **options)

    def _serve(self, conn: psycopg.Connection[Any]) -> None:
        """Applies notifications as they arrive until ``close()``; raises when the connection fails."""
        assert self._wake is not None
        wake = self._wake[0]
        with selectors.DefaultSelector() as selector:  # epoll/kqueue: no FD_SETSIZE limit in a busy process
            selector.register(conn.fileno(), selectors.EVENT_READ)
            selector.register(wake, selectors.EVENT_READ)
            while True:
                self._drain(conn)  # first pass: what arrived during the cursor read sits in psycopg's backlog
                if self._stopping.is_set():
                    return
                ready = {key.fd for key, _ in selector.select(self._heartbeat)}
                if wake in ready:
                    return
                if not ready:
                    self._publish(indexed_block(conn, self._cursor_name))

    def _drain(self, conn: psycopg.Connection[Any]) -> None:
        latest: int | None = None
        unreadable = False
        for notify in conn.notifies(timeout=0):
            if notify.channel != INDEXED_CHANNEL:
                continue
            try:
                latest = int(notify.payload)
            except ValueError:
                unreadable = True  # not the indexer's: trust the table, not the payload
        if unreadable:
            self._publish(indexed_block(conn, self._cursor_name))
        elif latest is not None:
            self._publish(latest)  # delivered in commit order, and one indexer commits at a time: the last wins

    def _redact(self, message: str) -> str:
        """libpq never prints a password, but a conninfo parse error quotes the string: keep the secret out."""
        if self._password:
            for form in {self._password, quote(self._password, safe=""), quote_plus(self._password)}:
                message = message.replace(form, "***")
        return message
