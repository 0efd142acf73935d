"""The analytics summaries (ADR 0018) against brute force, on synthetic projections spread over three years.

The triggers must keep ``chain.programme_month`` equal to a rebuild from scratch through every write the indexer
and a reorg make (upserts, stage changes, certification flips, programme deletes cascading to their certifiers,
replays, transfer deletes); and every window, split into whole months and partial ends, must give what summing the
programmes one by one in Python gives, for a caller who sees everything and for one who sees the authorised
programmes plus its own.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, delete, insert, select, text, update

from node.models import chain
from node.programmes.queries import STAGES as STAGES_SHOWN
from node.stats.geography import programme_locations, retirements_by_country
from node.stats.permissions import OWNED, Scope
from node.stats.programmes import overall
from node.stats.schemas import DB_STAGE, GroupBy, Stage, Window

STAGES = ("awaiting_authorization", "authorised", "rejected")
SECTORS = ("energy", "forestry", "waste", "agriculture")
START = datetime(2024, 1, 1, tzinfo=UTC)
DEVELOPER, OTHER = 7, 8
EVERYTHING = Scope(organisation_id=0, everything=True, extra=None, certifier=False, officer=True)
DEVELOPER_VIEW = Scope(organisation_id=DEVELOPER, everything=False, extra=OWNED, certifier=False, officer=False)


def _programme(pid: int, rng: random.Random) -> dict[str, Any]:
    """A programme row as the indexer writes it, created at a random time in 2024-2026."""
    estimate = rng.randint(1, 10_000)
    stage = rng.choice(STAGES)
    issued = rng.randint(0, estimate) if stage == "authorised" else 0
    return {"programme_id": pid, "external_id": f"P-{pid}", "stage": stage, "sector": rng.choice(SECTORS),
            "sectoral_scope": 1, "country": "NG", "credit_unit": "tCO2e", "start_time": START, "end_time": START,
            "credit_estimate": estimate, "credit_issued": issued, "credit_retired": rng.randint(0, issued),
            "created_block": pid, "updated_block": pid,
            "created_at": START + timedelta(seconds=rng.randint(0, 3 * 365 * 86400))}  # fmt: skip


SUMMARY_TABLES = {t.name: t for t in (chain.programme_month, chain.location_month, chain.location_total,
                                       chain.retirement_month)}  # fmt: skip
SUMMARIES = (chain.programme_month, chain.location_month, chain.location_total, chain.retirement_month)
POINTS = [(3.4, 6.5), (7.5, 9.1), (3.4, 6.5)]
"""Positions 0 and 2 resolve to the same point: a programme counts once per point."""


def _summary_rows(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    keyed = {table.name: list(table.primary_key.columns) for table in SUMMARIES}
    return {name: [tuple(r) for r in conn.execute(select(SUMMARY_TABLES[name]).order_by(*keys))]
            for name, keys in keyed.items()}  # fmt: skip


@pytest.fixture
def projections(engine: Engine, clean_chain_schema: None) -> Any:
    """300 programmes, their owners, certifications, transfers and frozen holdings, then a reorg's worth of churn."""
    rng = random.Random(20261201)
    programmes = [_programme(pid, rng) for pid in range(1, 301)]
    with engine.begin() as conn:
        conn.execute(insert(chain.programme), programmes)
        conn.execute(insert(chain.programme_owner), [
            {"programme_id": p["programme_id"], "position": 0, "account_id": rng.choice((DEVELOPER, OTHER)),
             "share_ppm": 10**6} for p in programmes])  # fmt: skip
        conn.execute(insert(chain.programme_certifier), [
            {"programme_id": p["programme_id"], "certifier_id": c, "certified": rng.random() < 0.6, "updated_block": 1}
            for p in programmes if p["stage"] == "authorised" for c in rng.sample((20, 21, 22), rng.randint(0, 2))
        ])  # fmt: skip
        transfers: list[dict[str, Any]] = [{"tx_hash": bytes([i % 256]) * 32, "log_index": i, "block_number": 1000 + i,
                      "programme_id": rng.randint(1, 300), "from_account": DEVELOPER, "to_account": OTHER,
                      "amount": rng.randint(1, 500), "request_ref": b"r" * 32, "ranges": []}
                     for i in range(400)]  # fmt: skip
        conn.execute(insert(chain.transfer), transfers)
        accounts = [{"account_id": OTHER, "frozen": True, "updated_block": 1},
                    {"account_id": DEVELOPER, "frozen": False, "updated_block": 1}]  # fmt: skip
        conn.execute(insert(chain.account), accounts)
        conn.execute(insert(chain.holding), [
            {"programme_id": p["programme_id"], "account_id": account, "balance": p["credit_issued"] // 3,
             "updated_block": 1}
            for p in programmes if p["credit_issued"] for account in (OTHER, DEVELOPER)])  # fmt: skip
        conn.execute(insert(chain.programme_location), [
            {"programme_id": p["programme_id"], "position": i, "region_name": f"R{i}", "status": "pending"}
            for p in programmes for i in range(rng.randint(0, 3))])  # fmt: skip
        for i, (longitude, latitude) in enumerate(POINTS):  # the location worker resolves them
            conn.execute(update(chain.programme_location).where(chain.programme_location.c.position == i)
                         .values(status="resolved", longitude=longitude, latitude=latitude))  # fmt: skip
        conn.execute(insert(chain.retirement), [
            {"retirement_id": i, "tx_hash": bytes([i % 256]) * 32, "log_index": i, "block_number": 1000 + 2 * i,
             "programme_id": rng.randint(1, 300), "from_account": DEVELOPER, "government_account": 1,
             "retirement_type": rng.choice(("cross_border", "cross_border", "legal_action")),
             "country": rng.choice(("CH", "JP", "SE")), "amount": rng.randint(1, 90),
             "omge_amount": rng.randint(0, 1),
             "request_ref": b"r" * 32, "ranges": [], "omge_ranges": [],
             "block_time": START + timedelta(seconds=rng.randint(0, 3 * 365 * 86400))}
            for i in range(1, 200)])  # fmt: skip
        # Churn as the indexer and a reorg make it: stage changes, issuance, certification flips...
        for p in rng.sample(programmes, 60):
            p["stage"], p["credit_issued"] = "authorised", p["credit_estimate"]
            conn.execute(update(chain.programme).where(chain.programme.c.programme_id == p["programme_id"])
                         .values(stage=p["stage"], credit_issued=p["credit_issued"]))  # fmt: skip
        conn.execute(update(chain.programme_certifier).where(chain.programme_certifier.c.certifier_id == 20)
                     .values(certified=~chain.programme_certifier.c.certified))  # fmt: skip
        # ...balances move, one account is unfrozen and the other frozen...
        conn.execute(update(chain.holding).where(chain.holding.c.programme_id % 3 == 0)
                     .values(balance=chain.holding.c.balance + 7))  # fmt: skip
        conn.execute(update(chain.account).values(frozen=~chain.account.c.frozen))
        # ...a reorg: transfers above a block dropped, programmes deleted (cascading) and replayed.
        conn.execute(delete(chain.transfer).where(chain.transfer.c.block_number >= 1300))
        conn.execute(delete(chain.retirement).where(chain.retirement.c.block_number >= 1300))
        conn.execute(delete(chain.account).where(chain.account.c.account_id == DEVELOPER))
        conn.execute(insert(chain.account), [{"account_id": DEVELOPER, "frozen": True, "updated_block": 2}])
        transfers = [t for t in transfers if t["block_number"] < 1300]
        replayed = rng.sample(programmes, 40)
        ids = [p["programme_id"] for p in replayed]
        certifiers = [dict(r._mapping) for r in conn.execute(
            select(chain.programme_certifier).where(chain.programme_certifier.c.programme_id.in_(ids)))]  # fmt: skip
        owners = [dict(r._mapping) for r in conn.execute(
            select(chain.programme_owner).where(chain.programme_owner.c.programme_id.in_(ids)))]  # fmt: skip
        holdings = [dict(r._mapping) for r in conn.execute(
            select(chain.holding).where(chain.holding.c.programme_id.in_(ids)))]  # fmt: skip
        locations = [dict(r._mapping) for r in conn.execute(
            select(chain.programme_location).where(chain.programme_location.c.programme_id.in_(ids)))]  # fmt: skip
        conn.execute(delete(chain.programme).where(chain.programme.c.programme_id.in_(ids)))
        gone = set(ids[:10])  # their creation was in the orphaned blocks: not replayed
        programmes = [p for p in programmes if p["programme_id"] not in gone]
        conn.execute(insert(chain.programme), [p for p in replayed if p["programme_id"] not in gone])
        for rows, table in ((owners, chain.programme_owner), (certifiers, chain.programme_certifier),
                            (holdings, chain.holding), (locations, chain.programme_location)):  # fmt: skip
            kept = [r for r in rows if r["programme_id"] not in gone]
            if kept:
                conn.execute(insert(table), kept)
    return programmes, transfers


