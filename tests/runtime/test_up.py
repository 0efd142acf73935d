"""``registry up`` on an empty data directory: embedded PostgreSQL, local Anvil, deployment, API; Ctrl-C stops
everything it started, and the next ``up`` finds the same chain state and contracts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from node.chain.client import ChainClient, new_request_ref
from node.chain.compiler import load_artifacts
from node.chain.registry import Registry
from node.config import ANVIL_DEV_KEY
from node.db.migrate import head_revision
from node.paths import PROJECT_ROOT
from node.runtime.anvil import free_port
from tests.conftest import programme_input

pytestmark = pytest.mark.slow


class Node:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.anvil_port = free_port()
        self.api_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> dict[str, Any]:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CHAIN_RPC_URL")}
        env |= {"REGISTRY_DATA_DIR": str(self.data_dir), "ANVIL_PORT": str(self.anvil_port),
                "API_PORT": str(self.api_port)}  # fmt: skip
        log = open(self.data_dir.parent / "up.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen([sys.executable, "-m", "node.cli", "up"], cwd=PROJECT_ROOT, env=env,
                                        stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.data_dir.parent / "up.log").read_text()
            try:
                response = httpx.get(f"http://127.0.0.1:{self.api_port}/health", timeout=2)
                if response.status_code == 200:
                    return dict(response.json())
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError("node did not become healthy: " + (self.data_dir.parent / "up.log").read_text())

    def interrupt(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=60)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()


def _answers(url: str) -> bool:
    try:
        httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=1)
    except httpx.HTTPError:
        return False
    return True


def test_up_runs_everything_and_a_second_up_keeps_state(tmp_path: Path) -> None:
    node = Node(tmp_path / "data")
    node.data_dir.mkdir()
    try:
        first = node.start()
        assert first["status"] == "ok"
        assert first["database"]["revision"] == head_revision()
        registry_address = first["chain"]["contracts"]["registry"]
        rpc = f"http://127.0.0.1:{node.anvil_port}"
        client = ChainClient(rpc, ANVIL_DEV_KEY, lock_dir=tmp_path / "locks")
        registry = Registry(client, registry_address, load_artifacts()["CarbonRegistry"].abi)
        registry.create_programme(programme_input(external_id="SURVIVES-RESTART"), new_request_ref())
        head = client.w3.eth.block_number
        # `up` runs the indexer too: the new programme's block gets applied.
        deadline = time.monotonic() + 30
        while httpx.get(f"http://127.0.0.1:{node.api_port}/health").json()["indexer"]["indexed_block"] != head:
            assert time.monotonic() < deadline, "the indexer did not apply the new block"
            time.sleep(0.1)

        assert node.interrupt() == 0
        assert not _answers(rpc), "Ctrl-C must stop the Anvil that up started"
        assert not (node.data_dir / "postgres" / "pgdata" / "postmaster.pid").exists(), "and the embedded PostgreSQL"
        assert (node.data_dir / "anvil" / "state.json").stat().st_size > 0

        second = node.start()
        assert second["chain"]["contracts"] == first["chain"]["contracts"]
        assert second["chain"]["head_block"] >= head
        assert registry.view("getProgramme", 1)[2] == "SURVIVES-RESTART"
        assert node.interrupt() == 0
    finally:
        node.kill()
