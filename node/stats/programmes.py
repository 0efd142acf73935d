"""Programme statistics by stage or sector, and by certification, in SQL over the summaries (reference §11.2).

Overall figures add the whole months of ``chain.programme_month`` to the facts of the partial months at the ends
of the window; a caller who does not see everything gets the authorised summaries plus the facts of the other
programmes it may see. "Only mine" reads the caller's own rows, which are few, straight from the facts.
Frozen credits (the balances of frozen, i.e. suspended, accounts) are summed in the facts too, by the triggers.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Connection, text

from node.stats.permissions import Scope
from node.stats.schemas import AUTHORISED as SHOWN_AUTHORISED
from node.stats.schemas import (
    DB_STAGE,
    CertificationPart,
    CertificationRow,
    ProgrammeRow,
    Window,
    shown_sector,
    shown_stage,
)
from node.stats.window import Span, whole_window

Dimension = Literal["stage", "sector"] | None
AUTHORISED = "authorised"
SUMS = ("programmes", "credit_estimate", "credit_issued", "credit_retired", "credit_transferred", "credit_frozen",
        "certified_programmes", "certified_estimate", "revoked_programmes", "revoked_estimate")  # fmt: skip
"""The summed columns of ``chain.programme_month``, and of each fact as ``_FACT_SUMS`` selects it."""

_FACT_SUMS = """1 as programmes, credit_estimate, credit_issued, credit_retired, credit_transferred, credit_frozen,
    (certifiers > 0)::int as certified_programmes,
    case when certifiers > 0 then credit_estimate else 0 end as certified_estimate,
    (certifiers = 0 and revocations > 0)::int as revoked_programmes,
    case when certifiers = 0 and revocations > 0 then credit_estimate else 0 end as revoked_estimate"""


@dataclass
class Sums:
    """One group's sums; ``held`` is issued − retired overall, the caller's balance under "only mine"."""

    period: Any
    key: str | None
    programmes: int = 0
    credit_estimate: Decimal = Decimal(0)
    credit_issued: Decimal = Decimal(0)
    credit_retired: Decimal = Decimal(0)
    credit_transferred: Decimal = Decimal(0)
    certified_programmes: int = 0
    certified_estimate: Decimal = Decimal(0)
    revoked_programmes: int = 0
    revoked_estimate: Decimal = Decimal(0)
    credit_held: Decimal | None = None
    credit_frozen: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        """SQL sums of counts come back as NUMERIC; the sums of credits stay exact Decimals."""
        self.programmes, self.certified_programmes = int(self.programmes), int(self.certified_programmes)
        self.revoked_programmes = int(self.revoked_programmes)
        for name in ("credit_estimate", "credit_issued", "credit_retired", "credit_transferred",
                     "certified_estimate", "revoked_estimate"):  # fmt: skip
            setattr(self, name, Decimal(getattr(self, name)))


def _key(dimension: Dimension, qualifier: str = "") -> str:
    return f"{qualifier}{dimension}" if dimension else "null::text"


def _filters(window: Window, scope: Scope, qualifier: str = "") -> tuple[str, dict[str, Any]]:
    """The stage filter (``:stage``), with the parameters every query takes."""
    parts: list[str] = []
    params: dict[str, Any] = {"org": scope.organisation_id}
    if window.stage is not None:
        parts.append(f"{qualifier}stage = :stage")
        params["stage"] = DB_STAGE[window.stage]
    return " and ".join(parts) or "true", params


def overall(conn: Connection, scope: Scope, window: Window, dimension: Dimension) -> list[Sums]:
    span = Span.of(window)
    stage_filter, params = _filters(window, scope)
    params |= span.params()
    authorised_only = not scope.everything
    parts = []
    if not (authorised_only and window.stage not in (None, SHOWN_AUTHORISED)):
        restricted = f" and stage = '{AUTHORISED}'" if authorised_only else ""
        if span.use_months:
            parts.append(f"""select {span.month_period()} as period, {_key(dimension)} as key, {", ".join(SUMS)}
                from chain.programme_month where {span.month_condition()} and {stage_filter}{restricted}""")
        edges = span.fact_condition("created_at")
        if edges is not None:
            parts.append(f"""select {span.period("created_at")} as period, {_key(dimension)} as key, {_FACT_SUMS}
                from chain.programme_fact where counted and {edges} and {stage_filter}{restricted}""")
    if scope.extra is not None and window.stage != SHOWN_AUTHORISED:
        parts.append(f"""select {span.period("created_at")} as period, {_key(dimension)} as key, {_FACT_SUMS}
            from chain.programme_fact where counted and {whole_window(span, "created_at")} and {stage_filter}
            and stage <> '{AUTHORISED}' and programme_id in ({scope.extra})""")
    if not parts:
        return []
    sums = ", ".join(f"sum({name})" for name in SUMS)
    rows = conn.execute(text(f"""select period, key, {sums} from ({" union all ".join(parts)}) u
        group by period, key"""), params).all()  # fmt: skip
    groups = {(r[0], r[1]): Sums(r[0], r[1], **dict(zip(SUMS, r[2:], strict=True))) for r in rows}
    for group in groups.values():
        group.credit_held = group.credit_issued - group.credit_retired
    return _ordered(groups)


def mine(conn: Connection, scope: Scope, window: Window, dimension: Dimension) -> list[Sums]:
    """The caller's programmes: a certifier's as they are; anyone else's weighted by its share, with its credits."""
    span = Span.of(window)
    stage_filter, params = _filters(window, scope, "f.")
    params |= span.params()
    where = f"f.counted and {whole_window(span, 'f.created_at')} and {stage_filter}"
    if scope.certifier:
        rows = conn.execute(text(f"""select {span.period("f.created_at")}, {_key(dimension, "f.")},
                count(*), sum(f.credit_estimate), sum(f.credit_issued), sum(f.credit_retired),
                sum(f.credit_transferred), count(*) filter (where f.certifiers > 0),
                coalesce(sum(f.credit_estimate) filter (where f.certifiers > 0), 0),
                count(*) filter (where f.certifiers = 0 and f.revocations > 0),
                coalesce(sum(f.credit_estimate) filter (where f.certifiers = 0 and f.revocations > 0), 0),
                sum(f.credit_frozen)
            from chain.programme_fact f
            where f.programme_id in ({scope.mine}) and {where}
            group by 1, 2"""), params).all()  # fmt: skip
        groups = {}
        for r in rows:
            group = Sums(r[0], r[1], *r[2:11])
            group.credit_held = group.credit_issued - group.credit_retired
            group.credit_frozen = Decimal(r[11])
            groups[(r[0], r[1])] = group
        return _ordered(groups)
    weighted = "f.credit_estimate * o.share_ppm / 1000000"
    rows = conn.execute(text(f"""
        with owned as (select programme_id, share_ppm from chain.programme_owner where account_id = :org),
        held as (select h.programme_id, h.balance, h.issued, h.retired, h.transferred,
                        coalesce(a.frozen, false) as frozen
                 from chain.holding h left join chain.account a on a.account_id = h.account_id
                 where h.account_id = :org)
        select {span.period("f.created_at")}, {_key(dimension, "f.")},
            count(o.programme_id), coalesce(sum({weighted}), 0), coalesce(sum(h.issued), 0),
            coalesce(sum(h.retired), 0), coalesce(sum(h.transferred), 0),
            count(o.programme_id) filter (where f.certifiers > 0),
            coalesce(sum({weighted}) filter (where f.certifiers > 0), 0),
            count(o.programme_id) filter (where f.certifiers = 0 and f.revocations > 0),
            coalesce(sum({weighted}) filter (where f.certifiers = 0 and f.revocations > 0), 0),
            coalesce(sum(h.balance), 0), coalesce(sum(h.balance) filter (where h.frozen), 0)
        from (select programme_id from owned union select programme_id from held) ids
        join chain.programme_fact f on f.programme_id = ids.programme_id
        left join owned o on o.programme_id = f.programme_id
        left join held h on h.programme_id = f.programme_id
        where {where}
        group by 1, 2"""), params).all()  # fmt: skip
    groups = {}
    for r in rows:
        group = Sums(r[0], r[1], *r[2:11])
        group.credit_held, group.credit_frozen = Decimal(r[11]), Decimal(r[12])
        groups[(r[0], r[1])] = group
    return _ordered(groups)


