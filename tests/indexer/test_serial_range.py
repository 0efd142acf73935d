"""Serials and amounts are ``uint64``: the indexer projects, rolls back and rebuilds batches whose serial blocks
end at 2^31 - 1 (PostgreSQL INTEGER's maximum), 2^63 - 1 (BIGINT's), past 2^63 and at 2^64 - 1, with account ids
past 2^31.

Every test drives the real contract (``tests.indexer.serials``), which issues serials up to 2^64 - 1 itself, so
chain data reaches every boundary and no hand-made events are needed.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, select

from indexer.reconcile import reconcile
from indexer.runner import Indexer
from indexer.service import clear_projections
from node.chain.registry import Registry
from node.models import chain
from tests.conftest import ref
from tests.indexer.serials import (
    BIG_ACCOUNT,
    BIGINT_MAX,
    HIGH_START,
    INT_MAX,
    MIDDLE_FIRST_HALF,
    U64_MAX,
    move_serials_in_every_programme,
    programmes_across_the_serial_range,
)

Block = tuple[int, int, int, int, str]
"""(programme, first serial, last serial, holder, state) of a projected serial block."""


def _blocks(db: Connection) -> list[Block]:
    """Read through the ``chain`` tables, so serials come back as ``int`` (``U64``), never ``Decimal``."""
    b = chain.serial_block.c
    rows = db.execute(select(b.programme_id, b.block_start, b.block_end, b.holder, b.state).order_by(b.block_start))
    result = [(pid, start, end, holder, state) for pid, start, end, holder, state in rows]
    db.commit()
    return result


def test_one_batch_mixing_serials_below_2_31_past_2_63_and_at_2_64_projects(
    registry: Registry, indexer: Indexer, db: Connection
) -> None:
    p = programmes_across_the_serial_range(registry)
    move_serials_in_every_programme(registry, p)
    indexer.catch_up(db)  # one range: the batch loads blocks ending at 2^31 - 1, 2^63 - 1, past 2^63, 2^64 - 1

    assert reconcile(db, registry.contract, registry.client.rpc_url) == []
    blocks = _blocks(db)
    assert {INT_MAX, BIGINT_MAX, 2**63 + 2**31 - 1, U64_MAX} <= {end for _, _, end, _, _ in blocks}
    assert all(type(v) is int for row in blocks for v in row[:4])
    assert (p.middle, 2**31 + MIDDLE_FIRST_HALF, BIGINT_MAX, 21, "held") in blocks  # moved whole
    assert (p.middle, 2**63 + 2**30, 2**63 + 2**30 + 2, 21, "held") in blocks  # split past 2^63
    assert (p.high, HIGH_START, HIGH_START + 6, BIG_ACCOUNT, "held") in blocks
    assert blocks[-1] == (p.high, HIGH_START + 17, U64_MAX, 12, "held")  # 7 moved, 9 + 1 retired
    t = chain.transfer.c
    assert db.execute(select(t.amount).where(t.programme_id == p.middle)).scalar() == MIDDLE_FIRST_HALF + 3
    h = chain.programme.c
    assert db.execute(select(h.serial_end, h.credit_issued).where(h.programme_id == p.high)).one() == (
        U64_MAX, U64_MAX - HIGH_START + 1,
    )  # fmt: skip
    db.commit()


def test_later_batches_load_stored_blocks_on_both_sides_of_2_31_and_2_63(
    registry: Registry, indexer: Indexer, db: Connection
) -> None:
    p = programmes_across_the_serial_range(registry)
    indexer.catch_up(db)
    move_serials_in_every_programme(registry, p)
    indexer.catch_up(db)  # the moves' source blocks, up to the one ending at 2^64 - 1, are read back from PostgreSQL

    assert reconcile(db, registry.contract, registry.client.rpc_url) == []
    assert _blocks(db)[-1] == (p.high, HIGH_START + 17, U64_MAX, 12, "held")


def _tx(registry: Registry, function: str, *args: object) -> dict[str, object]:
    return {"from": registry.client.address, "to": registry.address, "gas": hex(1_000_000),
            "data": registry.contract.encode_abi(function, args=list(args))}  # fmt: skip


def test_rollback_and_rebuild_replay_serials_up_to_2_64_and_accounts_past_2_31(
    registry: Registry, indexer: Indexer, db: Connection, engine: Engine,
    make_indexer: Callable[..., Indexer],
) -> None:  # fmt: skip
    p = programmes_across_the_serial_range(registry)
    indexer.catch_up(db)
    move_serials_in_every_programme(registry, p)  # 4 blocks
    registry.freeze(BIG_ACCOUNT, ref())
    registry.freeze(7, ref())
    indexer.catch_up(db)
    assert reconcile(db, registry.contract, registry.client.rpc_url) == []

    # Orphan the moves and freezes (the split block ending at 2^64 - 1 goes back to its issued size). The
    # replacement moves owner 11's whole block ending at 2^63 - 1 plus one serial past it, and the high
    # programme's whole block ending at 2^64 - 1 to an account past INTEGER.
    high_size = U64_MAX - HIGH_START + 1
    replacements = [
        [_tx(registry, "transfer", p.middle, 11, 30, MIDDLE_FIRST_HALF + 1, ref()), 0],
        [_tx(registry, "transfer", p.high, 12, BIG_ACCOUNT - 1, high_size, ref()), 1],
        [_tx(registry, "freezeAccount", BIG_ACCOUNT - 1, ref()), 2],
    ]
    registry.client.w3.provider.make_request("anvil_reorg", [6, replacements])  # type: ignore[arg-type]
    indexer.catch_up(db)

    assert indexer.stats.reorgs == 1
    assert reconcile(db, registry.contract, registry.client.rpc_url) == []
    frozen = set(db.execute(select(chain.account.c.account_id).where(chain.account.c.frozen)).scalars())
    assert frozen == {BIG_ACCOUNT - 1}
    projected = _blocks(db)
    assert {12, 20, 21, BIG_ACCOUNT}.isdisjoint(holder for _, _, _, holder, _ in projected)
    assert (p.middle, 2**31 + MIDDLE_FIRST_HALF, BIGINT_MAX, 30, "held") in projected
    assert (p.middle, 2**63 + 2**30, 2**63 + 2**30, 30, "held") in projected
    assert projected[-1] == (p.high, HIGH_START, U64_MAX, BIG_ACCOUNT - 1, "held")

    clear_projections(engine)
    rebuilt = make_indexer()
    rebuilt.catch_up(db)
    assert reconcile(db, registry.contract, registry.client.rpc_url) == []
    assert _blocks(db) == projected
