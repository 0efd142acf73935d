"""The run file of ``registry up``: one owner per data directory, and after a crash the orphans of the dead run
(and only they) are stopped. Real processes throughout: a stand-in ``up`` (``tests.runtime.claimant``) that is
killed with SIGKILL, a real Anvil and a real embedded PostgreSQL."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from node.db.embedded import LIBRARY_HANDLES, postmaster_identity
from node.paths import PROJECT_ROOT
from node.runtime.anvil import AnvilProcess, free_port
from node.runtime.processes import ProcessIdentity, wait_gone
from node.runtime.runfile import ANVIL, DataDirInUse, RunFile
from tests.runtime.node import answers_rpc

pytestmark = pytest.mark.slow


class Claimant:
    """A stand-in ``up`` process; ``report`` holds its PID and its children's."""

    def __init__(self, data_dir: Path, *words: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.runtime.claimant", str(data_dir), *words],
            cwd=PROJECT_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, f"the claimant failed (status {self.process.wait()})"
        self.report: dict[str, int] = json.loads(line)

    def identity(self, name: str) -> ProcessIdentity:
        identity = ProcessIdentity.of(self.report[name])
        assert identity is not None
        return identity

    def crash(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def finish(self) -> int:
        """A clean stop: its children are stopped, its claim released."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        return self.process.wait(timeout=60)


@pytest.fixture
def data_dir(workdir: Path) -> Iterator[Path]:
    data_dir = workdir / "data"
    data_dir.mkdir()
    yield data_dir
    RunFile(data_dir).claim().release()  # whatever a failed test left running


def test_a_second_up_is_refused_while_the_first_lives_and_accepted_once_it_died(data_dir: Path) -> None:
    owner = Claimant(data_dir, "claim")
    with pytest.raises(DataDirInUse, match=rf"another `registry up` \(pid {owner.report['pid']}\) is using "):
        RunFile(data_dir).claim()
    assert owner.process.poll() is None, "the refused claim must leave the owner alone"

    owner.crash()
    RunFile(data_dir).claim().release()


def test_after_a_crash_the_orphaned_anvil_is_stopped_with_sigterm_and_its_state_kept(data_dir: Path) -> None:
    port = free_port()
    crashed = Claimant(data_dir, "claim", "anvil", str(port))
    anvil = crashed.identity("anvil")
    rpc = f"http://127.0.0.1:{port}"
    _rpc(rpc, "anvil_mine", ["0x7"])
    crashed.crash()
    assert anvil.is_alive(), "this Anvil does not die with its parent: it is an orphan"
    assert answers_rpc(rpc)

    with RunFile(data_dir):
        assert not anvil.is_alive()
        assert not answers_rpc(rpc)
    # SIGTERM, not SIGKILL: Anvil wrote its state on the way out, so the chain continues where it was.
    home = data_dir / "anvil"
    with AnvilProcess(port=free_port(), home=home, state_file=home / "state.json") as restarted:
        assert int(_rpc(restarted.url, "eth_blockNumber", []), 16) == 7


def _after_exec(pid: int) -> ProcessIdentity:
    """The identity of a child once it runs its program: between fork and exec its command line is empty, and an
    identity taken then no longer matches the process a moment later."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        identity = ProcessIdentity.of(pid)
        if identity is not None and identity.cmdline:
            return identity
        time.sleep(0.01)
    raise AssertionError(f"process {pid} did not start its program")


def test_recovery_leaves_a_process_that_got_a_recorded_pid_alone(data_dir: Path) -> None:
    """A PID of the dead run now belongs to a stranger: same PID, another start time. It must survive."""
    crashed = Claimant(data_dir, "claim")
    crashed.crash()
    with subprocess.Popen(["sleep", "60"]) as stranger:
        now = _after_exec(stranger.pid)
        before = ProcessIdentity(pid=now.pid, start_time=now.start_time - 1, cmdline=now.cmdline, boot=now.boot)
        record: dict[str, Any] = json.loads((data_dir / "run" / "up.json").read_text())
        record["children"][ANVIL] = {"process": before.to_json()}
        (data_dir / "run" / "up.json").write_text(json.dumps(record))

        RunFile(data_dir).claim().release()

        assert now.is_alive()
        stranger.kill()


def test_an_orphaned_postgres_in_use_by_a_live_process_stays_and_stops_with_its_last_user(data_dir: Path) -> None:
    crashed = Claimant(data_dir, "claim", "postgres")
    server = crashed.identity("postgres")
    user = Claimant(data_dir, "postgres")  # say, a `registry import` that joined the running server
    crashed.crash()
    pgdata = data_dir / "postgres" / "pgdata"
    assert crashed.report["pid"] in json.loads((pgdata / LIBRARY_HANDLES).read_text())

    with RunFile(data_dir):
        assert server.is_alive(), "the live user still needs it"
        assert json.loads((pgdata / LIBRARY_HANDLES).read_text()) == [user.report["pid"]], "the dead PID is gone"

    # Without the dead PID in the list, the last user's exit stops the server again.
    assert user.finish() == 0
    assert wait_gone(server, 30)
    assert postmaster_identity(pgdata.resolve()) is None


def _rpc(url: str, method: str, params: list[Any]) -> Any:
    response = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, timeout=5)
    return response.json()["result"]
