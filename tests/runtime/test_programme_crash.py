"""Issue 9: ``registry up`` dies while ``POST /programmes`` with an ``Idempotency-Key`` waits for its chain
transaction; after a restart the retry with the same key completes it, and there is exactly one programme, on chain
and in the API.

Deterministic: Anvil's automine is off, so the transaction waits in the pool until the test has frozen the node
(SIGSTOP) and mined it itself; the node is then killed without ever seeing the receipt, i.e. after the chain write
and before the database completion.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hexbytes import HexBytes

from tests.runtime.crash_api import (
    FIRST_PASSWORD,
    PASSWORD,
    FirstAttempt,
    RootNode,
    freeze,
    login,
    new_programme,
    registry_of,
    rpc,
)

pytestmark = pytest.mark.slow

KEY = "crash-1"
EXTERNAL_ID = "MRV-CRASH-1"


def test_a_create_killed_after_its_chain_write_completes_once_on_retry(workdir: Path) -> None:
    node = RootNode(workdir / "data")
    frozen = False
    try:
        health = node.start()
        registry = registry_of(node, health, workdir)
        api = login(node, FIRST_PASSWORD)
        tax_id = "NG-CRASH-0001"
        developer: dict[str, Any] = {
            "name": "Green Cookstoves Ltd", "role": "ProgrammeDeveloper", "tax_id": tax_id,
            "email": "contact@cookstoves.example", "phone": "+234 800 000 0001", "address": "12 Marina Road, Lagos",
            "admin": {"email": "amina@cookstoves.example", "name": "Amina Bello"},
        }  # fmt: skip
        created = api.post("/organisations", json=developer)
        assert created.status_code == 201, created.text
        body = new_programme(tax_id)
        headers = {"Idempotency-Key": KEY}
        before = registry.view("totals")[0]

        rpc(node, "evm_setAutomine", False)

        attempt = FirstAttempt(node, lambda: api.post("/programmes", json=body, headers=headers, timeout=120),
                               "createProgramme")  # fmt: skip
        freeze(node)
        frozen = True
        rpc(node, "evm_mine")
        receipt = registry.client.w3.eth.get_transaction_receipt(HexBytes(attempt.tx_hash))
        assert receipt["status"] == 1
        (event,) = registry.events(receipt, "ProgrammeCreated")
        programme_id = int(event["args"]["programmeId"])
        assert registry.view("totals")[0] == before + 1

        node.sigkill()  # SIGKILL ends a stopped process too; Anvil saves its state on the way out
        frozen = False
        attempt.assert_unanswered()

        health = node.start()
        registry = registry_of(node, health, workdir)
        assert registry.view("totals")[0] == before + 1, "the mined block must survive the crash"
        api = login(node, PASSWORD)

        retry = api.post("/programmes", json=body, headers=headers)
        assert retry.status_code == 201, retry.text + node.log()
        shown = retry.json()
        assert shown["programme_id"] == programme_id
        assert shown["external_id"] == EXTERNAL_ID
        assert shown["details_verified"] is True
        assert shown["details_hash"] == shown["anchored_details_hash"]
        assert api.get(f"/programmes/{programme_id}").json() == shown, "the next read shows the same programme"

        listed = api.get("/programmes", params={"q": EXTERNAL_ID})
        assert listed.status_code == 200, listed.text
        assert [p["programme_id"] for p in listed.json()["items"] if p["external_id"] == EXTERNAL_ID] == [programme_id]
        all_programmes = api.get("/programmes", params={"limit": 100}).json()["items"]
        assert [p["programme_id"] for p in all_programmes] == [programme_id]
        assert registry.view("totals")[0] == before + 1, "the retry must not write the chain again"
        on_chain = registry.view("getProgramme", programme_id)
        assert on_chain[2] == EXTERNAL_ID
        assert on_chain[17].hex() == shown["details_hash"]

        again = api.post("/programmes", json=body, headers=headers)
        assert again.status_code == 201, again.text
        assert again.json() == shown
        other = api.post("/programmes", json=body | {"title": "Another title"}, headers=headers)
        assert other.status_code == 422, other.text
        assert other.json()["type"].endswith("idempotency-key-reused"), other.text
        assert registry.view("totals")[0] == before + 1
    finally:
        if frozen and node.is_running():
            node.sigkill()  # never leave a stopped process behind (only this one PID)
        node.close()
