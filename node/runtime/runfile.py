"""One ``registry up`` per data directory, and the clean-up after one that crashed.

``registry up`` starts child processes that outlive it when it is killed: Anvil (unless the kernel delivers its
parent-death signal) and the embedded PostgreSQL (``pg_ctl start`` detaches it on purpose). Left alone, the
orphaned Anvil keeps the port, and the library's handle list keeps the dead PID, so the next ``up`` attaches
to that server and never stops it.

So ``up`` claims the data directory before starting anything:

- ``run/up.lock`` is held with ``flock`` for the life of the process. The kernel drops it however the process
  ends, so it says reliably whether another ``up`` is alive, with no PID to misread.
- ``run/up.json`` records the owner and every child as a ``ProcessIdentity`` (PID, start time, command line,
  boot), written as each child starts.

A new ``up`` that gets the lock reads the previous record. If the owner is gone, it stops each recorded child
that is still *the same process* (a recycled PID differs in start time or command line and is left alone):
Anvil with SIGTERM, so it saves its state, then SIGKILL after a timeout; PostgreSQL through ``pg_ctl stop -m
fast`` unless another live process still uses it. Then it cleans the stale handle files and starts afresh.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from pathlib import Path
from types import TracebackType
from typing import Any

from node.db import embedded
from node.runtime.processes import ProcessIdentity, terminate

logger = logging.getLogger("registry.runtime")

ANVIL = "anvil"
POSTGRES = "postgres"


class DataDirInUse(RuntimeError):
    """Another live ``registry up`` owns the data directory."""


class RecoveryError(RuntimeError):
    """A child of a crashed run could not be stopped; starting anyway would run two of them on the same data."""


class RunFile:
    """The claim of one ``registry up`` on a data directory (a context manager: released on exit)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / "run" / "up.json"
        self.lock_path = data_dir / "run" / "up.lock"
        self.owner = ProcessIdentity.own()
        self.children: dict[str, dict[str, Any]] = {}
        self._lock_fd: int | None = None

    def claim(self) -> RunFile:
        """Takes the data directory, or raises ``DataDirInUse``; stops what a crashed previous run left."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DataDirInUse(self._in_use_message(self._read())) from None
        self._lock_fd = fd
        try:
            previous = self._read()
            if previous is not None:
                self._recover(previous)
            self._write()
        except BaseException:
            self.release()
            raise
        return self

    def record(self, name: str, identity: ProcessIdentity, **details: str) -> None:
        """Notes a child as soon as it runs, so a crash at any later moment leaves it findable."""
        self.children[name] = {"process": identity.to_json(), **details}
        self._write()

    def release(self) -> None:
        """After a clean stop: nothing is left to recover, so the record goes; then the lock."""
        if self._lock_fd is None:
            return
        self.path.unlink(missing_ok=True)
        os.close(self._lock_fd)  # closing the descriptor drops the flock
        self._lock_fd = None

    def __enter__(self) -> RunFile:
        return self.claim()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.release()

    def _recover(self, previous: dict[str, Any]) -> None:
        owner = ProcessIdentity.from_json(previous["owner"])
        if owner.is_alive():
            # It holds no lock (its lock file was deleted under it?), yet it runs: do not fight over the data.
            raise DataDirInUse(self._in_use_message(previous))
        children = previous.get("children", {})
        if children:
            logger.warning("the previous `registry up` (pid %s) did not stop cleanly; cleaning up", owner.pid)
        for name, child in children.items():
            identity = ProcessIdentity.from_json(child["process"])
            # PostgreSQL may serve other live processes too; Anvil belongs to `up` alone.
            stopped = embedded.stop_orphaned(Path(child["root"]), identity) if name == POSTGRES else terminate(identity)
            if stopped and identity.is_alive():
                raise RecoveryError(f"could not stop the orphaned {name} (pid {identity.pid}) of a crashed run")
            if stopped:
                logger.warning("stopped the orphaned %s (pid %s) of the crashed run", name, identity.pid)

    def _in_use_message(self, record: dict[str, Any] | None) -> str:
        pid = record["owner"]["pid"] if record else "unknown"
        return f"another `registry up` (pid {pid}) is using {self.data_dir}"

    def _read(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return data if isinstance(data, dict) and "owner" in data else None

    def _write(self) -> None:
        record = {"owner": self.owner.to_json(), "children": self.children}
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(record, indent=1))
        temporary.replace(self.path)
