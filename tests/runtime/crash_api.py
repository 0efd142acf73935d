"""What the runtime crash tests share: a node whose Root's first password is known, JSON-RPC to its Anvil, a
signed-in API client, the registry contract, a programme body, and Anvil's pool."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from node.chain.client import ChainClient
from node.chain.compiler import load_artifacts
from node.chain.registry import Registry
from node.config import ANVIL_DEV_KEY, Settings
from tests.runtime.node import Node

FIRST_PASSWORD = "first-root-password-1"
PASSWORD = "changed-root-password-2"


class RootNode(Node):
    """A node whose Root's first password the test knows."""

    def env(self) -> dict[str, str]:
        return super().env() | {"REGISTRY_ROOT_PASSWORD": FIRST_PASSWORD}


def rpc(node: Node, method: str, *params: Any) -> Any:
    response = httpx.post(node.rpc, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)},
                          timeout=10)  # fmt: skip
    response.raise_for_status()
    answer = response.json()
    assert "error" not in answer, answer
    return answer["result"]


def login(node: Node, password: str) -> httpx.Client:
    client = httpx.Client(base_url=node.api, timeout=60)
    email = Settings.model_fields["registry_root_email"].default
    response = client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    session = response.json()
    if session["must_change_password"]:
        response = client.post("/auth/password", json={"old_password": password, "new_password": PASSWORD},
                               headers={"Authorization": f"Bearer {session['access_token']}"})  # fmt: skip
        assert response.status_code == 200, response.text
        session = response.json()
    client.headers["Authorization"] = f"Bearer {session['access_token']}"
    return client


def registry_of(node: Node, health: dict[str, Any], workdir: Path) -> Registry:
    client = ChainClient(node.rpc, ANVIL_DEV_KEY, lock_dir=workdir / "locks")
    return Registry(client, health["chain"]["contracts"]["registry"], load_artifacts()["CarbonRegistry"].abi)


def new_programme(tax_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "title": "Solar for rural clinics",
        "external_id": "MRV-CRASH-1",
        "sector": "Energy",
        "sectoral_scope": 1,
        "type_of_mitigation": "Solar",
        "start_time": "2024-03-01T00:00:00Z",
        "end_time": "2030-12-31T00:00:00Z",
        "proponents": [{"tax_id": tax_id, "percentage": 100}],
        "credit_estimate": 1000,
        "properties": {"geographical_location": ["Lagos"], "greenhouse_gases": ["CO2"],
                       "estimated_programme_cost_usd": "250000.00"},
    }  # fmt: skip
    return body | overrides


def pending_transactions(node: Node) -> list[str]:
    """Hashes of the transactions waiting in Anvil's pool."""
    content = rpc(node, "txpool_content")
    return [tx["hash"] for by_nonce in content["pending"].values() for tx in by_nonce.values()]


class FirstAttempt:
    """A write sent in a thread that the test lets reach Anvil's pool (automine off), then kills the node under."""

    def __init__(self, node: Node, request: Callable[[], httpx.Response], what: str) -> None:
        self.outcome: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._run, args=(request,), name="first-attempt", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 60
        while not (waiting := pending_transactions(node)):
            assert time.monotonic() < deadline, f"the {what} transaction never reached the pool: " + node.log()
            assert self._thread.is_alive(), f"the first attempt ended before its chain write: {self.outcome}"
            time.sleep(0.05)
        assert len(waiting) == 1, waiting
        self.tx_hash: str = waiting[0]

    def _run(self, request: Callable[[], httpx.Response]) -> None:
        try:
            self.outcome["response"] = request()
        except httpx.HTTPError as error:  # expected: the node dies under it
            self.outcome["error"] = error

    def assert_unanswered(self) -> None:
        """After the node was killed: the client never got an answer."""
        self._thread.join(timeout=30)
        assert not self._thread.is_alive()
        assert "response" not in self.outcome, f"the first attempt got an answer: {self.outcome['response'].text}"


def freeze(node: Node) -> None:
    """SIGSTOP the whole node (API, indexer, recovery threads), so it never sees the receipt."""
    assert node.process is not None
    assert node.identity().pid == node.process.pid
    node.process.send_signal(signal.SIGSTOP)
