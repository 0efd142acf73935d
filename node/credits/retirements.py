"""Retirements and retirement requests (reference §6.4), exactly once (ADR 0014).

The Government's Admins and Managers retire any holder's credits at once: cross-border (receiving country and
beneficiary; the OMGE share to the OMGE account, the rest to the international account), for legal action or for
other reasons (the local account). A legal-action or other retirement covers everything the holder holds of the
programme, as in the reference. A holder's Admins and Managers may only *request* a cross-border retirement of their
own credits: it waits, in PostgreSQL, until the Government recognises it (it executes then) or does not, or the
holder cancels it.

The OMGE rate is the registry's, on chain (ADR 0015). A request records the rate it was made at and executes at
that rate or not at all: the contract refuses a retirement whose stated rate is not its own, and a Government
changing the rate cancels the requests made at another one (their holders were told a different share). The chain
write is a ``programme_change`` (operation ``retire``) that moves the holder's credits in as many calls as its blocks
need (:mod:`node.credits.moves`); the user sees one retirement, with every call's transaction and on-chain
retirement id.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, Select, func, select, update
from sqlalchemy.dialects.postgresql import insert

from node.chain.types import RetirementInput, RetirementType, omge_share
from node.config import Settings
from node.credits import holdings, moves, notifications, settings, tracked
from node.credits.permissions import (
    authorize_cancel_retirement,
    authorize_recognise,
    authorize_retire,
    retires_directly,
    visible_retirements,
)
from node.credits.schemas import Decision, Period, RetirementIn, RetirementKind, within
from node.errors import InvalidInput, InvalidState, NotFound, PreconditionRequired
from node.identity import audit
from node.identity.permissions import ACTIVE, Principal
from node.models.app import credit_retirement, organisation, programme_change
from node.models.chain import retirement as chain_retirement
from node.programmes import changes
from node.programmes.changes import ProgrammeContext
from node.programmes.creation import jsonable

RETIRE = "retire"
STATES = ("pending", "executing", "recognised", "retired", "not_recognised", "cancelled", "failed")
_CHAIN_TYPE = {
    RetirementKind.CROSS_BORDER: RetirementType.CROSS_BORDER,
    RetirementKind.LEGAL_ACTION: RetirementType.LEGAL_ACTION,
    RetirementKind.OTHER: RetirementType.OTHER,
}
_r = credit_retirement.c


def shape(row: Any) -> dict[str, Any]:
    initiator = row.initiated_by or {}
    return {
        "retirement_id": row.retirement_id, "programme_id": row.programme_id, "from_organisation_id": row.from_account,
        "from_name": row.from_name, "retirement_type": row.retirement_type, "country": row.country,
        "beneficiary": row.beneficiary, "amount": row.amount, "omge_bps": row.omge_bps,
        "omge_amount": row.omge_amount, "international_amount": row.amount - row.omge_amount
        if row.retirement_type == RetirementKind.CROSS_BORDER else 0, "state": row.state, "remarks": row.remarks,
        "initiator_organisation_id": row.initiator_organisation_id, "initiator_user_id": initiator.get("user_id"),
        "decision_remarks": row.decision_remarks, "chain_retirement_ids": row.chain_retirement_ids or [],
        "tx_hashes": row.tx_hashes or [], "block_number": row.block_number, "created_at": row.created_at,
        "updated_at": row.updated_at,
    }  # fmt: skip


def _select() -> Any:
    holder = organisation.alias("holder")
    return (select(credit_retirement, holder.c.name.label("from_name"))
            .outerjoin(holder, holder.c.organisation_id == _r.from_account))  # fmt: skip


def _view(conn: Connection, retirement_id: int) -> dict[str, Any]:
    return shape(conn.execute(_select().where(_r.retirement_id == retirement_id)).one())


TRACKED = tracked.Tracked(credit_retirement, _r.retirement_id, "retirement_id", "retirement", _view)


def _row(conn: Connection, retirement_id: int, *, lock: bool = False) -> Row[Any]:
    query = select(credit_retirement).where(_r.retirement_id == retirement_id)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound("No retirement {retirement_id}.", params={"retirement_id": retirement_id})
    return row


def _facts(conn: Connection, settings_: Settings, row: Any) -> dict[str, Any]:
    """What every retirement email says: the retirement, its programme and holder, and a link to it."""
    title = holdings.programme_title(conn, row.programme_id)
    return {"retirement_id": row.retirement_id, "programme_id": row.programme_id, "programme_title": title or "",
            "amount": row.amount, "holder_id": row.from_account, "initiator_id": row.initiator_organisation_id,
            "retirement_type": row.retirement_type, "country": row.country, "beneficiary": row.beneficiary,
            "omge_amount": row.omge_amount,
            "link": f"{settings_.public_url.rstrip('/')}/retirements/{row.retirement_id}"}  # fmt: skip


# ---------------------------------------------------------------------------------------------- checks


@dataclasses.dataclass(frozen=True)
class Checked:
    amount: int
    omge_bps: int


def _check(context: ProgrammeContext, conn: Connection, body: RetirementIn, *, direct: bool,
           omge_bps: int | None = None) -> Checked:  # fmt: skip
    """Every rule that needs the database or the chain, before anything is written; returns the amount to retire
    (all the holder holds when none is given) and the OMGE rate to state."""
    state = holdings.snapshot(conn, body.programme_id, body.from_organisation_id)
    settings.refuse_while_paused(state.paused)
    if state.government_account is None:
        raise InvalidState("The registry has no Government account to retire credits into yet.")
    if state.stage != holdings.AUTHORISED:
        raise InvalidState("Programme {programme_id} is not authorised: its credits cannot be retired.",
                           params={"programme_id": body.programme_id})  # fmt: skip
    holder = conn.execute(select(organisation.c.name, organisation.c.state)
                          .where(organisation.c.organisation_id == body.from_organisation_id)).first()  # fmt: skip
    if holder is None:
        raise InvalidInput("No organisation {organisation_id}.", params={"organisation_id": body.from_organisation_id},
                           field="from_organisation_id")  # fmt: skip
    if holder.state != ACTIVE:
        raise InvalidState("{name} is suspended: its credits cannot be retired.", params={"name": holder.name})
    if body.country is not None and body.country == context.settings.registry_country:
        raise InvalidInput("A cross-border retirement goes to another country than the registry's.", field="country")
    balance = state.balance
    amount = balance if body.amount is None else body.amount
    if balance == 0:
        raise InvalidState("{name} holds no credits of programme {programme_id}.",
                           params={"name": holder.name, "programme_id": body.programme_id}, available=0)  # fmt: skip
    if amount > balance:
        raise InvalidState("{name} holds {balance} credits of programme {programme_id}, fewer than {amount}.",
                           params={"name": holder.name, "balance": balance, "programme_id": body.programme_id,
                                   "amount": amount}, available=balance)  # fmt: skip
    if direct and body.retirement_type != RetirementKind.CROSS_BORDER and amount != balance:
        if body.retirement_type == RetirementKind.LEGAL_ACTION:
            raise InvalidInput("A retirement for legal action covers everything the holder holds: {balance} credits.",
                               params={"balance": balance}, field="amount", available=balance)  # fmt: skip
        raise InvalidInput("A retirement for other reasons covers everything the holder holds: {balance} credits.",
                           params={"balance": balance}, field="amount", available=balance)  # fmt: skip
    rate = context.registry.omge_rate() if body.retirement_type == RetirementKind.CROSS_BORDER else 0
    if omge_bps is not None and omge_bps != rate:
        raise InvalidState("The OMGE rate is now {rate} bps, not the {omge_bps} bps this request was made at: it "
                           "must be made again.", params={"rate": rate, "omge_bps": omge_bps},
                           omge_rate_bps=rate)  # fmt: skip
    return Checked(amount, rate)


def _body(row: Any) -> RetirementIn:
    return RetirementIn(programme_id=row.programme_id, from_organisation_id=row.from_account,
                        retirement_type=row.retirement_type, amount=row.amount, country=row.country,
                        beneficiary=row.beneficiary)  # fmt: skip


# ---------------------------------------------------------------------------------------------- writes


def create(context: ProgrammeContext, principal: Principal, body: RetirementIn, key: str | None) -> dict[str, Any]:
    """Retires (the Government) or requests a cross-border retirement (the holder); returns it as the API shows it."""
    authorize_retire(principal, body.from_organisation_id, body.retirement_type == RetirementKind.CROSS_BORDER)
    if key is None:
        raise PreconditionRequired("A retirement needs an Idempotency-Key header, so that a retry cannot retire twice.")
    key = changes.clean_key(key)
    request = body.model_dump(mode="json")
    digest = changes.request_hash(RETIRE, body.programme_id, request)
    direct = retires_directly(principal)
    with context.engine.connect() as conn:
        existing = changes.find(conn, principal, RETIRE, key)
        if existing is not None:
            changes.check_same_request(existing, digest)
            return tracked.finish(context, TRACKED, int(existing.change_id))
        checked = _check(context, conn, body, direct=direct)
    try:
        with context.engine.begin() as conn:
            change_id, view = _record(context, conn, principal, body, (key, digest, request), checked, direct)
    except changes.Recorded as recorded:  # a concurrent request with the same key recorded it first
        return tracked.finish(context, TRACKED, recorded.change_id)
    return view if view is not None else tracked.run(context, TRACKED, change_id)


def _record(
    context: ProgrammeContext, conn: Connection, principal: Principal, body: RetirementIn,
    idempotency: tuple[str | None, bytes, dict[str, Any]], checked: Checked, direct: bool,
) -> tuple[int, dict[str, Any] | None]:  # fmt: skip
    """Records the retirement and its change in the caller's transaction. A holder's request is parked and answered
    at once (its view); the Government's runs once this commits (no view yet)."""
    key, digest, request = idempotency
    retirement_id = conn.execute(insert(credit_retirement).values(
        programme_id=body.programme_id, from_account=body.from_organisation_id,
        retirement_type=body.retirement_type.value, country=body.country, beneficiary=body.beneficiary,
        amount=checked.amount, omge_bps=checked.omge_bps, omge_amount=omge_share(checked.amount, checked.omge_bps),
        state="executing" if direct else "pending", remarks=body.remarks,
        initiated_by=dataclasses.asdict(principal), initiator_organisation_id=principal.organisation_id,
    ).returning(_r.retirement_id)).scalar_one()  # fmt: skip
    payload = {"retirement_id": retirement_id, "recognised": False, "omge_bps": checked.omge_bps,
               "amount": checked.amount, "request": request}  # fmt: skip
    change_id, created = changes.record_in(conn, principal, RETIRE, body.programme_id, key, digest, payload)
    if not created:
        raise changes.Recorded(change_id)
    conn.execute(update(credit_retirement).where(_r.retirement_id == retirement_id).values(change_id=change_id))
    if direct:
        return change_id, None
    # Nothing goes on chain until the Government recognises it: the change is parked; the answer is the request.
    view = _view(conn, retirement_id)
    conn.execute(update(programme_change).where(programme_change.c.change_id == change_id)
                 .values(status="parked", result={"retirement": jsonable(view)}))  # fmt: skip
    notifications.retirement_requested(conn, context.settings,
                                       **_facts(conn, context.settings, _row(conn, retirement_id)))  # fmt: skip
    return change_id, view


