"""Issue 10: ``registry up`` dies while ``POST /transfers`` (the holder's Admin sending, so it executes at once) waits
for its chain transaction. After a restart, a retry with the same ``Idempotency-Key`` completes it, or, without any
retry, the start-up recovery of ``registry up`` does: either way exactly one transfer, on chain and in the API.

Deterministic, as the programme crash test: Anvil mines automatically while the test sets up its programme, then
stops mining, so the transfer's transaction waits in the pool until the test has frozen the node (SIGSTOP) and
mined it itself; the node is then killed without ever seeing the receipt, i.e. after the chain write and before
the database completion.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hexbytes import HexBytes

from node.chain.registry import Registry
from tests.runtime.crash_api import (
    FIRST_PASSWORD,
    PASSWORD,
    FirstAttempt,
    RootNode,
    freeze,
    login,
    new_programme,
    pending_transactions,
    registry_of,
    rpc,
)

pytestmark = pytest.mark.slow

TAX_ID = "NG-TRANSFER-CRASH-1"
ADMIN_EMAIL = "amina@transfer-crash.example"
ADMIN_PASSWORD = "developer-admin-password-1"
ISSUED = 500
AMOUNT = 120
KEY = "transfer-crash-1"
WELCOME_LINK = re.compile(r"to=" + re.escape(ADMIN_EMAIL) + r" .*?/set-password\?token=([\w-]+)", re.DOTALL)


@dataclass
class Crashed:
    """What the crash left: a node running again, and what the test knows of the transfer it interrupted."""

    node: RootNode
    registry: Registry
    root: httpx.Client
    body: dict[str, Any]
    programme_id: int
    developer: int
    government: int
    transfer_id: int
    tx_hash: str


def session(node: RootNode, email: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=node.api, timeout=60)
    response = client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    assert response.json()["must_change_password"] is False
    client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    return client


def developer_admin(node: RootNode) -> httpx.Client:
    """Logs the developer's Admin in: its welcome link is in the node's log (no SMTP server: emails are logged)."""
    deadline = time.monotonic() + 60
    while (found := WELCOME_LINK.search(node.log())) is None:
        assert time.monotonic() < deadline, "no welcome email was logged: " + node.log()
        time.sleep(0.2)
    response = httpx.post(f"{node.api}/auth/reset-password", json={"token": found.group(1),
                                                                    "new_password": ADMIN_PASSWORD})  # fmt: skip
    assert response.status_code == 200, response.text
    return session(node, ADMIN_EMAIL, ADMIN_PASSWORD)


def sent_transfers(api: httpx.Client, programme_id: int) -> list[dict[str, Any]]:
    listed = api.get("/transfers", params={"programme_id": programme_id, "limit": 100})
    assert listed.status_code == 200, listed.text
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


def crash_mid_transfer(workdir: Path) -> Crashed:
    """Sets up an authorised programme whose developer holds ``ISSUED`` credits, then kills ``registry up`` after
    the developer's transfer of ``AMOUNT`` to the Government is mined but before the node saw it; restarts it."""
    node = RootNode(workdir / "data")
    frozen = False
    try:
        health = node.start()
        registry = registry_of(node, health, workdir)
        root = login(node, FIRST_PASSWORD)
        government = int(root.get("/auth/me").json()["organisation_id"])
        created = root.post("/organisations", json={
            "name": "Transfer Crash Developers Ltd", "role": "ProgrammeDeveloper", "tax_id": TAX_ID,
            "email": "contact@transfer-crash.example", "phone": "+234 800 000 0009", "address": "3 Marina Road, Lagos",
            "admin": {"email": ADMIN_EMAIL, "name": "Amina Bello"},
        })  # fmt: skip
        assert created.status_code == 201, created.text
        developer = int(created.json()["organisation"]["organisation_id"])
        programme = root.post("/programmes", json=new_programme(TAX_ID, external_id="MRV-TRANSFER-CRASH-1"),
                              headers={"Idempotency-Key": "transfer-crash-programme"})  # fmt: skip
        assert programme.status_code == 201, programme.text
        programme_id = int(programme.json()["programme_id"])
        authorised = root.post(f"/programmes/{programme_id}/authorise", json={"issue_amount": ISSUED},
                               headers={"Idempotency-Key": "transfer-crash-authorise"})  # fmt: skip
        assert authorised.status_code == 200, authorised.text
        assert registry.view("balanceOf", programme_id, developer) == ISSUED
        sender = developer_admin(node)
        body = {"programme_id": programme_id, "from_organisation_id": developer, "to_organisation_id": government,
                "amount": AMOUNT, "remarks": "Sale to the Government"}  # fmt: skip

        assert pending_transactions(node) == []
        rpc(node, "evm_setAutomine", False)

        attempt = FirstAttempt(node, lambda: sender.post("/transfers", json=body, headers={"Idempotency-Key": KEY},
                                                         timeout=120), "transfer")  # fmt: skip
        # The transfer and its intent are committed before the transaction is sent.
        (executing,) = sent_transfers(root, programme_id)
        assert (executing["state"], executing["amount"], executing["tx_hash"]) == ("executing", AMOUNT, None)

        freeze(node)
        frozen = True
        rpc(node, "evm_mine")
        receipt = registry.client.w3.eth.get_transaction_receipt(HexBytes(attempt.tx_hash))
        assert receipt["status"] == 1
        (event,) = registry.events(receipt, "CreditsTransferred")
        assert (event["args"]["programmeId"], event["args"]["from"], event["args"]["to"], event["args"]["amount"]) == (
            programme_id, developer, government, AMOUNT)  # fmt: skip

        node.sigkill()  # SIGKILL ends a stopped process too; Anvil saves its state on the way out
        frozen = False
        attempt.assert_unanswered()

        health = node.start()
        registry = registry_of(node, health, workdir)
        assert registry.view("balanceOf", programme_id, government) == AMOUNT, "the mined block must survive"
        return Crashed(node, registry, login(node, PASSWORD), body, programme_id, developer, government,
                       int(executing["transfer_id"]), attempt.tx_hash)  # fmt: skip
    except BaseException:
        if frozen and node.is_running():
            node.sigkill()  # never leave a stopped process behind (only this one PID)
        node.close()
        raise


