"""Chain-then-database steps that survive a failure between the two (ADR 0010).

A change that writes the chain and then the database cannot be one transaction: if the database write fails
after the chain write, the two disagree. So such a change is split:

1. its *intent* (what was asked, by whom, and a version that names its chain requests) commits first, in its
   own transaction, once every input has been validated;
2. :func:`drive` locks the intent row and, in one transaction, runs the chain writes (each named by a request
   reference derived from the intent, so a repeat applies nothing twice: ADR 0005), the database writes that
   complete the change, and marks the intent ``done``;
3. if anything fails in between, the intent stays ``pending`` with its ``last_error``; driving it again (a retry
   of the request, or :func:`drive_pending` at start-up or from a worker) completes it exactly once, because the
   chain answers "already applied" and the intent row lock lets one driver at a time through.

An intent whose *first* chain write the contract refuses is abandoned (``failed``): nothing of it is on chain, so
nothing is left to complete, and a later request may reuse its version and references (a reverted call stores
no reference). An intent table needs a single-column primary key and the columns ``status``, ``attempts``,
``last_error``, ``result``, ``created_at`` and ``completed_at`` (``app.organisation_state_change`` is the first).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Column, Connection, Engine, Executable, Row, Table, bindparam, func, select, update
from sqlalchemy.exc import DBAPIError

from node.chain.errors import ContractRevert, RequestAlreadyApplied
from node.errors import RegistryError

PENDING, DONE, FAILED = "pending", "done", "failed"

Step = Callable[[Connection, Row[Any]], dict[str, Any]]
"""Runs an intent's chain writes and completing database writes on the driver's connection; returns the result
stored on the intent (what a waiting or retried request answers with)."""

logger = logging.getLogger("registry.intents")


class Refused(Exception):
    """The contract refused an intent's first chain write, or the step found before it that the intent can no
    longer apply: nothing of the intent is on chain."""

    def __init__(self, cause: RegistryError) -> None:
        super().__init__(cause.detail)
        self.cause = cause


def apply_once(
    write: Callable[..., object], *args: Any, in_effect: tuple[type[ContractRevert], ...] = (), first: bool = False
) -> None:
    """Runs one chain write of an intent whose effect may already be there.

    "Already applied" (an earlier attempt) and the ``in_effect`` reverts (the state is already what the write
    would make it, e.g. an operator froze the account by hand) count as done. With ``first``, any other revert
    becomes :class:`Refused`, so :func:`drive` abandons the intent instead of retrying it forever; a refusal of a
    later write leaves the intent pending, because the earlier writes are on chain and must be completed.
    """
    already: tuple[type[ContractRevert], ...] = (RequestAlreadyApplied, *in_effect)
    try:
        write(*args)
    except already as exc:
        logger.info("chain write %s already in effect: %s", getattr(write, "__name__", write), exc.detail)
    except ContractRevert as exc:
        if first:
            raise Refused(exc) from exc
        raise


def _key(table: Table) -> Column[Any]:
    (key,) = table.primary_key.columns
    return key


_DRIVE_STATEMENTS: dict[tuple[Table, bool], tuple[Executable, Executable]] = {}
"""Per intent table and ``skip_locked``: the lock and the completion, built once (ADR 0020: keying a statement
object cost more than running it)."""


def _drive_statements(table: Table, skip_locked: bool) -> tuple[Executable, Executable]:
    statements = _DRIVE_STATEMENTS.get((table, skip_locked))
    if statements is None:
        key = _key(table)
        intent_id = bindparam("p_intent_id", type_=key.type)
        lock = select(table).where(key == intent_id).with_for_update(skip_locked=skip_locked)
        done = (update(table).where(key == intent_id)
                .values(status=DONE, result=bindparam("p_result", type_=table.c.result.type),
                        attempts=table.c.attempts + 1, completed_at=func.now())
                .returning(*table.c))  # fmt: skip
        statements = _DRIVE_STATEMENTS[(table, skip_locked)] = (lock, done)
    return statements


def drive(engine: Engine, table: Table, intent_id: int, step: Step, *, skip_locked: bool = False) -> Row[Any] | None:
    """Completes one intent exactly once and returns its row as it ends up (``done``, ``failed``, or as found).

    The intent row stays locked until the completion commits, so concurrent drivers (the request, a retry, the
    recovery) run one after the other and the later ones find it done. With ``skip_locked`` an intent another
    driver holds is skipped (None). On failure the intent's ``attempts`` and ``last_error`` are recorded in a
    transaction of their own and the error is raised: the contract's refusal for a refused first write (the intent
    is then ``failed``), the error itself otherwise (the intent stays ``pending``).
    """
    lock, done = _drive_statements(table, skip_locked)
    try:
        with engine.begin() as conn:
            row = conn.execute(lock, {"p_intent_id": intent_id}).first()
            if row is None or row.status != PENDING:
                return row
            result = step(conn, row)
            return conn.execute(done, {"p_intent_id": intent_id, "p_result": result}).one()
    except Refused as refused:
        _note_failure(engine, table, intent_id, refused.cause, abandon=True)
        raise refused.cause from None
    except Exception as exc:
        _note_failure(engine, table, intent_id, exc, abandon=False)
        raise


def _note_failure(engine: Engine, table: Table, intent_id: int, exc: Exception, *, abandon: bool) -> None:
    """Records the failed attempt; never raises, so the original error is what the caller sees (the database may
    well be the thing that failed)."""
    values: dict[str, Any] = {"attempts": table.c.attempts + 1, "last_error": describe(exc)[:2000]}
    if abandon:
        values |= {"status": FAILED, "completed_at": func.now()}
    try:
        with engine.begin() as conn:
            conn.execute(update(table).where(_key(table) == intent_id, table.c.status == PENDING).values(values))
    except Exception:  # noqa: BLE001 - the intent stays pending without its error; recovery retries it anyway
        logger.exception("could not record the failure of %s %s", table.name, intent_id)


def describe(exc: BaseException) -> str:
    """The error as recorded and logged: a database error without its statement and parameters (they may hold
    personal data, ADR 0011)."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    return f"{type(cause).__name__}: {cause}".strip()


