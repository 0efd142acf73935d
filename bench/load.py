"""Generate many registry events fast: pre-signed transactions posted as JSON-RPC batches (toolchain.md §4 E).

Used by the indexer benchmark and by the indexer's crash tests. The workload is a valid sequence by
construction, so every transaction succeeds: per ten transactions, six 1-tonne transfers A->B (each splits A's
block), one 2-tonne transfer B->C, one retirement by B, one freeze of a fresh account and one issuance.
"""

from __future__ import annotations

from typing import Any

import requests
from eth_account import Account

from node.chain.client import new_request_ref
from node.chain.registry import Registry
from node.chain.types import RetirementInput, RetirementType

A, B, C = 10, 20, 30
GAS = 600_000


def workload_calls(programme_id: int, count: int, first_frozen: int = 100_000) -> list[tuple[str, list[Any]]]:
    calls: list[tuple[str, list[Any]]] = []
    legal = RetirementInput(RetirementType.LEGAL_ACTION).as_abi()
    for i in range(count):
        step = i % 10
        if step < 6:
            calls.append(("transfer", [programme_id, A, B, 1, new_request_ref()]))
        elif step == 6:
            calls.append(("transfer", [programme_id, B, C, 2, new_request_ref()]))
        elif step == 7:
            calls.append(("retire", [programme_id, B, 1, legal, new_request_ref()]))
        elif step == 8:
            calls.append(("freezeAccount", [first_frozen + i, new_request_ref()]))
        else:
            calls.append(("issue", [programme_id, 5, new_request_ref()]))
    return calls


def send_presigned(registry: Registry, private_key: str, calls: list[tuple[str, list[Any]]], *,
                   batch: int = 200) -> list[str]:  # fmt: skip
    """Signs ``calls`` with consecutive nonces and posts them in batches; returns the transaction hashes."""
    client = registry.client
    account = Account.from_key(private_key)
    nonce = client.rpc(lambda: client.w3.eth.get_transaction_count(account.address, "pending"))
    fee = client.rpc(lambda: client.w3.eth.gas_price) * 3 + 10**9
    raw: list[str] = []
    for offset, (function, args) in enumerate(calls):
        tx = {"to": registry.address, "data": registry.contract.encode_abi(function, args=args), "gas": GAS,
              "nonce": nonce + offset, "chainId": client.chain_id, "maxFeePerGas": fee,
              "maxPriorityFeePerGas": 10**9, "type": 2}  # fmt: skip
        raw.append("0x" + account.sign_transaction(tx).raw_transaction.hex())
    hashes: list[str] = []
    session = requests.Session()
    for start in range(0, len(raw), batch):
        payload: list[Any] = [{"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": [r]}
                   for i, r in enumerate(raw[start : start + batch])]  # fmt: skip
        for answer in sorted(session.post(client.rpc_url, json=payload, timeout=120).json(), key=lambda a: a["id"]):
            if "error" in answer:
                raise RuntimeError(f"transaction refused: {answer['error']}")
            hashes.append(answer["result"])
    return hashes


def wait_mined(registry: Registry, last_hash: str, timeout: float = 600) -> None:
    client = registry.client
    receipt = client.rpc(lambda: client.w3.eth.wait_for_transaction_receipt(last_hash, timeout, 0.2))  # type: ignore[arg-type]
    if receipt["status"] != 1:
        raise RuntimeError("the last workload transaction reverted")


CHUNK = 500
"""Transactions in flight at once. Anvil 1.5.1 mined a 5,000-transaction pool one transaction per block and grew
to 24 GB RSS until the OOM killer stopped it; 500 at a time stays under 100 MB and packs blocks."""


def generate(registry: Registry, private_key: str, programme_id: int, count: int) -> None:
    """Sends ``count`` workload transactions (one event each) and waits until all are mined."""
    calls = workload_calls(programme_id, count)
    for start in range(0, count, CHUNK):
        hashes = send_presigned(registry, private_key, calls[start : start + CHUNK])
        wait_mined(registry, hashes[-1])
