"""The registry's public figures, for anyone without signing in: programmes by stage, sector and year, the credits
issued, held and retired, and executed cross-border retirements by receiving country.

Only counts are public for programmes not (yet) authorised; estimates and credits are those of authorised
programmes, which every role may read anyway (reference §4.2). Read from the monthly summaries, so the answer costs
the same for ten programmes or a hundred thousand; ``api/stats.py`` serves it with an ETag per indexed block.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlalchemy import Engine, text

from node.programmes.schemas import SectorName
from node.stats.geography import retirements_by_country
from node.stats.permissions import Scope
from node.stats.query import as_of_block, snapshot
from node.stats.schemas import AsOf, CountryRow, Stage, Window, shown_sector, shown_stage


class StageCount(BaseModel):
    stage: Stage
    programmes: int


class SectorTotals(BaseModel):
    sector: SectorName
    programmes: int = Field(description="Authorised programmes")
    credit_estimate: int
    credit_issued: int
    credit_retired: int


class YearTotals(BaseModel):
    year: int = Field(description="UTC year of the programmes' registration")
    programmes: int = Field(description="Programmes registered that year, at any stage")
    authorised_programmes: int
    credit_issued: int = Field(description="Credits issued to the programmes registered that year")
    credit_retired: int


class CreditTotals(BaseModel):
    issued: int
    held: int = Field(description="Issued and not retired")
    retired: int
    transferred: int = Field(description="Volume of transfers between accounts")


class PublicStats(AsOf):
    programmes_by_stage: list[StageCount]
    programmes_by_sector: list[SectorTotals]
    programmes_by_year: list[YearTotals]
    credits: CreditTotals
    retirements_by_country: list[CountryRow]


EVERYONE = Scope(organisation_id=0, everything=True, extra=None, certifier=False, officer=False)


def public_stats(engine: Engine) -> PublicStats:
    with snapshot(engine) as conn:
        as_of = as_of_block(conn)
        stages = conn.execute(text("""select stage, sum(programmes) from chain.programme_month
            group by stage order by stage""")).all()  # fmt: skip
        sectors = conn.execute(text("""select sector, sum(programmes), sum(credit_estimate), sum(credit_issued),
            sum(credit_retired) from chain.programme_month where stage = 'authorised'
            group by sector order by sector""")).all()  # fmt: skip
        years = conn.execute(text("""select extract(year from month)::int, sum(programmes),
            coalesce(sum(programmes) filter (where stage = 'authorised'), 0), sum(credit_issued), sum(credit_retired)
            from chain.programme_month group by 1 order by 1""")).all()  # fmt: skip
        credits = conn.execute(text("""select coalesce(sum(credit_issued), 0), coalesce(sum(credit_retired), 0),
            coalesce(sum(credit_transferred), 0) from chain.programme_month""")).one()  # fmt: skip
        countries = retirements_by_country(conn, EVERYONE, Window())
    return PublicStats(
        **as_of.model_dump(),
        programmes_by_stage=[StageCount(stage=shown_stage(s), programmes=n) for s, n in stages],
        programmes_by_sector=[
            SectorTotals(sector=shown_sector(s), programmes=n, credit_estimate=e, credit_issued=i, credit_retired=r)
            for s, n, e, i, r in sectors
        ],  # fmt: skip
        programmes_by_year=[
            YearTotals(year=y, programmes=n, authorised_programmes=a, credit_issued=i, credit_retired=r)
            for y, n, a, i, r in years
        ],  # fmt: skip
        credits=CreditTotals(
            issued=credits[0], held=credits[0] - credits[1], retired=credits[1], transferred=credits[2]
        ),  # fmt: skip
        retirements_by_country=countries,
    )
