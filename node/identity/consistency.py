"""Does the database say what the chain says about organisations? (``registry reconcile``, ADR 0010).

An organisation is suspended in the database exactly when its chain account is frozen. While a suspension or
activation is pending the chain may legitimately be ahead of the database, so such an organisation is not
compared; the pending change itself is reported once it is older than ``stale_after`` seconds, because by then it
should have been completed (by a retry or by ``suspension.complete_pending``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from node import intents
from node.chain.batch import ViewBatch
from node.chain.registry import Registry
from node.identity.permissions import SUSPENDED
from node.models.app import organisation, organisation_state_change

_o = organisation.c
_c = organisation_state_change.c


@dataclass(frozen=True)
class Divergence:
    """One disagreement: ``database`` and ``chain`` are what each side says (a stale change: its last error, None)."""

    organisation_id: int
    what: str
    database: Any
    chain: Any

    def __str__(self) -> str:
        return f"organisation {self.organisation_id} {self.what}: database={self.database!r} chain={self.chain!r}"


def organisation_divergences(engine: Engine, registry: Registry, *, stale_after: float = 300.0) -> list[Divergence]:
    """Every organisation whose state differs from its chain account's frozen flag, and every suspension or
    activation still pending ``stale_after`` seconds after it was requested. Empty when all agree.

    The database is read before and after the chain, and only a disagreement seen both times is reported, so a
    change completing during the check is not taken for one.
    """
    with engine.connect() as conn:
        stale = intents.pending(conn, organisation_state_change, older_than=stale_after)
    found = [_stale(change) for change in stale]
    before = _states(engine)
    ids = sorted(before)
    answers = ViewBatch(registry.contract, registry.client.rpc_url).call([("isFrozen", (i,)) for i in ids])
    frozen: dict[int, bool] = dict(zip(ids, answers, strict=True))
    suspects = [i for i in ids if before[i] is not None and (before[i] == SUSPENDED) != frozen[i]]
    after = _states(engine) if suspects else {}
    for organisation_id in suspects:
        state = after.get(organisation_id)
        if state is not None and (state == SUSPENDED) != frozen[organisation_id]:
            chain = "frozen" if frozen[organisation_id] else "not frozen"
            found.append(Divergence(organisation_id, "state", state, chain))
    return found


def _stale(change: Any) -> Divergence:
    since = f"{change.created_at:%Y-%m-%d %H:%M:%S%z}"
    what = f"{change.action} pending since {since} after {change.attempts} attempt(s), last error"
    return Divergence(change.organisation_id, what, change.last_error, None)


def _states(engine: Engine) -> dict[int, str | None]:
    """Each organisation's state, None while a change of it is pending (the chain may be ahead until it is done)."""
    pending = select(_c.organisation_id).where(_c.status == intents.PENDING)
    with engine.connect() as conn:
        rows = conn.execute(select(_o.organisation_id, _o.state, _o.organisation_id.in_(pending).label("busy"))).all()
    return {int(r.organisation_id): None if r.busy else str(r.state) for r in rows}
