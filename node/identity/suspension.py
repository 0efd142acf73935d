"""Suspending and reactivating an organisation (reference §6.6): the chain first, then the database.

Suspension freezes the organisation's chain account (its credits can neither move nor retire, and new
issuances to it arrive frozen) and, for a certifier, revokes every certification it holds. Activation unfreezes;
revoked certifications stay revoked, as in the seed.

A chain write and a database commit cannot be one transaction, so a change is recoverable by design (ADR 0010):

1. every input is validated and the caller authorised before anything is written anywhere;
2. the change's intent (``app.organisation_state_change``: action, remarks, caller, next ``state_version``)
   commits on its own;
3. one transaction then locks the intent, runs the chain writes, named by ``(organisation, state_version)`` so a
   repeat applies nothing twice (ADR 0005), and completes: organisation row, audit event, emails, intent done.

If step 3 fails after a chain write, the intent stays pending and is completed exactly once later: by the next
request for the organisation (which finishes a pending change before it is judged, so it gets the answer it would
have got had nothing failed), or by :func:`complete_pending` at start-up or from a worker.
"""

from __future__ import annotations

import dataclasses
import logging
import unicodedata
from functools import partial
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, insert, select, update

from node import intents
from node.chain.batch import ViewBatch
from node.chain.client import request_ref_for
from node.chain.errors import AccountFrozen, AccountNotFrozen, CertificationConflict
from node.chain.registry import Registry
from node.config import Settings
from node.credits import retirements, transfers
from node.email.outbox import enqueue
from node.errors import InvalidInput, InvalidState, NotFound
from node.identity import audit, permissions
from node.identity.permissions import ACTIVE, ADMIN, CERTIFIER, GOVERNMENT, MANAGER, SUSPENDED, Principal
from node.models.app import organisation, organisation_state_change, user_account

logger = logging.getLogger("registry.identity")
_o = organisation.c
_c = organisation_state_change.c

SUSPEND, ACTIVATE = "suspend", "activate"
_TARGET = {SUSPEND: SUSPENDED, ACTIVATE: ACTIVE}
MAX_REMARKS = 1000
_ALLOWED_CONTROLS = frozenset("\n\t")


def clean_remarks(remarks: str | None, *, required: bool) -> str | None:
    """Remarks as stored, or ``InvalidInput`` before anything is written.

    Remarks go to the database, the audit trail (JSONB) and emails. PostgreSQL refuses NUL and lone surrogates,
    and control characters would garble a plain-text email or a log line; refused here rather than by the database
    after the chain has already changed. Line breaks are kept (``\\r\\n`` becomes ``\\n``), and so are tabs.
    """
    text = (remarks or "").replace("\r\n", "\n").strip()
    if not text:
        if required:
            raise InvalidInput("Remarks are required.", field="remarks")
        return None
    if len(text) > MAX_REMARKS:
        raise InvalidInput("Remarks are at most {limit} characters.", params={"limit": MAX_REMARKS}, field="remarks")
    for char in text:
        if char not in _ALLOWED_CONTROLS and unicodedata.category(char) in ("Cc", "Cs"):
            raise InvalidInput(
                "Remarks cannot contain U+{code} (no control character but newline and tab, no lone surrogate: they "
                "cannot be stored or emailed).", params={"code": f"{ord(char):04X}"}, field="remarks",
            )  # fmt: skip
    return text


def suspend(
    engine: Engine, settings: Settings, registry: Registry, principal: Principal, organisation_id: int, remarks: str
) -> list[int]:
    """Suspends; returns the programmes whose certification by this organisation was revoked.

    Takes the engine, not a connection: the intent and its completion commit in transactions of their own.
    """
    permissions.authorize_change_organisation_state(principal)
    text = clean_remarks(remarks, required=True)
    done = _request(engine, settings, registry, principal, organisation_id, SUSPEND, text)
    return list(done.result["revoked_certifications"])


def activate(
    engine: Engine, settings: Settings, registry: Registry, principal: Principal, organisation_id: int,
    remarks: str | None,
) -> None:  # fmt: skip
    """Activates (unfreezes); the engine as for :func:`suspend`."""
    permissions.authorize_change_organisation_state(principal)
    text = clean_remarks(remarks, required=False)
    _request(engine, settings, registry, principal, organisation_id, ACTIVATE, text)


def complete_pending(engine: Engine, settings: Settings, registry: Registry, *, older_than: float = 0.0) -> list[int]:
    """Completes every suspension or activation left pending (a crash, or a database failure after the chain
    write); returns the change ids completed. Safe to run at any time and from several processes: a change being
    completed elsewhere right now is skipped, and one completed already is not repeated."""
    return intents.drive_pending(engine, organisation_state_change, partial(_complete, settings, registry),
                                 older_than=older_than)  # fmt: skip


# ---------------------------------------------------------------------------------------------------- internals


def _ref(organisation_id: int, version: int, what: str) -> bytes:
    return request_ref_for(f"organisation:{organisation_id}:{version}:{what}")


def _request(
    engine: Engine, settings: Settings, registry: Registry, principal: Principal, organisation_id: int, action: str,
    remarks: str | None,
) -> Row[Any]:  # fmt: skip
    """Records the intent and drives it. A change of the organisation still pending is completed first, so this
    request is judged against the state that change leads to, exactly as if nothing had failed."""
    while True:
        change_id, ours = _record(engine, principal, organisation_id, action, remarks)
        if ours:
            break
        _drive(engine, settings, registry, change_id)
    done = _drive(engine, settings, registry, change_id)
    if done is None:
        raise InvalidState("The chain refused the change: no such change.")
    if done.status != intents.DONE:  # abandoned meanwhile by a concurrent driver
        raise InvalidState("The chain refused the change: {error}.", params={"error": done.last_error})
    return done


