"""Authorise, reject, issue (reference §5.1-§5.3), certify and revoke (§5.4): each checked against the contract's
own view of the programme before anything is written, then run as an exactly-once write (:mod:`changes`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, Engine, Row, func, select

from node import intents
from node.chain.registry import Registry
from node.chain.types import ProgrammeStage
from node.config import Settings
from node.credits import retirements, transfers
from node.errors import IndexerBehind, InvalidInput, InvalidState, NotFound, PreconditionRequired
from node.identity import audit
from node.identity.permissions import CERTIFIER, Principal
from node.indexer_wait import IndexWaiter
from node.models.app import organisation, programme_change
from node.programmes import changes, creation, materials, notifications
from node.programmes.changes import ProgrammeContext
from node.programmes.creation import jsonable, programme_link
from node.programmes.permissions import (
    authorize_certify,
    authorize_registry_decision,
    authorize_revoke,
)
from node.programmes.queries import get_programme
from node.programmes.schemas import Authorisation, Certification, Issuance, Rejection, Revocation

AUTHORISE, REJECT, ISSUE, CERTIFY, REVOKE = "authorise", "reject", "issue", "certify", "revoke"


@dataclass(frozen=True)
class OnChain:
    """The contract's own view of a programme, read just before deciding."""

    stage: ProgrammeStage
    credit_estimate: int
    credit_issued: int
    owners: list[int]
    certifiers: list[int]


def on_chain(context: ProgrammeContext, programme_id: int) -> OnChain:
    programme_count = context.registry.view("totals")[0]
    if not 1 <= programme_id <= programme_count:
        raise NotFound("No programme {programme_id}.", params={"programme_id": programme_id})
    view = context.registry.view("getProgramme", programme_id)
    return OnChain(ProgrammeStage(view[1]), int(view[9]), int(view[10]), list(view[14]), list(view[16]))


def _require_stage(programme_id: int, state: OnChain, wanted: ProgrammeStage) -> None:
    """One message per (stage, wanted stage) pair, so that each is translated whole: a programme on chain is
    awaiting authorisation, authorised or rejected, and an operation wants one of the first two."""
    if state.stage == wanted:
        return
    params = {"programme_id": programme_id}
    if state.stage == ProgrammeStage.REJECTED:
        raise InvalidState("Programme {programme_id} was rejected; nothing more can happen to it.", params=params)
    if wanted == ProgrammeStage.AUTHORISED:
        raise InvalidState("Programme {programme_id} is awaiting authorisation, not authorised.", params=params)
    raise InvalidState("Programme {programme_id} is authorised, not awaiting authorisation.", params=params)


Prepare = Callable[[Connection, OnChain], dict[str, Any]]


def _write(
    context: ProgrammeContext, principal: Principal, operation: str, programme_id: int, body: BaseModel,
    key: str | None, prepare: Prepare,
) -> dict[str, Any]:  # fmt: skip
    """The shared shape of a lifecycle write: retry lookup, checks, intent, chain, completion."""
    key = changes.clean_key(key)
    digest = changes.request_hash(operation, programme_id, body.model_dump(mode="json"))
    with context.engine.connect() as conn:
        existing = changes.find(conn, principal, operation, key)
        if existing is not None:
            changes.check_same_request(existing, digest)
            change_id = int(existing.change_id)
        else:
            get_programme(conn, principal, programme_id)  # 404, not the stage, for a programme the caller cannot read
            payload = prepare(conn, on_chain(context, programme_id))
    if existing is None:
        change_id = changes.record(context.engine, principal, operation, programme_id, key, digest, payload)
    result = changes.run(context.engine, change_id, partial(complete, context))
    view: dict[str, Any] = result["programme"]
    return view


