"""Transfers over HTTP (real Anvil, PostgreSQL and indexer): sending, requests with approve / reject / cancel, the
low-credit auto-cancel, holdings; each step checked against the contract's balances."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from node.credits import transfers
from tests.api.identity.world import World, unique
from tests.api.programmes.test_programme_lifecycle import create


def authorised(app_client: TestClient, world: World, issue: int) -> int:
    pid = int(create(app_client, world, caller="root")["programme_id"])
    done = app_client.post(f"/programmes/{pid}/authorise", json={"issue_amount": issue},
                           headers=world.headers("root") | {"Idempotency-Key": unique("auth-")})  # fmt: skip
    assert done.status_code == 200, done.text
    return pid


def send(app_client: TestClient, world: World, caller: str, pid: int, sender: int, receiver: int, amount: int,
         key: str | None = None) -> Any:  # fmt: skip
    body = {"programme_id": pid, "from_organisation_id": sender, "to_organisation_id": receiver, "amount": amount}
    return app_client.post("/transfers", json=body,
                           headers=world.headers(caller) | {"Idempotency-Key": key or unique("transfer-")})  # fmt: skip


def act(app_client: TestClient, world: World, caller: str, transfer_id: int, action: str) -> Any:
    return app_client.post(f"/transfers/{transfer_id}/{action}", json={}, headers=world.headers(caller))


def test_a_holder_sends_at_once_and_a_retry_sends_nothing_more(app_client: TestClient, world: World) -> None:
    registry, dev, cert = world.registry, world.developer, world.certifier
    pid = authorised(app_client, world, 500)
    key = unique("send-")
    sent = send(app_client, world, "dev_admin", pid, dev, cert, 100, key)
    assert sent.status_code == 201, sent.text
    assert sent.json()["state"] == "executed"
    assert sent.json()["tx_hash"].startswith("0x")
    assert (registry.view("balanceOf", pid, dev), registry.view("balanceOf", pid, cert)) == (400, 100)
    again = send(app_client, world, "dev_admin", pid, dev, cert, 100, key)
    assert again.json() == sent.json()
    assert registry.view("balanceOf", pid, dev) == 400
    # Read your writes: the holdings and blocks already show it.
    held = app_client.get(f"/organisations/{cert}/holdings", headers=world.headers("cert_admin")).json()
    assert [(h["programme_id"], h["held"], h["available"]) for h in held["items"]] == [(pid, 100, 100)]
    blocks = app_client.get(f"/programmes/{pid}/blocks?holder={cert}", headers=world.headers("cert_admin")).json()
    assert sum(block["credits"] for block in blocks["items"]) == 100
    # Credits received can be sent on (the seed only let owners send).
    onward = send(app_client, world, "cert_admin", pid, cert, world.government, 20)
    assert onward.status_code == 201, onward.text
    assert registry.view("balanceOf", pid, world.government) == 20
    no_key = app_client.post("/transfers", headers=world.headers("dev_admin"), json={
        "programme_id": pid, "from_organisation_id": dev, "to_organisation_id": cert, "amount": 1})  # fmt: skip
    assert no_key.status_code == 428
    too_much = send(app_client, world, "dev_admin", pid, dev, cert, 401)
    assert too_much.status_code == 409
    assert too_much.json()["available"] == 400


def test_a_request_waits_for_the_sender_then_executes_once(app_client: TestClient, world: World) -> None:
    registry, dev, cert = world.registry, world.developer, world.certifier
    pid = authorised(app_client, world, 500)
    requested = send(app_client, world, "cert_admin", pid, dev, cert, 50)
    assert requested.status_code == 201, requested.text
    transfer_id = requested.json()["transfer_id"]
    assert requested.json()["state"] == "pending"
    assert registry.view("balanceOf", pid, cert) == 0
    assert act(app_client, world, "dev_viewonly", transfer_id, "approve").status_code == 403
    assert act(app_client, world, "cert_admin", transfer_id, "approve").status_code == 403
    approved = act(app_client, world, "dev_manager", transfer_id, "approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "approved"
    assert (registry.view("balanceOf", pid, dev), registry.view("balanceOf", pid, cert)) == (450, 50)
    again = act(app_client, world, "dev_admin", transfer_id, "approve")
    assert again.json()["state"] == "approved"
    assert registry.view("balanceOf", pid, cert) == 50
    assert act(app_client, world, "dev_admin", transfer_id, "reject").status_code == 409


def test_reject_cancel_and_the_low_credit_auto_cancel(app_client: TestClient, world: World) -> None:
    dev, cert = world.developer, world.certifier
    pid = authorised(app_client, world, 400)
    rejected = send(app_client, world, "cert_admin", pid, dev, cert, 10).json()
    assert act(app_client, world, "dev_admin", rejected["transfer_id"], "reject").json()["state"] == "rejected"
    cancelled = send(app_client, world, "cert_admin", pid, dev, cert, 10).json()
    assert act(app_client, world, "dev_admin", cancelled["transfer_id"], "cancel").status_code == 403
    assert act(app_client, world, "cert_admin", cancelled["transfer_id"], "cancel").json()["state"] == "cancelled"
    assert act(app_client, world, "dev_admin", cancelled["transfer_id"], "approve").status_code == 409
    large = send(app_client, world, "gov_admin", pid, dev, cert, 300).json()  # the Government asks for a third party
    assert large["state"] == "pending"
    small = send(app_client, world, "gov_admin", pid, dev, cert, 50).json()
    send(app_client, world, "dev_admin", pid, dev, world.government, 150)  # 250 left: 300 no longer fits
    seen = app_client.get(f"/transfers/{large['transfer_id']}", headers=world.headers("dev_admin")).json()
    assert seen["state"] == "cancelled"
    assert "250" in seen["decision_remarks"]
    assert app_client.get(f"/transfers/{small['transfer_id']}", headers=world.headers("dev_admin")).json()[
        "state"] == "pending"  # fmt: skip


def test_transfers_are_listed_to_those_involved(app_client: TestClient, world: World) -> None:
    dev, cert = world.developer, world.certifier
    pid = authorised(app_client, world, 100)
    transfer = send(app_client, world, "cert_admin", pid, dev, cert, 5).json()
    stranger = world.organisation("ProgrammeDeveloper")
    outsider = world.user(stranger, "Admin")
    headers = {"Authorization": f"Bearer {world.token(outsider)}"}
    assert app_client.get(f"/transfers/{transfer['transfer_id']}", headers=headers).status_code == 404
    mine = app_client.get(f"/transfers?programme_id={pid}", headers=world.headers("dev_viewonly")).json()["items"]
    assert [t["transfer_id"] for t in mine] == [transfer["transfer_id"]]
    assert app_client.get(f"/transfers?programme_id={pid}", headers=headers).json()["items"] == []
    for window, expected in (({"created_from": transfer["created_at"]}, [transfer["transfer_id"]]),
                             ({"created_before": transfer["created_at"]}, [])):  # fmt: skip
        page = app_client.get("/transfers", params={"programme_id": pid, **window}, headers=world.headers("dev_admin"))
        assert [t["transfer_id"] for t in page.json()["items"]] == expected, window
    assert app_client.get(f"/organisations/{dev}/holdings", headers=headers).status_code == 403
    accounts = app_client.get("/retirement-accounts", headers=headers)
    assert accounts.status_code == 200
    assert accounts.json()["government_account"] == world.government


def test_a_suspended_organisation_neither_sends_nor_receives(app_client: TestClient, world: World) -> None:
    pid = authorised(app_client, world, 100)
    refused = send(app_client, world, "dev_admin", pid, world.developer, world.suspended, 5)
    assert refused.status_code == 409
    assert "suspended" in refused.json()["detail"]
    assert world.registry.view("balanceOf", pid, world.developer) == 100


def test_suspending_an_organisation_cancels_its_pending_requests(app_client: TestClient, world: World) -> None:
    pid = authorised(app_client, world, 100)
    other = world.organisation("ProgrammeDeveloper")
    admin = world.user(other, "Admin")
    body = {"programme_id": pid, "from_organisation_id": world.developer, "to_organisation_id": other, "amount": 5}
    asked = app_client.post("/transfers", json=body, headers={"Authorization": f"Bearer {world.token(admin)}",
                                                               "Idempotency-Key": unique("ask-")})  # fmt: skip
    assert asked.status_code == 201, asked.text
    world.suspend(other)
    seen = app_client.get(f"/transfers/{asked.json()['transfer_id']}", headers=world.headers("dev_admin")).json()
    assert seen["state"] == "cancelled"
    assert "suspended" in seen["decision_remarks"]


def test_eight_concurrent_senders_never_overdraw_and_move_exactly_the_balance(
    app_client: TestClient, world: World
) -> None:
    """The seed's ledger approved 100 one-credit transfers from 4 clients while the balance fell by 30."""
    registry, dev = world.registry, world.developer
    start = 60
    pid = authorised(app_client, world, start)
    receivers = [world.organisation("ProgrammeDeveloper", admin=False) for _ in range(8)]
    outcomes: dict[int, list[int]] = {}

    def client(index: int) -> None:
        statuses = outcomes.setdefault(index, [])
        while True:
            response = send(app_client, world, "dev_admin", pid, dev, receivers[index], 3)
            statuses.append(response.status_code)
            if response.status_code != 201:
                assert response.status_code == 409, response.text
                assert response.headers["content-type"] == "application/problem+json"
                return

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    moved = sum(registry.view("balanceOf", pid, receiver) for receiver in receivers)
    assert registry.view("balanceOf", pid, dev) == 0
    assert moved == start
    assert sum(statuses.count(201) for statuses in outcomes.values()) * 3 == start
    assert all(statuses[-1] == 409 for statuses in outcomes.values())
    executed = app_client.get(f"/transfers?programme_id={pid}&state=executed&limit=100",
                              headers=world.headers("gov_admin")).json()["items"]  # fmt: skip
    assert sum(item["amount"] for item in executed) == start