def pending(conn: Connection, table: Table, *, older_than: float = 0.0) -> list[Row[Any]]:
    """Intents still pending that were recorded at least ``older_than`` seconds ago, oldest first."""
    cutoff = func.now() - timedelta(seconds=older_than)
    query = select(table).where(table.c.status == PENDING, table.c.created_at <= cutoff).order_by(table.c.created_at)
    return list(conn.execute(query))


def drive_pending(engine: Engine, table: Table, step: Step, *, older_than: float = 0.0) -> list[int]:
    """Drives every pending intent (recovery after a crash or a failed completion); returns the ids completed.

    Intents another driver holds right now are skipped; one that fails again stays pending (or is abandoned) with
    its error logged and recorded, and does not stop the others.
    """
    key = _key(table)
    with engine.connect() as conn:
        waiting = [int(row._mapping[key]) for row in pending(conn, table, older_than=older_than)]
    completed: list[int] = []
    for intent_id in waiting:
        try:
            row = drive(engine, table, intent_id, step, skip_locked=True)
        except Exception as exc:  # noqa: BLE001 - recorded on the intent; reconcile reports it while it stays pending
            trace = not isinstance(exc, DBAPIError | ContractRevert)  # expected kinds: their message says it all
            logger.error("%s %s not completed: %s", table.name, intent_id, describe(exc), exc_info=trace)
            continue
        if row is not None and row.status == DONE:
            completed.append(intent_id)
    return completed


class RecoveryThread:
    """Runs ``recover`` every ``interval`` seconds in the background of ``registry up``, so a change left pending by
    a failure completes without anyone retrying it. A failing round is logged and the next one tries again."""

    def __init__(self, recover: Callable[[], object], interval: float, name: str = "intent-recovery") -> None:
        self._recover = recover
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._recover()
            except Exception:  # noqa: BLE001 - a database or chain outage; the next round retries
                logger.exception("intent recovery round failed")

    def start(self) -> RecoveryThread:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
