"""Registry-wide credit settings the Government controls: the transfer pause (reference §6.1 ``isTransferFrozen``).

The setting lives on chain (the contract refuses transfers and retirements while paused), so the API writes the
chain and answers once the indexer has applied it; there is no database copy to diverge. Pausing a paused registry
is not an error: the answer is the state asked for.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import Connection, select

from node import intents
from node.chain.errors import TransfersNotPaused, TransfersPaused
from node.chain.registry import Registry
from node.errors import Forbidden, InvalidState
from node.identity import audit
from node.identity.permissions import ADMIN, ROOT, Principal, require_writable
from node.models.chain import registry_state
from node.programmes.changes import ProgrammeContext


def authorize_change_settings(principal: Principal) -> None:
    require_writable(principal)
    if not (principal.is_root or (principal.in_government and principal.role in (ROOT, ADMIN))):
        raise Forbidden("Only Root and Government Admins can change the registry's credit settings.")


def read(conn: Connection, registry: Registry) -> dict[str, Any]:
    row = conn.execute(select(registry_state.c.paused, registry_state.c.government_account)).first()
    return {"transfers_paused": bool(row.paused) if row else False,
            "government_account": row.government_account if row else None,
            "omge_rate_bps": registry.omge_rate()}  # fmt: skip


def set_transfer_pause(context: ProgrammeContext, principal: Principal, paused: bool) -> dict[str, Any]:
    authorize_change_settings(principal)
    registry = context.registry
    write = registry.pause_transfers if paused else registry.unpause_transfers
    # Already in the state asked for: nothing to write (the contract would refuse the repeat).
    intents.apply_once(write, os.urandom(32), in_effect=(TransfersPaused, TransfersNotPaused))
    context.wait_indexed(int(registry.client.rpc(lambda: registry.client.w3.eth.block_number)))
    with context.engine.begin() as conn:
        audit.record(conn, principal, "registry.transfer_pause", organisation_id=principal.organisation_id,
                     target_id=None, paused=paused)  # fmt: skip
        return read(conn, registry)


def set_omge_rate(context: ProgrammeContext, principal: Principal, omge_bps: int) -> dict[str, Any]:
    """The share of every cross-border retirement that goes to the OMGE account (reference §6.4; LIB's default is
    1%, i.e. 100 bps), recorded on chain, where ``retire`` checks it (ADR 0015)."""
    from node.credits import retirements  # retirements read this module's pause

    authorize_change_settings(principal)
    registry = context.registry
    if registry.omge_rate() != omge_bps:
        receipt = registry.set_omge_rate(omge_bps, os.urandom(32))
        context.wait_indexed(int(receipt["blockNumber"]))
    with context.engine.begin() as conn:
        cancelled = retirements.cancel_at_other_rates(conn, context.settings, omge_bps)
        audit.record(conn, principal, "registry.omge_rate", organisation_id=principal.organisation_id,
                     target_id=None, omge_bps=omge_bps, cancelled_retirements=cancelled)  # fmt: skip
        return read(conn, registry)


def refuse_while_paused(paused: bool) -> None:
    """Transfers are checked against the pause before anything is recorded (the contract checks it again)."""
    if paused:
        raise InvalidState("Transfers and retirements are paused registry-wide by the Government.")
