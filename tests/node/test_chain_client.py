"""The chain client: concurrent senders never collide on a nonce, failures are typed and clear."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from node.chain.client import ChainClient, new_request_ref, request_ref_for
from node.chain.compiler import Artifact
from node.chain.errors import ChainUnavailable, InsufficientCredits
from node.chain.registry import Registry
from node.config import ANVIL_DEV_KEY
from node.paths import PROJECT_ROOT
from node.runtime.anvil import AnvilProcess, free_port
from tests.conftest import authorised_programme


def test_concurrent_threads_each_get_their_own_nonce(registry: Registry) -> None:
    accounts = list(range(100, 140))
    with ThreadPoolExecutor(max_workers=8) as pool:
        receipts = list(pool.map(lambda a: registry.freeze(a, new_request_ref()), accounts))
    assert all(r["status"] == 1 for r in receipts)
    assert all(registry.view("isFrozen", a) for a in accounts)
    hashes = {r["transactionHash"] for r in receipts}
    assert len(hashes) == len(accounts)


def test_concurrent_processes_share_the_key_safely(registry: Registry, anvil: AnvilProcess, lock_dir: Path) -> None:
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.node.nonce_worker", anvil.url, str(lock_dir), registry.address,
             str(200 + 10 * i), "10"],
            cwd=PROJECT_ROOT,
        )
        for i in range(3)
    ]  # fmt: skip
    # This process sends at the same time.
    for account in range(300, 310):
        registry.freeze(account, new_request_ref())
    assert [w.wait(timeout=120) for w in workers] == [0, 0, 0]
    frozen = [a for a in [*range(200, 230), *range(300, 310)] if registry.view("isFrozen", a)]
    assert len(frozen) == 40


def test_unreachable_chain_raises_chain_unavailable(tmp_path: Path, artifacts: dict[str, Artifact]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    client = ChainClient(url, ANVIL_DEV_KEY, lock_dir=tmp_path, request_timeout=2)
    registry = Registry(client, "0x" + "11" * 20, artifacts["CarbonRegistry"].abi)
    with pytest.raises(ChainUnavailable, match=url):
        registry.freeze(10, new_request_ref())
    with pytest.raises(ChainUnavailable, match="cannot be reached"):
        registry.view("isFrozen", 10)
    assert ChainUnavailable.status_code == 503


def test_receipt_that_never_comes_raises_chain_unavailable(registry: Registry, lock_dir: Path) -> None:
    w3 = registry.client.w3
    w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        slow = ChainClient(registry.client.rpc_url, ANVIL_DEV_KEY, lock_dir=lock_dir, receipt_timeout=0.5)
        with pytest.raises(ChainUnavailable, match="not mined within"):
            Registry(slow, registry.address, registry.contract.abi).freeze(10, new_request_ref())  # type: ignore[arg-type]
    finally:
        w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    assert registry.view("isFrozen", 10)


def test_mined_revert_is_decoded_from_replay(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    # A transaction that passed estimation but reverted in its block (state changed in between): the client replays
    # it to recover the custom error. Skipping the estimate forces the revert into a block.
    pid = authorised_programme(registry, issue=5)
    monkeypatch.setattr(registry.client, "_estimate", lambda tx: 300_000)
    with pytest.raises(InsufficientCredits) as info:
        registry.transfer(pid, 10, 20, 6, new_request_ref())
    assert info.value.arguments["balance"] == 5


def test_idempotency_key_maps_to_a_stable_reference() -> None:
    assert request_ref_for("abc") == request_ref_for("abc")
    assert request_ref_for("abc") != request_ref_for("abd")
    assert len(request_ref_for("abc")) == 32