def transferred_events(crashed: Crashed) -> list[Any]:
    """Every ``CreditsTransferred`` of the programme, from the chain's first block."""
    found = crashed.registry.contract.events.CreditsTransferred().get_logs(
        from_block=0, argument_filters={"programmeId": crashed.programme_id}
    )
    return list(found)


def assert_exactly_once(crashed: Crashed, shown: dict[str, Any]) -> None:
    """One transfer of ``AMOUNT``, the mined one: on chain, in ``/transfers`` and in the holdings."""
    registry, pid, developer, government = crashed.registry, crashed.programme_id, crashed.developer, crashed.government
    assert shown["transfer_id"] == crashed.transfer_id
    assert (shown["state"], shown["amount"], shown["tx_hash"]) == ("executed", AMOUNT, crashed.tx_hash)
    (event,) = transferred_events(crashed)
    assert "0x" + bytes(event["transactionHash"]).hex() == crashed.tx_hash
    assert event["args"]["amount"] == AMOUNT
    assert event["blockNumber"] == shown["block_number"]
    balances = (registry.view("balanceOf", pid, developer), registry.view("balanceOf", pid, government))
    assert balances == (ISSUED - AMOUNT, AMOUNT)
    assert registry.view("getProgramme", pid)[10] == ISSUED, "a transfer issues nothing"

    root = crashed.root
    assert [(t["transfer_id"], t["state"], t["amount"], t["tx_hash"]) for t in sent_transfers(root, pid)] == [
        (crashed.transfer_id, "executed", AMOUNT, crashed.tx_hash)]  # fmt: skip
    assert root.get(f"/transfers/{crashed.transfer_id}").json() == shown
    for organisation_id, held in ((developer, ISSUED - AMOUNT), (government, AMOUNT)):
        holdings = root.get(f"/organisations/{organisation_id}/holdings")
        assert holdings.status_code == 200, holdings.text
        assert [(h["programme_id"], h["held"]) for h in holdings.json()["items"]] == [(pid, held)]


def test_a_transfer_killed_after_its_chain_write_completes_once_on_retry(workdir: Path) -> None:
    crashed = crash_mid_transfer(workdir)
    node = crashed.node
    try:
        sender = session(node, ADMIN_EMAIL, ADMIN_PASSWORD)
        headers = {"Idempotency-Key": KEY}
        retry = sender.post("/transfers", json=crashed.body, headers=headers)
        assert retry.status_code == 201, retry.text + node.log()
        shown = retry.json()
        assert_exactly_once(crashed, shown)

        again = sender.post("/transfers", json=crashed.body, headers=headers)
        assert again.status_code == 201, again.text
        assert again.json() == shown
        other = sender.post("/transfers", json=crashed.body | {"amount": AMOUNT + 1}, headers=headers)
        assert other.status_code == 422, other.text
        assert other.json()["type"].endswith("idempotency-key-reused"), other.text
        assert_exactly_once(crashed, shown)
    finally:
        node.close()


def test_a_transfer_killed_after_its_chain_write_is_completed_by_the_restart_alone(workdir: Path) -> None:
    crashed = crash_mid_transfer(workdir)
    node = crashed.node
    try:
        # ``registry up`` drives every pending intent once at start (then every 60 s those older than 60 s).
        deadline = time.monotonic() + 150
        while (shown := crashed.root.get(f"/transfers/{crashed.transfer_id}").json())["state"] != "executed":
            assert shown["state"] == "executing", shown
            assert time.monotonic() < deadline, "the restart did not complete the transfer: " + node.log()
            time.sleep(0.5)
        assert_exactly_once(crashed, shown)
        # A late retry answers the completed transfer, and sends nothing more.
        retry = session(node, ADMIN_EMAIL, ADMIN_PASSWORD).post("/transfers", json=crashed.body,
                                                               headers={"Idempotency-Key": KEY})  # fmt: skip
        assert retry.status_code == 201, retry.text
        assert retry.json() == shown
        assert_exactly_once(crashed, shown)
    finally:
        node.close()
