"""Answer statistics requests: every statistic of one request read in one snapshot, as of one indexed block.

Why one REPEATABLE READ transaction: the indexer commits a batch of events at a time, so figures read in separate
snapshots could mix two blocks (a transfer counted in one statistic and not in the next). The cursor read first
names the block all of them are as of.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, Engine, text

from node.identity.permissions import Principal
from node.stats import credits, geography, programmes
from node.stats.permissions import Scope, scope_of
from node.stats.schemas import (
    AsOf,
    SingleStat,
    StatData,
    StatRequest,
    StatResult,
    StatsAnswer,
    StatsQuery,
    StatType,
)

PROGRAMME_EVENTS = ("ProgrammeCreated", "ProgrammeAuthorised", "ProgrammeRejected", "CreditsIssued",
                    "CreditsTransferred", "CreditsRetired", "AccountFrozen", "AccountUnfrozen")  # fmt: skip
LAST_EVENTS: dict[StatType, tuple[str, ...]] = {
    StatType.PROGRAMMES_BY_STAGE: PROGRAMME_EVENTS,
    StatType.PROGRAMMES_BY_SECTOR: PROGRAMME_EVENTS,
    StatType.CERTIFICATION: ("ProgrammeCreated", "ProgrammeAuthorised", "ProgrammeCertified", "CertificationRevoked"),
    StatType.MY_CREDITS: (
        "CreditsIssued",
        "CreditsTransferred",
        "CreditsRetired",
        "AccountFrozen",
        "AccountUnfrozen",
    ),  # fmt: skip
    StatType.PROGRAMME_LOCATIONS: ("ProgrammeCreated", "ProgrammeAuthorised", "ProgrammeRejected"),
    StatType.RETIREMENTS_BY_COUNTRY: ("CreditsRetired",),
}

Compute = Callable[[Connection, Scope, StatRequest], StatData]
COMPUTE: dict[StatType, Compute] = {
    StatType.PROGRAMMES_BY_STAGE: lambda c, s, r: programmes.programme_rows(c, s, r, "stage"),
    StatType.PROGRAMMES_BY_SECTOR: lambda c, s, r: programmes.programme_rows(c, s, r, "sector"),
    StatType.CERTIFICATION: programmes.certification_rows,
    StatType.MY_CREDITS: lambda c, s, _: credits.my_credits(c, s),
    StatType.PENDING_REQUESTS: lambda c, s, _: credits.pending_requests(c, s),
    StatType.PROGRAMME_LOCATIONS: geography.programme_locations,
    StatType.RETIREMENTS_BY_COUNTRY: geography.retirements_by_country,
}


def answer(engine: Engine, principal: Principal, query: StatsQuery) -> StatsAnswer:
    scope = scope_of(principal)
    with snapshot(engine) as conn:
        as_of = as_of_block(conn)
        stats = {request.key or request.type.value: _one(conn, scope, request) for request in query.stats}
    return StatsAnswer(**as_of.model_dump(), stats=stats)


def answer_one(engine: Engine, principal: Principal, request: StatRequest) -> SingleStat:
    scope = scope_of(principal)
    with snapshot(engine) as conn:
        as_of = as_of_block(conn)
        result = _one(conn, scope, request)
    return SingleStat(**as_of.model_dump(), **dict(result))


def _one(conn: Connection, scope: Scope, request: StatRequest) -> StatResult:
    return StatResult(type=request.type, last=_last(conn, scope, request.type),
                      data=COMPUTE[request.type](conn, scope, request))  # fmt: skip


def snapshot(engine: Engine) -> Connection:
    """A read-only REPEATABLE READ connection (its transaction ends when the ``with`` block closes it)."""
    conn = engine.connect().execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    return conn


def as_of_block(conn: Connection) -> AsOf:
    row = conn.execute(text("""
        select c.block_number,
               coalesce((select timestamp from chain.block where number = c.block_number),
                        (select max(block_time) from chain.event where block_number = c.block_number))
        from chain.indexer_cursor c order by c.block_number desc limit 1""")).first()  # fmt: skip
    return AsOf(as_of_block=None, as_of_time=None) if row is None else AsOf(as_of_block=row[0], as_of_time=row[1])


def latest_event_time(conn: Connection, names: tuple[str, ...]) -> datetime | None:
    """The block time of the latest event of these kinds: one index probe per kind (``ix_event_name_block``)."""
    value: datetime | None = conn.execute(text("""
        select max(e.block_time) from unnest(cast(:names as text[])) as n(name),
        lateral (select block_time from chain.event where chain.event.name = n.name
                 order by block_number desc limit 1) e"""), {"names": list(names)}).scalar()  # fmt: skip
    return value


def _last(conn: Connection, scope: Scope, stat: StatType) -> datetime | None:
    if stat is StatType.PENDING_REQUESTS:
        value: datetime | None = conn.execute(text("""
            select greatest(
                (select max(updated_at) from app.credit_transfer where from_account = :org),
                (select max(updated_at) from app.credit_transfer where initiator_organisation_id = :org),
                (select max(updated_at) from app.credit_retirement where from_account = :org),
                (select max(updated_at) from app.credit_retirement where :officer))"""),
            {"org": scope.organisation_id, "officer": scope.officer}).scalar()  # fmt: skip
        return value
    return latest_event_time(conn, LAST_EVENTS[stat])
