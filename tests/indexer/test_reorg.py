"""Chain reorganisations (``anvil_reorg``, depths 1..10, with different replacement transactions) leave the
projections equal to the canonical chain, as ``reconcile`` checks against the contract."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text

from indexer.reconcile import reconcile
from indexer.runner import Indexer
from node.chain.registry import Registry
from node.chain.types import RetirementInput, RetirementType
from tests.conftest import authorised_programme, ref


def _tx(registry: Registry, function: str, *args: object) -> dict[str, object]:
    return {"from": registry.client.address, "to": registry.address, "gas": hex(500_000),
            "data": registry.contract.encode_abi(function, args=list(args))}  # fmt: skip


@pytest.mark.parametrize("depth", range(1, 11))
def test_reorg_rolls_back_and_replays_canonical_chain(
    registry: Registry, indexer: Indexer, db: Connection, depth: int
) -> None:
    pid = authorised_programme(registry, issue=500, owners=(10, 11), estimate=10_000)
    indexer.catch_up(db)
    # `depth` blocks that the reorg will orphan: transfers, a retirement, a freeze, an issuance.
    for i in range(depth):
        if i % 4 == 0:
            registry.transfer(pid, 10, 20 + i, 7 + i, ref())
        elif i % 4 == 1:
            registry.retire(pid, 11, 3, RetirementInput(RetirementType.LEGAL_ACTION), ref())
        elif i % 4 == 2:
            registry.freeze(30 + i, ref())
        else:
            registry.issue(pid, 11, ref())
    indexer.catch_up(db)
    assert reconcile(db, registry.contract, registry.client.rpc_url) == []
    orphaned = db.execute(text("select count(*) from chain.event where block_number > "
                               "(select max(number) from chain.block) - :d"), {"d": depth}).scalar()  # fmt: skip
    assert orphaned
    db.commit()

    replacements = [
        [_tx(registry, "transfer", pid, 11, 40, 5 + depth, ref()), 0],
        [_tx(registry, "issue", pid, 13, ref()), min(1, depth - 1)],
        [_tx(registry, "freezeAccount", 41, ref()), depth - 1],
    ]
    registry.client.w3.provider.make_request("anvil_reorg", [depth, replacements])  # type: ignore[arg-type]
    indexer.catch_up(db)

    assert indexer.stats.reorgs == 1
    assert reconcile(db, registry.contract, registry.client.rpc_url) == []
    balances = db.execute(text(f"select account_id, balance from chain.holding where programme_id = {pid}"))
    holdings: dict[int, int] = {int(a): int(b) for a, b in balances}
    assert holdings.get(40) == 5 + depth
    assert 20 not in holdings  # the first orphaned transfer went to account 20
    frozen = {a for (a,) in db.execute(text("select account_id from chain.account where frozen"))}
    assert frozen == {41}
    db.commit()


def test_reconcile_reports_a_tampered_projection(registry: Registry, indexer: Indexer, db: Connection) -> None:
    pid = authorised_programme(registry, issue=100, owners=(10, 11))
    indexer.catch_up(db)
    db.execute(text(f"update chain.holding set balance = balance + 1 where programme_id = {pid} and account_id = 10"))
    db.execute(text("update chain.account set frozen = true"))
    db.execute(text(f"update chain.programme set stage = 'rejected' where programme_id = {pid}"))
    db.commit()
    found = {d.what for d in reconcile(db, registry.contract, registry.client.rpc_url)}
    assert {f"programme {pid} account 10 balance", f"programme {pid} stage",
            f"programme {pid} credits held (sum of holdings)"} <= found  # fmt: skip
