"""Run the pinned Anvil binary as a child process, as toolchain.md advises.

- The native binary from ``@foundry-rs/anvil-linux-amd64`` 1.5.1, never the npm launcher (T4: a killed
  launcher orphans Anvil) and never 1.7.x (T2: slows down as the chain grows).
- ``--prune-history 64``: keeps 64 states in memory and writes none to disk (T1 filled disks with tens of
  GB), while reorgs and rollbacks up to 64 blocks still work (T3).
- ``--state FILE --state-interval 1`` when persistent: SIGTERM/SIGINT dump the state, and a SIGKILL loses at
  most one second.
- ``HOME`` points into the data directory so nothing lands in ``~/.foundry``.
- ``die_with_parent``: the kernel sends Anvil SIGTERM (so it saves its state) when the thread that started it
  dies, even by SIGKILL (Linux ``PR_SET_PDEATHSIG``). ``registry up`` uses it; its run file covers the rest.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import requests

from node.paths import PROJECT_ROOT
from node.runtime.processes import ProcessIdentity

ANVIL_BINARY = PROJECT_ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
PR_SET_PDEATHSIG = 1


class AnvilError(RuntimeError):
    """Anvil is missing or did not start."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AnvilProcess:
    """One Anvil child process; ``stop()`` (or the context manager) ends it and saves its state."""

    def __init__(
        self,
        *,
        port: int,
        home: Path,
        state_file: Path | None = None,
        block_time: float | None = None,
        extra_args: list[str] | None = None,
        die_with_parent: bool = False,
    ) -> None:
        self.port = port
        self.home = home
        self.state_file = state_file
        self.block_time = block_time
        self.extra_args = extra_args or []
        self.die_with_parent = die_with_parent
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [str(ANVIL_BINARY), "--host", "127.0.0.1", "--port", str(self.port), "--silent"]
        cmd += ["--prune-history", "64"]
        if self.state_file is not None:
            cmd += ["--state", str(self.state_file), "--state-interval", "1"]
        if self.block_time is not None:
            cmd += ["--block-time", str(self.block_time)]
        return cmd + self.extra_args

    def start(self, timeout: float = 15.0) -> AnvilProcess:
        if not ANVIL_BINARY.is_file():
            raise AnvilError(f"Anvil not found at {ANVIL_BINARY}; run `npm ci` first.")
        self.home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "HOME": str(self.home)}
        log = open(self.home / "anvil.log", "ab")  # noqa: SIM115 - owned by the child for its lifetime
        self.process = subprocess.Popen(
            self.command(),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_terminate_with_parent() if self.die_with_parent else None,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AnvilError(f"Anvil exited with status {self.process.returncode}; see {self.home / 'anvil.log'}")
            if self.is_ready():
                return self
            time.sleep(0.05)
        self.stop()
        raise AnvilError(f"Anvil did not answer on port {self.port} within {timeout:.0f} s")

    def identity(self) -> ProcessIdentity | None:
        """Who the child is, for a run file: its PID alone could be recycled after a crash."""
        return None if self.process is None else ProcessIdentity.of(self.process.pid)

    def is_ready(self) -> bool:
        try:
            response = requests.post(
                self.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=1
            )
            return response.ok
        except requests.RequestException:
            return False

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (Anvil dumps its state file), then SIGKILL if it does not exit in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> AnvilProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _terminate_with_parent() -> Callable[[], None]:
    """A ``preexec_fn`` asking the kernel for SIGTERM when the starting thread dies.

    ``preexec_fn`` runs between fork and exec, where little is safe if the parent has other threads (``up``
    starts Anvil before it starts any): so libc is loaded here, beforehand, and the child does nothing but
    ``prctl`` and ``getppid``. If the parent died before ``prctl`` took effect, the child ends itself instead of
    running orphaned. The signal follows the starting *thread*: start Anvil from one that lives as long as it.
    """
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec
