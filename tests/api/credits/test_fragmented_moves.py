"""Issue 10: a holder fragmented into 10,000 blocks sends, and has retired, its whole balance through the API.

One chain call moves about 1,820 blocks at most within a 30M-gas block; the node splits the move into calls of at
most ``MAX_BLOCKS_PER_CALL`` blocks, one user request still being one transfer (or retirement) with every call's
transaction. The fragmentation is real: a programme of two proponents at 50% each, issued 2 credits at a time,
gives each proponent every other serial, i.e. one block per issuance.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from web3.types import RPCEndpoint

from bench.load import send_presigned, wait_mined
from node.chain.client import new_request_ref
from node.chain.errors import ChainUnavailable
from node.config import ANVIL_DEV_KEY
from node.credits import moves
from node.credits.moves import MAX_BLOCKS_PER_CALL
from tests.api.credits.test_retirements import retire
from tests.api.credits.test_transfers import send
from tests.api.identity.world import World, unique
from tests.api.programmes.test_programme_lifecycle import create

BLOCKS = 10_000
PER_BLOCK = 200
"""Issuances sent before mining while fragmenting: a few full blocks instead of one block per issuance."""


def fragmented_programme(app_client: TestClient, world: World, blocks: int = BLOCKS) -> tuple[int, int]:
    """A programme whose two proponents (the developer and another) each hold ``blocks`` one-credit blocks."""
    other = world.organisation("ProgrammeDeveloper")
    with world.engine.connect() as conn:
        rows = conn.execute(text("select organisation_id, tax_id from app.organisation where organisation_id in "
                                 "(:a, :b)"), {"a": world.developer, "b": other}).all()  # fmt: skip
    tax = {int(row.organisation_id): str(row.tax_id) for row in rows}
    proponents = [{"tax_id": tax[world.developer], "percentage": 50}, {"tax_id": tax[other], "percentage": 50}]
    pid = int(create(app_client, world, caller="root", proponents=proponents, credit_estimate=2 * blocks)[
        "programme_id"])  # fmt: skip
    done = app_client.post(f"/programmes/{pid}/authorise", json={"issue_amount": 2},
                           headers=world.headers("root") | {"Idempotency-Key": unique("auth-")})  # fmt: skip
    assert done.status_code == 200, done.text
    calls = [("issue", [pid, 2, new_request_ref()]) for _ in range(blocks - 1)]
    w3 = world.registry.client.w3
    w3.provider.make_request(RPCEndpoint("evm_setAutomine"), [False])  # a few full blocks, not 9,999 tiny ones
    try:
        for start in range(0, len(calls), PER_BLOCK):
            hashes = send_presigned(world.registry, ANVIL_DEV_KEY, calls[start : start + PER_BLOCK])
            while w3.provider.make_request(RPCEndpoint("eth_getTransactionReceipt"), [hashes[-1]])["result"] is None:
                w3.provider.make_request(RPCEndpoint("evm_mine"), [])  # as many blocks as the pool fills
            wait_mined(world.registry, hashes[-1])
    finally:
        w3.provider.make_request(RPCEndpoint("evm_setAutomine"), [True])
    for holder in (world.developer, other):
        assert len(world.registry.blocks_of(pid, holder, page_size=2_000)) == blocks
    head, deadline = w3.eth.block_number, time.monotonic() + 120
    while (app_client.get("/health").json()["indexer"]["indexed_block"] or -1) < head:  # checks read projections
        assert time.monotonic() < deadline, "the indexer did not reach the fragmented blocks"
        time.sleep(0.1)
    return pid, other


@pytest.mark.slow
def test_a_balance_in_10000_blocks_is_sent_and_retired_whole(app_client: TestClient, world: World) -> None:
    registry, dev, government = world.registry, world.developer, world.government
    pid, other = fragmented_programme(app_client, world)
    before = [(int(b[0]), int(b[1])) for b in registry.blocks_of(pid, dev, page_size=2_000)]

    sent = send(app_client, world, "dev_admin", pid, dev, government, BLOCKS)
    assert sent.status_code == 201, sent.text
    transfer = sent.json()
    assert transfer["state"] == "executed"
    assert len(transfer["tx_hashes"]) == BLOCKS // MAX_BLOCKS_PER_CALL
    assert transfer["tx_hash"] == transfer["tx_hashes"][-1]
    assert (registry.view("balanceOf", pid, dev), registry.view("balanceOf", pid, government)) == (0, BLOCKS)
    received = [(int(b[0]), int(b[1])) for b in registry.blocks_of(pid, government, page_size=2_000)]
    assert received == before  # the very serials, one block each (never contiguous: the other holds the rest)
    # The API agrees with the contract: one transfer, the holdings, and every block with its serial number.
    listed = app_client.get(f"/transfers?programme_id={pid}", headers=world.headers("dev_admin")).json()["items"]
    assert [(t["transfer_id"], t["amount"]) for t in listed] == [(transfer["transfer_id"], BLOCKS)]
    held = app_client.get(f"/organisations/{government}/holdings", headers=world.headers("gov_admin")).json()
    assert next(h["held"] for h in held["items"] if h["programme_id"] == pid) == BLOCKS
    with world.engine.connect() as conn:
        projected = conn.execute(text("select count(*), sum(block_end - block_start + 1) from chain.serial_block "
                                      "where programme_id = :p and holder = :h and state = 'held'"),
                                 {"p": pid, "h": government}).one()  # fmt: skip
    assert tuple(projected) == (BLOCKS, BLOCKS)

    retired = retire(app_client, world, "gov_admin", pid, other, retirement_type="legal_action")
    assert retired.status_code == 201, retired.text
    body = retired.json()
    assert (body["state"], body["amount"]) == ("retired", BLOCKS)
    assert len(body["chain_retirement_ids"]) == len(body["tx_hashes"]) == BLOCKS // MAX_BLOCKS_PER_CALL
    assert sum(registry.retirement(i)["amount"] for i in body["chain_retirement_ids"]) == BLOCKS
    assert registry.view("balanceOf", pid, other) == 0


def test_a_split_move_interrupted_between_parts_completes_once_on_retry(
    app_client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Calls of at most 10 blocks; the second call fails as if the node died; the intent is then left as a crash
    leaves it (never counted as attempted); the retry finds part 0 on chain and sends only the rest."""
    registry, dev, government = world.registry, world.developer, world.government
    monkeypatch.setattr(moves, "MAX_BLOCKS_PER_CALL", 10)
    pid, _other = fragmented_programme(app_client, world, blocks=12)
    real_transfer, calls = registry.transfer, []

    def dies_after_the_first_part(*args: Any, **options: Any) -> Any:
        calls.append(args)
        if len(calls) == 2:
            raise ChainUnavailable("the node died between two parts")
        return real_transfer(*args, **options)

    monkeypatch.setattr(registry, "transfer", dies_after_the_first_part)
    key = unique("split-")
    interrupted = send(app_client, world, "dev_admin", pid, dev, government, 12, key)
    assert interrupted.status_code == 503, interrupted.text
    assert registry.view("balanceOf", pid, government) == 10  # part 0 only
    with world.engine.begin() as conn:  # as a SIGKILL leaves it: the failed attempt was never recorded
        conn.execute(text("update app.programme_change set attempts = 0 where idempotency_key = :k"), {"k": key})
    retried = send(app_client, world, "dev_admin", pid, dev, government, 12, key)
    assert retried.status_code == 201, retried.text
    assert (retried.json()["state"], len(retried.json()["tx_hashes"])) == ("executed", 2)
    assert (registry.view("balanceOf", pid, dev), registry.view("balanceOf", pid, government)) == (0, 12)
    # Part 0; part 1 failing; the retry's one-call attempt, refused by the contract as its reference is part 0's
    # (sent with a gas limit from its shape, so mined as a reverted transaction that applied nothing); part 1 again.
    assert [args[3] for args in calls] == [10, 2, 12, 2]
