"""ABI helpers shared by error decoding, batched view calls and the indexer's log decoding."""

from __future__ import annotations

from typing import Any


def abi_type(item: dict[str, Any]) -> str:
    """The canonical type string of an ABI input/output, tuples spelled out: ``(uint40,uint64)[]``."""
    kind: str = item["type"]
    if kind.startswith("tuple"):
        return "(" + ",".join(abi_type(c) for c in item["components"]) + ")" + kind[len("tuple") :]
    return kind
