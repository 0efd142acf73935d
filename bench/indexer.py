"""Indexer throughput and lag, against raw log reading measured in the same run.

    python -m bench.indexer [--events 50000] [--lag-samples 250]

Starts its own Anvil and PostgreSQL (``DATABASE_URL``'s server if set, else an embedded one), generates the
events, then measures (a) raw ``eth_getLogs`` + decode with nothing written, (b) the indexer's full backfill into
PostgreSQL, and (c) the lag from a transaction's receipt to its rows being visible while the indexer follows the
head. Prints a table; the last line is JSON with ``events``, ``baseline_events_per_s``, ``indexer_events_per_s``,
``ratio`` (b/a) and ``lag_p95_ms``. Targets: ratio >= 0.25, lag_p95_ms <= 500.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.load import generate
from indexer.decoding import EventDecoder
from indexer.rpc import ChainReader
from indexer.runner import Indexer, IndexerConfig
from node.chain.client import ChainClient, new_request_ref
from node.chain.compiler import compile_contracts
from node.chain.deployment import deploy_registry
from node.chain.registry import Registry
from node.chain.types import PPM, ProgrammeInput, Sector
from node.config import ANVIL_DEV_KEY
from node.db import migrate
from node.db.embedded import EmbeddedPostgres
from node.db.engine import make_engine, sqlalchemy_url
from node.runtime.anvil import AnvilProcess, free_port

RANGE = 2000


def _database(stack: ExitStack, tmp: Path) -> str:
    server = os.environ.get("DATABASE_URL")
    if server is None:
        embedded = EmbeddedPostgres(tmp / "postgres", database="postgres")
        server = embedded.start()
        stack.callback(embedded.stop)
    name = f"bench_{uuid.uuid4().hex[:10]}"
    libpq = make_url(sqlalchemy_url(server)).set(drivername="postgresql").render_as_string(hide_password=False)
    admin = psycopg.connect(libpq, autocommit=True)
    admin.execute(f'create database "{name}"')
    stack.callback(admin.close)
    stack.callback(admin.execute, f'drop database "{name}" with (force)')
    url = make_url(sqlalchemy_url(server)).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    return url


def measure(events: int, lag_samples: int) -> dict[str, float]:
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        anvil = stack.enter_context(AnvilProcess(port=free_port(), home=tmp / "anvil"))
        client = ChainClient(anvil.url, ANVIL_DEV_KEY, lock_dir=tmp)
        artifacts = compile_contracts()
        deployment = deploy_registry(client, artifacts, country="NG", government_account=1)
        abi = artifacts["CarbonRegistry"].abi
        registry = Registry(client, deployment.registry, abi)
        programme = ProgrammeInput("BENCH", Sector.ENERGY, 1, "NG", "ITMO", 1_672_531_200, 1_767_225_600, 10**12,
                                   (10,), (PPM,), details_hash=hashlib.sha256(b"BENCH").digest())  # fmt: skip
        registry.create_programme(programme, new_request_ref())
        registry.authorise(1, 10**7, new_request_ref())
        started = time.perf_counter()
        generate(registry, ANVIL_DEV_KEY, 1, events)
        generation = time.perf_counter() - started
        head = client.w3.eth.block_number

        # (a) raw eth_getLogs + decode, nothing written
        reader, decoder = ChainReader(anvil.url), EventDecoder(abi)
        started = time.perf_counter()
        decoded = 0
        for first in range(deployment.deploy_block, head + 1, RANGE):
            logs = reader.logs(deployment.registry, first, min(head, first + RANGE - 1))
            decoded += sum(1 for log in logs if decoder.decode(log) is not None)
        baseline = time.perf_counter() - started

        # (b) full backfill into PostgreSQL
        engine = make_engine(_database(stack, tmp))
        stack.callback(engine.dispose)
        indexer = Indexer(engine, reader, address=deployment.registry, abi=abi, deploy_block=deployment.deploy_block,
                          config=IndexerConfig(initial_range=RANGE, max_range=RANGE))  # fmt: skip
        started = time.perf_counter()
        with engine.connect() as conn:
            indexer.catch_up(conn)
        backfill = time.perf_counter() - started
        applied = indexer.stats.events_applied

        # (c) lag while following the head
        stop = threading.Event()
        follower = threading.Thread(target=indexer.run, args=(stop,), daemon=True)
        follower.start()
        lags: list[float] = []
        with engine.connect() as conn:
            for i in range(lag_samples):
                receipt = registry.freeze(5_000_000 + i, new_request_ref())
                mined = time.perf_counter()
                tx_hash = bytes(receipt["transactionHash"])
                while not conn.execute(text("select 1 from chain.event where tx_hash = :h"), {"h": tx_hash}).first():
                    conn.commit()
                    time.sleep(0.002)
                conn.commit()
                lags.append((time.perf_counter() - mined) * 1000)
        stop.set()
        follower.join(timeout=10)

    quantiles = statistics.quantiles(lags, n=100)
    return {
        "events": decoded,
        "generation_s": round(generation, 2),
        "baseline_s": round(baseline, 3),
        "baseline_events_per_s": round(decoded / baseline),
        "indexer_s": round(backfill, 3),
        "indexer_events_applied": applied,
        "indexer_events_per_s": round(applied / backfill),
        "ratio": round((applied / backfill) / (decoded / baseline), 3),
        "lag_samples": len(lags),
        "lag_p50_ms": round(quantiles[49], 1),
        "lag_p95_ms": round(quantiles[94], 1),
        "lag_max_ms": round(max(lags), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--lag-samples", type=int, default=250)
    args = parser.parse_args()
    figures = measure(args.events, args.lag_samples)
    table = Table(title=f"Indexer benchmark ({figures['events']:,} events)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in figures.items():
        table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    Console(width=100).print(table)
    verdict = "meets" if figures["ratio"] >= 0.25 and figures["lag_p95_ms"] <= 500 else "MISSES"
    Console().print(f"ratio {figures['ratio']} (target >= 0.25), lag p95 {figures['lag_p95_ms']} ms (target <= 500): "
                    f"{verdict} the targets")  # fmt: skip
    keys = ("events", "baseline_events_per_s", "indexer_events_per_s", "ratio", "lag_p95_ms")
    print(json.dumps({k: figures[k] for k in keys}))


if __name__ == "__main__":
    main()
