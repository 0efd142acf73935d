"""Programme writes, exactly once from the client to the chain (ADR 0010, ADR 0012).

Each write is a row of ``app.programme_change`` that is both the write's *intent* (committed before its chain
transaction, driven to completion by :func:`node.intents.drive`) and its *idempotency record*:

- a client's ``Idempotency-Key`` is namespaced by the caller (``user:<id>`` or ``api-key:<id>``) and the operation,
  so two clients, or one client's two operations, never share a record;
- the record keeps the SHA-256 of the validated request: the same key with another request is refused (422);
- the chain request reference is stored on the record, never derived from the client's key: a sequenced reference
  (this database's random namespace and the next number of a sequence, ADR 0015), so no two writes share one and
  two consecutive ones share a storage word on chain; the contract also binds each reference to its call (ADR 0012);
- a retry of a finished write answers what the first attempt answered (stored on the record), a retry of a
  refused one the same problem, and a retry of an unfinished one (the API crashed between the chain and the
  answer) drives it on: the chain says "already applied", the write is found by its reference in the indexed
  events, and the completion runs once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Executable,
    LargeBinary,
    Row,
    bindparam,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from node import intents
from node.chain.errors import ChainPermissionDenied, ContractRevert, RequestAlreadyApplied
from node.chain.registry import Registry
from node.chain.types import SEQUENCED_REF_TAG
from node.config import Settings
from node.errors import IndexerBehind, InvalidInput, InvalidState, RegistryError, ServiceUnavailable
from node.identity.permissions import Principal
from node.models.app import programme_change, request_namespace, request_ref_seq
from node.models.chain import event
from node.programmes.canonical import canonical_bytes

_c = programme_change.c
MAX_KEY_LENGTH = 200

WaitIndexed = Callable[[int], None]
"""Blocks until the indexer has applied the given block (raises :class:`IndexerBehind` when it does not in time)."""


class Recorded(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised inside a recording transaction when the key's write is already recorded, to roll back the caller's
    own rows and answer as that write answers."""

    def __init__(self, change_id: int) -> None:
        super().__init__(change_id)
        self.change_id = change_id


class IdempotencyKeyReused(InvalidInput):
    type_slug = "idempotency-key-reused"
    title = "Idempotency key reused"


@dataclass(frozen=True)
class ProgrammeContext:
    """What programme writes need: the database, settings, the contract and the read-your-writes wait."""

    engine: Engine
    settings: Settings
    registry: Registry
    wait_indexed: WaitIndexed


@dataclass(frozen=True)
class Applied:
    """Where a write's chain transaction landed."""

    block_number: int
    tx_hash: str
    programme_id: int | None


def scope_of(principal: Principal) -> str:
    return f"{'api-key' if principal.via_api_key else 'user'}:{principal.user_id}"


def clean_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
        raise InvalidInput("The Idempotency-Key must be 1 to {limit} printable ASCII characters.",
                           params={"limit": MAX_KEY_LENGTH}, field="Idempotency-Key")  # fmt: skip
    return key


def request_hash(operation: str, programme_id: int | None, request: dict[str, Any]) -> bytes:
    described = {"operation": operation, "programme": programme_id, "request": request}
    return hashlib.sha256(canonical_bytes(described)).digest()


def find(conn: Connection, principal: Principal, operation: str, key: str | None) -> Row[Any] | None:
    """The record a retry with this key refers to, if any."""
    if key is None:
        return None
    return conn.execute(_FIND, {"p_scope": scope_of(principal), "p_operation": operation, "p_key": key}).first()


def check_same_request(row: Row[Any], digest: bytes) -> None:
    if bytes(row.request_hash) != digest:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used for a different request; use a new key for a new request.",
            field="Idempotency-Key",
        )


def record(
    engine: Engine, principal: Principal, operation: str, programme_id: int | None, key: str | None,
    digest: bytes, payload: dict[str, Any],
) -> int:  # fmt: skip
    """Commits the write's intent and returns its id (the existing one when a concurrent retry got there first)."""
    try:
        with engine.begin() as conn:
            return record_in(conn, principal, operation, programme_id, key, digest, payload)[0]
    except IntegrityError as exc:  # uq_programme_change_details_pending: one details change at a time
        raise InvalidState(
            "Another change to programme {programme_id}'s details is being recorded; try again in a moment.",
            params={"programme_id": programme_id},
        ) from exc


def record_in(
    conn: Connection, principal: Principal, operation: str, programme_id: int | None, key: str | None,
    digest: bytes, payload: dict[str, Any],
) -> tuple[int, bool]:  # fmt: skip
    """:func:`record` in the caller's transaction, for a write recorded together with rows of its own; also says
    whether this call recorded it (False: a concurrent request with the same key did, and the caller's own rows
    must be rolled back)."""
    values = {
        "operation": operation, "programme_id": programme_id, "idempotency_scope": scope_of(principal),
        "idempotency_key": key, "request_hash": digest, "payload": payload,
        "requested_by": dataclasses.asdict(principal),
    }  # fmt: skip
    change_id = conn.execute(_RECORD if key is None else _RECORD_KEYED, values).scalar()
    if change_id is None:  # a concurrent request with the same key recorded it first
        existing = find(conn, principal, operation, key)
        assert existing is not None
        check_same_request(existing, digest)
        return int(existing.change_id), False
    return int(change_id), True


def next_request_ref() -> ColumnElement[bytes]:
    """The next sequenced request reference of this database, as SQL evaluated by the INSERT itself (no round
    trip): ``tag | namespace | sequence`` (ADR 0015). Consecutive writes pair up in one storage word on chain."""
    namespace = select(request_namespace.c.namespace).scalar_subquery()
    tagged = literal(SEQUENCED_REF_TAG, LargeBinary).op("||")(namespace)
    return tagged.op("||", return_type=LargeBinary)(func.int8send(request_ref_seq.next_value()))


