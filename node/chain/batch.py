"""Many view calls in one JSON-RPC batch: reconciliation and invariant checks read thousands of values."""

from __future__ import annotations

from typing import Any

import requests
from eth_abi.abi import decode
from web3.contract import Contract

from node.chain.abi import abi_type
from node.chain.errors import ChainUnavailable


class ViewBatch:
    """Encodes calls with the contract's ABI, posts them as one batch, decodes the answers in order."""

    def __init__(self, contract: Contract, url: str, *, chunk: int = 500, timeout: float = 60.0) -> None:
        self.contract = contract
        self.url = url
        self.chunk = chunk
        self.timeout = timeout
        self.session = requests.Session()
        abi: list[dict[str, Any]] = list(contract.abi)  # type: ignore[arg-type]
        self._outputs = {
            item["name"]: [abi_type(o) for o in item["outputs"]] for item in abi if item.get("type") == "function"
        }

    def call(self, calls: list[tuple[str, tuple[Any, ...]]], block: int | str = "latest") -> list[Any]:
        """Results in the order of ``calls``; a single return value is unwrapped."""
        tag = hex(block) if isinstance(block, int) else block
        results: list[Any] = []
        for start in range(0, len(calls), self.chunk):
            part = calls[start : start + self.chunk]
            payload: list[Any] = [
                {"jsonrpc": "2.0", "id": i, "method": "eth_call",
                 "params": [{"to": self.contract.address, "data": self.contract.encode_abi(name, args=list(args))},
                            tag]}
                for i, (name, args) in enumerate(part)
            ]  # fmt: skip
            try:
                answers = self.session.post(self.url, json=payload, timeout=self.timeout).json()
            except requests.RequestException as exc:
                raise ChainUnavailable("The chain at {url} cannot be reached.", params={"url": self.url}) from exc
            by_id = {a["id"]: a for a in answers}
            for i, (name, _) in enumerate(part):
                answer = by_id[i]
                if "error" in answer:
                    message = str(answer["error"].get("message"))
                    raise ChainUnavailable(
                        "eth_call {function} failed: {message}", params={"function": name, "message": message}
                    )
                values = decode(self._outputs[name], bytes.fromhex(answer["result"][2:]))
                results.append(values[0] if len(values) == 1 else values)
        return results