def complete(context: ProgrammeContext, conn: Connection, row: Row[Any]) -> dict[str, Any]:
    """The change's step: the chain retirement (in parts if need be), then the new state and the auto-cancel."""
    from node.credits.transfers import cancel_what_no_longer_fits

    payload, ref = row.payload, bytes(row.request_ref)
    retirement = _row(conn, payload["retirement_id"])
    pid, holder = retirement.programme_id, retirement.from_account
    details = RetirementInput(_CHAIN_TYPE[RetirementKind(retirement.retirement_type)], retirement.country or "",
                              retirement.beneficiary or "", payload["omge_bps"])  # fmt: skip
    moved = moves.execute(
        context, conn, ref=ref, programme_id=pid, holder=holder, amount=payload["amount"], event_name="CreditsRetired",
        write=lambda size, part, gas: context.registry.retire(pid, holder, size, details, part, gas=gas),
        projection=chain_retirement, retry=row.attempts > 0,
    )  # fmt: skip
    on_chain = conn.execute(select(chain_retirement.c.retirement_id, chain_retirement.c.omge_amount)
                            .where(chain_retirement.c.request_ref.in_(moved.refs))
                            .order_by(chain_retirement.c.retirement_id)).all()  # fmt: skip
    conn.execute(update(credit_retirement).where(_r.retirement_id == retirement.retirement_id).values(
        state="recognised" if payload["recognised"] else "retired", tx_hashes=moved.tx_hashes,
        chain_retirement_ids=[r.retirement_id for r in on_chain], omge_amount=sum(r.omge_amount for r in on_chain),
        block_number=moved.last.block_number, updated_at=func.now(),
    ))  # fmt: skip
    facts = _facts(conn, context.settings, _row(conn, retirement.retirement_id))
    if payload["recognised"]:
        notifications.retirement_recognised(conn, context.settings, **facts)
    else:
        notifications.credits_retired(conn, context.settings, **facts)
    cancel_what_no_longer_fits(conn, context.settings, pid, holder)
    actor = Principal(**(payload.get("recognised_by") or row.requested_by))
    audit.record(conn, actor, "credits.retire", organisation_id=holder, target_id=retirement.retirement_id,
                 programme_id=pid, retirement_type=retirement.retirement_type, amount=payload["amount"],
                 tx_hashes=moved.tx_hashes)  # fmt: skip
    return {"retirement": jsonable(_view(conn, retirement.retirement_id)), "tx_hash": moved.last.tx_hash,
            "block_number": moved.last.block_number}  # fmt: skip