def aggregate(conn: Connection, scope: Scope, window: Window, dimension: Dimension) -> list[Sums]:
    return (mine if window.only_mine else overall)(conn, scope, window, dimension)


def programme_rows(conn: Connection, scope: Scope, window: Window, dimension: Dimension) -> list[ProgrammeRow]:
    return [
        ProgrammeRow(
            period=s.period,
            stage=shown_stage(s.key) if dimension == "stage" and s.key else None,
            sector=shown_sector(s.key) if dimension == "sector" and s.key else None,
            programmes=s.programmes,
            credit_estimate=s.credit_estimate,
            credit_issued=s.credit_issued,
            credit_held=s.credit_held if s.credit_held is not None else Decimal(0),
            credit_retired=s.credit_retired,
            credit_transferred=s.credit_transferred,
            credit_frozen=s.credit_frozen,
        )  # fmt: skip
        for s in aggregate(conn, scope, window, dimension)
    ]


def certification_rows(conn: Connection, scope: Scope, window: Window) -> list[CertificationRow]:
    """Authorised programmes by certification; a certifier's "mine" is what it certified or revoked itself."""
    authorised = window.model_copy(update={"stage": SHOWN_AUTHORISED})
    if window.only_mine and scope.certifier:
        totals = overall(conn, scope, authorised.model_copy(update={"only_mine": False}), None)
        own = _own_certifications(conn, scope, authorised)
        rows = []
        for total in totals:
            certified, revoked = own.get(total.period, ((0, Decimal(0)), (0, Decimal(0))))
            rows.append(_certification(total.period, total.programmes, total.credit_estimate, certified, revoked))
        return rows
    return [
        _certification(
            s.period,
            s.programmes,
            s.credit_estimate,
            (s.certified_programmes, s.certified_estimate),
            (s.revoked_programmes, s.revoked_estimate),
        )  # fmt: skip
        for s in aggregate(conn, scope, authorised, None)
    ]


