"""``registry up`` as a real subprocess on its own data directory and free ports, for the runtime tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from node.paths import PROJECT_ROOT
from node.runtime.anvil import free_port
from node.runtime.processes import ProcessIdentity
from node.runtime.runfile import RunFile


class Node:
    """One data directory; ``start`` may run ``up`` on it several times (a restart keeps the ports)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.anvil_port = free_port()
        self.api_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_file = data_dir.parent / "up.log"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def rpc(self) -> str:
        return f"http://127.0.0.1:{self.anvil_port}"

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "postgres" / "pgdata"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CHAIN_RPC_URL")}
        return env | {"REGISTRY_DATA_DIR": str(self.data_dir), "ANVIL_PORT": str(self.anvil_port),
                      "API_PORT": str(self.api_port)}  # fmt: skip

    def start(self) -> dict[str, Any]:
        """Runs ``registry up`` and waits until ``/health`` answers 200; returns that answer."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "node.cli", "up"], cwd=PROJECT_ROOT,
                                            env=self.env(), stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log()
            try:
                response = httpx.get(f"{self.api}/health", timeout=2)
                if response.status_code == 200:
                    return dict(response.json())
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError("node did not become healthy: " + self.log())

    def run_up(self, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Another ``registry up`` on the same data directory, expected to give up; its output."""
        return subprocess.run([sys.executable, "-m", "node.cli", "up"], cwd=PROJECT_ROOT, env=self.env(),
                              capture_output=True, text=True, timeout=timeout, check=False)  # fmt: skip

    def identity(self) -> ProcessIdentity:
        assert self.process is not None
        identity = ProcessIdentity.of(self.process.pid)
        assert identity is not None
        return identity

    def interrupt(self) -> int:
        """Ctrl-C."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=60)

    def terminate(self) -> int:
        """SIGTERM, as ``kill``, systemd or ``docker stop`` send."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    def sigkill(self) -> None:
        """A crash: no handler, no clean-up runs."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def close(self) -> None:
        """Whatever the test left: Ctrl-C if ``up`` still runs, then the crash recovery for any orphan."""
        if self.is_running():
            assert self.process is not None
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.data_dir.exists():
            RunFile(self.data_dir).claim().release()

    def log(self) -> str:
        return self.log_file.read_text() if self.log_file.exists() else ""


def answers_rpc(url: str) -> bool:
    try:
        httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=1)
    except httpx.HTTPError:
        return False
    return True
