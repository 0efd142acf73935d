"""Real `registry index` processes: SIGKILL at random moments loses and duplicates nothing; a standby takes
over when the active indexer dies, and two never apply at once."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from bench.load import generate
from indexer.reconcile import reconcile
from indexer.runner import LOCK_KEY
from node.chain.deployment import Deployment
from node.chain.registry import Registry
from node.config import ANVIL_DEV_KEY
from node.models import chain
from node.paths import PROJECT_ROOT
from tests.conftest import authorised_programme, ref
from tests.indexer.processes import IndexerProcess, cursor, wait_for
from tests.indexer.serials import U64_MAX, move_serials_in_every_programme, programmes_across_the_serial_range

pytestmark = pytest.mark.slow


def _chain_log_count(registry: Registry, from_block: int) -> int:
    logs = registry.client.w3.eth.get_logs({"address": registry.contract.address, "fromBlock": from_block,
                                            "toBlock": "latest"})  # fmt: skip
    return len(logs)


def _lock_holders(engine: Engine) -> int:
    """Holders of the indexer's lock in this test's database: ``pg_locks`` lists every database of the server,
    where other tests take advisory locks of their own (login rate limiting, setup)."""
    with engine.connect() as conn:
        return int(conn.execute(text(
            "select count(*) from pg_locks where locktype = 'advisory' and granted and objsubid = 1 "
            "and database = (select oid from pg_database where datname = current_database()) "
            "and (classid::bigint << 32 | objid::bigint) = :key"), {"key": LOCK_KEY}).scalar() or 0)  # fmt: skip


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(
    registry: Registry, engine: Engine, database_url: str, deployment: Deployment, tmp_path: Path,
    clean_chain_schema: None,
) -> None:  # fmt: skip
    pid = authorised_programme(registry, issue=10**6, estimate=10**12)
    generate(registry, ANVIL_DEV_KEY, pid, 20_000)
    head = registry.client.w3.eth.block_number
    expected_events = _chain_log_count(registry, deployment.deploy_block)
    assert expected_events >= 20_000
    rng = random.Random(20261130)
    kills, seen = 0, -1
    while kills < 10:
        process = IndexerProcess(tmp_path, database_url, registry.client.rpc_url, deployment, "victim",
                                 INDEXER_MAX_RANGE="2").start()  # fmt: skip
        wait_for(lambda: cursor(engine) > seen, 60, "the indexer to apply a range")  # noqa: B023
        time.sleep(rng.uniform(0.0, 0.25))
        process.kill()
        kills += 1
        seen = cursor(engine)
        assert seen < head, "the replication finished before ten kills; use smaller ranges"
    final = IndexerProcess(tmp_path, database_url, registry.client.rpc_url, deployment, "final").start()
    wait_for(lambda: cursor(engine) >= head, 120, "the indexer to reach the head")
    assert final.stop() == 0

    with engine.connect() as conn:
        assert reconcile(conn, registry.contract, registry.client.rpc_url) == []
        stored = conn.execute(text("select count(*), count(distinct (tx_hash, log_index)) from chain.event")).one()
        transfers = conn.execute(text("select count(*) from chain.transfer")).scalar()
        transfer_events = conn.execute(text("select count(*) from chain.event where name = 'CreditsTransferred'"))
        assert tuple(stored) == (expected_events, expected_events)
        assert transfers == transfer_events.scalar() == 14_000


def test_standby_takes_over_and_two_never_apply_at_once(
    registry: Registry, engine: Engine, database_url: str, deployment: Deployment, tmp_path: Path,
    clean_chain_schema: None,
) -> None:  # fmt: skip
    pid = authorised_programme(registry, issue=10**6, estimate=10**12)
    first = IndexerProcess(tmp_path, database_url, registry.client.rpc_url, deployment, "first").start()
    wait_for(lambda: first.activations() == 1, 60, "the first indexer to become active")
    second = IndexerProcess(tmp_path, database_url, registry.client.rpc_url, deployment, "second").start()
    try:
        generate(registry, ANVIL_DEV_KEY, pid, 300)
        head = registry.client.w3.eth.block_number
        wait_for(lambda: cursor(engine) >= head, 60, "the active indexer to catch up")
        time.sleep(1.5)  # the standby has been polling for the lock all along
        assert second.activations() == 0
        assert _lock_holders(engine) == 1

        first.kill()
        took = wait_for(lambda: second.activations() == 1, 30, "the standby to take over")
        assert took < 5
        generate(registry, ANVIL_DEV_KEY, pid, 300)
        head = registry.client.w3.eth.block_number
        wait_for(lambda: cursor(engine) >= head, 60, "the new active indexer to catch up")
        assert _lock_holders(engine) == 1
        with engine.connect() as conn:
            assert reconcile(conn, registry.contract, registry.client.rpc_url) == []
    finally:
        first.kill()
        second.kill()


def _cli(process: IndexerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "node.cli", *args], cwd=PROJECT_ROOT, env=process.env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_cli_reconcile_exit_status_and_rebuild_repairs(
    registry: Registry, engine: Engine, database_url: str, deployment: Deployment, tmp_path: Path,
    clean_chain_schema: None, no_organisations: None,
) -> None:  # fmt: skip
    pid = authorised_programme(registry, issue=100, owners=(10, 11))
    registry.transfer(pid, 10, 20, 5, ref())
    env = IndexerProcess(tmp_path, database_url, registry.client.rpc_url, deployment, "cli")
    assert _cli(env, "index", "--once").returncode == 0
    clean = _cli(env, "reconcile")
    assert (clean.returncode, clean.stdout.strip().splitlines()[-1]) == (0, "0 difference(s)")

    with engine.begin() as conn:
        conn.execute(text(f"update chain.holding set balance = 0 where programme_id = {pid} and account_id = 20"))
    broken = _cli(env, "reconcile")
    assert broken.returncode == 1
    assert f"programme {pid} account 20 balance: projection=0 chain=5" in broken.stdout

    assert _cli(env, "index", "--once", "--rebuild").returncode == 0
    assert _cli(env, "reconcile").returncode == 0


def _last_block(engine: Engine) -> tuple[int, int]:
    b = chain.serial_block.c
    with engine.connect() as conn:
        last = conn.execute(select(b.block_end, b.holder).order_by(b.block_end.desc()).limit(1)).one()
    return last.block_end, last.holder


def test_cli_indexes_and_rebuilds_serials_across_the_uint64_range(
    registry: Registry, engine: Engine, database_url: str, deployment: Deployment, tmp_path: Path,
    clean_chain_schema: None, no_organisations: None,
) -> None:  # fmt: skip
    """Issue 8: serial blocks below and above 2^31 (and 2^63) in one `index --once` batch stalled the indexer.
    The chain data reaches the last serial, 2^64 - 1, which `reconcile` compares with the contract's blocks."""
    move_serials_in_every_programme(registry, programmes_across_the_serial_range(registry))
    env = IndexerProcess(tmp_path, database_url, registry.client.rpc_url, deployment, "cli")
    indexed = _cli(env, "index", "--once")
    assert indexed.returncode == 0, indexed.stderr[-2000:]
    assert _last_block(engine) == (U64_MAX, 12)
    clean = _cli(env, "reconcile")
    assert (clean.returncode, clean.stdout.strip().splitlines()[-1]) == (0, "0 difference(s)")
    assert _cli(env, "index", "--once", "--rebuild").returncode == 0
    assert _last_block(engine) == (U64_MAX, 12)
    assert _cli(env, "reconcile").returncode == 0


def test_cli_reconcile_explains_a_cursor_it_cannot_check(
    registry: Registry, engine: Engine, database_url: str, deployment: Deployment, tmp_path: Path,
    clean_chain_schema: None, no_organisations: None,
) -> None:  # fmt: skip
    authorised_programme(registry, issue=10)
    env = IndexerProcess(tmp_path, database_url, registry.client.rpc_url, deployment, "cli")
    never_ran = _cli(env, "reconcile")
    assert (never_ran.returncode, "Traceback" in never_ran.stderr) == (2, False)
    assert "cannot reconcile: the indexer has not run" in never_ran.stdout

    # The cursor an indexer creates before its first range, and keeps while every range fails.
    start = deployment.deploy_block - 1
    start_hash = bytes(registry.client.w3.eth.get_block(start)["hash"])
    with engine.begin() as conn:
        conn.execute(text("insert into chain.indexer_cursor (name, block_number, block_hash, head_block, safe_block) "
                          "values ('registry', :b, :h, :b, 0)"), {"b": start, "h": start_hash})  # fmt: skip
    stalled = _cli(env, "reconcile")
    assert (stalled.returncode, "Traceback" in stalled.stderr) == (2, False)
    assert "cannot reconcile: the indexer has not applied any block since the deployment" in stalled.stdout


def test_cli_reconcile_reports_an_organisation_frozen_on_chain_but_active_in_the_database(
    registry: Registry, engine: Engine, database_url: str, deployment: Deployment, tmp_path: Path,
    clean_chain_schema: None, no_organisations: None,
) -> None:  # fmt: skip
    """Issue 8, finding 3: a chain write whose database write was lost must not go unnoticed."""
    env = IndexerProcess(tmp_path, database_url, registry.client.rpc_url, deployment, "cli")
    assert _cli(env, "index", "--once").returncode == 0
    assert _cli(env, "reconcile").returncode == 0
    with engine.begin() as conn:
        developer = conn.execute(text(
            "insert into app.organisation (name, role, country, state) "
            "values ('Frozen behind our back', 'ProgrammeDeveloper', 'NG', 'active') returning organisation_id"
        )).scalar_one()  # fmt: skip
    registry.freeze(developer, ref())
    diverged = _cli(env, "reconcile")
    assert diverged.returncode == 1
    assert f"organisation {developer}" in diverged.stdout