def _own_certifications(
    conn: Connection, scope: Scope, window: Window
) -> dict[Any, tuple[tuple[int, Decimal], tuple[int, Decimal]]]:
    span = Span.of(window)
    rows = conn.execute(text(f"""select {span.period("f.created_at")},
            count(*) filter (where c.certified), coalesce(sum(f.credit_estimate) filter (where c.certified), 0),
            count(*) filter (where not c.certified),
            coalesce(sum(f.credit_estimate) filter (where not c.certified), 0)
        from chain.programme_certifier c join chain.programme_fact f on f.programme_id = c.programme_id
        where c.certifier_id = :org and f.counted and f.stage = '{AUTHORISED}'
            and {whole_window(span, "f.created_at")}
        group by 1"""), {"org": scope.organisation_id, **span.params()}).all()  # fmt: skip
    return {r[0]: ((int(r[1]), Decimal(r[2])), (int(r[3]), Decimal(r[4]))) for r in rows}


def _certification(period: Any, programmes: int, estimate: Decimal, certified: tuple[int, Decimal],
                   revoked: tuple[int, Decimal]) -> CertificationRow:  # fmt: skip
    return CertificationRow(
        period=period,
        certified=CertificationPart(programmes=certified[0], credit_estimate=certified[1]),
        revoked=CertificationPart(programmes=revoked[0], credit_estimate=revoked[1]),
        uncertified=CertificationPart(
            programmes=programmes - certified[0] - revoked[0], credit_estimate=estimate - certified[1] - revoked[1]
        ),  # fmt: skip
    )


def _ordered(groups: dict[tuple[Any, Any], Sums]) -> list[Sums]:
    return [groups[k] for k in sorted(groups, key=lambda k: (str(k[0]), str(k[1])))]
