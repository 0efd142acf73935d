"""``registry up`` on an empty data directory: embedded PostgreSQL, local Anvil, deployment, API; Ctrl-C (or
SIGTERM) stops everything it started, and the next ``up`` finds the same chain state and contracts."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from node.chain.client import ChainClient, new_request_ref
from node.chain.compiler import load_artifacts
from node.chain.registry import Registry
from node.config import ANVIL_DEV_KEY
from node.db.migrate import head_revision
from tests.conftest import programme_input
from tests.runtime.node import Node, answers_rpc

pytestmark = pytest.mark.slow


def test_up_runs_everything_a_second_up_keeps_state_and_sigterm_stops_it_like_ctrl_c(workdir: Path) -> None:
    node = Node(workdir / "data")
    try:
        first = node.start()
        assert first["status"] == "ok"
        assert first["database"]["revision"] == head_revision()
        registry_address = first["chain"]["contracts"]["registry"]
        rpc = f"http://127.0.0.1:{node.anvil_port}"
        client = ChainClient(rpc, ANVIL_DEV_KEY, lock_dir=workdir / "locks")
        registry = Registry(client, registry_address, load_artifacts()["CarbonRegistry"].abi)
        registry.create_programme(programme_input(external_id="SURVIVES-RESTART"), new_request_ref())
        head = client.w3.eth.block_number
        # `up` runs the indexer too: the new programme's block gets applied.
        deadline = time.monotonic() + 30
        while httpx.get(f"http://127.0.0.1:{node.api_port}/health").json()["indexer"]["indexed_block"] != head:
            assert time.monotonic() < deadline, "the indexer did not apply the new block"
            time.sleep(0.1)

        assert node.interrupt() == 0
        assert not answers_rpc(rpc), "Ctrl-C must stop the Anvil that up started"
        assert not (node.data_dir / "postgres" / "pgdata" / "postmaster.pid").exists(), "and the embedded PostgreSQL"
        assert (node.data_dir / "anvil" / "state.json").stat().st_size > 0
        assert not (node.data_dir / "run" / "up.json").exists(), "a clean stop leaves nothing to recover"

        second = node.start()
        assert second["chain"]["contracts"] == first["chain"]["contracts"]
        assert second["chain"]["head_block"] >= head
        assert registry.view("getProgramme", 1)[2] == "SURVIVES-RESTART"
        # `kill`, systemd or docker stop: uvicorn shuts down, then `up` stops its children as on Ctrl-C.
        assert node.terminate() == 0
        assert not answers_rpc(rpc)
        assert not (node.data_dir / "postgres" / "pgdata" / "postmaster.pid").exists()
        assert not (node.data_dir / "run" / "up.json").exists()
    finally:
        node.close()
