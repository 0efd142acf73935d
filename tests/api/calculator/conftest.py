"""The identity tests' populated registry (one per module), with the calculator's constants emptied per test."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from tests.api.identity import conftest as identity

module_settings = identity.module_settings
module_registry = identity.module_registry
world = identity.world
app_client = identity.app_client


@pytest.fixture(autouse=True)
def no_constant_versions(engine: Engine) -> None:
    """Every test starts from the built-in defaults."""
    with engine.begin() as conn:
        conn.execute(text("delete from app.calculator_constants"))
