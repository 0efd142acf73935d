"""Suspending and reactivating an organisation (reference §6.6): the chain first, then the database.

Suspension freezes the organisation's chain account (its credits can neither move nor retire, and new
issuances to it arrive frozen) and, for a certifier, revokes every certification it holds. Activation unfreezes;
revoked certifications stay revoked, as in the seed.

Every chain write is named by ``(organisation, state_version)``, and the organisation row stays locked until the
database commits. If the process dies between the chain and the commit, the retry sends the same request
references, the contract answers "already applied", and the change completes once.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Connection, func, select, update

from node.chain.batch import ViewBatch
from node.chain.client import request_ref_for
from node.chain.errors import AccountFrozen, AccountNotFrozen, CertificationConflict, RequestAlreadyApplied
from node.chain.registry import Registry
from node.config import Settings
from node.email.outbox import enqueue
from node.errors import InvalidState, NotFound
from node.identity import audit, permissions
from node.identity.permissions import ACTIVE, ADMIN, CERTIFIER, GOVERNMENT, MANAGER, SUSPENDED, Principal
from node.models.app import organisation, user_account

logger = logging.getLogger("registry.identity")
_o = organisation.c


def _lock(conn: Connection, organisation_id: int) -> Any:
    row = conn.execute(select(organisation).where(_o.organisation_id == organisation_id).with_for_update()).first()
    if row is None:
        raise NotFound(f"No organisation {organisation_id}.")
    if row.role == GOVERNMENT:
        raise InvalidState("The Government organisation can never be suspended.")
    return row


def _apply_once(write: Any, *args: Any) -> None:
    """Runs a chain write whose effect may already be there (an earlier attempt, or an operator's own call)."""
    try:
        write(*args)
    except (RequestAlreadyApplied, AccountFrozen, AccountNotFrozen, CertificationConflict) as exc:
        logger.info("chain write %s already in effect: %s", write.__name__, exc.detail)


def certified_programmes(registry: Registry, certifier: int) -> list[int]:
    """Programmes the chain says ``certifier`` certifies now (read from the contract, not the lagging index)."""
    count = int(registry.view("totals")[0])
    batch = ViewBatch(registry.contract, registry.client.rpc_url)
    answers = batch.call([("isCertifiedBy", (pid, certifier)) for pid in range(1, count + 1)])
    return [pid for pid, certified in zip(range(1, count + 1), answers, strict=True) if certified]


def _notify(conn: Connection, settings: Settings, row: Any, template: str, remarks: str | None) -> None:
    """Tells the organisation's Admins and Managers, each in their language."""
    users = conn.execute(
        select(user_account.c.email, user_account.c.name, user_account.c.language)
        .where(user_account.c.organisation_id == row.organisation_id, user_account.c.role.in_((ADMIN, MANAGER)))
    ).all()  # fmt: skip
    for user in users:
        enqueue(conn, settings, to=user.email, language=user.language, template=template, name=user.name,
                organisation=row.name, remarks=remarks or "", certifier=row.role == CERTIFIER)  # fmt: skip


def suspend(
    conn: Connection, settings: Settings, registry: Registry, principal: Principal, organisation_id: int, remarks: str
) -> list[int]:
    """Suspends; returns the programmes whose certification by this organisation was revoked."""
    permissions.authorize_change_organisation_state(principal)
    row = _lock(conn, organisation_id)
    if row.state == SUSPENDED:
        raise InvalidState("The organisation is already suspended.")
    version = row.state_version + 1
    _apply_once(registry.freeze, organisation_id, request_ref_for(f"organisation:{organisation_id}:{version}:freeze"))
    revoked: list[int] = []
    if row.role == CERTIFIER:
        for programme_id in certified_programmes(registry, organisation_id):
            ref = request_ref_for(f"organisation:{organisation_id}:{version}:revoke:{programme_id}")
            _apply_once(registry.revoke_certification, programme_id, organisation_id, ref)
            revoked.append(programme_id)
    conn.execute(update(organisation).where(_o.organisation_id == organisation_id).values(
        state=SUSPENDED, remarks=remarks, state_version=version, updated_at=func.now()))  # fmt: skip
    _notify(conn, settings, row, "organisation_suspended", remarks)
    audit.record(conn, principal, "organisation.suspend", organisation_id=organisation_id, target_id=organisation_id,
                 remarks=remarks, revoked_certifications=revoked)  # fmt: skip
    return revoked


def activate(
    conn: Connection, settings: Settings, registry: Registry, principal: Principal, organisation_id: int,
    remarks: str | None,
) -> None:  # fmt: skip
    permissions.authorize_change_organisation_state(principal)
    row = _lock(conn, organisation_id)
    if row.state == ACTIVE:
        raise InvalidState("The organisation is already active.")
    version = row.state_version + 1
    _apply_once(
        registry.unfreeze, organisation_id, request_ref_for(f"organisation:{organisation_id}:{version}:unfreeze")
    )
    conn.execute(update(organisation).where(_o.organisation_id == organisation_id).values(
        state=ACTIVE, remarks=remarks, state_version=version, updated_at=func.now()))  # fmt: skip
    _notify(conn, settings, row, "organisation_reactivated", remarks)
    audit.record(conn, principal, "organisation.activate", organisation_id=organisation_id, target_id=organisation_id,
                 remarks=remarks)  # fmt: skip