def test_the_government_pauses_and_resumes_transfers_on_chain(app_client: TestClient, world: World) -> None:
    pid = authorised(app_client, world, 100)
    pause = "/settings/credits/transfer-pause"
    try:
        paused = app_client.put(pause, json={"paused": True}, headers=world.headers("gov_admin"))
        assert paused.status_code == 200, paused.text
        assert paused.json()["transfers_paused"] is True
        assert world.registry.contract.functions.paused().call() is True
        again = app_client.put(pause, json={"paused": True}, headers=world.headers("root"))
        assert again.json()["transfers_paused"] is True  # asking for the state it is in is not an error
        refused = send(app_client, world, "dev_admin", pid, world.developer, world.certifier, 1)
        assert refused.status_code == 409
        assert "paused" in refused.json()["detail"]
    finally:
        resumed = app_client.put(pause, json={"paused": False}, headers=world.headers("gov_admin"))
    assert resumed.json()["transfers_paused"] is False
    assert send(app_client, world, "dev_admin", pid, world.developer, world.certifier, 1).status_code == 201


def test_each_step_of_a_request_is_emailed(app_client: TestClient, world: World) -> None:
    pid = authorised(app_client, world, 100)
    with world.engine.begin() as conn:
        conn.execute(text("delete from app.email_outbox"))
    asked = send(app_client, world, "cert_admin", pid, world.developer, world.certifier, 5).json()
    act(app_client, world, "dev_admin", asked["transfer_id"], "approve")
    rejected = send(app_client, world, "cert_admin", pid, world.developer, world.certifier, 5).json()
    act(app_client, world, "dev_admin", rejected["transfer_id"], "reject")
    send(app_client, world, "dev_admin", pid, world.developer, world.certifier, 5)
    with world.engine.connect() as conn:
        templates = {row.template for row in conn.execute(text("select template from app.email_outbox"))}
    assert {"transfer_requested", "transfer_approved", "transfer_rejected", "credits_sent"} <= templates


