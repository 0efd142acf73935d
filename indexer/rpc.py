"""Raw JSON-RPC reads for the indexer: logs over a block range and block headers.

Plain JSON-RPC (:mod:`node.chain.jsonrpc`: a kept-alive connection, ``requests`` only where proxies or TLS need it):
a raw ``eth_getLogs`` is several times faster than going through web3.py's formatters (toolchain.md §4), and the
indexer needs nothing else from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from node.chain.errors import ChainUnavailable
from node.chain.jsonrpc import Answer, JsonRpcHttp, RpcTimeout, RpcUnreachable


class RangeTooLarge(RuntimeError):
    """The node refused or failed a log query for its size; retry with a smaller range."""


@dataclass(frozen=True)
class Header:
    number: int
    hash: bytes
    parent_hash: bytes
    timestamp: int


class ChainReader:
    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self.url = url
        self.timeout = timeout
        self.http = JsonRpcHttp(url, timeout=timeout)
        self._ids = 0

    def _post(self, payload: Any) -> Answer:
        """POST with one retry on a fresh connection (idle keep-alive connections get closed by nodes)."""
        try:
            return self.http.post(payload)
        except RpcUnreachable:
            return self.http.post(payload)

    def _call(self, method: str, params: list[Any]) -> Any:
        self._ids += 1
        try:
            response = self._post({"jsonrpc": "2.0", "id": self._ids, "method": method, "params": params})
        except RpcTimeout as exc:
            if method == "eth_getLogs":
                raise RangeTooLarge(f"eth_getLogs timed out after {self.timeout} s") from exc
            raise ChainUnavailable(f"The chain at {self.url} did not answer {method} in time.") from exc
        except RpcUnreachable as exc:
            raise ChainUnavailable(f"The chain at {self.url} cannot be reached.") from exc
        if response.status >= 500 and method == "eth_getLogs":
            raise RangeTooLarge(f"eth_getLogs failed with HTTP {response.status}")
        body = response.body
        if not isinstance(body, dict) or not ("result" in body or "error" in body):
            raise ChainUnavailable(f"{method} failed: HTTP {response.status} without a JSON-RPC answer")
        if "error" in body:
            message = str(body["error"].get("message", body["error"]))
            if method == "eth_getLogs":
                raise RangeTooLarge(message)
            raise ChainUnavailable(f"{method} failed: {message}")
        return body["result"]

    def head(self) -> int:
        return int(self._call("eth_blockNumber", []), 16)

    def header(self, number: int) -> Header | None:
        block = self._call("eth_getBlockByNumber", [hex(number), False])
        if block is None:
            return None
        return Header(
            number=int(block["number"], 16),
            hash=bytes.fromhex(block["hash"][2:]),
            parent_hash=bytes.fromhex(block["parentHash"][2:]),
            timestamp=int(block["timestamp"], 16),
        )

    def headers(self, numbers: set[int] | list[int]) -> dict[int, Header | None]:
        """Several headers in one JSON-RPC batch (None for blocks the chain does not have)."""
        wanted = sorted(set(numbers))
        if not wanted:
            return {}
        payload: list[Any] = [{"jsonrpc": "2.0", "id": i, "method": "eth_getBlockByNumber", "params": [hex(n), False]}
                   for i, n in enumerate(wanted)]  # fmt: skip
        try:
            response = self._post(payload)
        except (RpcUnreachable, RpcTimeout) as exc:
            raise ChainUnavailable(f"The chain at {self.url} cannot be reached.") from exc
        if not isinstance(response.body, list):
            raise ChainUnavailable(f"eth_getBlockByNumber batch failed: HTTP {response.status}")
        answers = {a["id"]: a for a in response.body}
        result: dict[int, Header | None] = {}
        for i, number in enumerate(wanted):
            block = answers.get(i, {}).get("result")
            result[number] = None if block is None else Header(
                number=int(block["number"], 16), hash=bytes.fromhex(block["hash"][2:]),
                parent_hash=bytes.fromhex(block["parentHash"][2:]), timestamp=int(block["timestamp"], 16),
            )  # fmt: skip
        return result

    def code(self, address: str, number: int) -> bytes:
        """The code at ``address`` as of block ``number``: empty before a deployment; ChainUnavailable when the
        node no longer keeps that block's state."""
        result: str = self._call("eth_getCode", [address, hex(number)])
        return bytes.fromhex(result[2:])

    def logs(self, address: str, from_block: int, to_block: int) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call(
            "eth_getLogs", [{"address": address, "fromBlock": hex(from_block), "toBlock": hex(to_block)}]
        )
        return result
