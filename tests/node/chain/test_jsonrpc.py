"""The hot paths' JSON-RPC transport (ADR 0020): kept-alive ``http.client`` connections for a plain local endpoint,
``requests`` wherever proxies, TLS or credentials need it, and the same two errors either way."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.chain.client import ChainClient
from node.chain.errors import ChainUnavailable
from node.chain.jsonrpc import JsonRpcHttp, RpcUnreachable
from node.config import ANVIL_DEV_KEY
from node.runtime.anvil import AnvilProcess, free_port


def test_a_plain_local_endpoint_is_posted_to_directly(anvil: AnvilProcess) -> None:
    http = JsonRpcHttp(anvil.url, timeout=5)
    assert http.direct
    assert int(http.request("eth_chainId", [])["result"], 16) == 31337
    batch = http.post([{"jsonrpc": "2.0", "id": i, "method": "eth_blockNumber", "params": []} for i in range(3)])
    assert (batch.status, len(batch.body)) == (200, 3)
    assert "error" in http.request("eth_noSuchMethod", [])  # a JSON-RPC error is an answer, not a failure


@pytest.mark.parametrize("url", ["https://rpc.example.org", "http://user:secret@127.0.0.1:8545"])
def test_tls_or_credentials_go_through_requests(url: str) -> None:
    assert not JsonRpcHttp(url, timeout=5).direct


def test_a_proxy_from_the_environment_goes_through_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("http_proxy", "http://proxy.example.org:3128")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert not JsonRpcHttp("http://rpc.example.org:8545", timeout=5).direct
    monkeypatch.setenv("no_proxy", "rpc.example.org")
    assert JsonRpcHttp("http://rpc.example.org:8545", timeout=5).direct


def test_an_endpoint_that_is_down_is_unreachable_then_chain_unavailable(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RpcUnreachable):
        JsonRpcHttp(url, timeout=2).request("eth_blockNumber", [])
    client = ChainClient(url, ANVIL_DEV_KEY, lock_dir=tmp_path)
    with pytest.raises(ChainUnavailable):
        client._raw("eth_blockNumber", [])


def test_a_dropped_keep_alive_connection_is_retried_on_a_fresh_one(anvil: AnvilProcess, tmp_path: Path) -> None:
    client = ChainClient(anvil.url, ANVIL_DEV_KEY, lock_dir=tmp_path)
    client._raw("eth_blockNumber", [])
    connection = client.http._local.connection
    assert connection is not None
    assert connection.sock is not None
    connection.sock.close()  # as a node closing an idle connection leaves it
    assert int(client._raw("eth_blockNumber", []), 16) >= 0