def test_the_triggers_keep_every_summary_equal_to_a_rebuild(engine: Engine, projections: Any) -> None:
    with engine.begin() as conn:
        kept = _summary_rows(conn)
        conn.execute(text("select chain.stats_rebuild()"))
        rebuilt = _summary_rows(conn)
    assert kept == rebuilt
    assert sum(row[3] for row in kept["programme_month"]) == len(projections[0])
    assert all(kept.values())  # every summary has rows: the comparison is not vacuous


def _expected(conn: Connection, window: Window, scope: Scope, dimension: str) -> dict[tuple[Any, Any], list[Any]]:
    """Summed programme by programme from the plain projections, with no summary and no SQL aggregate."""
    programmes = [dict(r._mapping) for r in conn.execute(select(chain.programme))]
    owned = {r.programme_id for r in conn.execute(select(chain.programme_owner).where(
        chain.programme_owner.c.account_id == scope.organisation_id))}  # fmt: skip
    transferred: dict[int, int] = defaultdict(int)
    for t in conn.execute(select(chain.transfer)):
        transferred[t.programme_id] += t.amount
    frozen: dict[int, int] = defaultdict(int)
    frozen_accounts = {a.account_id for a in conn.execute(select(chain.account).where(chain.account.c.frozen))}
    for h in conn.execute(select(chain.holding)):
        if h.account_id in frozen_accounts:
            frozen[h.programme_id] += h.balance
    groups: dict[tuple[Any, Any], list[Any]] = {}
    for p in programmes:
        at = p["created_at"]
        if (window.created_from and at < window.created_from) or (
            window.created_before and at >= window.created_before
        ):
            continue
        if window.stage and p["stage"] != DB_STAGE[window.stage]:
            continue
        if not scope.everything and p["stage"] != "authorised" and p["programme_id"] not in owned:
            continue
        period = None
        if window.group_by is GroupBy.MONTH:
            period = at.date().replace(day=1)
        elif window.group_by is GroupBy.YEAR:
            period = at.date().replace(month=1, day=1)
        group = groups.setdefault((period, p[dimension]), [0, 0, 0, 0, 0, 0])
        pid = p["programme_id"]
        for i, value in enumerate((1, p["credit_estimate"], p["credit_issued"], p["credit_retired"],
                                   transferred[pid], frozen[pid])):  # fmt: skip
            group[i] += value
    return groups


