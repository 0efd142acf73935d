"""A stand-in for ``registry up`` in the run-file tests, so that a real process can be killed mid-run.

``python -m tests.runtime.claimant DATA_DIR [claim] [anvil ANVIL_PORT] [postgres]``: claims the data directory
(``claim``), starts the children asked for and records them as ``up`` does, prints one JSON line (its own and
its children's PIDs), then runs until its stdin closes (a clean stop) or it is killed (a crash). Its Anvil does
not get the parent-death signal, so that a SIGKILL leaves it orphaned, as an older ``up`` or a failed signal
would.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import ExitStack
from pathlib import Path

from node.db.embedded import EmbeddedPostgres
from node.runtime.anvil import AnvilProcess
from node.runtime.runfile import ANVIL, POSTGRES, RunFile


def main(argv: list[str]) -> None:
    data_dir, words = Path(argv[0]), argv[1:]
    report: dict[str, int] = {"pid": os.getpid()}
    with ExitStack() as stack:
        run = stack.enter_context(RunFile(data_dir)) if "claim" in words else None
        if "postgres" in words:
            postgres = EmbeddedPostgres(data_dir / "postgres")
            postgres.start()
            stack.callback(postgres.stop)
            postmaster = postgres.postmaster()
            assert postmaster is not None
            report["postgres"] = postmaster.pid
            if run is not None:
                run.record(POSTGRES, postmaster, root=str(postgres.root))
        if "anvil" in words:
            home = data_dir / "anvil"
            port = int(words[words.index("anvil") + 1])
            anvil = AnvilProcess(port=port, home=home, state_file=home / "state.json").start()
            stack.callback(anvil.stop)
            identity = anvil.identity()
            assert identity is not None
            report["anvil"] = identity.pid
            if run is not None:
                run.record(ANVIL, identity, url=anvil.url)
        print(json.dumps(report), flush=True)  # noqa: T201 - the protocol with the test
        sys.stdin.read()


if __name__ == "__main__":
    main(sys.argv[1:])
