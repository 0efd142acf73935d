"""Transfers and transfer requests (reference §6.2-6.3), exactly once (ADR 0014).

A holder's Admin or Manager sending its own credits executes at once; anyone else's request waits, in
PostgreSQL, for the sender's Admins or Managers to approve (then it executes), reject, or for the asker to cancel.
The chain write is a ``programme_change`` (operation ``transfer``) recorded in the same transaction as the
transfer's new state, so a crash between the chain and the answer is completed once by a retry or by ``registry
up``. After each executed transfer, the sender's pending requests on that programme that no longer fit its balance
are cancelled (the reference's low-credit auto-cancel). Unlike the seed, credits an organisation received can be
sent on: holdings, not ownership, decide.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BindParameter,
    Connection,
    Executable,
    FromClause,
    Row,
    Select,
    bindparam,
    exists,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert

from node.config import Settings
from node.credits import holdings, moves, notifications, settings, tracked
from node.credits.permissions import (
    authorize_cancel,
    authorize_decide,
    authorize_transfer,
    sends_directly,
    visible_transfers,
)
from node.credits.schemas import Decision, Period, TransferIn, within
from node.errors import InvalidInput, InvalidState, NotFound, PreconditionRequired
from node.identity import audit
from node.identity.permissions import ACTIVE, Principal
from node.models.app import credit_retirement, credit_transfer, organisation, programme_change
from node.models.chain import holding
from node.models.chain import transfer as chain_transfer
from node.programmes import changes
from node.programmes.changes import ProgrammeContext
from node.programmes.creation import jsonable

TRANSFER = "transfer"
_t = credit_transfer.c


def _named(transfers: FromClause) -> Select[Any]:
    """``transfers`` (the table, or a statement's rows) with the sender's and receiver's names, as the API shows a
    transfer; the completion adds the initiator's name and the programme's title to the same shape."""
    o_from, o_to = organisation.alias("sender"), organisation.alias("receiver")
    c = transfers.c
    return select(transfers, o_from.c.name.label("from_name"), o_to.c.name.label("to_name")).select_from(
        transfers.outerjoin(o_from, o_from.c.organisation_id == c.from_account).outerjoin(
            o_to, o_to.c.organisation_id == c.to_account
        )
    )


_VIEW = _named(credit_transfer).where(_t.transfer_id == bindparam("p_transfer_id"))


def _view(conn: Connection, transfer_id: int) -> dict[str, Any]:
    return shape(conn.execute(_VIEW, {"p_transfer_id": transfer_id}).one())


def shape(row: Any) -> dict[str, Any]:
    initiator = row.initiated_by or {}
    return {
        "transfer_id": row.transfer_id, "programme_id": row.programme_id, "from_organisation_id": row.from_account,
        "from_name": row.from_name, "to_organisation_id": row.to_account, "to_name": row.to_name,
        "amount": row.amount, "state": row.state, "remarks": row.remarks,
        "initiator_organisation_id": row.initiator_organisation_id, "initiator_user_id": initiator.get("user_id"),
        "decision_remarks": row.decision_remarks,
        "tx_hash": "0x" + bytes(row.tx_hash).hex() if row.tx_hash is not None else None,
        "tx_hashes": row.tx_hashes or ([] if row.tx_hash is None else ["0x" + bytes(row.tx_hash).hex()]),
        "block_number": row.block_number, "created_at": row.created_at, "updated_at": row.updated_at,
    }  # fmt: skip


def _facts(conn: Connection, settings_: Settings, row: Any, title: str | None = None) -> dict[str, Any]:
    """What every transfer email says: the transfer, its programme and parties, and a link to it. ``title``: the
    programme's, when the caller read it already (else one query)."""
    title = holdings.programme_title(conn, row.programme_id) if title is None else title
    return {"transfer_id": row.transfer_id, "programme_id": row.programme_id, "programme_title": title or "",
            "amount": row.amount, "from_id": row.from_account, "to_id": row.to_account,
            "link": f"{settings_.public_url.rstrip('/')}/transfers/{row.transfer_id}"}  # fmt: skip


TRACKED = tracked.Tracked(credit_transfer, _t.transfer_id, "transfer_id", "transfer", _view)


def _row(conn: Connection, transfer_id: int) -> Row[Any]:
    return conn.execute(select(credit_transfer).where(_t.transfer_id == transfer_id)).one()


# The statements of a transfer, built once: SQLAlchemy works out a statement's cache key per statement object, and
# building and keying one cost more than running it (ADR 0020). Parameters are named after no column: an INSERT or
# UPDATE keeps its columns' names for its own parameters.
_INSERT = insert(credit_transfer).returning(_t.transfer_id)
_LINK_CHANGE = (update(credit_transfer).where(_t.transfer_id == bindparam("p_transfer_id"))
                .values(change_id=bindparam("p_change_id")))  # fmt: skip
_PARTIES = select(organisation.c.organisation_id, organisation.c.name, organisation.c.state).where(
    organisation.c.organisation_id.in_(bindparam("p_ids", expanding=True))
)


def _check(conn: Connection, body: TransferIn) -> None:
    """Every rule that needs the database, before anything is written (the indexed chain state: the contract checks
    again)."""
    state = holdings.snapshot(conn, body.programme_id, body.from_organisation_id)
    settings.refuse_while_paused(state.paused)
    if state.stage != holdings.AUTHORISED:
        raise InvalidState("Programme {programme_id} is not authorised: its credits cannot move.",
                           params={"programme_id": body.programme_id})  # fmt: skip
    found = {r.organisation_id: r for r in conn.execute(
        _PARTIES, {"p_ids": [body.from_organisation_id, body.to_organisation_id]})}  # fmt: skip
    for field, organisation_id in (("from_organisation_id", body.from_organisation_id),
                                   ("to_organisation_id", body.to_organisation_id)):  # fmt: skip
        if organisation_id not in found:
            raise InvalidInput("No organisation {organisation_id}.", params={"organisation_id": organisation_id},
                               field=field)  # fmt: skip
        if found[organisation_id].state != ACTIVE:
            raise InvalidState("{name} is suspended: it can neither send nor receive.",
                               params={"name": found[organisation_id].name})  # fmt: skip
    balance = state.balance  # a request must fit now, too
    if balance < body.amount:
        raise InvalidState("{name} holds {balance} credits of programme {programme_id}, fewer than {amount}.",
                           params={"name": found[body.from_organisation_id].name, "balance": balance,
                                   "programme_id": body.programme_id, "amount": body.amount},
                           available=balance)  # fmt: skip


def create(context: ProgrammeContext, principal: Principal, body: TransferIn, key: str | None) -> dict[str, Any]:
    """Sends (the holder's own Admin or Manager) or requests a transfer; returns it as the API shows it."""
    authorize_transfer(principal, body.from_organisation_id, body.to_organisation_id)
    if key is None:
        raise PreconditionRequired("A transfer needs an Idempotency-Key header, so that a retry cannot send twice.")
    key = changes.clean_key(key)
    request = body.model_dump(mode="json")
    digest = changes.request_hash(TRANSFER, body.programme_id, request)
    direct = sends_directly(principal, body.from_organisation_id)
    try:
        with context.engine.begin() as conn:
            existing = changes.find(conn, principal, TRANSFER, key)
            if existing is not None:
                changes.check_same_request(existing, digest)
                raise changes.Recorded(int(existing.change_id))
            _check(conn, body)
            transfer_id = conn.execute(_INSERT, {
                "programme_id": body.programme_id, "from_account": body.from_organisation_id,
                "to_account": body.to_organisation_id, "amount": body.amount,
                "state": "executing" if direct else "pending", "remarks": body.remarks,
                "initiated_by": dataclasses.asdict(principal), "initiator_organisation_id": principal.organisation_id,
            }).scalar_one()  # fmt: skip
            # A request also gets its change row now: it is the idempotency record of the key; it runs on approval.
            payload = {"transfer_id": transfer_id, "approved": False, **request}
            change_id, created = changes.record_in(conn, principal, TRANSFER, body.programme_id, key, digest, payload)
            if not created:  # a concurrent request with this key got there first: ours is rolled back
                raise changes.Recorded(change_id)
            conn.execute(_LINK_CHANGE, {"p_transfer_id": transfer_id, "p_change_id": change_id})
            if not direct:
                # Nothing goes on chain until the sender approves: the change is parked, its answer is the request.
                view = _view(conn, transfer_id)
                conn.execute(update(programme_change).where(programme_change.c.change_id == change_id)
                             .values(status="parked", result={"transfer": jsonable(view)}))  # fmt: skip
                row = _row(conn, transfer_id)
                notifications.transfer_requested(conn, context.settings, initiator_id=row.initiator_organisation_id,
                                                 **_facts(conn, context.settings, row))  # fmt: skip
                return view
    except changes.Recorded as recorded:  # a retry: answered as the first attempt is answered
        return tracked.finish(context, TRACKED, recorded.change_id)
    return tracked.run(context, TRACKED, change_id)


def complete(context: ProgrammeContext, conn: Connection, row: Row[Any]) -> dict[str, Any]:
    """The change's step: the chain transfer, then the transfer's new state and the low-credit auto-cancel."""
    payload, ref = row.payload, bytes(row.request_ref)
    pid, sender, receiver, amount = (payload["programme_id"], payload["from_organisation_id"],
                                     payload["to_organisation_id"], payload["amount"])  # fmt: skip
    moved = moves.execute(
        context, conn, ref=ref, programme_id=pid, holder=sender, amount=amount, event_name="CreditsTransferred",
        write=lambda size, part, gas: context.registry.transfer(pid, sender, receiver, size, part, gas=gas),
        projection=chain_transfer, retry=row.attempts > 0, receiver=receiver,
    )  # fmt: skip
    applied = moved.last
    done = _executed(conn, payload["transfer_id"], state="approved" if payload["approved"] else "executed",
                     tx_hash=bytes.fromhex(applied.tx_hash[2:]), tx_hashes=moved.tx_hashes,
                     block_number=applied.block_number)  # fmt: skip
    names = {done.from_account: done.from_name, done.to_account: done.to_name,
             done.initiator_organisation_id: done.initiator_name}  # fmt: skip
    facts = _facts(conn, context.settings, done, title=done.programme_title or "") | {"names": names}
    if payload["approved"]:
        notifications.transfer_approved(conn, context.settings, initiator_id=done.initiator_organisation_id,
                                        **facts)  # fmt: skip
    else:
        notifications.credits_sent(conn, context.settings, **facts)
    cancel_what_no_longer_fits(conn, context.settings, pid, sender)
    actor = Principal(**(payload.get("approved_by") or row.requested_by))
    audit.record(conn, actor, "credits.transfer", organisation_id=sender, target_id=payload["transfer_id"],
                 programme_id=pid, to=receiver, amount=amount, tx_hash=applied.tx_hash)  # fmt: skip
    # The row as updated is the final view: the auto-cancel and the audit leave an executed transfer as it is.
    return {"transfer": jsonable(shape(done)), "tx_hash": applied.tx_hash, "block_number": applied.block_number}


def _executed_statement() -> Executable:
    # Parameters named after no column: an UPDATE keeps its columns' names for its own SET parameters.
    done = (update(credit_transfer).where(_t.transfer_id == bindparam("p_transfer_id"))
            .values(state=bindparam("p_state"), tx_hash=bindparam("p_tx_hash"),
                    tx_hashes=bindparam("p_tx_hashes", type_=_t.tx_hashes.type),
                    block_number=bindparam("p_block_number"), updated_at=func.now())
            .returning(*credit_transfer.c).cte("done"))  # fmt: skip
    o_by = organisation.alias("initiator")
    return (
        _named(done)
        .add_columns(o_by.c.name.label("initiator_name"),
                     holdings.programme_title_of(done.c.programme_id).label("programme_title"))
        .outerjoin(o_by, o_by.c.organisation_id == done.c.initiator_organisation_id)
    )  # fmt: skip


_EXECUTED = _executed_statement()
"""Built once: SQLAlchemy works out a statement's cache key per statement object, and for this one (a CTE, three
aliases, a subquery) that cost more than running it (ADR 0020)."""


def _executed(conn: Connection, transfer_id: int, **values: Any) -> Row[Any]:
    """Marks the transfer executed and returns it as :func:`_view` shows it, with its programme's title (as emails
    name it) and its initiator's name: one statement for what the completion reads (ADR 0020). ``values``: the
    new ``state``, ``tx_hash``, ``tx_hashes`` and ``block_number``."""
    parameters = {"p_transfer_id": transfer_id} | {f"p_{name}": value for name, value in values.items()}
    return conn.execute(_EXECUTED, parameters).one()


def _unfit_statement() -> Executable:
    h, r = holding.c, credit_retirement.c
    programme_id: BindParameter[Any] = bindparam("p_programme_id")
    sender: BindParameter[Any] = bindparam("p_sender")
    held = func.coalesce(
        select(h.balance).where(h.programme_id == programme_id, h.account_id == sender).scalar_subquery(), 0
    )
    unfit = [exists().where(table.programme_id == programme_id, table.from_account == sender,
                            table.state == "pending", table.amount > held)
             for table in (_t, r)]  # fmt: skip
    return select(held, *unfit)


_UNFIT = _unfit_statement()
"""The holder's indexed balance, and whether a pending transfer or retirement request of it no longer fits; built
once, as :data:`_EXECUTED`."""


def cancel_what_no_longer_fits(conn: Connection, settings_: Settings, programme_id: int, sender: int) -> None:
    """The reference's low-credit auto-cancel, after every executed transfer or retirement: the holder's pending
    transfer and retirement requests on the programme that its balance no longer covers are cancelled."""
    from node.credits import retirements  # retirements build on transfers

    # One query in the common case (nothing pending that no longer fits), the balance with it.
    balance, transfers_unfit, retirements_unfit = conn.execute(
        _UNFIT, {"p_programme_id": programme_id, "p_sender": sender}
    ).one()
    if transfers_unfit:
        _cancel_unfit_transfers(conn, settings_, programme_id, sender, balance)
    if retirements_unfit:
        retirements.cancel_unfit(conn, settings_, programme_id, sender, balance)


def _cancel_unfit_transfers(conn: Connection, settings_: Settings, programme_id: int, sender: int,
                            balance: int) -> None:  # fmt: skip
    reason = f"Cancelled by the registry: the sender now holds {balance} credits."
    ids = conn.execute(update(credit_transfer).where(
        _t.programme_id == programme_id, _t.from_account == sender, _t.state == "pending", _t.amount > balance,
    ).values(state="cancelled", decision_remarks=reason, updated_at=func.now())
      .returning(_t.transfer_id)).scalars().all()  # fmt: skip
    _tell_cancelled_by_system(conn, settings_, ids, reason)


def _tell_cancelled_by_system(conn: Connection, settings_: Settings, ids: Sequence[int], reason: str) -> None:
    for transfer_id in ids:
        row = _row(conn, transfer_id)
        notifications.transfer_cancelled(conn, settings_, initiator_id=row.initiator_organisation_id,
                                         by_system=True, reason=reason, **_facts(conn, settings_, row))  # fmt: skip


def _pending(conn: Connection, transfer_id: int) -> Row[Any]:
    row = conn.execute(select(credit_transfer).where(_t.transfer_id == transfer_id).with_for_update()).first()
    if row is None:
        raise NotFound("No transfer {transfer_id}.", params={"transfer_id": transfer_id})
    return row


def approve(context: ProgrammeContext, principal: Principal, transfer_id: int, body: Decision) -> dict[str, Any]:
    """The sender approves a request: it executes now. Approving again, or after a crash, completes it once."""
    with context.engine.connect() as conn:
        row = conn.execute(select(credit_transfer).where(_t.transfer_id == transfer_id)).first()
        if row is None:
            raise NotFound("No transfer {transfer_id}.", params={"transfer_id": transfer_id})
        authorize_decide(principal, row.from_account)
        if row.state in ("executing", "approved") and row.change_id is not None:
            return tracked.finish(context, TRACKED, int(row.change_id))
        if row.state != "pending":
            raise _not_pending_to_approve(transfer_id, row.state)
        _check(conn, TransferIn(programme_id=row.programme_id,
                                                     from_organisation_id=row.from_account,
                                                     to_organisation_id=row.to_account, amount=row.amount))  # fmt: skip
    # The parked change becomes a pending intent, with the approval in its payload.
    decider = dataclasses.asdict(principal)
    return tracked.release(context, TRACKED, transfer_id, decider, body.remarks,
                           {"approved": True, "approved_by": decider}, _not_pending_to_approve)  # fmt: skip


def _not_pending_to_approve(transfer_id: int, state: str) -> InvalidState:
    return InvalidState("Transfer {transfer_id} is {state}; only a pending request can be approved.",
                        params={"transfer_id": transfer_id, "state": state})  # fmt: skip


def reject(context: ProgrammeContext, principal: Principal, transfer_id: int, body: Decision) -> dict[str, Any]:
    with context.engine.begin() as conn:
        row = _pending(conn, transfer_id)
        authorize_decide(principal, row.from_account)
        return _close(conn, context.settings, principal, row, "rejected", body)


def cancel(context: ProgrammeContext, principal: Principal, transfer_id: int, body: Decision) -> dict[str, Any]:
    with context.engine.begin() as conn:
        row = _pending(conn, transfer_id)
        authorize_cancel(principal, row.initiator_organisation_id)
        return _close(conn, context.settings, principal, row, "cancelled", body)


def _close(conn: Connection, settings_: Settings, principal: Principal, row: Row[Any], state: str,
           body: Decision) -> dict[str, Any]:  # fmt: skip
    if row.state == state:
        return _view(conn, row.transfer_id)  # a retry: the request already ended this way
    if row.state != "pending":
        if state == "rejected":
            raise InvalidState("Transfer {transfer_id} is {state}; only a pending request can be rejected.",
                               params={"transfer_id": row.transfer_id, "state": row.state})  # fmt: skip
        raise InvalidState("Transfer {transfer_id} is {state}; only a pending request can be cancelled.",
                           params={"transfer_id": row.transfer_id, "state": row.state})  # fmt: skip
    conn.execute(update(credit_transfer).where(_t.transfer_id == row.transfer_id).values(
        state=state, decided_by=dataclasses.asdict(principal), decision_remarks=body.remarks, updated_at=func.now(),
    ))  # fmt: skip
    facts = _facts(conn, settings_, row) | {"initiator_id": row.initiator_organisation_id}
    if state == "rejected":
        notifications.transfer_rejected(conn, settings_, remarks=body.remarks, **facts)
    else:
        notifications.transfer_cancelled(conn, settings_, by_system=False, reason=body.remarks, **facts)
    return _view(conn, row.transfer_id)


STATES = ("pending", "executing", "executed", "approved", "rejected", "cancelled", "failed")


def get_transfer(conn: Connection, principal: Principal, transfer_id: int) -> dict[str, Any]:
    visible = conn.execute(select(_t.transfer_id).where(_t.transfer_id == transfer_id,
                                                        visible_transfers(principal))).first()  # fmt: skip
    if visible is None:
        raise NotFound("No transfer {transfer_id}.", params={"transfer_id": transfer_id})
    return _view(conn, transfer_id)


@dataclasses.dataclass(frozen=True)
class TransferFilters:
    """The transfer list's filters; ``created`` bounds the time they were made (from, before)."""

    programme_id: int | None = None
    organisation_id: int | None = None
    """Sender or receiver."""
    state: str | None = None
    created: Period = (None, None)


def select_transfers(principal: Principal, filters: TransferFilters, *, newest_first: bool) -> Select[Any]:
    """Every transfer ``principal`` may read that matches ``filters``, with both parties' names, by id.

    The one place the list and the CSV export (:mod:`node.exports`) get their rows from, so an export holds exactly
    the rows the caller's list pages would."""
    o_from, o_to = organisation.alias("sender"), organisation.alias("receiver")
    query = (
        select(credit_transfer, o_from.c.name.label("from_name"), o_to.c.name.label("to_name"))
        .outerjoin(o_from, o_from.c.organisation_id == _t.from_account)
        .outerjoin(o_to, o_to.c.organisation_id == _t.to_account)
        .where(visible_transfers(principal))
    )  # fmt: skip
    if filters.programme_id is not None:
        query = query.where(_t.programme_id == filters.programme_id)
    if filters.organisation_id is not None:
        query = query.where((_t.from_account == filters.organisation_id) | (_t.to_account == filters.organisation_id))
    if filters.state is not None:
        query = query.where(_t.state == filters.state)
    query = within(query, _t.created_at, filters.created)
    order = _t.transfer_id.desc() if newest_first else _t.transfer_id.asc()
    result: Select[Any] = query.order_by(order)
    return result


def list_transfers(
    conn: Connection, principal: Principal, filters: TransferFilters, *, after: int | None, limit: int,
    newest_first: bool,
) -> dict[str, Any]:  # fmt: skip
    """A keyset page of the transfers the caller may read, newest first by default."""
    query = select_transfers(principal, filters, newest_first=newest_first)
    if after is not None:
        query = query.where(_t.transfer_id < after if newest_first else _t.transfer_id > after)
    rows = conn.execute(query.limit(limit + 1)).all()
    items = [shape(row) for row in rows[:limit]]
    return {"items": items, "next_cursor": str(items[-1]["transfer_id"]) if len(rows) > limit else None}


def cancel_involving(conn: Connection, settings_: Settings, organisation_id: int) -> list[int]:
    """Cancels every pending request from or to an organisation being suspended (the reference's
    SUSPEND_AUTO_CANCEL), in the suspension's transaction; returns their ids."""
    reason = "Cancelled by the registry: an organisation of this transfer was suspended."
    rows = conn.execute(update(credit_transfer).where(
        _t.state == "pending", (_t.from_account == organisation_id) | (_t.to_account == organisation_id),
    ).values(state="cancelled", updated_at=func.now(), decision_remarks=reason)
      .returning(_t.transfer_id)).scalars().all()  # fmt: skip
    ids = sorted(int(transfer_id) for transfer_id in rows)
    _tell_cancelled_by_system(conn, settings_, ids, reason)
    return ids