def _windows(rng: random.Random) -> list[Window]:
    month_starts = [datetime(2024 + m // 12, m % 12 + 1, 1, tzinfo=UTC) for m in range(36)]
    windows = [Window(), Window(group_by=GroupBy.YEAR), Window(stage=Stage("Authorised"), group_by=GroupBy.MONTH)]
    for _ in range(25):
        a, b = sorted(rng.sample(range(36), 2))
        start = month_starts[a] + (timedelta(0) if rng.random() < 0.3 else timedelta(hours=rng.randint(1, 600)))
        end = month_starts[b] + (timedelta(0) if rng.random() < 0.3 else timedelta(hours=rng.randint(1, 600)))
        group = rng.choice((None, GroupBy.MONTH, GroupBy.YEAR))
        windows.append(Window(created_from=start if rng.random() < 0.8 else None, created_before=end, group_by=group))
    windows.append(Window(created_from=month_starts[5] + timedelta(days=3), created_before=month_starts[5] +
                          timedelta(days=20)))  # within one month: the facts alone  # fmt: skip
    return windows


@pytest.mark.parametrize("dimension", ["stage", "sector"])
def test_every_window_sums_what_the_programmes_sum_one_by_one(engine: Engine, projections: Any, dimension: str) -> None:
    rng = random.Random(dimension)
    with engine.connect() as conn:
        for window in _windows(rng):
            for scope in (EVERYTHING, DEVELOPER_VIEW):
                got = {(s.period, s.key): [s.programmes, s.credit_estimate, s.credit_issued, s.credit_retired,
                                           s.credit_transferred, s.credit_frozen]
                       for s in overall(conn, scope, window, dimension)}  # type: ignore[arg-type]  # fmt: skip
                expected = _expected(conn, window, scope, dimension)
                assert got == {k: [Decimal(v) if i else v for i, v in enumerate(g)] for k, g in expected.items()}, \
                    (window, scope.everything)  # fmt: skip


def _in(window: Window, at: datetime | None) -> bool:
    if at is None:
        return False
    return not ((window.created_from and at < window.created_from) or
                (window.created_before and at >= window.created_before))  # fmt: skip


def test_maps_and_countries_count_what_the_rows_count_one_by_one(engine: Engine, projections: Any) -> None:
    rng = random.Random("maps")
    with engine.connect() as conn:
        programmes = {r.programme_id: r for r in conn.execute(select(chain.programme))}
        owned = {r.programme_id for r in conn.execute(select(chain.programme_owner).where(
            chain.programme_owner.c.account_id == DEVELOPER))}  # fmt: skip
        points = {(r.programme_id, r.longitude, r.latitude) for r in conn.execute(select(chain.programme_location))
                  if r.status == "resolved"}  # fmt: skip
        retirements = list(conn.execute(select(chain.retirement)))
        for window in [Window(), *_windows(rng)]:
            for scope in (EVERYTHING, DEVELOPER_VIEW):
                expected: dict[tuple[Any, ...], int] = defaultdict(int)
                for pid, longitude, latitude in points:
                    p = programmes[pid]
                    visible = scope.everything or p.stage == "authorised" or pid in owned
                    staged = window.stage is None or DB_STAGE[window.stage] == p.stage
                    if visible and staged and _in(window, p.created_at):
                        expected[(STAGES_SHOWN[p.stage], longitude, latitude)] += 1
                got = {(f.properties["stage"], *f.geometry["coordinates"]): f.properties["count"]
                       for f in programme_locations(conn, scope, window).features}  # fmt: skip
                assert got == expected, window
            countries: dict[str, list[int]] = {}
            for r in retirements:
                if r.retirement_type == "cross_border" and _in(window, r.block_time):
                    row = countries.setdefault(r.country, [0, 0, 0])
                    row[0], row[1], row[2] = row[0] + 1, row[1] + r.amount, row[2] + r.amount - r.omge_amount
            got_countries = {c.country: [c.retirements, c.credits, c.international_credits]
                             for c in retirements_by_country(conn, EVERYTHING, window)}  # fmt: skip
            assert got_countries == countries, window
