"""Indexer fixtures: an empty ``chain`` schema per test, and an indexer bound to the session's registry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine

from tests.api.conftest import empty_app


@pytest.fixture
def db(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        yield conn


@pytest.fixture
def no_organisations(engine: Engine) -> None:
    """``registry reconcile`` also compares organisations with their chain accounts; earlier tests' organisations
    (their chain state reverted by snapshots) would show up as differences."""
    empty_app(engine)
