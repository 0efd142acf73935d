"""Where programmes are, and where retired credits went (``*_PROGRAMME_LOCATION``, ``*_TRANSFER_LOCATION``).

Programme locations are the resolved regions of ``chain.programme_location`` (the indexer's location worker),
one GeoJSON point per distinct coordinate and stage with its programme count, as the reference. Cross-border
retirements count once executed on chain (recognised, or retired by the Government at once), by receiving country.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from node.stats.permissions import Scope
from node.stats.schemas import AUTHORISED as SHOWN_AUTHORISED
from node.stats.schemas import DB_STAGE, CountryRow, Feature, FeatureCollection, Window, shown_stage
from node.stats.window import Span, whole_window

AUTHORISED = "authorised"


def programme_locations(conn: Connection, scope: Scope, window: Window) -> FeatureCollection:
    """Whole months (or all time) from ``location_month`` / ``location_total``, partial months and the caller's own
    programmes from ``location_fact`` (one row per programme and distinct point, kept by triggers)."""
    span = Span.of(window.model_copy(update={"group_by": None}))  # a map has no series
    params: dict[str, Any] = {"org": scope.organisation_id, **span.params()}
    stage = ""
    if window.stage is not None:
        stage, params["stage"] = " and stage = :stage", DB_STAGE[window.stage]
    facts = f"select stage, longitude, latitude, 1 as programmes from chain.location_fact where true{stage}"
    parts = []
    if window.only_mine:
        certified = "select programme_id from chain.programme_certifier where certifier_id = :org and certified"
        mine = scope.mine if scope.certifier else f"{scope.mine} union {certified}"
        parts.append(f"{facts} and {whole_window(span, 'created_at')} and programme_id in ({mine})")
    else:
        authorised_only = not scope.everything
        if not (authorised_only and window.stage not in (None, SHOWN_AUTHORISED)):
            restricted = f" and stage = '{AUTHORISED}'" if authorised_only else ""
            cells = "select stage, longitude, latitude, programmes from chain"
            if span.start is None and span.end is None:
                parts.append(f"{cells}.location_total where true{stage}{restricted}")
            else:
                if span.use_months:
                    parts.append(f"{cells}.location_month where {span.month_condition()}{stage}{restricted}")
                edges = span.fact_condition("created_at")
                if edges is not None:
                    parts.append(f"{facts} and {edges}{restricted}")
        if scope.extra is not None and window.stage != SHOWN_AUTHORISED:
            parts.append(f"{facts} and {whole_window(span, 'created_at')} and stage <> '{AUTHORISED}' "
                         f"and programme_id in ({scope.extra})")  # fmt: skip
    if not parts:
        return FeatureCollection(features=[])
    rows = conn.execute(text(f"""select stage, longitude, latitude, sum(programmes)
        from ({" union all ".join(parts)}) u group by 1, 2, 3 having sum(programmes) > 0
        order by 1, 2, 3"""), params).all()  # fmt: skip
    return FeatureCollection(features=[
        Feature(geometry={"type": "Point", "coordinates": [float(lon), float(lat)]},
                properties={"id": f"{stage}:{lon},{lat}", "count": int(count), "stage": shown_stage(stage).value})
        for stage, lon, lat, count in rows
    ])  # fmt: skip


def retirements_by_country(conn: Connection, scope: Scope, window: Window) -> list[CountryRow]:
    """Executed cross-border retirements per receiving country, by the time they were retired: whole months from
    ``retirement_month``, partial ones from the rows. "Mine": from the caller, or of a programme it certifies
    (reference §11.2), from the rows through their indexes."""
    span = Span.of(window.model_copy(update={"group_by": None, "stage": None}))
    params: dict[str, Any] = {"org": scope.organisation_id, **span.params()}
    rows_of = ("select retirement_id, country, 1 as retirements, amount as credits, amount - omge_amount as "
               "international_credits from chain.retirement where retirement_type = 'cross_border'")  # fmt: skip
    if window.only_mine:
        certified = "select programme_id from chain.programme_certifier where certifier_id = :org and certified"
        window_sql = whole_window(span, "block_time")
        source = (f"{rows_of} and from_account = :org and {window_sql} union "
                  f"{rows_of} and programme_id in ({certified}) and {window_sql}")  # fmt: skip
    else:
        parts = []
        if span.use_months:
            parts.append("select null::bigint, country, retirements, credits, international_credits "
                         f"from chain.retirement_month where {span.month_condition()}")  # fmt: skip
        edges = span.fact_condition("block_time")
        if edges is not None:
            parts.append(f"{rows_of} and {edges}")
        source = " union all ".join(parts)
    rows = conn.execute(text(f"""select country, sum(retirements), sum(credits), sum(international_credits)
        from ({source}) r group by country having sum(retirements) > 0 order by country"""), params).all()  # fmt: skip
    return [CountryRow(country=c, retirements=n, credits=int(a), international_credits=int(i)) for c, n, a, i in rows]
