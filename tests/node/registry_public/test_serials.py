"""The public serial lookup against real projections: the registry contract on Anvil, the indexer's rows, and
organisation names in ``app.organisation``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, text

from indexer.runner import Indexer
from node.chain.registry import Registry
from node.chain.types import RetirementInput, RetirementType
from node.errors import InvalidInput, NotFound
from node.registry_public.serials import MALFORMED, SPANS_BLOCKS, lookup
from tests.api.conftest import empty_app_schema
from tests.conftest import GOVERNMENT, authorised_programme, ref

__all__ = ["empty_app_schema"]

DEVELOPER, BUYER = 10, 20


@pytest.fixture
def db(engine: Engine, empty_app_schema: None) -> Iterator[Connection]:
    with engine.begin() as conn:
        conn.execute(text("insert into app.organisation (organisation_id, name, role, country) values "
                          "(:d, 'Solar Developer Ltd', 'ProgrammeDeveloper', 'NG'), "
                          "(:b, 'Buyer Holdings', 'ProgrammeDeveloper', 'NG')"),
                     {"d": DEVELOPER, "b": BUYER})  # fmt: skip
    with engine.connect() as conn:
        yield conn


@pytest.fixture
def traded(registry: Registry, indexer: Indexer, db: Connection) -> int:
    """100 credits issued to the developer; 1-25 sent to the buyer; 26-35 retired cross-border."""
    pid = authorised_programme(registry, issue=100)
    registry.transfer(pid, DEVELOPER, BUYER, 25, ref())
    registry.retire(pid, DEVELOPER, 10, RetirementInput(RetirementType.CROSS_BORDER, "CH", "Zurich Air"), ref())
    indexer.catch_up(db)
    db.commit()
    return pid


def serial(pid: int, start: int, end: int | None = None) -> str:
    return f"NG-ITMO-1-{pid:03d}-2023-0-{start}-{start if end is None else end}"


def test_a_transferred_credit_names_its_holder_and_the_transfer(traded: int, db: Connection) -> None:
    found = lookup(db, serial(traded, 5))
    assert (found.programme_id, found.block_serial, found.state) == (traded, serial(traded, 1, 25), "held")
    assert (found.holder, found.holder_name, found.retirement) == (BUYER, "Buyer Holdings", None)
    assert [(t.kind, t.from_name, t.to_name, t.credits) for t in found.transactions] == [
        ("issued", None, "Solar Developer Ltd", 100), ("transferred", "Solar Developer Ltd", "Buyer Holdings", 25),
    ]  # fmt: skip
    assert found.latest is not None
    assert found.latest.tx_hash.startswith("0x")
    assert len(found.latest.tx_hash) == 66
    assert found.programme_serial == serial(traded, 1, 1000)
    # The block's own serial number answers the same, in any case and with spaces around it.
    whole = lookup(db, "  " + serial(traded, 1, 25).lower() + " ")
    assert (whole.block_serial, whole.holder_name) == (found.block_serial, "Buyer Holdings")


def test_a_retired_credit_shows_its_retirement(traded: int, db: Connection) -> None:
    found = lookup(db, serial(traded, 30))
    assert (found.block_serial, found.state, found.holder) == (serial(traded, 26, 35), "retired_international", None)
    assert found.retirement is not None
    r = found.retirement
    assert (r.retirement_type, r.country, r.beneficiary, r.retired_by_name) == (
        "cross_border", "CH", "Zurich Air", "Solar Developer Ltd")  # fmt: skip
    assert [t.kind for t in found.transactions] == ["issued", "retired"]
    assert found.transactions[-1].tx_hash == r.tx_hash
    assert found.transactions[-1].to_account == GOVERNMENT


def test_a_credit_never_moved_shows_its_issuance(traded: int, db: Connection) -> None:
    found = lookup(db, serial(traded, 100))
    assert (found.block_serial, found.holder_name) == (serial(traded, 36, 100), "Solar Developer Ltd")
    assert [t.kind for t in found.transactions] == ["issued"]


@pytest.mark.parametrize("given", ["", "hello", "NG-ITMO-1-001-2023-0-9-3", "NG-ITMO-1-001-2023-0-0-3", "x" * 500])
def test_malformed_input_is_invalid(db: Connection, given: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        lookup(db, given)
    assert (caught.value.extensions["field"], caught.value.extensions["reason"]) == ("q", MALFORMED)


def test_a_range_across_blocks_is_invalid(traded: int, db: Connection) -> None:
    with pytest.raises(InvalidInput) as caught:
        lookup(db, serial(traded, 20, 30))
    assert caught.value.extensions["reason"] == SPANS_BLOCKS


def test_unknown_unissued_or_mismatched_serials_are_not_found(traded: int, db: Connection) -> None:
    five = serial(traded, 5)
    mismatched = [five.replace("-2023-", "-2024-"), five.replace("NG-", "GH-"), five.replace("-ITMO-", "-VCU-"),
                  five.replace("-1-", "-2-", 1)]  # fmt: skip
    for given in [serial(traded, 101), serial(traded, 10**15), serial(traded + 1, 5), *mismatched]:
        with pytest.raises(NotFound):
            lookup(db, given)


def test_a_programme_that_is_not_authorised_is_not_public(traded: int, db: Connection) -> None:
    db.execute(text("update chain.programme set stage = 'rejected' where programme_id = :p"), {"p": traded})
    with pytest.raises(NotFound):
        lookup(db, serial(traded, 5))
    db.rollback()
