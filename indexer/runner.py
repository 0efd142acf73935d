"""The indexer loop: fetch a block range, check it continues the stored chain, apply it and move the cursor in
one transaction; follow the head; roll back on reorganisations.

Exactly one indexer applies at a time: each process holds a PostgreSQL session advisory lock on the connection
it writes with, so if it dies its lock dies with its connection and a standby takes over within a poll.

Every transaction that moves the cursor also queues ``pg_notify(INDEXED_CHANNEL, '<cursor block>')``: PostgreSQL
delivers it at commit, so the API's ``IndexWaiter`` (node/indexer_wait.py) wakes a write waiting to read its own
rows exactly when they become visible, without polling.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Executable, String, bindparam, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert

from indexer.apply import apply_events
from indexer.decoding import Event, EventDecoder
from indexer.reorg import find_common_ancestor, rollback_to
from indexer.rpc import ChainReader, Header, RangeTooLarge
from node.chain import activity
from node.indexer_wait import INDEXED_CHANNEL
from node.models import chain

logger = logging.getLogger("registry.indexer")

LOCK_KEY = 0x52454749535452  # "REGISTR": one advisory lock per database
BLOCKS_KEPT = 2048
PRUNE_EVERY = 64
"""Stored headers below ``BLOCKS_KEPT`` are deleted when the cursor crosses a multiple of this, not every batch: one
statement fewer per batch while following the head (ADR 0021), at most this many extra rows kept."""


@dataclass
class IndexerConfig:
    name: str = "registry"
    confirmations: int = 0
    """Blocks held back behind the head (0 on a chain without reorgs worth waiting for)."""
    finality_depth: int = 12
    """Rows this many blocks below the head count as confirmed (``safe_block``)."""
    poll_interval: float = 0.05
    initial_range: int = 2000
    max_range: int = 20_000
    standby_interval: float = 1.0


@dataclass
class IndexerStats:
    """What this process did since it started (the database cursor is the durable record)."""

    head_block: int = 0
    indexed_block: int = 0
    events_applied: int = 0
    reorgs: int = 0
    active: bool = False


class Indexer:
    def __init__(
        self,
        engine: Engine,
        reader: ChainReader,
        *,
        address: str,
        abi: list[dict[str, Any]],
        deploy_block: int,
        config: IndexerConfig | None = None,
    ) -> None:
        self.engine = engine
        self.reader = reader
        self.address = address
        self.decoder = EventDecoder(abi)
        self.deploy_block = deploy_block
        self.config = config or IndexerConfig()
        self.range = self.config.initial_range
        self.stats = IndexerStats()
        self._following = False
        self._known: tuple[int, bytes] | None = None
        """While ``run`` holds the lock: the cursor as this indexer last read or wrote it, so a step or an idle poll
        does not read it back (ADR 0021). Anything else that moves the cursor meanwhile is caught by the batch's locked
        re-read, which fails the step; ``run`` then starts over and reads it again."""

    # ------------------------------------------------------------------ lifecycle

    def run(self, stop: threading.Event) -> None:
        """Runs until ``stop`` is set: standby until the lock is ours, then index and follow the head."""
        while not stop.is_set():
            try:
                with self.engine.connect() as conn:
                    if not self._try_lock(conn):
                        self.stats.active = False
                        stop.wait(self.config.standby_interval)
                        continue
                    self.stats.active = True
                    logger.info("indexer %s active", self.config.name)
                    self._following = True
                    try:
                        while not stop.is_set():
                            if not self.step(conn):
                                self._idle(stop)
                    finally:
                        self._following, self._known = False, None
            except Exception:
                self.stats.active = False
                logger.exception("indexer step failed; retrying")
                stop.wait(1.0)

    def _idle(self, stop: threading.Event) -> None:
        """Waits for the next head poll, or less: until this process's chain client sees a transaction of its own
        mined (a write waiting to be indexed), or ``stop``."""
        end = time.monotonic() + self.config.poll_interval
        while not stop.is_set():
            left = end - time.monotonic()
            if left <= 0 or activity.wait_for_mined(min(left, 0.05)):
                return

    @staticmethod
    def _try_lock(conn: Connection) -> bool:
        locked = bool(conn.execute(text("select pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}).scalar())
        conn.commit()
        return locked

    def catch_up(self, conn: Connection) -> None:
        """Applies everything up to the current target, then returns (tests, `registry index --once`)."""
        while self.step(conn):
            pass

    # ------------------------------------------------------------------ one step

    def step(self, conn: Connection) -> bool:
        """One range applied or one reorg rolled back: True; nothing to do: False."""
        if self._known is None:
            cursor = self._cursor(conn)
            self._known = cursor if self._following else None
        else:
            cursor = self._known
        cursor_block, cursor_hash = cursor
        head = self.reader.head()
        self.stats.head_block = head
        target = head - self.config.confirmations
        if cursor_block >= target:
            canonical = self.reader.header(cursor_block)
            if canonical is None or canonical.hash != cursor_hash:
                self._reorg(conn, cursor_block)
                return True
            return False
        first, last = cursor_block + 1, min(target, cursor_block + self.range)
        try:
            logs = self.reader.logs(self.address, first, last)
        except RangeTooLarge as exc:
            self.range = max(1, (last - first + 1) // 2)
            logger.info("log range %s-%s too large (%s); now %s blocks", first, last, exc, self.range)
            return True
        events = [e for e in (self.decoder.decode(log) for log in logs if not log.get("removed")) if e is not None]
        headers = self.reader.headers({first, last} | {e.block_number for e in events})
        if any(h is None for h in headers.values()):
            return True  # the chain got shorter under us: the next step sees the reorg
        start = headers[first]
        assert start is not None
        if start.parent_hash != cursor_hash:
            self._reorg(conn, cursor_block)
            return True
        if any(headers[e.block_number].hash != e.block_hash for e in events):  # type: ignore[union-attr]
            return True  # logs from a block that was replaced meanwhile: fetch again
        dated = [_dated(e, headers[e.block_number]) for e in events]  # type: ignore[arg-type]
        with conn.begin():
            applied = self._apply(conn, dated, headers, head, last, cursor_block)
        if self._known is not None:
            self._known = (last, headers[last].hash)  # type: ignore[union-attr]
        self._adapt(len(logs), last - first + 1)
        self.stats.indexed_block = last
        self.stats.events_applied += applied
        return True

    def _apply(self, conn: Connection, events: list[Event], headers: dict[int, Header | None], head: int,
               last: int, expected_cursor: int) -> int:  # fmt: skip
        current = conn.execute(_LOCK_CURSOR, {"p_name": self.config.name}).scalar_one()
        if current != expected_cursor:
            raise RuntimeError(f"cursor moved from {expected_cursor} to {current} under this indexer")
        rows = [{"number": h.number, "hash": h.hash, "parent_hash": h.parent_hash,
                 "timestamp": datetime.fromtimestamp(h.timestamp, UTC)} for h in headers.values() if h]  # fmt: skip
        conn.execute(_STORE_BLOCKS, rows)
        applied = apply_events(conn, events)
        end = headers[last]
        assert end is not None
        head_time = datetime.fromtimestamp(end.timestamp, UTC) if last == head else None
        conn.execute(_MOVE_CURSOR, {
            "p_name": self.config.name, "p_block_number": last, "p_block_hash": end.hash, "p_head_block": head,
            "p_head_time": head_time, "p_safe_block": max(0, head - self.config.finality_depth),
            "p_applied": applied, "p_updated_at": datetime.now(UTC),
        })  # fmt: skip
        if last // PRUNE_EVERY != expected_cursor // PRUNE_EVERY:
            conn.execute(_DROP_BLOCKS, {"p_below": last - BLOCKS_KEPT})
        _announce(conn, last)
        return applied

    def _adapt(self, logs: int, span: int) -> None:
        if logs < 2000 and span >= self.range:
            self.range = min(self.config.max_range, self.range * 2)
        elif logs > 10_000:
            self.range = max(1, self.range // 2)

    def _reorg(self, conn: Connection, cursor_block: int) -> None:
        self._known = None  # rolled back below: read again at the next step
        with conn.begin():
            ancestor, ancestor_hash = find_common_ancestor(conn, self.reader, cursor_block)
            dropped = rollback_to(conn, ancestor, ancestor_hash, self.config.name)
            _announce(conn, ancestor)  # the cursor went back: waiters for orphaned blocks must keep waiting
        self.stats.reorgs += 1
        logger.warning("reorg: rolled back %s blocks (%s events) to block %s", cursor_block - ancestor, dropped,
                       ancestor)  # fmt: skip

    def _cursor(self, conn: Connection) -> tuple[int, bytes]:
        row = conn.execute(_READ_CURSOR, {"p_name": self.config.name}).first()
        conn.commit()
        if row is not None:
            return int(row.block_number), bytes(row.block_hash)
        start = max(0, self.deploy_block - 1)
        header = self.reader.header(start)
        if header is None:
            raise RuntimeError(f"the chain has no block {start}: wrong CHAIN_RPC_URL or deployment manifest?")
        with conn.begin():
            conn.execute(insert(chain.indexer_cursor).values(
                name=self.config.name, block_number=start, block_hash=header.hash, head_block=start,
                safe_block=max(0, start - self.config.finality_depth), events_applied=0,
            ).on_conflict_do_nothing())  # fmt: skip
            conn.execute(insert(chain.block).values(number=start, hash=header.hash, parent_hash=header.parent_hash,
                         timestamp=datetime.fromtimestamp(header.timestamp, UTC)).on_conflict_do_nothing())  # fmt: skip
        return self._cursor(conn)


def _announce(conn: Connection, block: int) -> None:
    """Queues the cursor's new block on ``INDEXED_CHANNEL`` in the caller's transaction.

    NOTIFY is transactional: it is sent when the cursor update commits and dropped if it rolls back, so a listener
    that hears ``block`` can read that block's rows at once.
    """
    conn.execute(_NOTIFY, {"p_block": str(block)})


def _statements() -> tuple[Executable, Executable, Executable, Executable, Executable]:
    """A batch's own statements, built once (ADR 0020: keying a statement object cost more than running it)."""
    cursor, block = chain.indexer_cursor.c, chain.block.c
    lock = select(cursor.block_number).where(cursor.name == bindparam("p_name")).with_for_update()
    blocks = insert(chain.block)
    blocks = blocks.on_conflict_do_update(
        index_elements=["number"],
        set_={"hash": blocks.excluded.hash, "parent_hash": blocks.excluded.parent_hash,
              "timestamp": blocks.excluded.timestamp},
    )  # fmt: skip
    move = (update(chain.indexer_cursor).where(cursor.name == bindparam("p_name"))
            .values(block_number=bindparam("p_block_number", type_=cursor.block_number.type),
                    block_hash=bindparam("p_block_hash", type_=cursor.block_hash.type),
                    head_block=bindparam("p_head_block", type_=cursor.head_block.type),
                    head_time=bindparam("p_head_time", type_=cursor.head_time.type),
                    safe_block=bindparam("p_safe_block", type_=cursor.safe_block.type),
                    events_applied=cursor.events_applied + bindparam("p_applied", type_=cursor.events_applied.type),
                    updated_at=bindparam("p_updated_at", type_=cursor.updated_at.type)))  # fmt: skip
    drop = delete(chain.block).where(block.number < bindparam("p_below", type_=block.number.type))
    notify = select(func.pg_notify(INDEXED_CHANNEL, bindparam("p_block", type_=String())))
    return lock, blocks, move, drop, notify


_LOCK_CURSOR, _STORE_BLOCKS, _MOVE_CURSOR, _DROP_BLOCKS, _NOTIFY = _statements()
_READ_CURSOR = select(chain.indexer_cursor.c.block_number, chain.indexer_cursor.c.block_hash).where(
    chain.indexer_cursor.c.name == bindparam("p_name")
)
"""Read at every step, each poll and each wake-up."""


def _dated(event: Event, header: Header) -> Event:
    return Event(event.name, event.args, event.block_number, event.block_hash, event.tx_hash, event.log_index,
                 datetime.fromtimestamp(header.timestamp, UTC))  # fmt: skip
