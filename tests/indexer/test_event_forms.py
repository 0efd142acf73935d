"""Events as implementation 1.1.0 emitted them (no ``merges``) still decode and project: a chain upgraded to 1.2.0
holds both forms, and the indexer rebuilds from the deployment block (ADR 0015)."""

from __future__ import annotations

from typing import Any

from eth_abi.abi import encode
from eth_utils.crypto import keccak

from indexer.decoding import EventDecoder
from indexer.handlers import on_credits_issued, on_credits_transferred
from indexer.state import BatchState
from node.chain.compiler import Artifact

MOVES = "(uint64,uint64,uint64)[]"
ISSUED = "(uint40,uint64,uint64)[]"


def _log(signature: str, topics: list[bytes], data: bytes, log_index: int) -> dict[str, Any]:
    return {
        "topics": ["0x" + keccak(text=signature).hex(), *("0x" + t.hex() for t in topics)],
        "data": "0x" + data.hex(), "blockNumber": "0x5", "blockHash": "0x" + "aa" * 32,
        "transactionHash": "0x" + "bb" * 32, "logIndex": hex(log_index),
    }  # fmt: skip


def _uint(value: int) -> bytes:
    return encode(["uint256"], [value])


def test_issuance_and_transfer_of_1_1_0_decode_without_merges_and_project(artifacts: dict[str, Artifact]) -> None:
    decoder = EventDecoder(artifacts["CarbonRegistry"].abi)
    ref = b"\x01" * 32
    issued = decoder.decode(_log(
        f"CreditsIssued(uint40,bytes32,uint64,uint64,{ISSUED})", [_uint(7), ref],
        encode(["uint64", "uint64", ISSUED], [10, 10, [(10, 1, 10)]]), 0,
    ))  # fmt: skip
    transferred = decoder.decode(_log(
        f"CreditsTransferred(uint40,uint40,uint40,bytes32,uint64,{MOVES})", [_uint(7), _uint(10), _uint(20)],
        encode(["bytes32", "uint64", MOVES], [ref, 4, [(1, 4, 10)]]), 1,
    ))  # fmt: skip
    assert issued is not None
    assert transferred is not None
    assert (issued.name, transferred.name) == ("CreditsIssued", "CreditsTransferred")
    assert "merges" not in issued.args
    assert "merges" not in transferred.args
    state = BatchState()
    state.programmes[7] = {"programme_id": 7, "credit_issued": 0}
    on_credits_issued(state, issued)
    on_credits_transferred(state, transferred)
    assert {end: (row["block_start"], row["holder"]) for end, row in state.blocks.items()} == {
        10: (5, 10), 4: (1, 20),
    }  # fmt: skip


def test_current_forms_carry_merges(artifacts: dict[str, Artifact]) -> None:
    decoder = EventDecoder(artifacts["CarbonRegistry"].abi)
    signatures = {
        f"CreditsIssued(uint40,bytes32,uint64,uint64,{ISSUED},{MOVES})",
        f"CreditsTransferred(uint40,uint40,uint40,bytes32,uint64,{MOVES},{MOVES})",
        f"CreditsIssued(uint40,bytes32,uint64,uint64,{ISSUED})",
        f"CreditsTransferred(uint40,uint40,uint40,bytes32,uint64,{MOVES})",
    }
    assert {"0x" + keccak(text=s).hex() for s in signatures} <= set(decoder.topics)
