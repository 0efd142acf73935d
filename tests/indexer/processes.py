"""Run `registry index` as a real child process against the test database and chain."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, text

from node.chain.deployment import Deployment, manifest_path
from node.config import ANVIL_DEV_KEY
from node.paths import PROJECT_ROOT


class IndexerProcess:
    def __init__(self, workdir: Path, database_url: str, rpc_url: str, deployment: Deployment,
                 name: str, **settings: str) -> None:  # fmt: skip
        self.log = workdir / f"{name}.log"
        data_dir = workdir / "data"
        deployment.save(manifest_path(data_dir, deployment.chain_id))
        self.env = {
            **os.environ, "DATABASE_URL": database_url, "CHAIN_RPC_URL": rpc_url,
            "REGISTRY_OPERATOR_KEY": ANVIL_DEV_KEY, "REGISTRY_DATA_DIR": str(data_dir), **settings,
        }  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> IndexerProcess:
        handle = open(self.log, "ab")  # noqa: SIM115 - owned by the child
        self.process = subprocess.Popen([sys.executable, "-m", "node.cli", "index"], cwd=PROJECT_ROOT, env=self.env,
                                        stdout=handle, stderr=subprocess.STDOUT)  # fmt: skip
        handle.close()
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def activations(self) -> int:
        return self.log.read_text().count("active") if self.log.exists() else 0


def cursor(engine: Engine) -> int:
    with engine.connect() as conn:
        value = conn.execute(text("select block_number from chain.indexer_cursor")).scalar()
    return int(value) if value is not None else -1


def wait_for(condition: object, timeout: float, what: str) -> float:
    """Polls ``condition()`` until true; returns the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():  # type: ignore[operator]
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
