"""Where programmes are, and where retired credits went (``*_PROGRAMME_LOCATION``, ``*_TRANSFER_LOCATION``).

Programme locations are the resolved regions of ``chain.programme_location`` (the indexer's location worker),
one GeoJSON point per distinct coordinate and stage with its programme count, as the reference. Cross-border
retirements count once executed on chain (recognised, or retired by the Government at once), by receiving country.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from node.stats.permissions import Scope
from node.stats.schemas import DB_STAGE, CountryRow, Feature, FeatureCollection, Window, shown_stage
from node.stats.window import Span, whole_window

AUTHORISED = "authorised"


def programme_locations(conn: Connection, scope: Scope, window: Window) -> FeatureCollection:
    span = Span.of(window)
    params = {"org": scope.organisation_id, **span.params()}
    where = [f"f.counted and {whole_window(span, 'f.created_at')}"]
    if window.stage is not None:
        where.append("f.stage = :stage")
        params["stage"] = DB_STAGE[window.stage]
    if window.only_mine:
        certified = "select programme_id from chain.programme_certifier where certifier_id = :org and certified"
        mine = scope.mine if scope.certifier else f"{scope.mine} union {certified}"
        where.append(f"f.programme_id in ({mine})")
    elif not scope.everything:
        extra = f" or f.programme_id in ({scope.extra})" if scope.extra else ""
        where.append(f"(f.stage = '{AUTHORISED}'{extra})")
    rows = conn.execute(text(f"""
        select l.longitude, l.latitude, f.stage, count(distinct f.programme_id)
        from chain.programme_location l join chain.programme_fact f on f.programme_id = l.programme_id
        where l.status = 'resolved' and {" and ".join(where)}
        group by l.longitude, l.latitude, f.stage
        order by f.stage, l.longitude, l.latitude"""), params).all()  # fmt: skip
    return FeatureCollection(features=[
        Feature(geometry={"type": "Point", "coordinates": [float(lon), float(lat)]},
                properties={"id": f"{stage}:{lon},{lat}", "count": int(count), "stage": shown_stage(stage).value})
        for lon, lat, stage, count in rows
    ])  # fmt: skip


def retirements_by_country(conn: Connection, scope: Scope, window: Window) -> list[CountryRow]:
    """Executed cross-border retirements per receiving country; "mine": from the caller, or of a programme it
    certifies (reference §11.2)."""
    span = Span.of(window)
    params = {"org": scope.organisation_id, **span.params()}
    where = ["r.retirement_type = 'cross_border'", whole_window(span, "r.block_time")]
    if window.only_mine:
        where.append("(r.from_account = :org or r.programme_id in (select programme_id from "
                     "chain.programme_certifier where certifier_id = :org and certified))")  # fmt: skip
    rows = conn.execute(text(f"""
        select r.country, count(*), sum(r.amount), sum(r.amount - r.omge_amount)
        from chain.retirement r where {" and ".join(where)}
        group by r.country order by r.country"""), params).all()  # fmt: skip
    return [CountryRow(country=c, retirements=n, credits=int(a), international_credits=int(i)) for c, n, a, i in rows]
