"""SQLAlchemy engine and the database's two schemas.

``chain``: projections of contract events, owned by the indexer and rebuildable from the chain at any time.
``app``: what is not on chain (users, organisations, credentials, workflow requests, outboxes).
See docs/adr/0003-chain-and-app-schemas.md.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Engine, MetaData, create_engine, text
from sqlalchemy.engine import make_url

CHAIN_SCHEMA = "chain"
APP_SCHEMA = "app"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
chain_metadata = MetaData(schema=CHAIN_SCHEMA, naming_convention=NAMING_CONVENTION)
app_metadata = MetaData(schema=APP_SCHEMA, naming_convention=NAMING_CONVENTION)


def sqlalchemy_url(url: str) -> str:
    """Any PostgreSQL URL (``postgresql://``, ``postgres://``) as a psycopg 3 SQLAlchemy URL."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    return create_engine(sqlalchemy_url(url), pool_pre_ping=True, pool_size=5, max_overflow=10)


@dataclass(frozen=True)
class DatabaseStatus:
    ok: bool
    revision: str | None
    latency_ms: float
    error: str | None = None


def database_status(engine: Engine) -> DatabaseStatus:
    """Round trip to the database and the applied migration revision, for ``/health``."""
    started = time.perf_counter()
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
            revision = conn.execute(text("select version_num from app.alembic_version limit 1")).scalar_one_or_none()
    except Exception as exc:  # noqa: BLE001 - health reports any failure, never raises
        return DatabaseStatus(False, None, (time.perf_counter() - started) * 1000, type(exc).__name__)
    return DatabaseStatus(True, revision, (time.perf_counter() - started) * 1000)
