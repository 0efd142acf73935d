"""``uint64`` columns of the ``chain`` schema compare with any Python int up to 2^64 - 1, in PostgreSQL.

SQLAlchemy types a bare Python int by its value (INTEGER, BIGINT from 2^31) and a whole IN list by its first value;
the psycopg dialect then casts the parameters to that type, so ``block_end IN (5, 2**31)`` failed with "integer out
of range" before ``U64`` bound every compared value as NUMERIC itself.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, func, insert, literal, select, tuple_
from sqlalchemy.sql.elements import ColumnElement

from node.models import chain
from node.models.chain import U64

SERIALS = [5, 2**31, 2**63, 2**64 - 1]
"""Below INTEGER's maximum, just past it, just past BIGINT's, and the last uint64."""
PROGRAMME = 2**40 - 1
"""Programme ids are ``uint40``: a BIGINT column, past INTEGER."""


@pytest.fixture
def db(engine: Engine, clean_chain_schema: None) -> Iterator[Connection]:
    """A connection whose writes are rolled back, with one programme and a block ending at each of ``SERIALS``
    (on an empty ``chain`` schema: earlier indexer tests leave blocks at the very same serials)."""
    with engine.connect() as conn, conn.begin() as transaction:
        conn.execute(insert(chain.programme).values(
            programme_id=PROGRAMME, external_id="U64-COLUMNS", stage="authorised", sector="energy", sectoral_scope=1,
            country="NG", credit_unit="ITMO", start_time=func.now(), end_time=func.now(), credit_estimate=2**64 - 1,
            serial_start=1, serial_end=2**64 - 1, created_block=1, updated_block=1,
        ))  # fmt: skip
        conn.execute(insert(chain.serial_block), [
            {"block_end": end, "block_start": end, "programme_id": PROGRAMME, "holder": 10, "state": "held",
             "updated_block": 1}
            for end in SERIALS
        ])  # fmt: skip
        yield conn
        transaction.rollback()


def _ends(conn: Connection, condition: ColumnElement[bool]) -> list[int]:
    block = chain.serial_block.c
    return list(conn.scalars(select(block.block_end).where(condition).order_by(block.block_end)))


def test_in_list_starting_below_2_31_matches_serials_past_integer_and_bigint(db: Connection) -> None:
    assert _ends(db, chain.serial_block.c.block_end.in_(SERIALS)) == SERIALS


def test_in_list_in_any_order_matches_every_serial(db: Connection) -> None:
    assert _ends(db, chain.serial_block.c.block_end.in_(list(reversed(SERIALS)))) == SERIALS


@pytest.mark.parametrize("serial", SERIALS)
def test_equality_with_a_serial_anywhere_in_the_uint64_range_matches(db: Connection, serial: int) -> None:
    assert _ends(db, chain.serial_block.c.block_end == serial) == [serial]


def test_range_comparisons_past_bigint_bind_as_numeric(db: Connection) -> None:
    block = chain.serial_block.c
    assert _ends(db, block.block_end >= 2**63) == [2**63, 2**64 - 1]
    assert _ends(db, block.block_end.between(2**31, 2**64 - 1)) == SERIALS[1:]
    assert _ends(db, block.block_start + 1 > 2**63) == [2**63, 2**64 - 1]


def test_tuple_in_with_a_bigint_and_a_uint64_column_matches(db: Connection) -> None:
    block = chain.serial_block.c
    pairs = [(PROGRAMME, end) for end in SERIALS]
    assert _ends(db, tuple_(block.programme_id, block.block_end).in_(pairs)) == SERIALS


def test_values_read_back_as_python_ints(db: Connection) -> None:
    """Exact ints, not ``Decimal``: callers compare them with contract values and serialise them to JSON."""
    row = db.execute(select(chain.programme.c.credit_estimate, chain.programme.c.serial_end, chain.programme.c.
                            credit_issued).where(chain.programme.c.programme_id == PROGRAMME)).one()  # fmt: skip
    assert tuple(row) == (2**64 - 1, 2**64 - 1, 0)
    assert all(type(value) is int for value in row)
    assert db.scalar(select(func.max(chain.serial_block.c.block_end))) == 2**64 - 1


def test_a_literal_bound_as_u64_round_trips_the_last_serial(db: Connection) -> None:
    assert db.scalar(select(literal(2**64 - 1, U64))) == 2**64 - 1
