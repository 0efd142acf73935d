"""What an organisation holds, per programme, and what the Government's retirement accounts received.

Read from the ``chain`` projections the indexer keeps in step with the contract (``holding``, ``serial_block``,
``account``): a frozen account's credits are all frozen; nothing else reserves credits (a pending request does not:
it is checked again when approved).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, Connection, Executable, ScalarSelect, bindparam, case, func, select

from node.chain.types import ProgrammeStage
from node.credits.permissions import authorize_read_holdings
from node.errors import NotFound
from node.identity.permissions import Principal
from node.models.app import organisation, programme_detail
from node.models.chain import account, holding, programme, registry_state, serial_block

_h, _p, _b = holding.c, programme.c, serial_block.c
AUTHORISED = ProgrammeStage.AUTHORISED.name.lower()
RETIRED = {"retired_international": "international", "retired_local": "local", "retired_omge": "omge"}


def holdings(conn: Connection, principal: Principal, organisation_id: int) -> dict[str, Any]:
    row = conn.execute(select(organisation.c.name).where(organisation.c.organisation_id == organisation_id)).first()
    if row is None:
        raise NotFound("No organisation {organisation_id}.", params={"organisation_id": organisation_id})
    authorize_read_holdings(principal, organisation_id)
    frozen = bool(conn.execute(select(account.c.frozen).where(account.c.account_id == organisation_id)).scalar())
    rows = conn.execute(
        select(_h.programme_id, _h.balance, _h.issued, _h.received, _h.transferred, _h.retired, _p.external_id,
               _p.credit_unit, programme_detail.c.title)
        .join(programme, _p.programme_id == _h.programme_id)
        .outerjoin(programme_detail, programme_detail.c.programme_id == _h.programme_id)
        .where(_h.account_id == organisation_id)
        .order_by(_h.programme_id)
    ).all()  # fmt: skip
    items = [{
        "programme_id": r.programme_id, "title": r.title, "external_id": r.external_id, "credit_unit": r.credit_unit,
        "held": r.balance, "frozen": r.balance if frozen else 0, "available": 0 if frozen else r.balance,
        "issued": r.issued, "received": r.received, "transferred": r.transferred, "retired": r.retired,
    } for r in rows]  # fmt: skip
    totals = {"total_held": sum(i["held"] for i in items), "total_available": sum(i["available"] for i in items)}
    return {"organisation_id": organisation_id, "name": row.name, "frozen": frozen, "items": items, **totals}


def retirement_accounts(conn: Connection) -> dict[str, Any]:
    """The Government's international, local and OMGE accounts: credits retired into each, per programme."""
    government = conn.execute(select(registry_state.c.government_account)).scalar()
    size = _b.block_end - _b.block_start + 1
    rows = conn.execute(
        select(_b.programme_id, *(func.coalesce(func.sum(case((_b.state == state, size), else_=0)), 0).label(name)
                                  for state, name in RETIRED.items()))
        .where(_b.state.in_(RETIRED))
        .group_by(_b.programme_id)
        .order_by(_b.programme_id)
    ).all()  # fmt: skip
    items = [{"programme_id": r.programme_id, **{name: int(getattr(r, name)) for name in RETIRED.values()}}
             for r in rows]  # fmt: skip
    totals = {name: sum(item[name] for item in items) for name in RETIRED.values()}
    return {"government_account": government, "totals": totals, "items": items}


@dataclass(frozen=True)
class Snapshot:
    """What a transfer or retirement is checked against before anything is written, as indexed: the projection is
    what the contract said once the node's own earlier writes were indexed (each answers only then), and the
    contract checks again, so a stale read can only turn into the contract's own refusal."""

    paused: bool
    government_account: int | None
    stage: str
    balance: int


def _snapshot_statement() -> Executable:
    programme_id: BindParameter[Any] = bindparam("p_programme_id")
    account_id: BindParameter[Any] = bindparam("p_account_id")
    return select(
        select(registry_state.c.paused).scalar_subquery().label("paused"),
        select(registry_state.c.government_account).scalar_subquery().label("government_account"),
        select(_p.stage).where(_p.programme_id == programme_id).scalar_subquery().label("stage"),
        select(_h.balance).where(_h.programme_id == programme_id, _h.account_id == account_id)
        .scalar_subquery().label("balance"),
    )  # fmt: skip


_SNAPSHOT = _snapshot_statement()
"""Built once, on every transfer's and retirement's path: keying a statement object cost more than running it."""


def snapshot(conn: Connection, programme_id: int, account_id: int) -> Snapshot:
    """The pause, the Government account, the programme's stage and the account's balance, in one query; 404 if
    there is no such programme."""
    row = conn.execute(_SNAPSHOT, {"p_programme_id": programme_id, "p_account_id": account_id}).one()
    if row.stage is None:
        raise NotFound("No programme {programme_id}.", params={"programme_id": programme_id})
    return Snapshot(bool(row.paused), row.government_account, str(row.stage), int(row.balance or 0))


def programme_title(conn: Connection, programme_id: int) -> str:
    """The programme's title as emails name it: its off-chain title, else its external id."""
    title = conn.execute(select(programme_title_of(programme_id))).scalar()
    return str(title or "")


def programme_title_of(programme_id: Any) -> ScalarSelect[Any]:
    """:func:`programme_title` as a scalar subquery, for a statement that reads it with other things."""
    return (
        select(func.coalesce(programme_detail.c.title, _p.external_id))
        .select_from(programme.outerjoin(programme_detail, programme_detail.c.programme_id == _p.programme_id))
        .where(_p.programme_id == programme_id)
        .scalar_subquery()
    )


def programme_choices(conn: Connection) -> list[tuple[int, str]]:
    """(id, "id · title") of the authorised programmes, by id: only their credits move (a form's choices)."""
    rows = conn.execute(
        select(_p.programme_id, _p.external_id, programme_detail.c.title)
        .outerjoin(programme_detail, programme_detail.c.programme_id == _p.programme_id)
        .where(_p.stage == AUTHORISED).order_by(_p.programme_id)
    )  # fmt: skip
    return [(int(r.programme_id), f"{r.programme_id} · {r.title or r.external_id}") for r in rows]
