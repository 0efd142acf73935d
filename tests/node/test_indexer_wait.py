"""``IndexWaiter`` against a real PostgreSQL: woken by the indexer's NOTIFY at commit, never by polling.

The cursor rows here have their own name and move the way the indexer moves them (update + ``pg_notify`` in one
transaction); tests/indexer/test_notify.py runs the real indexer. Time bounds are generous (seconds, where a wake
takes milliseconds): they only catch a waiter that was not woken at all.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from node.db.engine import make_engine
from node.indexer_wait import INDEXED_CHANNEL, IndexWaiter, libpq_conninfo

START = 10
GENEROUS = 10.0


@pytest.fixture
def cursor(engine: Engine) -> Iterator[str]:
    """A cursor row of its own at block ``START``, removed afterwards."""
    name = f"wait-test-{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(text("insert into chain.indexer_cursor (name, block_number, block_hash, head_block, safe_block) "
                          "values (:name, :block, '\\x00', :block, 0)"), {"name": name, "block": START})  # fmt: skip
    yield name
    with engine.begin() as conn:
        conn.execute(text("delete from chain.indexer_cursor where name = :name"), {"name": name})


@pytest.fixture
def make_waiter(engine: Engine, cursor: str) -> Iterator[Callable[..., IndexWaiter]]:
    started: list[IndexWaiter] = []

    def build(**options: float) -> IndexWaiter:
        waiter = IndexWaiter(engine, cursor_name=cursor, **options).start()  # type: ignore[arg-type]
        started.append(waiter)
        assert waiter.wait_until_listening(GENEROUS)
        return waiter

    yield build
    for waiter in started:
        waiter.close()


def advance(engine: Engine, cursor: str, block: int) -> None:
    """What the indexer does when it applies a range: move the cursor and NOTIFY in the same transaction."""
    with engine.begin() as conn:
        conn.execute(text("update chain.indexer_cursor set block_number = :block where name = :name"),
                     {"block": block, "name": cursor})  # fmt: skip
        conn.execute(text("select pg_notify(:channel, :block)"), {"channel": INDEXED_CHANNEL, "block": str(block)})


class Waiting:
    """``wait_for_block`` in a thread of its own, as a request would call it."""

    def __init__(self, waiter: IndexWaiter, block: int, timeout: float = GENEROUS) -> None:
        self.result: bool | None = None
        self.elapsed = 0.0
        self._thread = threading.Thread(target=self._wait, args=(waiter, block, timeout))
        self._thread.start()

    def _wait(self, waiter: IndexWaiter, block: int, timeout: float) -> None:
        started = time.monotonic()
        self.result = waiter.wait_for_block(block, timeout)
        self.elapsed = time.monotonic() - started

    def join(self) -> bool | None:
        self._thread.join(GENEROUS * 2)
        return self.result


def test_returns_at_once_when_the_cursor_is_already_there(make_waiter: Callable[..., IndexWaiter]) -> None:
    waiter = make_waiter()
    assert waiter.indexed_block == START
    started = time.monotonic()
    assert waiter.wait_for_block(START, GENEROUS)
    assert waiter.wait_for_block(START - 5, GENEROUS)
    assert time.monotonic() - started < GENEROUS / 2


def test_wakes_when_the_cursor_commits_not_before(
    make_waiter: Callable[..., IndexWaiter], engine: Engine, cursor: str
) -> None:
    waiter = make_waiter()
    waiting = Waiting(waiter, START + 1)
    with engine.begin() as conn:
        conn.execute(text("update chain.indexer_cursor set block_number = :b where name = :n"),
                     {"b": START + 1, "n": cursor})  # fmt: skip
        conn.execute(text("select pg_notify(:c, :b)"), {"c": INDEXED_CHANNEL, "b": str(START + 1)})
        # Uncommitted: PostgreSQL holds the notification back, so no request may read the rows yet.
        assert not waiter.wait_for_block(START + 1, 0.3)
    assert waiting.join() is True
    assert waiting.elapsed < GENEROUS / 2
    assert waiter.indexed_block == START + 1


def test_a_rolled_back_cursor_move_wakes_nobody(
    make_waiter: Callable[..., IndexWaiter], engine: Engine, cursor: str
) -> None:
    waiter = make_waiter()
    with engine.connect() as conn:
        conn.execute(text("update chain.indexer_cursor set block_number = :b where name = :n"),
                     {"b": START + 1, "n": cursor})  # fmt: skip
        conn.execute(text("select pg_notify(:c, :b)"), {"c": INDEXED_CHANNEL, "b": str(START + 1)})
        conn.rollback()
    advance(engine, cursor, START)  # a later commit proves the rolled-back notification would have arrived first
    assert waiter.wait_for_block(START, GENEROUS)
    assert not waiter.wait_for_block(START + 1, 0.3)


def test_returns_false_on_timeout(make_waiter: Callable[..., IndexWaiter]) -> None:
    waiter = make_waiter()
    started = time.monotonic()
    assert not waiter.wait_for_block(START + 100, 0.2)
    assert time.monotonic() - started >= 0.2
    assert not waiter.wait_for_block(START + 100, 0)


def test_reconnects_after_its_connection_is_terminated(
    make_waiter: Callable[..., IndexWaiter], engine: Engine, cursor: str
) -> None:
    waiter = make_waiter(min_backoff=0.5)
    first_pid = waiter.backend_pid
    assert first_pid is not None
    with engine.begin() as conn:
        assert conn.execute(text("select pg_terminate_backend(:pid)"), {"pid": first_pid}).scalar()
    deadline = time.monotonic() + GENEROUS
    while waiter.connected and time.monotonic() < deadline:  # the test watches; the waiter itself never polls
        time.sleep(0.01)
    assert not waiter.connected

    # Committed during the outage: nobody hears this notification, the cursor read on reconnection finds it.
    waiting = Waiting(waiter, START + 1)
    advance(engine, cursor, START + 1)
    assert waiting.join() is True
    assert waiter.wait_until_listening(GENEROUS)
    assert waiter.backend_pid not in (None, first_pid)

    # And the new connection LISTENs again.
    waiting = Waiting(waiter, START + 2)
    advance(engine, cursor, START + 2)
    assert waiting.join() is True


def test_close_stops_the_thread_and_releases_waiting_requests(make_waiter: Callable[..., IndexWaiter]) -> None:
    waiter = make_waiter()
    waiting = Waiting(waiter, START + 100)
    waiter.close()
    assert not waiter.alive
    assert waiting.join() is False
    assert waiting.elapsed < GENEROUS / 2
    assert not waiter.wait_for_block(START + 100, GENEROUS)  # closed: answers at once
    assert waiter.wait_for_block(START, 0)


def test_a_waiter_that_never_started_does_not_block(engine: Engine) -> None:
    waiter = IndexWaiter(engine)
    started = time.monotonic()
    assert not waiter.wait_for_block(1, GENEROUS)
    assert time.monotonic() - started < GENEROUS / 2
    waiter.close()


def test_keeps_retrying_while_the_database_is_down_and_never_logs_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = make_url("postgresql+psycopg://registry:s3cr%3Et@127.0.0.1:1/none?connect_timeout=2")
    assert libpq_conninfo(url).startswith("postgresql://registry:s3cr%3Et@")
    dead = make_engine(url.render_as_string(hide_password=False))
    with IndexWaiter(dead, min_backoff=0.05) as waiter:
        assert not waiter.wait_for_block(1, 0.5)
        assert waiter.alive
        assert not waiter.connected
    assert not waiter.alive
    assert any("lost its database connection" in r.getMessage() for r in caplog.records)
    assert not any("s3cr" in r.getMessage() for r in caplog.records)
    dead.dispose()
