"""Alembic environment: one online migration run against the URL passed in ``config.attributes['url']``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text

import node.models.chain  # noqa: F401 - registers the chain tables on chain_metadata
from node.db.engine import APP_SCHEMA, app_metadata, chain_metadata, sqlalchemy_url

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
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