def authorise(context: ProgrammeContext, principal: Principal, programme_id: int, body: Authorisation,
              key: str | None) -> dict[str, Any]:  # fmt: skip
    authorize_registry_decision(principal)

    def prepare(_conn: Connection, state: OnChain) -> dict[str, Any]:
        _require_stage(programme_id, state, ProgrammeStage.AWAITING_AUTHORIZATION)
        if body.issue_amount > state.credit_estimate:
            raise InvalidInput("Cannot issue {amount} credits: the estimate is {estimate}.",
                               params={"amount": body.issue_amount, "estimate": state.credit_estimate},
                               field="issue_amount")  # fmt: skip
        return {"issue_amount": body.issue_amount, "remarks": body.remarks}

    return _write(context, principal, AUTHORISE, programme_id, body, key, prepare)


def reject(context: ProgrammeContext, principal: Principal, programme_id: int, body: Rejection,
           key: str | None) -> dict[str, Any]:  # fmt: skip
    authorize_registry_decision(principal)

    def prepare(_conn: Connection, state: OnChain) -> dict[str, Any]:
        _require_stage(programme_id, state, ProgrammeStage.AWAITING_AUTHORIZATION)
        return {"remarks": body.remarks}

    return _write(context, principal, REJECT, programme_id, body, key, prepare)


def issue(context: ProgrammeContext, principal: Principal, programme_id: int, body: Issuance,
          key: str | None) -> dict[str, Any]:  # fmt: skip
    authorize_registry_decision(principal)
    if key is None:  # nothing else makes a retried issuance harmless: it would issue again
        raise PreconditionRequired(
            "Issuing credits needs an Idempotency-Key header, so that a retry after a timeout cannot issue twice."
        )

    def prepare(_conn: Connection, state: OnChain) -> dict[str, Any]:
        _require_stage(programme_id, state, ProgrammeStage.AUTHORISED)
        pending = state.credit_estimate - state.credit_issued
        amount = pending if body.amount is None else body.amount
        if pending == 0:
            raise InvalidState("Programme {programme_id} has issued its whole estimate of {estimate}.",
                               params={"programme_id": programme_id, "estimate": state.credit_estimate})  # fmt: skip
        if amount > pending:
            raise InvalidInput("Cannot issue {amount} credits: only {pending} of the estimate are not yet issued.",
                               params={"amount": amount, "pending": pending}, field="amount")  # fmt: skip
        return {"amount": amount, "remarks": body.remarks}

    return _write(context, principal, ISSUE, programme_id, body, key, prepare)


def certify(context: ProgrammeContext, principal: Principal, programme_id: int, body: Certification,
            key: str | None) -> dict[str, Any]:  # fmt: skip
    certifier = authorize_certify(principal)

    def prepare(_conn: Connection, state: OnChain) -> dict[str, Any]:
        # The reference's CORE rule: certification is of authorised programmes, which every certifier can read
        # (certifying one awaiting authorisation would reveal it to any certifier that guesses its id).
        _require_stage(programme_id, state, ProgrammeStage.AUTHORISED)
        if certifier in state.certifiers:
            raise InvalidState("Your organisation already certifies programme {programme_id}.",
                               params={"programme_id": programme_id})  # fmt: skip
        return {"certifier_id": certifier, "remarks": body.remarks}

    return _write(context, principal, CERTIFY, programme_id, body, key, prepare)


def revoke(context: ProgrammeContext, principal: Principal, programme_id: int, body: Revocation,
           key: str | None) -> dict[str, Any]:  # fmt: skip
    certifier = authorize_revoke(principal, body.certifier_id)

    def prepare(conn: Connection, state: OnChain) -> dict[str, Any]:
        if certifier not in state.certifiers:
            raise InvalidState("Organisation {certifier_id} does not certify programme {programme_id}.",
                               params={"certifier_id": certifier, "programme_id": programme_id},
                               field="certifier_id")  # fmt: skip
        role = conn.execute(select(organisation.c.role).where(organisation.c.organisation_id == certifier)).scalar()
        if role != CERTIFIER:
            raise InvalidInput("Organisation {certifier_id} is not a certifier.", params={"certifier_id": certifier},
                               field="certifier_id")  # fmt: skip
        by_government = principal.organisation_id != certifier
        return {"certifier_id": certifier, "by_government": by_government, "remarks": body.remarks}

    return _write(context, principal, REVOKE, programme_id, body, key, prepare)


