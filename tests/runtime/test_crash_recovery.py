"""``registry up`` killed with SIGKILL, then run again: it finds and stops what the dead run left (and nothing
else), starts cleanly with the same chain and database, and Ctrl-C then stops everything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from node.chain.client import ChainClient, new_request_ref
from node.chain.compiler import load_artifacts
from node.chain.registry import Registry
from node.config import ANVIL_DEV_KEY
from node.db.embedded import LIBRARY_HANDLES, postmaster_identity
from node.runtime.anvil import AnvilProcess, free_port
from node.runtime.processes import ProcessIdentity, wait_gone
from node.runtime.runfile import ANVIL
from tests.conftest import programme_input
from tests.runtime.node import Node, answers_rpc

pytestmark = pytest.mark.slow


def test_up_after_a_sigkill_starts_cleanly_and_ctrl_c_then_stops_everything(workdir: Path) -> None:
    node = Node(workdir / "data")
    # Not ours, though it looks like it: the same Anvil binary, started by someone else. Recovery must spare it.
    bystander = AnvilProcess(port=free_port(), home=workdir / "bystander")
    try:
        bystander.start()
        first = node.start()
        registry = Registry(
            ChainClient(node.rpc, ANVIL_DEV_KEY, lock_dir=workdir / "locks"),
            first["chain"]["contracts"]["registry"],
            load_artifacts()["CarbonRegistry"].abi,
        )
        registry.create_programme(programme_input(external_id="SURVIVES-SIGKILL"), new_request_ref())
        crashed = node.identity()
        orphaned_postgres = postmaster_identity(node.pgdata.resolve())
        assert orphaned_postgres is not None
        first_anvil = _recorded_anvil(node)

        node.sigkill()

        # What the crash leaves: `pg_ctl start` detached the server, so it runs on with the dead PID as a user.
        assert orphaned_postgres.is_alive()
        assert crashed.pid in _handles(node)
        # Anvil gets SIGTERM from the kernel when its parent dies, and saves its state on the way out.
        assert wait_gone(first_anvil, 15), "Anvil must not outlive `registry up`"

        second = node.start()
        assert not orphaned_postgres.is_alive(), "the dead run's PostgreSQL must be stopped"
        postgres = postmaster_identity(node.pgdata.resolve())
        assert postgres is not None
        assert postgres != orphaned_postgres
        assert _handles(node) == [node.identity().pid], "the dead PID must be gone from the handle list"
        assert "did not stop cleanly" in node.log()
        assert second["chain"]["contracts"] == first["chain"]["contracts"]
        assert registry.view("getProgramme", 1)[2] == "SURVIVES-SIGKILL"

        refused = node.run_up()
        assert refused.returncode == 1
        message = f"another `registry up` (pid {node.identity().pid}) is using {node.data_dir.resolve()}"
        assert message in refused.stderr
        assert node.is_running()

        anvil = _recorded_anvil(node)
        assert node.interrupt() == 0
        assert not anvil.is_alive()
        assert not answers_rpc(node.rpc), "Ctrl-C must stop the Anvil"
        assert not postgres.is_alive(), "and the PostgreSQL"
        assert not (node.pgdata / "postmaster.pid").exists()
        assert _handles(node) == []
        assert not (node.data_dir / "run" / "up.json").exists(), "a clean stop leaves nothing to recover"
        assert bystander.is_ready(), "nothing else is touched"
    finally:
        node.close()
        bystander.stop()


def _recorded_anvil(node: Node) -> ProcessIdentity:
    record = json.loads((node.data_dir / "run" / "up.json").read_text())
    return ProcessIdentity.from_json(record["children"][ANVIL]["process"])


def _handles(node: Node) -> list[int]:
    return list(json.loads((node.pgdata / LIBRARY_HANDLES).read_text()))
