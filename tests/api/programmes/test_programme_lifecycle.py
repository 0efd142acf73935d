"""Programmes end to end over HTTP (real Anvil, PostgreSQL and indexer): create -> authorise -> issue -> certify ->
revoke, and reject; each step checked against the contract's own views and the anchored details hash."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from node.domain.serials import parse
from node.errors import InvalidState
from tests.api.identity.world import World, unique


def new_programme(world: World, **overrides: Any) -> dict[str, Any]:
    with world.engine.connect() as conn:
        tax_id = conn.execute(text("select tax_id from app.organisation where organisation_id = :id"),
                              {"id": world.developer}).scalar_one()  # fmt: skip
    body = {
        "title": "Solar for rural clinics",
        "external_id": unique("MRV-"),
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


def canonical_hash(details: dict[str, Any]) -> str:
    """Recomputed here the way any verifier would (RFC 8785 for these values), not with the node's code."""
    data = json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(data).hexdigest()


def create(app_client: TestClient, world: World, caller: str = "dev_admin", key: str | None = None,
           **overrides: Any) -> dict[str, Any]:  # fmt: skip
    headers = world.headers(caller) | ({"Idempotency-Key": key} if key else {})
    response = app_client.post("/programmes", json=new_programme(world, **overrides), headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def post(app_client: TestClient, world: World, caller: str, path: str, body: dict[str, Any]) -> Any:
    """A write as a careful client makes it: with a fresh Idempotency-Key."""
    return app_client.post(path, json=body, headers=world.headers(caller) | {"Idempotency-Key": unique("key-")})


def test_create_authorise_issue_certify_revoke_agree_with_the_contract(app_client: TestClient, world: World) -> None:
    registry = world.registry
    created = create(app_client, world, key=unique("create-"))
    pid = created["programme_id"]
    assert created["stage"] == "AwaitingAuthorization"
    assert created["serial_number"] is None
    assert created["owners"][0]["organisation_id"] == world.developer
    assert created["owners"][0]["share_ppm"] == 10**6
    # The anchored hash is the hash of what the API shows, and what the contract recorded.
    assert created["details_verified"] is True
    assert created["details_hash"] == canonical_hash(created["details"]) == created["anchored_details_hash"]
    view = registry.view("getProgramme", pid)
    assert view[17].hex() == created["details_hash"]
    assert (view[1], view[2], view[9]) == (1, created["external_id"], 1000)
    # The next read shows it at once (read your writes).
    assert app_client.get(f"/programmes/{pid}", headers=world.headers("gov_viewonly")).json() == created

    authorised = post(app_client, world, "gov_admin", f"/programmes/{pid}/authorise", {"issue_amount": 300})
    assert authorised.status_code == 200, authorised.text
    shown = authorised.json()
    view = registry.view("getProgramme", pid)
    assert shown["stage"] == "Authorised"
    assert view[1] == 2
    serial = parse(shown["serial_number"])
    assert (serial.country, serial.credit_unit, serial.sectoral_scope, serial.programme_id, serial.year) == (
        "NG", "ITMO", 1, pid, 2024,
    )  # fmt: skip
    assert (serial.start, serial.end) == (view[12], view[13])
    assert serial.size == 1000
    assert shown["credit_issued"] == view[10] == 300

    issued = post(app_client, world, "gov_manager", f"/programmes/{pid}/issue", {"amount": 200})
    assert issued.status_code == 200, issued.text
    assert issued.json()["credit_issued"] == registry.view("getProgramme", pid)[10] == 500
    assert registry.view("balanceOf", pid, world.developer) == 500
    blocks = app_client.get(f"/programmes/{pid}/blocks", headers=world.headers("dev_viewonly")).json()["items"]
    assert sum(block["credits"] for block in blocks) == 500
    assert all(block["holder"] == world.developer and block["state"] == "held" for block in blocks)
    assert all(serial.contains(parse(block["serial_number"])) for block in blocks)

    too_many = post(app_client, world, "gov_admin", f"/programmes/{pid}/issue", {"amount": 501})
    assert too_many.status_code == 422
    assert "500" in too_many.json()["detail"]

    certified = post(app_client, world, "cert_admin", f"/programmes/{pid}/certify", {"remarks": "Site visit"})
    assert certified.status_code == 200, certified.text
    assert [c["organisation_id"] for c in certified.json()["certifiers"]] == [world.certifier]
    assert registry.view("isCertifiedBy", pid, world.certifier) is True
    again = post(app_client, world, "cert_admin", f"/programmes/{pid}/certify", {})
    assert again.status_code == 409

    unnamed = post(app_client, world, "gov_admin", f"/programmes/{pid}/revoke", {})
    assert unnamed.status_code == 422
    revoked = post(app_client, world, "gov_admin", f"/programmes/{pid}/revoke", {"certifier_id": world.certifier})
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["certifiers"] == []
    assert revoked.json()["revoked_certifiers"][0]["name"] == "Certifier SA"
    assert registry.view("isCertifiedBy", pid, world.certifier) is False

    history = app_client.get(f"/programmes/{pid}/history", headers=world.headers("gov_viewonly")).json()["items"]
    names = [entry["event"] for entry in history]
    assert names == ["ProgrammeCreated", "ProgrammeAuthorised", "CreditsIssued", "CreditsIssued",
                     "ProgrammeCertified", "CertificationRevoked"]  # fmt: skip
    assert [entry["amount"] for entry in history[2:4]] == [300, 200]
    assert all(entry["tx_hash"].startswith("0x") and entry["block_number"] > 0 for entry in history)
    assert history[0]["actor"]["user_id"] == world.members["dev_admin"].user_id
    for entry in history:  # each transaction is the chain's own
        receipt = registry.client.w3.eth.get_transaction_receipt(entry["tx_hash"])
        assert receipt["blockNumber"] == entry["block_number"]
    # A certifier reading the history sees the events but not who at the developer asked for them.
    seen_by_certifier = app_client.get(f"/programmes/{pid}/history", headers=world.headers("cert_admin")).json()
    assert seen_by_certifier["items"][0]["actor"] is None

    with world.engine.connect() as conn:
        templates = [row.template for row in conn.execute(text("select template from app.email_outbox"))]
    for template in ("programme_created", "programme_authorised", "credits_issued", "programme_certified",
                     "certification_revoked"):  # fmt: skip
        assert template in templates


def test_reject_is_terminal(app_client: TestClient, world: World) -> None:
    pid = create(app_client, world, caller="gov_admin")["programme_id"]
    rejected = post(app_client, world, "gov_admin", f"/programmes/{pid}/reject", {"remarks": "Baseline unclear"})
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["stage"] == "Rejected"
    assert world.registry.view("getProgramme", pid)[1] == 3
    for path, body in (("reject", {"remarks": "again"}), ("authorise", {}), ("issue", {"amount": 1})):
        refused = post(app_client, world, "gov_admin", f"/programmes/{pid}/{path}", body)
        assert refused.status_code == 409
        assert "rejected" in refused.json()["detail"]
    history = app_client.get(f"/programmes/{pid}/history", headers=world.headers("gov_admin")).json()["items"]
    assert history[-1]["event"] == "ProgrammeRejected"
    assert history[-1]["remarks"] == "Baseline unclear"


def test_a_retried_create_answers_the_first_result_and_creates_nothing(app_client: TestClient, world: World) -> None:
    key = unique("retry-")
    body = new_programme(world)
    headers = world.headers("dev_manager") | {"Idempotency-Key": key}
    first = app_client.post("/programmes", json=body, headers=headers)
    count = world.registry.view("totals")[0]
    second = app_client.post("/programmes", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert world.registry.view("totals")[0] == count
    changed = app_client.post("/programmes", json=body | {"title": "Another"}, headers=headers)
    assert changed.status_code == 422
    assert changed.json()["type"].endswith("idempotency-key-reused")
    # The key is the caller's own: another user's identical key is another request.
    other = app_client.post("/programmes", json=body | {"external_id": unique("MRV-")},
                            headers=world.headers("dev_admin") | {"Idempotency-Key": key})  # fmt: skip
    assert other.status_code == 201
    assert other.json()["programme_id"] != first.json()["programme_id"]


def test_a_retried_refusal_answers_the_same_problem(app_client: TestClient, world: World) -> None:
    pid = create(app_client, world, caller="gov_admin")["programme_id"]
    headers = world.headers("gov_admin") | {"Idempotency-Key": unique("issue-")}
    first = app_client.post(f"/programmes/{pid}/issue", json={"amount": 5}, headers=headers)
    assert first.status_code == 409  # not authorised yet: refused before the chain
    assert app_client.post(f"/programmes/{pid}/issue", json={"amount": 5}, headers=headers).json()["status"] == 409


def test_creation_rules_are_checked_before_the_chain(app_client: TestClient, world: World) -> None:
    count = world.registry.view("totals")[0]
    headers = world.headers("dev_admin")
    base = new_programme(world)
    cases = [
        base | {"sectoral_scope": 15},  # Energy admits 1, 2, 3
        base | {"start_time": "2031-01-01T00:00:00Z"},  # starts after it ends
        base | {"proponents": [{"tax_id": "NO-SUCH-TAX-ID", "percentage": 100}]},
        base | {"proponents": [base["proponents"][0] | {"percentage": 60}]},  # does not sum to 100
        base | {"credit_estimate": 0},
        {k: v for k, v in base.items() if k != "credit_estimate"},  # neither estimate nor calculator
    ]
    for body in cases:
        response = app_client.post("/programmes", json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
    taken = create(app_client, world)["external_id"]
    duplicate = app_client.post("/programmes", json=base | {"external_id": taken}, headers=headers)
    assert duplicate.status_code == 409
    assert world.registry.view("totals")[0] == count + 1


def test_a_developer_creates_only_programmes_it_owns(app_client: TestClient, world: World) -> None:
    other = world.organisation("ProgrammeDeveloper")
    with world.engine.connect() as conn:
        tax_id = conn.execute(text("select tax_id from app.organisation where organisation_id = :id"),
                              {"id": other}).scalar_one()  # fmt: skip
    body = new_programme(world, proponents=[{"tax_id": tax_id, "percentage": 100}])
    assert app_client.post("/programmes", json=body, headers=world.headers("dev_admin")).status_code == 403
    assert app_client.post("/programmes", json=body, headers=world.headers("api_key")).status_code == 201


def test_lists_filter_sort_and_page_by_keyset(app_client: TestClient, world: World) -> None:
    ids = [create(app_client, world, caller="gov_admin", title=f"Keyset {n}")["programme_id"] for n in range(3)]
    headers = world.headers("gov_viewonly")
    seen: list[int] = []
    url = "/programmes?q=Keyset&limit=2&sort=title&order=desc"
    while url:
        page = app_client.get(url, headers=headers).json()
        seen += [item["programme_id"] for item in page["items"]]
        url = f"/programmes?q=Keyset&limit=2&sort=title&order=desc&after={page['next_cursor']}" if page[
            "next_cursor"] else ""  # fmt: skip
    assert seen == list(reversed(ids))
    authorised = app_client.get("/programmes?stage=Authorised&limit=100", headers=headers).json()["items"]
    assert all(item["stage"] == "Authorised" for item in authorised)
    bad_cursor = app_client.get("/programmes?after=not-a-cursor", headers=headers)
    assert bad_cursor.status_code == 422


PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def test_a_material_is_stored_listed_and_its_details_hash_anchored(app_client: TestClient, world: World) -> None:
    pid = create(app_client, world)["programme_id"]
    headers = world.headers("dev_manager") | {"Idempotency-Key": unique("material-")}
    files = {"file": ("design.pdf", PDF, "application/pdf")}
    form = {"kind": "DesignDocument", "title": "Project design document"}
    added = app_client.post(f"/programmes/{pid}/materials", files=files, data=form, headers=headers)
    assert added.status_code == 201, added.text
    shown = added.json()
    (material,) = shown["details"]["materials"]
    assert material["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert material["kind"] == "DesignDocument"
    assert shown["details_revision"] == 2
    assert shown["details_verified"] is True
    assert shown["details_hash"] == canonical_hash(shown["details"])
    assert world.registry.view("getProgramme", pid)[17].hex() == shown["details_hash"]
    # The stored file is the one whose hash is anchored.
    stored = app_client.get(material["url"].removeprefix("http://testserver"))
    assert stored.status_code == 200
    assert hashlib.sha256(stored.content).hexdigest() == material["sha256"]
    retried = app_client.post(f"/programmes/{pid}/materials", files=files, data=form, headers=headers)
    assert retried.json() == shown
    history = app_client.get(f"/programmes/{pid}/history", headers=world.headers("gov_admin")).json()["items"]
    assert history[-1]["event"] == "ProgrammeDetailsUpdated"
    assert history[-1]["remarks"] == "DesignDocument: Project design document"

    again = app_client.post(f"/programmes/{pid}/materials", files=files, data=form, headers=world.headers("dev_admin"))
    assert again.status_code == 409
    script = {"file": ("evil.pdf", b"<script>alert(1)</script>", "application/pdf")}
    refused = app_client.post(
        f"/programmes/{pid}/materials", files=script, data=form, headers=world.headers("dev_admin")
    )
    assert refused.status_code == 415
    viewer = app_client.post(f"/programmes/{pid}/materials", files={"file": ("b.pdf", PDF + b" ", "application/pdf")},
                             data=form, headers=world.headers("dev_viewonly"))  # fmt: skip
    assert viewer.status_code == 403


def test_calculated_estimates_extend_the_country_serials_as_the_reference_readme(
    app_client: TestClient, world: World
) -> None:
    """SNGEN's README: 25.51 -> 1-26, 10.000 -> 27-36, 5.4341 -> 37-41, 0.1285 -> refused, 14.7 -> 42-56 (from
    wherever this country's serials stand)."""
    headers = world.headers("gov_admin")
    agriculture = {"sector": "Agriculture", "sectoral_scope": 15, "type_of_mitigation": "Agriculture"}
    ranges = []
    for weight, credits in (("6.97", "25.51"), ("2.7322", "10.00"), ("1.4847", "5.43"), ("4.0164", "14.70")):
        body = new_programme(world, **agriculture, calculator={"methodology": "biochar", "weight": weight})
        del body["credit_estimate"]
        created = app_client.post("/programmes", json=body, headers=headers)
        assert created.status_code == 201, created.text
        calculated = created.json()["details"]["calculator"]
        assert calculated["credits"] == credits
        assert calculated["methodology"] == "biochar"
        assert created.json()["details"]["credit_estimate"]["source"] == "calculator"
        authorised = app_client.post(f"/programmes/{created.json()['programme_id']}/authorise", json={},
                                     headers=headers)  # fmt: skip
        ranges.append((authorised.json()["serial_start"], authorised.json()["serial_end"]))
    first = ranges[0][0]
    assert [(s - first + 1, e - first + 1) for s, e in ranges] == [(1, 26), (27, 36), (37, 41), (42, 56)]
    tiny = new_programme(world, **agriculture, calculator={"methodology": "biochar", "weight": "0.0351"})
    del tiny["credit_estimate"]
    refused = app_client.post("/programmes", json=tiny, headers=headers)
    assert refused.status_code == 422
    assert "0.13" in refused.json()["detail"]


def test_blocks_after_a_split_partition_the_programme_serial_and_history_pages(
    app_client: TestClient, world: World
) -> None:
    root = world.headers("root")
    pid = create(app_client, world, caller="root")["programme_id"]
    programme = app_client.post(f"/programmes/{pid}/authorise", json={"issue_amount": 100}, headers=root).json()
    # Credits move on chain (the credits endpoints are the next issue); the indexer projects the split.
    receipt = world.registry.transfer(pid, world.developer, world.certifier, 30, os.urandom(32))
    waiter = app_client.app.state.index_waiter  # type: ignore[attr-defined]
    assert waiter.wait_for_block(receipt["blockNumber"], 20)  # the API's own read-your-writes wait
    blocks = app_client.get(f"/programmes/{pid}/blocks", headers=root).json()["items"]
    parent = parse(programme["serial_number"])
    pieces = [parse(block["serial_number"]) for block in blocks]
    assert [(b["holder"], b["credits"]) for b in blocks] == [(world.certifier, 30), (world.developer, 70)]
    assert all(parent.contains(piece) for piece in pieces)
    assert pieces[0].start == parent.start
    assert pieces[0].end + 1 == pieces[1].start
    mine = app_client.get(f"/programmes/{pid}/blocks?holder={world.developer}", headers=root).json()["items"]
    assert [block["credits"] for block in mine] == [70]

    page = app_client.get(f"/programmes/{pid}/history?limit=2", headers=root).json()
    assert [entry["event"] for entry in page["items"]] == ["ProgrammeCreated", "ProgrammeAuthorised"]
    rest = app_client.get(f"/programmes/{pid}/history?after={page['next_cursor']}", headers=root).json()
    assert [entry["event"] for entry in rest["items"]] == ["CreditsIssued", "CreditsTransferred"]
    assert rest["items"][-1]["amount"] == 30
    assert rest["next_cursor"] is None
    assert app_client.get(f"/programmes/{pid}/history?after=x-1", headers=root).status_code == 422


def test_issuing_without_an_idempotency_key_is_refused(app_client: TestClient, world: World) -> None:
    pid = create(app_client, world, caller="root")["programme_id"]
    post(app_client, world, "root", f"/programmes/{pid}/authorise", {})
    refused = app_client.post(f"/programmes/{pid}/issue", json={"amount": 5}, headers=world.headers("gov_admin"))
    assert refused.status_code == 428
    assert refused.json()["type"].endswith("precondition-required")
    assert world.registry.view("getProgramme", pid)[10] == 0


def test_a_certifier_cannot_certify_a_programme_awaiting_authorisation(app_client: TestClient, world: World) -> None:
    pid = create(app_client, world)["programme_id"]
    blind = post(app_client, world, "cert_admin", f"/programmes/{pid}/certify", {})
    assert blind.status_code == 404  # it cannot read it, so it learns nothing about it either
    assert world.registry.view("isCertifiedBy", pid, world.certifier) is False


def test_a_stale_details_change_is_abandoned_and_the_next_one_goes_through(
    app_client: TestClient, world: World
) -> None:
    """Two uploads raced: the later one was recorded on a revision the earlier one had already replaced."""
    from node.programmes import changes, lifecycle, materials
    from node.programmes.changes import ProgrammeContext

    pid = create(app_client, world)["programme_id"]
    root = world.principal(world.members["root"].user_id)
    with world.engine.connect() as conn:
        details = conn.execute(text("select details from app.programme_detail where programme_id = :p"),
                               {"p": pid}).scalar_one()  # fmt: skip
    payload = {"details": details | {"title": "stale"}, "details_hash": "ab" * 32, "base_revision": 0,
               "remarks": "Other: stale"}  # fmt: skip
    change_id = changes.record(world.engine, root, materials.DETAILS, pid, None, b"\0" * 32, payload)
    waiter = app_client.app.state.index_waiter  # type: ignore[attr-defined]
    context = ProgrammeContext(world.engine, world.settings, world.registry,
                               lambda block: waiter.wait_for_block(block, 20))  # fmt: skip
    with pytest.raises(InvalidState):
        changes.run(world.engine, change_id, lambda conn, row: lifecycle.complete(context, conn, row))
    with world.engine.connect() as conn:
        status = conn.execute(text("select status from app.programme_change where change_id = :c"),
                              {"c": change_id}).scalar_one()  # fmt: skip
    assert status == "failed"
    added = app_client.post(f"/programmes/{pid}/materials", files={"file": ("a.pdf", PDF, "application/pdf")},
                            data={"kind": "Other", "title": "After the race"},
                            headers=world.headers("dev_admin"))  # fmt: skip
    assert added.status_code == 201, added.text


def test_tampered_details_are_not_verified(app_client: TestClient, world: World) -> None:
    pid = create(app_client, world)["programme_id"]
    with world.engine.begin() as conn:
        conn.execute(text("update app.programme_detail set details = jsonb_set(details, '{title}', '\"forged\"') "
                          "where programme_id = :p"), {"p": pid})  # fmt: skip
    shown = app_client.get(f"/programmes/{pid}", headers=world.headers("gov_admin")).json()
    assert shown["details_verified"] is False
    assert shown["details_hash"] != shown["anchored_details_hash"]


HOSTILE_QUERIES = [
    "/programmes?after=W3RydWUsdHJ1ZV0",  # [true, true]
    "/programmes?sort=title&after=WyJcdWQ4MDAiLCAxXQ",  # ["\ud800", 1]
    "/programmes?sort=start_time&after=WyIyMDI0LTAxLTAxIiwgMV0",  # a naive date
    "/programmes?sort=credit_estimate&after=WzFlMzAwLCAxXQ",  # [1e300, 1]
]


def test_hostile_cursors_and_dates_get_422(app_client: TestClient, world: World) -> None:
    headers = world.headers("gov_admin")
    for url in HOSTILE_QUERIES:
        assert app_client.get(url, headers=headers).status_code == 422, url
    assert app_client.get("/programmes/1/history?after=%C2%B2-1", headers=headers).status_code == 422
    for start in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"):
        body = new_programme(world, start_time=start)
        assert app_client.post("/programmes", json=body, headers=headers).status_code == 422
