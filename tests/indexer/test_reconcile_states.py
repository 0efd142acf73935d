"""``reconcile`` answers every state of the indexer cursor: differences when it can compare, else one
``Unverifiable`` entry that says why (never a decoding traceback from views read where the registry is not)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import Connection, text

from indexer.reconcile import Unverifiable, reconcile
from indexer.runner import Indexer
from node.chain.registry import Registry
from tests.conftest import authorised_programme, ref


def _only_reason(db: Connection, registry: Registry) -> str:
    answer = reconcile(db, registry.contract, registry.client.rpc_url)
    db.commit()
    assert len(answer) == 1
    assert isinstance(answer[0], Unverifiable)
    assert str(answer[0]).startswith("cannot reconcile: ")
    return answer[0].what


def _mine(registry: Registry, blocks: int) -> None:
    registry.client.w3.provider.make_request("anvil_mine", [hex(blocks)])  # type: ignore[arg-type]


def _move_cursor(db: Connection, **values: object) -> None:
    assignments = ", ".join(f"{name} = :{name}" for name in values)
    db.execute(text(f"update chain.indexer_cursor set {assignments}"), values)
    db.commit()


def test_no_cursor_says_the_indexer_has_not_run(registry: Registry, indexer: Indexer, db: Connection) -> None:
    assert "the indexer has not run" in _only_reason(db, registry)


@pytest.mark.parametrize("pruned", [False, True], ids=["state-kept", "state-pruned"])
def test_a_cursor_that_never_moved_says_so(registry: Registry, indexer: Indexer, db: Connection, pruned: bool) -> None:
    """The cursor an indexer creates before its first range sits before the deployment: no registry there."""
    authorised_programme(registry, issue=10)
    start = indexer.deploy_block - 1
    header = indexer.reader.header(start)
    assert header is not None
    db.execute(text("insert into chain.indexer_cursor (name, block_number, block_hash, head_block, safe_block) "
                    "values ('registry', :b, :h, :b, 0)"), {"b": start, "h": header.hash})  # fmt: skip
    db.commit()
    if pruned:
        _mine(registry, 100)  # beyond the 64 states Anvil keeps
    reason = _only_reason(db, registry)
    assert f"has not applied any block since the deployment (its cursor is still at block {start}" in reason


def test_a_cursor_block_whose_state_is_pruned_says_so(registry: Registry, indexer: Indexer, db: Connection) -> None:
    authorised_programme(registry, issue=10)
    indexer.catch_up(db)
    at = indexer.stats.indexed_block
    _mine(registry, 100)
    assert f"the chain no longer keeps the state of the cursor's block {at}" in _only_reason(db, registry)
    indexer.catch_up(db)
    assert reconcile(db, registry.contract, registry.client.rpc_url) == []


def test_a_cursor_past_the_chain_head_says_the_block_is_missing(
    registry: Registry, indexer: Indexer, db: Connection
) -> None:
    indexer.catch_up(db)
    head = registry.client.w3.eth.block_number
    _move_cursor(db, block_number=head + 1000)
    assert f"the chain has no block {head + 1000}" in _only_reason(db, registry)


def test_a_cursor_block_replaced_by_a_reorganisation_says_so(
    registry: Registry, indexer: Indexer, db: Connection
) -> None:
    authorised_programme(registry, issue=10)
    indexer.catch_up(db)
    _move_cursor(db, block_hash=os.urandom(32))
    assert "is no longer on the canonical chain" in _only_reason(db, registry)


def test_a_cursor_at_the_head_compares_and_finds_differences(
    registry: Registry, indexer: Indexer, db: Connection
) -> None:
    pid = authorised_programme(registry, issue=10)
    registry.transfer(pid, 10, 20, 4, ref())
    indexer.catch_up(db)
    assert reconcile(db, registry.contract, registry.client.rpc_url) == []
    db.execute(text(f"update chain.holding set balance = 3 where programme_id = {pid} and account_id = 20"))
    db.commit()
    answer = reconcile(db, registry.contract, registry.client.rpc_url)
    assert [d.what for d in answer if isinstance(d, Unverifiable)] == []
    assert f"programme {pid} account 20 balance" in {d.what for d in answer}
