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


def _month_rows(conn: Connection) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(select(chain.programme_month).order_by(*chain.programme_month.c[:3]))]


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
            {"programme_id": p["programme_id"], "account_id": OTHER, "balance": p["credit_issued"] // 3,
             "updated_block": 1} for p in programmes if p["credit_issued"]])  # fmt: skip
        # Churn as the indexer and a reorg make it: stage changes, issuance, certification flips...
        for p in rng.sample(programmes, 60):
            p["stage"], p["credit_issued"] = "authorised", p["credit_estimate"]
            conn.execute(update(chain.programme).where(chain.programme.c.programme_id == p["programme_id"])
                         .values(stage=p["stage"], credit_issued=p["credit_issued"]))  # fmt: skip
        conn.execute(update(chain.programme_certifier).where(chain.programme_certifier.c.certifier_id == 20)
                     .values(certified=~chain.programme_certifier.c.certified))  # fmt: skip
        # ...a reorg: transfers above a block dropped, programmes deleted (cascading) and replayed.
        conn.execute(delete(chain.transfer).where(chain.transfer.c.block_number >= 1300))
        transfers = [t for t in transfers if t["block_number"] < 1300]
        replayed = rng.sample(programmes, 40)
        ids = [p["programme_id"] for p in replayed]
        certifiers = [dict(r._mapping) for r in conn.execute(
            select(chain.programme_certifier).where(chain.programme_certifier.c.programme_id.in_(ids)))]  # fmt: skip
        owners = [dict(r._mapping) for r in conn.execute(
            select(chain.programme_owner).where(chain.programme_owner.c.programme_id.in_(ids)))]  # fmt: skip
        holdings = [dict(r._mapping) for r in conn.execute(
            select(chain.holding).where(chain.holding.c.programme_id.in_(ids)))]  # fmt: skip
        conn.execute(delete(chain.programme).where(chain.programme.c.programme_id.in_(ids)))
        gone = set(ids[:10])  # their creation was in the orphaned blocks: not replayed
        programmes = [p for p in programmes if p["programme_id"] not in gone]
        conn.execute(insert(chain.programme), [p for p in replayed if p["programme_id"] not in gone])
        for rows, table in ((owners, chain.programme_owner), (certifiers, chain.programme_certifier),
                            (holdings, chain.holding)):  # fmt: skip
            kept = [r for r in rows if r["programme_id"] not in gone]
            if kept:
                conn.execute(insert(table), kept)
    return programmes, transfers


def test_the_triggers_keep_the_monthly_summary_equal_to_a_rebuild(engine: Engine, projections: Any) -> None:
    with engine.begin() as conn:
        kept = _month_rows(conn)
        conn.execute(text("select chain.stats_rebuild()"))
        rebuilt = _month_rows(conn)
    assert kept == rebuilt
    assert sum(row[3] for row in kept) == len(projections[0])


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