def test_the_government_sets_the_omge_rate_on_chain(app_client: TestClient, world: World) -> None:
    rate = "/settings/credits/omge-rate"
    assert app_client.put(rate, json={"omge_bps": 10_000}, headers=world.headers("gov_admin")).status_code == 422
    changed = app_client.put(rate, json={"omge_bps": 250}, headers=world.headers("gov_admin"))
    assert changed.status_code == 200, changed.text
    assert changed.json()["omge_rate_bps"] == 250
    assert world.registry.omge_rate() == 250
    shown = app_client.get("/settings/credits", headers=world.headers("dev_viewonly")).json()
    assert shown["omge_rate_bps"] == 250
    app_client.put(rate, json={"omge_bps": 100}, headers=world.headers("gov_admin"))
    assert world.registry.omge_rate() == 100


def test_the_node_writes_with_sequenced_references_that_pair_on_chain(app_client: TestClient, world: World) -> None:
    registry, dev, cert = world.registry, world.developer, world.certifier
    pid = authorised(app_client, world, 10)
    for _ in range(2):
        assert send(app_client, world, "dev_admin", pid, dev, cert, 1).status_code == 201
    with world.engine.connect() as conn:
        refs = [bytes(r) for r in conn.execute(text(
            "select request_ref from app.programme_change where operation = 'transfer' and programme_id = :p "
            "order by change_id"), {"p": pid}).scalars()]  # fmt: skip
        namespace = bytes(conn.execute(text("select namespace from app.request_namespace")).scalar_one())
    assert [ref[:24] for ref in refs] == [b"NCRSEQ01" + namespace] * 2
    first, second = (int.from_bytes(ref[24:], "big") for ref in refs)
    assert second > first
    assert all(bytes(registry.view("requestDigest", ref)) != b"\0" * 32 for ref in refs)


def test_a_transfer_the_contract_refuses_after_the_checks_is_a_409_problem_that_moves_nothing(
    app_client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sent with a gas limit from its shape (no estimate, ADR 0020), a transfer the indexed projections let through
    but the contract refuses is a mined, reverted transaction: the answer is still the contract's own 409, the
    transfer is failed, a retry answers the same, and no credit moves."""
    registry, dev, cert = world.registry, world.developer, world.certifier
    pid = authorised(app_client, world, 10)
    monkeypatch.setattr(transfers, "_check", lambda _conn, _body: None)  # as if the projections were stale
    key = unique("refused-")
    for _attempt in range(2):
        refused = send(app_client, world, "dev_admin", pid, dev, cert, 11, key)
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        problem = refused.json()
        assert problem["detail"] == f"Organisation {dev} holds 10 credits of programme {pid}, fewer than the 11 needed."
        assert (problem["contract_error"], problem["arguments"]["balance"], problem["arguments"]["needed"]) == (
            "CreditsInsufficientBalance", 10, 11)  # fmt: skip
    assert (registry.view("balanceOf", pid, dev), registry.view("balanceOf", pid, cert)) == (10, 0)
    mine = app_client.get(f"/transfers?programme_id={pid}", headers=world.headers("dev_admin")).json()["items"]
    assert [item["state"] for item in mine] == ["failed"]
    assert send(app_client, world, "dev_admin", pid, dev, cert, 10).status_code == 201
