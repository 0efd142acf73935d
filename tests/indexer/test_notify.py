"""The real indexer announces its cursor on ``INDEXED_CHANNEL`` at commit: a waiting write wakes and reads its rows.

Bounds are generous (a wake takes milliseconds): they only catch a waiter that was never woken.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Connection, Engine, select

from indexer.rpc import ChainReader
from indexer.runner import Indexer
from node.chain.compiler import Artifact
from node.chain.deployment import Deployment
from node.chain.registry import Registry
from node.db.engine import make_engine
from node.indexer_wait import INDEXED_CHANNEL, IndexWaiter, libpq_conninfo
from node.models import chain
from tests.conftest import create_programme, ref

GENEROUS = 10.0


@pytest.fixture
def waiter(engine: Engine, indexer: Indexer) -> Iterator[IndexWaiter]:
    """Started after ``indexer`` emptied the ``chain`` schema: only the indexer's notifications can wake it."""
    with IndexWaiter(engine) as waiter:
        assert waiter.wait_until_listening(GENEROUS)
        assert waiter.indexed_block is None
        yield waiter


def test_catch_up_wakes_a_waiter_for_the_block_of_a_registry_event(
    registry: Registry, indexer: Indexer, db: Connection, waiter: IndexWaiter
) -> None:
    block = int(registry.freeze(77, ref())["blockNumber"])
    assert not waiter.wait_for_block(block, 0)
    result: list[bool] = []
    request = threading.Thread(target=lambda: result.append(waiter.wait_for_block(block, GENEROUS)))
    request.start()
    indexer.catch_up(db)
    request.join(GENEROUS * 2)
    assert result == [True]
    assert waiter.indexed_block == block


def test_a_write_reads_its_own_rows_once_the_running_indexer_wakes_it(
    registry: Registry,
    indexer: Indexer,
    waiter: IndexWaiter,
    database_url: str,
    anvil_url: str,
    deployment: Deployment,
    artifacts: dict[str, Artifact],
    engine: Engine,
) -> None:
    # The loop on an engine of its own: its advisory lock goes with the engine's connections when disposed.
    own = make_engine(database_url)
    running = Indexer(own, ChainReader(anvil_url), address=deployment.registry, abi=artifacts["CarbonRegistry"].abi,
                      deploy_block=deployment.deploy_block, config=indexer.config)  # fmt: skip
    stop = threading.Event()
    loop = threading.Thread(target=running.run, args=(stop,), daemon=True)
    loop.start()
    try:
        pid = create_programme(registry)
        block = registry.client.w3.eth.block_number
        assert waiter.wait_for_block(block, GENEROUS)
        with engine.connect() as conn:  # read-your-writes: no retry, no sleep
            row = conn.execute(select(chain.programme.c.programme_id).where(chain.programme.c.programme_id == pid))
            assert row.scalar_one() == pid
    finally:
        stop.set()
        loop.join(GENEROUS)
        own.dispose()


def test_a_reorg_announces_the_ancestor(registry: Registry, indexer: Indexer, db: Connection, engine: Engine) -> None:
    registry.freeze(78, ref())
    registry.freeze(79, ref())
    indexer.catch_up(db)
    head = registry.client.w3.eth.block_number
    with psycopg.connect(libpq_conninfo(engine.url), autocommit=True) as listener:
        listener.execute(f"listen {INDEXED_CHANNEL}")
        registry.client.w3.provider.make_request("anvil_reorg", [2, []])  # type: ignore[arg-type]
        indexer.catch_up(db)
        payloads = [n.payload for n in listener.notifies(timeout=GENEROUS, stop_after=2)]
    assert indexer.stats.reorgs == 1
    assert payloads[0] == str(head - 2)  # back to the common ancestor first...
    assert payloads[-1] == str(registry.client.w3.eth.block_number)  # ...then forward over the replacement blocks