def recognise(context: ProgrammeContext, principal: Principal, retirement_id: int, body: Decision) -> dict[str, Any]:
    """The Government recognises a request: it executes now. Recognising again, or after a crash, completes it once."""
    authorize_recognise(principal)
    with context.engine.connect() as conn:
        row = _row(conn, retirement_id)
        if row.state in ("executing", "recognised") and row.change_id is not None:
            return tracked.finish(context, TRACKED, int(row.change_id))
        if row.state != "pending":
            raise _not_pending_to_recognise(retirement_id, row.state)
        _check(context, conn, _body(row), direct=False, omge_bps=row.omge_bps)
    decider = dataclasses.asdict(principal)
    return tracked.release(context, TRACKED, retirement_id, decider, body.remarks,
                           {"recognised": True, "recognised_by": decider}, _not_pending_to_recognise)  # fmt: skip


def _not_pending_to_recognise(retirement_id: int, state: str) -> InvalidState:
    return InvalidState("Retirement {retirement_id} is {state}; only a pending request can be recognised.",
                        params={"retirement_id": retirement_id, "state": state})  # fmt: skip


def not_recognise(context: ProgrammeContext, principal: Principal, retirement_id: int,
                  body: Decision) -> dict[str, Any]:  # fmt: skip
    authorize_recognise(principal)
    with context.engine.begin() as conn:
        return _close(conn, context.settings, principal, _row(conn, retirement_id, lock=True), "not_recognised", body)