def _record(
    engine: Engine, principal: Principal, organisation_id: int, action: str, remarks: str | None
) -> tuple[int, bool]:
    """Commits the intent of this request: (its id, True); or (the id of a change still pending, False)."""
    with engine.begin() as conn:
        row = conn.execute(select(organisation).where(_o.organisation_id == organisation_id).with_for_update()).first()
        if row is None:
            raise NotFound("No organisation {organisation_id}.", params={"organisation_id": organisation_id})
        if row.role == GOVERNMENT:
            raise InvalidState("The Government organisation can never be suspended.")
        earlier = conn.execute(select(_c.change_id).where(_c.organisation_id == organisation_id,
                                                          _c.status == intents.PENDING)).scalar()  # fmt: skip
        if earlier is not None:
            return int(earlier), False
        if row.state == _TARGET[action] == SUSPENDED:
            raise InvalidState("The organisation is already suspended.")
        if row.state == _TARGET[action]:
            raise InvalidState("The organisation is already active.")
        change_id = conn.execute(insert(organisation_state_change).values(
            organisation_id=organisation_id, state_version=row.state_version + 1, action=action, remarks=remarks,
            requested_by=dataclasses.asdict(principal),
        ).returning(_c.change_id)).scalar_one()  # fmt: skip
        return int(change_id), True


def _drive(engine: Engine, settings: Settings, registry: Registry, change_id: int) -> Row[Any] | None:
    return intents.drive(engine, organisation_state_change, change_id, partial(_complete, settings, registry))


def _complete(settings: Settings, registry: Registry, conn: Connection, change: Row[Any]) -> dict[str, Any]:
    """The chain writes and the database completion of one change, in the driver's transaction.

    The organisation row stays locked across the chain writes, as before intents, so nothing else changes the
    organisation in between.
    """
    organisation_id, version = change.organisation_id, change.state_version
    row = conn.execute(select(organisation).where(_o.organisation_id == organisation_id).with_for_update()).one()
    if row.state_version != version - 1:  # one pending change per organisation makes this impossible
        raise RuntimeError(f"Organisation {organisation_id} is at state version {row.state_version}, not {version - 1}")
    result: dict[str, Any] = {}
    if change.action == SUSPEND:
        intents.apply_once(registry.freeze, organisation_id, _ref(organisation_id, version, "freeze"),
                           in_effect=(AccountFrozen,), first=True)  # fmt: skip
        revoked: list[int] = []
        if row.role == CERTIFIER:
            revoked = _revoke_certifications(registry, organisation_id, version)
        result = {"revoked_certifications": revoked,
                  "cancelled_transfers": transfers.cancel_involving(conn, settings, organisation_id),
                  "cancelled_retirements": retirements.cancel_involving(conn, settings, organisation_id)}  # fmt: skip
        template = "organisation_suspended"
    else:
        intents.apply_once(registry.unfreeze, organisation_id, _ref(organisation_id, version, "unfreeze"),
                           in_effect=(AccountNotFrozen,), first=True)  # fmt: skip
        template = "organisation_reactivated"
    conn.execute(update(organisation).where(_o.organisation_id == organisation_id).values(
        state=_TARGET[change.action], remarks=change.remarks, state_version=version, updated_at=func.now()
    ))  # fmt: skip
    _notify(conn, settings, row, template, change.remarks)
    actor = Principal(**change.requested_by) if change.requested_by else None
    audit.record(conn, actor, f"organisation.{change.action}", organisation_id=organisation_id,
                 target_id=organisation_id, remarks=change.remarks, **result)  # fmt: skip
    return result


def _revoke_certifications(registry: Registry, certifier: int, version: int) -> list[int]:
    """Revokes what the (now frozen, so it can gain no new ones) certifier still certifies; returns those plus the
    ones an earlier attempt of this change revoked, read from the chain by their request references, so the audit
    trail names every revocation even when the first attempt's database write was lost."""
    count = int(registry.view("totals")[0])
    batch = ViewBatch(registry.contract, registry.client.rpc_url)
    programmes = range(1, count + 1)
    calls: list[tuple[str, tuple[Any, ...]]] = [("isCertifiedBy", (pid, certifier)) for pid in programmes]
    calls += [("isRequestApplied", (_ref(certifier, version, f"revoke:{pid}"),)) for pid in programmes]
    answers = batch.call(calls)
    certified = [pid for pid, yes in zip(programmes, answers[:count], strict=True) if yes]
    earlier = [pid for pid, yes in zip(programmes, answers[count:], strict=True) if yes]
    for pid in certified:
        intents.apply_once(registry.revoke_certification, pid, certifier, _ref(certifier, version, f"revoke:{pid}"),
                           in_effect=(CertificationConflict,))  # fmt: skip
    return sorted(set(certified) | set(earlier))


def _notify(conn: Connection, settings: Settings, row: Any, template: str, remarks: str | None) -> None:
    """Tells the organisation's Admins and Managers, each in their language."""
    users = conn.execute(
        select(user_account.c.email, user_account.c.name, user_account.c.language)
        .where(user_account.c.organisation_id == row.organisation_id, user_account.c.role.in_((ADMIN, MANAGER)))
    ).all()  # fmt: skip
    for user in users:
        enqueue(conn, settings, to=user.email, language=user.language, template=template, name=user.name,
                organisation=row.name, remarks=remarks or "", certifier=row.role == CERTIFIER)  # fmt: skip
