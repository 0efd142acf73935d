"""Run the Alembic migrations programmatically (``registry db upgrade``, and ``registry up`` at start)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from node.paths import PROJECT_ROOT

MIGRATIONS = PROJECT_ROOT / "node" / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def head_revision() -> str:
    """The newest migration's revision id."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None
    return head