def cancel(context: ProgrammeContext, principal: Principal, retirement_id: int, body: Decision) -> dict[str, Any]:
    with context.engine.begin() as conn:
        row = _row(conn, retirement_id, lock=True)
        authorize_cancel_retirement(principal, row.initiator_organisation_id)
        return _close(conn, context.settings, principal, row, "cancelled", body)


def _close(conn: Connection, settings_: Settings, principal: Principal, row: Row[Any], state: str,
           body: Decision) -> dict[str, Any]:  # fmt: skip
    if row.state == state:
        return _view(conn, row.retirement_id)  # a retry: the request already ended this way
    if row.state != "pending":
        if state == "not_recognised":
            raise InvalidState("Retirement {retirement_id} is {state}; only a pending request can be not recognised.",
                               params={"retirement_id": row.retirement_id, "state": row.state})  # fmt: skip
        raise InvalidState("Retirement {retirement_id} is {state}; only a pending request can be cancelled.",
                           params={"retirement_id": row.retirement_id, "state": row.state})  # fmt: skip
    conn.execute(update(credit_retirement).where(_r.retirement_id == row.retirement_id).values(
        state=state, decided_by=dataclasses.asdict(principal), decision_remarks=body.remarks, updated_at=func.now(),
    ))  # fmt: skip
    facts = _facts(conn, settings_, row)
    if state == "not_recognised":
        notifications.retirement_not_recognised(conn, settings_, remarks=body.remarks, **facts)
    else:
        notifications.retirement_cancelled(conn, settings_, by_system=False, reason=body.remarks, **facts)
    audit.record(conn, principal, f"credits.retirement_{state}", organisation_id=row.from_account,
                 target_id=row.retirement_id, remarks=body.remarks)  # fmt: skip
    return _view(conn, row.retirement_id)


