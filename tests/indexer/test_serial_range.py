"""Serials and amounts are ``uint64``: the indexer projects, rolls back and rebuilds batches whose serial blocks
lie on both sides of 2^31 (PostgreSQL INTEGER) and 2^63 (BIGINT), up to 2^64 - 1, and account ids past 2^31.

Chain tests use data the contract issues (``tests.indexer.serials``); it cannot issue serial 2^64 - 1 itself, so
one test projects hand-made events with a block ending there straight into PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, text

from indexer.apply import apply_events
from indexer.decoding import Event
from indexer.reconcile import reconcile
from indexer.reorg import rollback_to
from indexer.runner import Indexer
from indexer.service import clear_projections
from node.chain.registry import Registry
from tests.conftest import ref
from tests.indexer.serials import (
    BIG_ACCOUNT,
    BIGINT_MAX,
    INT_MAX,
    LAST_ISSUABLE,
    U64_MAX,
    move_serials_in_every_programme,
    programmes_across_the_serial_range,
)


def _blocks(db: Connection) -> list[tuple[int, int, int, int, str]]:
    rows = db.execute(text("select programme_id, block_start, block_end, holder, state from chain.serial_block "
                           "order by block_start"))  # fmt: skip
    result = [(int(p), int(s), int(e), int(h), str(st)) for p, s, e, h, st in rows]
    db.commit()
    return result


def test_one_batch_mixing_serials_below_2_31_past_2_63_and_at_2_64_projects(
    registry: Registry, indexer: Indexer, db: Connection
) -> None:
    p = programmes_across_the_serial_range(registry)
    move_serials_in_every_programme(registry, p)
    indexer.catch_up(db)  # one range: the batch loads blocks ending at 2^31 - 1, past 2^63 and at 2^64 - 1

    assert reconcile(db, registry.contract, registry.client.rpc_url) == []
    blocks = _blocks(db)
    ends = {end for _, _, end, _, _ in blocks}
    assert {INT_MAX, 2**31 + 2**62 + 2**61 - 1, 2**63 + 2**31 - 1, LAST_ISSUABLE} <= ends
    assert (p.high, 2**63 + 2**31, 2**63 + 2**31 + 6, BIG_ACCOUNT, "held") in blocks
    assert blocks[-1] == (p.high, 2**63 + 2**31 + 17, LAST_ISSUABLE, 12, "held")  # 7 moved, 9 + 1 retired
    transferred = db.execute(text(f"select amount from chain.transfer where programme_id = {p.middle}")).scalar()
    assert transferred == 2**61 + 3
    db.commit()


def test_later_batches_load_stored_blocks_on_both_sides_of_2_31_and_2_63(
    registry: Registry, indexer: Indexer, db: Connection
) -> None:
    p = programmes_across_the_serial_range(registry)
    indexer.catch_up(db)
    move_serials_in_every_programme(registry, p)
    indexer.catch_up(db)  # the moves' source blocks are now read back from PostgreSQL

    assert reconcile(db, registry.contract, registry.client.rpc_url) == []


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

    # Orphan the moves and freezes; the replacement moves other serials on both sides of 2^63 and at 2^64 - 1.
    replacements = [
        [_tx(registry, "transfer", p.middle, 11, 30, 2**61 + 1, ref()), 0],  # a whole block, a split past 2^63
        [_tx(registry, "transfer", p.high, 12, BIG_ACCOUNT - 1, 2**62, ref()), 1],
        [_tx(registry, "freezeAccount", BIG_ACCOUNT - 1, ref()), 2],
    ]
    registry.client.w3.provider.make_request("anvil_reorg", [6, replacements])  # type: ignore[arg-type]
    indexer.catch_up(db)

    assert indexer.stats.reorgs == 1
    assert reconcile(db, registry.contract, registry.client.rpc_url) == []
    frozen = {int(a) for (a,) in db.execute(text("select account_id from chain.account where frozen"))}
    assert frozen == {BIG_ACCOUNT - 1}
    holders = {int(h) for (h,) in db.execute(text("select distinct holder from chain.serial_block"))}
    assert {30, BIG_ACCOUNT - 1} <= holders
    assert not {20, 21, BIG_ACCOUNT} & holders
    db.commit()
    projected = _blocks(db)

    clear_projections(engine)
    rebuilt = make_indexer()
    rebuilt.catch_up(db)
    assert reconcile(db, registry.contract, registry.client.rpc_url) == []
    assert _blocks(db) == projected


def _event(name: str, block: int, index: int, **args: object) -> Event:
    return Event(name=name, args={"requestRef": "0x" + "ab" * 32, **args}, block_number=block,
                 block_hash=block.to_bytes(32, "big"), tx_hash=(block * 100 + index).to_bytes(32, "big"),
                 log_index=index)  # fmt: skip


def _programme(pid: int, block: int, start: int, end: int, owners: tuple[int, int]) -> list[Event]:
    programme = {"externalId": f"EXT-{pid}", "sector": 0, "sectoralScope": 1, "country": "0x4e47",
                 "creditUnit": "0x49544d4f", "startTime": 1_672_531_200, "endTime": 1_767_225_600,
                 "creditEstimate": end - start + 1, "owners": list(owners), "sharesPpm": [500_000, 500_000],
                 "regions": []}  # fmt: skip
    return [
        _event("ProgrammeCreated", block, 0, programmeId=pid, programme=programme),
        _event("ProgrammeAuthorised", block, 1, programmeId=pid, serialStart=start, serialEnd=end),
    ]


def _issued(pid: int, block: int, blocks: list[tuple[int, int, int]]) -> Event:
    amount = sum(end - start + 1 for _, start, end in blocks)
    return _event("CreditsIssued", block, 2, programmeId=pid, amount=amount, totalIssued=amount,
                  blocks=[{"holder": h, "start": s, "end": e} for h, s, e in blocks])  # fmt: skip


def _transferred(pid: int, block: int, index: int, sender: int, moves: list[tuple[int, int, int]]) -> Event:
    amount = sum(end - start + 1 for start, end, _ in moves)
    return _event("CreditsTransferred", block, index, programmeId=pid, to=20, amount=amount,
                  moves=[{"start": s, "end": e, "sourceEnd": source} for s, e, source in moves],
                  **{"from": sender})  # fmt: skip


def test_projection_and_rollback_store_serials_up_to_2_64_minus_1(db: Connection, clean_chain_schema: None) -> None:
    """Hand-made events: blocks ending at 2^31 - 1, 2^31 + 9, 2^63 - 1 and 2^64 - 1 in every batch."""
    issued = [
        *_programme(1, 100, 1, 2**31 + 9, (10, 11)),
        _issued(1, 100, [(10, 1, INT_MAX), (11, 2**31, 2**31 + 9)]),
        *_programme(2, 101, 2**63 - 50, U64_MAX, (10, 11)),
        _issued(2, 101, [(10, 2**63 - 50, BIGINT_MAX), (11, 2**63, U64_MAX)]),
    ]
    moved = [
        _transferred(1, 102, 0, 10, [(1, 5, INT_MAX)]),
        _transferred(1, 102, 1, 11, [(2**31, 2**31 + 9, 2**31 + 9)]),
        _transferred(2, 102, 2, 10, [(2**63 - 50, BIGINT_MAX, BIGINT_MAX)]),
        _transferred(2, 102, 3, 11, [(2**63, 2**63 + 2, U64_MAX)]),
    ]
    after_issue = [(1, INT_MAX, 10), (2**31, 2**31 + 9, 11), (2**63 - 50, BIGINT_MAX, 10), (2**63, U64_MAX, 11)]
    after_moves = [(1, 5, 20), (6, INT_MAX, 10), (2**31, 2**31 + 9, 20), (2**63 - 50, BIGINT_MAX, 20),
                   (2**63, 2**63 + 2, 20), (2**63 + 3, U64_MAX, 11)]  # fmt: skip

    def blocks() -> list[tuple[int, int, int]]:
        return [(start, end, holder) for _, start, end, holder, _ in _blocks(db)]

    apply_events(db, [*issued, *moved])  # one batch
    db.commit()
    assert blocks() == after_moves
    balances = db.execute(text("select programme_id, account_id, balance from chain.holding order by 1, 2")).all()
    assert [tuple(int(v) for v in row) for row in balances] == [
        (1, 10, INT_MAX - 5), (1, 11, 0), (1, 20, 15), (2, 10, 0), (2, 11, 2**63 - 3), (2, 20, 53),
    ]  # fmt: skip

    rollback_to(db, 101, (101).to_bytes(32, "big"), "registry")  # replays both programmes from the journal
    db.commit()
    assert blocks() == after_issue
    apply_events(db, moved)  # the moves' source blocks are read back from PostgreSQL
    db.commit()
    assert blocks() == after_moves
