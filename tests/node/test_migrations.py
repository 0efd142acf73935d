"""The migrations build exactly the schema the table definitions describe (no drift between the two), and a
future ``alembic revision --autogenerate`` renders ``uint64`` columns as the plain type the migrations use."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from alembic.autogenerate import compare_metadata, render_python_code
from alembic.migration import MigrationContext
from alembic.operations.ops import AddColumnOp, UpgradeOps
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy import BigInteger, Column, Engine, Numeric

import node.models.app
import node.models.chain  # noqa: F401 - registers the tables
from node.db.engine import APP_SCHEMA, CHAIN_SCHEMA, app_metadata, chain_metadata
from node.db.migrate import alembic_config
from node.models.chain import U64


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


def _env_py_options(database_url: str) -> dict[str, Any]:
    """The options ``env.py`` gives ``context.configure``, read by running it the way Alembic runs it (so the test
    sees what ``alembic revision --autogenerate`` would see), with a migration function that applies nothing."""
    config = alembic_config(database_url)
    script = ScriptDirectory.from_config(config)
    seen: dict[str, Any] = {}

    def nothing_to_apply(heads: Any, context: MigrationContext) -> Iterable[Any]:
        seen.update(context.opts)
        return []

    with EnvironmentContext(config, script, fn=nothing_to_apply):
        script.run_env()
    return seen


def _rendered_add_column(column: Column[Any], **options: Any) -> str:
    return render_python_code(UpgradeOps([AddColumnOp("serial_block", column, schema=CHAIN_SCHEMA)]), **options)


def test_autogenerate_renders_uint64_as_the_numeric_the_migrations_use(database_url: str) -> None:
    render_item = _env_py_options(database_url)["render_item"]

    rendered = _rendered_add_column(Column("next_end", U64, nullable=True), render_item=render_item)
    assert [line.strip() for line in rendered.splitlines() if not line.strip().startswith("#")] == [
        "op.add_column('serial_block', sa.Column('next_end', sa.Numeric(precision=20, scale=0), nullable=True), "
        "schema='chain')"
    ]
    # Without the hook, the script would name a type it does not import.
    assert "node.models.chain.Uint64()" in _rendered_add_column(Column("next_end", U64))


def test_the_autogenerate_hook_leaves_every_other_type_to_alembic(database_url: str) -> None:
    render_item = _env_py_options(database_url)["render_item"]

    for column in (Column("height", BigInteger), Column("price", Numeric(12, 4))):
        assert _rendered_add_column(column, render_item=render_item) == _rendered_add_column(column)