# ---------------------------------------------------------------------------------------------- the registry's own


def _cancel_by_system(conn: Connection, settings_: Settings, condition: Any, reason: str) -> list[int]:
    ids = conn.execute(update(credit_retirement).where(_r.state == "pending", condition)
                       .values(state="cancelled", decision_remarks=reason, updated_at=func.now())
                       .returning(_r.retirement_id)).scalars().all()  # fmt: skip
    ids = sorted(int(i) for i in ids)
    for retirement_id in ids:
        notifications.retirement_cancelled(conn, settings_, by_system=True, reason=reason,
                                           **_facts(conn, settings_, _row(conn, retirement_id)))  # fmt: skip
    return ids


def cancel_unfit(conn: Connection, settings_: Settings, programme_id: int, holder: int, balance: int) -> list[int]:
    """Cancels the holder's pending requests on the programme that its (indexed) ``balance`` no longer covers."""
    return _cancel_by_system(
        conn, settings_, (_r.programme_id == programme_id) & (_r.from_account == holder) & (_r.amount > balance),
        f"Cancelled by the registry: the holder now holds {balance} credits.",
    )  # fmt: skip


def cancel_involving(conn: Connection, settings_: Settings, organisation_id: int) -> list[int]:
    """Cancels the pending requests of an organisation being suspended, in the suspension's transaction."""
    return _cancel_by_system(conn, settings_, _r.from_account == organisation_id,
                             "Cancelled by the registry: the holder was suspended.")  # fmt: skip


def cancel_at_other_rates(conn: Connection, settings_: Settings, omge_bps: int) -> list[int]:
    """Cancels the cross-border requests made at another OMGE rate than the new one: their holders were told
    another share, and the contract would refuse them."""
    return _cancel_by_system(
        conn, settings_, (_r.retirement_type == RetirementKind.CROSS_BORDER.value) & (_r.omge_bps != omge_bps),
        f"Cancelled by the registry: the Government set the OMGE rate to {omge_bps} bps; request it again.",
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------- reads


def get_retirement(conn: Connection, principal: Principal, retirement_id: int) -> dict[str, Any]:
    row = conn.execute(_select().where(_r.retirement_id == retirement_id, visible_retirements(principal))).first()
    if row is None:
        raise NotFound("No retirement {retirement_id}.", params={"retirement_id": retirement_id})
    return shape(row)


@dataclasses.dataclass(frozen=True)
class RetirementFilters:
    """The retirement list's filters; ``created`` bounds the time they were made (from, before)."""

    programme_id: int | None = None
    organisation_id: int | None = None
    """The holder."""
    state: str | None = None
    retirement_type: str | None = None
    created: Period = (None, None)


def select_retirements(principal: Principal, filters: RetirementFilters, *, newest_first: bool) -> Select[Any]:
    """Every retirement ``principal`` may read that matches ``filters``, with the holder's name, by id.

    The one place the list and the CSV export (:mod:`node.exports`) get their rows from, so an export holds exactly
    the rows the caller's list pages would."""
    query = _select().where(visible_retirements(principal))
    conditions: Sequence[tuple[Any, Any]] = (
        (filters.programme_id, _r.programme_id), (filters.organisation_id, _r.from_account),
        (filters.state, _r.state), (filters.retirement_type, _r.retirement_type),
    )  # fmt: skip
    for value, column in conditions:
        if value is not None:
            query = query.where(column == value)
    query = within(query, _r.created_at, filters.created)
    order = _r.retirement_id.desc() if newest_first else _r.retirement_id.asc()
    result: Select[Any] = query.order_by(order)
    return result


def list_retirements(
    conn: Connection, principal: Principal, filters: RetirementFilters, *, after: int | None, limit: int,
    newest_first: bool,
) -> dict[str, Any]:  # fmt: skip
    """A keyset page of the retirements the caller may read, newest first by default."""
    query = select_retirements(principal, filters, newest_first=newest_first)
    if after is not None:
        query = query.where(_r.retirement_id < after if newest_first else _r.retirement_id > after)
    rows = conn.execute(query.limit(limit + 1)).all()
    items = [shape(row) for row in rows[:limit]]
    return {"items": items, "next_cursor": str(items[-1]["retirement_id"]) if len(rows) > limit else None}
