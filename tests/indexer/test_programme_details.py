"""The anchored details hash: ``ProgrammeCreated`` stores it, ``ProgrammeDetailsUpdated`` replaces it, a reorg that
orphans an update restores the previous one, and ``reconcile`` compares it with ``getProgramme(...).detailsHash``."""

from __future__ import annotations

from eth_abi.abi import encode
from eth_utils.crypto import keccak
from sqlalchemy import Connection, text

from indexer.decoding import EventDecoder
from indexer.handlers import on_programme_created
from indexer.reconcile import reconcile
from indexer.runner import Indexer
from indexer.state import BatchState
from node.chain.compiler import Artifact
from node.chain.registry import Registry
from tests.conftest import create_programme, details_hash_of, ref


def _details(db: Connection, pid: int) -> tuple[bytes | None, int]:
    row = db.execute(text(f"select details_hash, updated_block from chain.programme where programme_id = {pid}")).one()
    db.commit()
    return (bytes(row.details_hash) if row.details_hash is not None else None), int(row.updated_block)


def _tx(registry: Registry, function: str, *args: object) -> dict[str, object]:
    return {"from": registry.client.address, "to": registry.address, "gas": hex(500_000),
            "data": registry.contract.encode_abi(function, args=list(args))}  # fmt: skip


def test_created_and_updated_details_hash_project(registry: Registry, indexer: Indexer, db: Connection) -> None:
    pid = create_programme(registry, external_id="DETAILS-1")
    indexer.catch_up(db)
    assert _details(db, pid)[0] == details_hash_of("DETAILS-1")

    receipt = registry.update_programme_details(pid, details_hash_of("revision 2"), request := ref())
    indexer.catch_up(db)
    assert _details(db, pid) == (details_hash_of("revision 2"), receipt["blockNumber"])
    event = db.execute(text("select programme_id, request_ref, args from chain.event "
                            "where name = 'ProgrammeDetailsUpdated'")).one()  # fmt: skip
    db.commit()
    assert (event.programme_id, bytes(event.request_ref)) == (pid, request)
    assert event.args["detailsHash"] == "0x" + details_hash_of("revision 2").hex()
    assert reconcile(db, registry.contract, registry.client.rpc_url) == []


def test_several_updates_in_one_batch_keep_the_last(registry: Registry, indexer: Indexer, db: Connection) -> None:
    pid = create_programme(registry)
    for revision in range(2, 5):
        registry.update_programme_details(pid, details_hash_of(f"revision {revision}"), ref())
    indexer.catch_up(db)
    assert _details(db, pid)[0] == details_hash_of("revision 4")
    assert reconcile(db, registry.contract, registry.client.rpc_url) == []


def test_reorg_that_orphans_an_update_restores_the_previous_hash(
    registry: Registry, indexer: Indexer, db: Connection
) -> None:
    pid = create_programme(registry, external_id="DETAILS-REORG")
    other = create_programme(registry)
    registry.update_programme_details(pid, details_hash_of("kept"), ref())
    indexer.catch_up(db)
    kept_block = _details(db, pid)[1]
    registry.update_programme_details(pid, details_hash_of("orphaned"), ref())
    registry.update_programme_details(other, details_hash_of("other, orphaned"), ref())
    indexer.catch_up(db)
    assert _details(db, pid)[0] == details_hash_of("orphaned")

    # Both updates are orphaned; the replacement chain anchors another revision of `other` only.
    replacement = [[_tx(registry, "updateProgrammeDetails", other, details_hash_of("other, canonical"), ref()), 0]]
    registry.client.w3.provider.make_request("anvil_reorg", [2, replacement])  # type: ignore[arg-type]
    indexer.catch_up(db)

    assert indexer.stats.reorgs == 1
    assert _details(db, pid) == (details_hash_of("kept"), kept_block)
    assert _details(db, other)[0] == details_hash_of("other, canonical")
    stored = db.execute(text("select args->>'detailsHash' from chain.event where name = 'ProgrammeDetailsUpdated'"))
    assert "0x" + details_hash_of("orphaned").hex() not in set(stored.scalars())
    db.commit()
    assert reconcile(db, registry.contract, registry.client.rpc_url) == []


def test_reconcile_reports_a_tampered_details_hash(registry: Registry, indexer: Indexer, db: Connection) -> None:
    pid = create_programme(registry, external_id="DETAILS-TAMPERED")
    indexer.catch_up(db)
    db.execute(text(f"update chain.programme set details_hash = '\\x00ff'::bytea where programme_id = {pid}"))
    db.commit()
    found = {d.what: d for d in reconcile(db, registry.contract, registry.client.rpc_url)}
    db.commit()
    assert set(found) == {f"programme {pid} details hash"}
    assert found[f"programme {pid} details hash"].projection == "0x00ff"
    assert found[f"programme {pid} details hash"].chain == "0x" + details_hash_of("DETAILS-TAMPERED").hex()


def test_programme_created_of_implementation_1_0_0_decodes_without_a_hash(artifacts: dict[str, Artifact]) -> None:
    """A chain upgraded from 1.0.0 holds ``ProgrammeCreated`` logs without ``detailsHash`` (another signature)."""
    old_tuple = "(string,uint8,uint8,bytes2,bytes8,uint64,uint64,uint64,uint40[],uint32[],string[])"
    topic0 = keccak(text=f"ProgrammeCreated(uint40,bytes32,{old_tuple})")
    programme = ("OLD-1", 0, 1, b"NG", b"ITMO".ljust(8, b"\0"), 1, 2, 100, [10], [1_000_000], ["Lagos"])
    log = {
        "topics": ["0x" + topic0.hex(), "0x" + encode(["uint40"], [7]).hex(), "0x" + (b"\x01" * 32).hex()],
        "data": "0x" + encode([old_tuple], [programme]).hex(),
        "blockNumber": "0x5", "blockHash": "0x" + "aa" * 32, "transactionHash": "0x" + "bb" * 32, "logIndex": "0x0",
    }  # fmt: skip
    event = EventDecoder(artifacts["CarbonRegistry"].abi).decode(log)
    assert event is not None
    assert (event.name, event.programme_id, event.args["programme"]["externalId"]) == ("ProgrammeCreated", 7, "OLD-1")
    assert "detailsHash" not in event.args["programme"]
    state = BatchState()
    on_programme_created(state, event)
    assert state.programmes[7]["details_hash"] is None
