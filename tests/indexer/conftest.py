"""Indexer fixtures: an empty ``chain`` schema per test, and an indexer bound to the session's registry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine


@pytest.fixture
def db(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        yield conn