# ---------------------------------------------------------------------------------------------- completion


def complete(context: ProgrammeContext, conn: Connection, row: Row[Any]) -> dict[str, Any]:
    """The intent's step for every lifecycle operation: chain write, then audit and emails, then the answer."""
    if row.operation == creation.CREATE:
        return creation.complete(context, conn, row)
    if row.operation == transfers.TRANSFER:
        return transfers.complete(context, conn, row)
    if row.operation == retirements.RETIRE:
        return retirements.complete(context, conn, row)
    registry, ref, pid, payload = context.registry, bytes(row.request_ref), int(row.programme_id), row.payload
    writes: dict[str, tuple[Callable[[], Any], str]] = {
        AUTHORISE: (lambda: registry.authorise(pid, payload["issue_amount"], ref), "ProgrammeAuthorised"),
        REJECT: (lambda: registry.reject(pid, ref), "ProgrammeRejected"),
        ISSUE: (lambda: registry.issue(pid, payload["amount"], ref), "CreditsIssued"),
        CERTIFY: (lambda: registry.certify(pid, payload["certifier_id"], ref), "ProgrammeCertified"),
        REVOKE: (lambda: registry.revoke_certification(pid, payload["certifier_id"], ref), "CertificationRevoked"),
    }
    if row.operation == materials.DETAILS:
        applied = materials.anchor(context, conn, row)
        noted = {"details_hash": payload["details_hash"], "remarks": payload["remarks"]}
    else:
        write, event_name = writes[row.operation]
        applied = changes.send(context, conn, write, ref, event_name)
        noted = {k: v for k, v in payload.items() if v is not None}
    view = get_programme(conn, None, pid)
    actor = Principal(**row.requested_by) if row.requested_by else None
    audit.record(conn, actor, f"programme.{row.operation}", organisation_id=actor.organisation_id if actor else None,
                 target_id=pid, tx_hash=applied.tx_hash, **noted)  # fmt: skip
    _notify(context, conn, row.operation, view, payload)
    return {"programme": jsonable(view), "tx_hash": applied.tx_hash, "block_number": applied.block_number,
            "at": conn.execute(select(func.now())).scalar_one().isoformat()}  # fmt: skip


def _notify(context: ProgrammeContext, conn: Connection, operation: str, view: dict[str, Any],
            payload: dict[str, Any]) -> None:  # fmt: skip
    pid = view["programme_id"]
    common = {"programme_id": pid, "title": view["title"] or view["external_id"],
              "owner_ids": [owner["organisation_id"] for owner in view["owners"]],
              "link": programme_link(context, pid)}  # fmt: skip
    settings = context.settings
    if operation == AUTHORISE:
        notifications.programme_authorised(conn, settings, serial_number=view["serial_number"] or "",
                                           issued=payload["issue_amount"], **common)  # fmt: skip
    elif operation == REJECT:
        notifications.programme_rejected(conn, settings, reason=payload["remarks"], **common)
    elif operation == ISSUE:
        notifications.credits_issued(conn, settings, amount=payload["amount"], total_issued=view["credit_issued"],
                                     credit_estimate=view["credit_estimate"], **common)  # fmt: skip
    elif operation == CERTIFY:
        notifications.programme_certified(conn, settings, certifier_id=payload["certifier_id"], **common)
    elif operation == REVOKE:
        notifications.certification_revoked(conn, settings, certifier_id=payload["certifier_id"],
                                            by_government=payload["by_government"], **common)  # fmt: skip


def complete_pending(engine: Engine, settings: Settings, registry: Registry, waiter: IndexWaiter, *,
                     older_than: float = 0.0) -> list[int]:  # fmt: skip
    """Completes programme writes a crash left between the chain and the answer (``registry up``, ADR 0010)."""

    def wait(block: int) -> None:
        if not waiter.wait_for_block(block, settings.index_wait_seconds):
            raise IndexerBehind("Block {block} is not indexed yet.", params={"block": block})

    context = ProgrammeContext(engine, settings, registry, wait)
    return intents.drive_pending(engine, programme_change, partial(complete, context), older_than=older_than)
