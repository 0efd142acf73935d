"""``registry up`` runs the indexer and the email outbox in a child process (ADR 0017): killed, it is started again,
and writes that wait for their block to be indexed keep being answered."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.runtime.crash_api import FIRST_PASSWORD, RootNode, login

pytestmark = pytest.mark.slow


def spawned_children(node: RootNode) -> list[int]:
    """PIDs of the node's live spawned children (not the multiprocessing resource tracker), read from /proc."""
    assert node.process is not None
    children = []
    for entry in Path("/proc").iterdir():
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue
        if parent == node.process.pid and "spawn_main" in cmdline:
            children.append(int(entry.name))
    return children


def test_a_killed_background_process_is_started_again_and_writes_are_still_indexed(workdir: Path) -> None:
    node = RootNode(workdir / "data")
    try:
        node.start()
        api = login(node, FIRST_PASSWORD)
        (first,) = spawned_children(node)
        os.kill(first, signal.SIGKILL)  # the child this test's node started, by the PID just read
        deadline = time.monotonic() + 60
        while [pid for pid in spawned_children(node) if pid != first] == []:  # the watchdog starts another
            assert time.monotonic() < deadline, "no new background process: " + node.log()
            time.sleep(0.2)
        # A chain write answered only once indexed: the new indexer picks it up.
        rate = api.get("/settings/credits").json()["omge_rate_bps"]
        changed = api.put("/settings/credits/omge-rate", json={"omge_bps": rate + 1}, timeout=60)
        assert changed.status_code == 200, changed.text
        assert changed.json()["omge_rate_bps"] == rate + 1
        assert "starting it again" in node.log()
    finally:
        node.close()
