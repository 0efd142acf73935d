"""Alembic environment: one online migration run against the URL passed in ``config.attributes['url']``."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import create_engine, text

from node.db.engine import APP_SCHEMA, app_metadata, chain_metadata, sqlalchemy_url
from node.models.chain import Uint64  # importing the module also registers the chain tables on chain_metadata


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:  # noqa: ARG001
    """Renders ``Uint64`` as the ``sa.Numeric(precision=20, scale=0)`` it is in the database; False otherwise.

    Why: ``revision --autogenerate`` renders a type from outside SQLAlchemy by its module and repr, i.e.
    ``node.models.chain.Uint64()``, which the generated script does not import (it would fail to load) and which
    would tie a migration to today's model code. The column in PostgreSQL is plain ``NUMERIC(20, 0)`` (the type
    decorator only changes how Python binds and reads it), and that is what every existing migration spells.
    Everything else keeps Alembic's own rendering (``False``).
    """
    if type_ == "type" and isinstance(obj, Uint64):
        return "sa.Numeric(precision=20, scale=0)"
    return False


config = context.config
url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
if not url:
    raise RuntimeError("no database URL given to the migrations")

engine = create_engine(sqlalchemy_url(url))
with engine.begin() as connection:
    # The version table lives in `app`; the schema must exist before Alembic creates it.
    connection.execute(text(f"create schema if not exists {APP_SCHEMA}"))
    connection.execute(text("set lock_timeout = '5s'"))
    context.configure(
        connection=connection,
        target_metadata=[app_metadata, chain_metadata],
        version_table_schema=APP_SCHEMA,
        include_schemas=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
