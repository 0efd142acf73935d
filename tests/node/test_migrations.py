"""The migrations build exactly the schema the table definitions describe (no drift between the two)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

import node.models.app
import node.models.chain  # noqa: F401 - registers the tables
from node.db.engine import APP_SCHEMA, CHAIN_SCHEMA, app_metadata, chain_metadata


def _in_our_schemas(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    if type_ == "table":
        return obj.schema in (APP_SCHEMA, CHAIN_SCHEMA) and name != "alembic_version"
    return True


def test_the_migrated_database_matches_the_table_definitions(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "include_schemas": True, "include_object": _in_our_schemas, "compare_type": True,
            "compare_server_default": False, "version_table_schema": APP_SCHEMA,
        })  # fmt: skip
        # Alembic compares a list of MetaData (env.py passes the same list); its type stub names only one.
        differences = compare_metadata(context, [app_metadata, chain_metadata])  # type: ignore[arg-type]
    assert differences == []