def _record_statements() -> tuple[Executable, Executable]:
    """The intent's insert, without and with a client's key (then a concurrent retry's row wins): the request
    reference is computed by the statement, every other column is bound when it runs."""
    plain = insert(programme_change).values(request_ref=next_request_ref())
    keyed = plain.on_conflict_do_nothing(
        index_elements=[_c.idempotency_scope, _c.operation, _c.idempotency_key],
        index_where=_c.idempotency_key.is_not(None),
    )
    return plain.returning(_c.change_id), keyed.returning(_c.change_id)


_FIND = select(programme_change).where(
    _c.idempotency_scope == bindparam("p_scope"), _c.operation == bindparam("p_operation"),
    _c.idempotency_key == bindparam("p_key"),
)  # fmt: skip
_RECORD, _RECORD_KEYED = _record_statements()
"""Built once, on every write's path (ADR 0020): keying a statement object cost more than running it."""


Step = Callable[[Connection, Row[Any]], dict[str, Any]]


def run(engine: Engine, change_id: int, step: Step) -> dict[str, Any]:
    """Drives the write to completion (or finds it completed) and returns its stored answer."""
    try:
        row = intents.drive(engine, programme_change, change_id, step)
    except RegistryError as refusal:
        _store_refusal(engine, change_id, refusal)  # only if the intent was abandoned (failed)
        raise
    assert row is not None
    if row.status == intents.FAILED:
        raise _replayed(row.result)
    if row.status != intents.DONE:  # another driver holds it and left it pending (it failed after the chain)
        raise IndexerBehind("The write is still being completed; retry it (with the same Idempotency-Key).")
    result: dict[str, Any] = row.result
    return result


def _store_refusal(engine: Engine, change_id: int, refusal: RegistryError) -> None:
    slug = refusal.problem_type if isinstance(refusal, ContractRevert) else refusal.type_slug
    problem = {"status": refusal.status_code, "type": slug, "title": refusal.title, "detail": refusal.detail,
               "error": type(refusal).__name__, "extensions": refusal.extensions, "message": refusal.message,
               "params": json.loads(json.dumps(refusal.params, default=str))}  # fmt: skip
    with engine.begin() as conn:
        conn.execute(update(programme_change).where(_c.change_id == change_id, _c.status == intents.FAILED)
                     .values(result={"problem": problem}))  # fmt: skip


def _replayed(result: dict[str, Any] | None) -> RegistryError:
    """The refusal the first attempt got, raised again for a retry with the same key."""
    problem = (result or {}).get("problem")
    if problem is None:  # abandoned a moment ago; its problem is being stored
        return ServiceUnavailable("The first attempt with this Idempotency-Key was just refused; retry to read why.")
    kind = type(str(problem["error"]), (RegistryError,), {
        "status_code": int(problem["status"]), "type_slug": str(problem["type"]), "title": str(problem["title"]),
    })  # fmt: skip
    # The refusal's own template and values (the web UI translates them); a row stored before they were kept has
    # only the detail.
    message, params = (str(problem["message"]), problem.get("params")) if "message" in problem else (
        str(problem["detail"]), None)  # fmt: skip
    error: RegistryError = kind(message, params=params or None, **dict(problem.get("extensions") or {}))
    return error


def send(
    context: ProgrammeContext, conn: Connection, write: Callable[[], Any], ref: bytes, event_name: str, *,
    first: bool = True,
) -> Applied:  # fmt: skip
    """Runs one chain write of an intent and waits until the indexer has applied it (read your writes).

    A refusal of the intent's first write becomes :class:`node.intents.Refused` (nothing is on chain: the intent
    is abandoned). "Already applied" means an earlier attempt's transaction is on chain: it is found by its
    reference among the indexed events once the indexer has reached the chain's head.
    """
    registry = context.registry
    try:
        receipt = write()
    except RequestAlreadyApplied:
        head = registry.client.rpc(lambda: registry.client.w3.eth.block_number)
        context.wait_indexed(head)
        return located(conn, ref, event_name)
    except ContractRevert as refusal:
        if first and final(refusal):
            raise intents.Refused(refusal) from refusal
        raise  # a chain-side condition (unknown revert, operator key without the role): stays pending, retried
    block_number = int(receipt["blockNumber"])
    context.wait_indexed(block_number)
    found = registry.events(receipt, event_name)
    programme_id = int(found[0]["args"]["programmeId"]) if found else None
    return Applied(block_number, receipt["transactionHash"].to_0x_hex(), programme_id)


def final(refusal: ContractRevert) -> bool:
    """Whether the contract's refusal is about the request itself (and so the same for every retry), rather than
    about the chain service or the node's configuration, which a later attempt may find fixed."""
    return refusal.status_code < 500 and not isinstance(refusal, ChainPermissionDenied)


def located(conn: Connection, ref: bytes, event_name: str) -> Applied:
    row = conn.execute(
        select(event.c.block_number, event.c.tx_hash, event.c.programme_id)
        .where(event.c.request_ref == ref, event.c.name == event_name)
        .order_by(event.c.block_number, event.c.log_index).limit(1)
    ).first()  # fmt: skip
    if row is None:  # applied, yet not among the indexed events: the indexer must catch up first
        raise IndexerBehind("The write is on chain but not yet indexed; read it again shortly.")
    return Applied(int(row.block_number), "0x" + bytes(row.tx_hash).hex(), row.programme_id)
