"""Retirements over HTTP (real Anvil, PostgreSQL and indexer): the Government's at once, a holder's cross-border
request recognised / not recognised / cancelled, the auto-cancels, queries; each checked against the contract's
retirement records, balances and serial blocks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.credits.test_transfers import authorised, send
from tests.api.identity.world import World, unique

CROSS_BORDER = {"retirement_type": "cross_border", "country": "CH", "beneficiary": "KliK Foundation"}


def retire(app_client: TestClient, world: World, caller: str, pid: int, holder: int, key: str | None = None,
           **fields: Any) -> Any:  # fmt: skip
    body = {"programme_id": pid, "from_organisation_id": holder, **fields}
    return app_client.post("/retirements", json=body,
                           headers=world.headers(caller) | {"Idempotency-Key": key or unique("retire-")})  # fmt: skip


def act(app_client: TestClient, world: World, caller: str, retirement_id: int, action: str, **body: Any) -> Any:
    return app_client.post(f"/retirements/{retirement_id}/{action}", json=body, headers=world.headers(caller))


def set_rate(app_client: TestClient, world: World, bps: int) -> None:
    done = app_client.put("/settings/credits/omge-rate", json={"omge_bps": bps}, headers=world.headers("gov_admin"))
    assert done.status_code == 200, done.text


@pytest.fixture
def one_percent(app_client: TestClient, world: World) -> Iterator[None]:
    """The OMGE rate at 1% (LIB's default) for the test, restored afterwards (the chain is the module's)."""
    before = app_client.get("/settings/credits", headers=world.headers("gov_admin")).json()["omge_rate_bps"]
    set_rate(app_client, world, 100)
    yield
    set_rate(app_client, world, before)


def blocks(app_client: TestClient, world: World, pid: int, state: str) -> int:
    page = app_client.get(f"/programmes/{pid}/blocks?state={state}", headers=world.headers("gov_admin")).json()
    return sum(int(block["credits"]) for block in page["items"])


def test_the_government_retires_cross_border_at_once_with_the_omge_share(
    app_client: TestClient, world: World, one_percent: None,
) -> None:  # fmt: skip
    registry, dev = world.registry, world.developer
    pid = authorised(app_client, world, 1000)
    key = unique("gov-retire-")
    done = retire(app_client, world, "gov_manager", pid, dev, key, amount=250, **CROSS_BORDER)
    assert done.status_code == 201, done.text
    body = done.json()
    shown = (body["state"], body["amount"], body["omge_bps"], body["omge_amount"], body["international_amount"])
    assert shown == ("retired", 250, 100, 2, 248)  # floor(250 x 1%): the contract's rounding, never more than the rate
    assert len(body["tx_hashes"]) == len(body["chain_retirement_ids"]) == 1
    on_chain = registry.retirement(body["chain_retirement_ids"][0])
    assert (on_chain["programmeId"], on_chain["from"], on_chain["amount"], on_chain["omgeAmount"]) == (pid, dev, 250, 2)
    assert (on_chain["beneficiary"], bytes(on_chain["country"])) == ("KliK Foundation", b"CH")
    assert registry.view("balanceOf", pid, dev) == 750
    # Read your writes: the serial blocks and the Government's accounts already show it.
    assert (blocks(app_client, world, pid, "retired_international"), blocks(app_client, world, pid, "retired_omge")) \
        == (248, 2)  # fmt: skip
    accounts = app_client.get("/retirement-accounts", headers=world.headers("dev_viewonly")).json()
    mine = next(item for item in accounts["items"] if item["programme_id"] == pid)
    assert (mine["international"], mine["omge"], mine["local"]) == (248, 2, 0)
    again = retire(app_client, world, "gov_manager", pid, dev, key, amount=250, **CROSS_BORDER)
    assert again.json() == body
    assert registry.view("balanceOf", pid, dev) == 750
    other = retire(app_client, world, "gov_manager", pid, dev, key, amount=251, **CROSS_BORDER)
    assert (other.status_code, other.json()["type"].rsplit("/", 1)[-1]) == (422, "idempotency-key-reused")


def test_legal_action_retires_everything_the_holder_holds(app_client: TestClient, world: World) -> None:
    registry, dev = world.registry, world.developer
    pid = authorised(app_client, world, 300)
    partial = retire(app_client, world, "gov_admin", pid, dev, retirement_type="legal_action", amount=100)
    assert (partial.status_code, partial.json()["field"], partial.json()["available"]) == (422, "amount", 300)
    with_country = retire(app_client, world, "gov_admin", pid, dev, retirement_type="other", country="CH")
    assert with_country.status_code == 422
    done = retire(app_client, world, "gov_admin", pid, dev, retirement_type="legal_action", remarks="Court order 17")
    assert done.status_code == 201, done.text
    assert (done.json()["state"], done.json()["amount"], done.json()["omge_amount"]) == ("retired", 300, 0)
    assert registry.view("balanceOf", pid, dev) == 0
    assert blocks(app_client, world, pid, "retired_local") == 300
    nothing = retire(app_client, world, "gov_admin", pid, dev, retirement_type="other")
    assert (nothing.status_code, nothing.json()["available"]) == (409, 0)


def test_a_holder_requests_cross_border_and_the_government_recognises_it_once(
    app_client: TestClient, world: World, one_percent: None,
) -> None:  # fmt: skip
    registry, dev = world.registry, world.developer
    pid = authorised(app_client, world, 500)
    legal = retire(app_client, world, "dev_admin", pid, dev, retirement_type="legal_action")
    assert legal.status_code == 403
    home = retire(app_client, world, "dev_admin", pid, dev, **(CROSS_BORDER | {"country": "NG"}), amount=10)
    assert (home.status_code, home.json()["field"]) == (422, "country")  # the registry's own country
    requested = retire(app_client, world, "dev_manager", pid, dev, amount=200, **CROSS_BORDER)
    assert requested.status_code == 201, requested.text
    retirement_id = requested.json()["retirement_id"]
    assert (requested.json()["state"], requested.json()["omge_amount"]) == ("pending", 2)
    assert registry.view("balanceOf", pid, dev) == 500
    assert act(app_client, world, "dev_admin", retirement_id, "recognise").status_code == 403
    assert act(app_client, world, "gov_viewonly", retirement_id, "recognise").status_code == 403
    recognised = act(app_client, world, "gov_manager", retirement_id, "recognise", remarks="Under the agreement")
    assert recognised.status_code == 200, recognised.text
    assert (recognised.json()["state"], recognised.json()["decision_remarks"]) == ("recognised", "Under the agreement")
    assert registry.view("balanceOf", pid, dev) == 300
    (chain_id,) = recognised.json()["chain_retirement_ids"]
    assert (registry.retirement(chain_id)["amount"], registry.retirement(chain_id)["omgeAmount"]) == (200, 2)
    again = act(app_client, world, "gov_admin", retirement_id, "recognise")
    assert again.json()["state"] == "recognised"
    assert registry.view("balanceOf", pid, dev) == 300
    assert act(app_client, world, "gov_admin", retirement_id, "not-recognise").status_code == 409
    listed = app_client.get(f"/retirements?programme_id={pid}&state=recognised", headers=world.headers("dev_viewonly"))
    assert [r["retirement_id"] for r in listed.json()["items"]] == [retirement_id]


def test_not_recognised_cancelled_and_the_registrys_own_cancellations(
    app_client: TestClient, world: World, one_percent: None,
) -> None:  # fmt: skip
    dev, cert = world.developer, world.certifier
    pid = authorised(app_client, world, 400)

    def request(amount: int) -> dict[str, Any]:
        made = retire(app_client, world, "dev_admin", pid, dev, amount=amount, **CROSS_BORDER)
        assert made.status_code == 201, made.text
        return dict(made.json())

    def state(retirement_id: int) -> str:
        return str(app_client.get(f"/retirements/{retirement_id}", headers=world.headers("dev_admin")).json()["state"])

    refused = request(10)
    assert act(app_client, world, "gov_admin", refused["retirement_id"], "not-recognise",
               remarks="No corresponding adjustment").json()["state"] == "not_recognised"  # fmt: skip
    withdrawn = request(10)
    assert act(app_client, world, "gov_admin", withdrawn["retirement_id"], "cancel").status_code == 403
    assert act(app_client, world, "dev_manager", withdrawn["retirement_id"], "cancel").json()["state"] == "cancelled"
    assert act(app_client, world, "gov_admin", withdrawn["retirement_id"], "recognise").status_code == 409
    large, small = request(300), request(50)
    assert send(app_client, world, "dev_admin", pid, dev, cert, 150).status_code == 201  # 250 left: 300 no longer fits
    assert (state(large["retirement_id"]), state(small["retirement_id"])) == ("cancelled", "pending")
    set_rate(app_client, world, 200)  # the holder was told a 1% share: its request is cancelled, not re-priced
    assert state(small["retirement_id"]) == "cancelled"
    seen = app_client.get(f"/retirements/{small['retirement_id']}", headers=world.headers("dev_admin")).json()
    assert "OMGE" in seen["decision_remarks"]


def test_retirements_are_shown_to_those_involved(app_client: TestClient, world: World) -> None:
    dev = world.developer
    pid = authorised(app_client, world, 100)
    made = retire(app_client, world, "dev_admin", pid, dev, amount=5, **CROSS_BORDER).json()
    stranger = world.user(world.organisation("ProgrammeDeveloper"), "Admin")
    headers = {"Authorization": f"Bearer {world.token(stranger)}"}
    assert app_client.get(f"/retirements/{made['retirement_id']}", headers=headers).status_code == 404
    assert app_client.get(f"/retirements?programme_id={pid}", headers=headers).json()["items"] == []
    seen = app_client.get(f"/retirements?programme_id={pid}&retirement_type=cross_border",
                          headers=world.headers("gov_viewonly")).json()["items"]  # fmt: skip
    assert [r["retirement_id"] for r in seen] == [made["retirement_id"]]
    made_at = made["created_at"]
    for window, expected in (({"created_from": made_at}, [made["retirement_id"]]),
                             ({"created_before": made_at}, []),
                             ({"created_from": "2999-01-01T00:00:00+01:00"}, [])):  # fmt: skip
        params = {"programme_id": pid, **window}
        page = app_client.get("/retirements", params=params, headers=world.headers("gov_admin"))
        assert [r["retirement_id"] for r in page.json()["items"]] == expected, window
    naive = app_client.get("/retirements?created_from=2026-01-01T00:00:00", headers=world.headers("gov_admin"))
    assert naive.status_code == 422
    no_key = app_client.post("/retirements", headers=world.headers("dev_admin"),
                             json={"programme_id": pid, "from_organisation_id": dev, **CROSS_BORDER})  # fmt: skip
    assert no_key.status_code == 428


def test_suspending_the_holder_cancels_its_requests(app_client: TestClient, world: World) -> None:
    holder = world.organisation("ProgrammeDeveloper")
    admin = {"Authorization": f"Bearer {world.token(world.user(holder, 'Admin'))}"}
    pid = authorised(app_client, world, 100)
    assert send(app_client, world, "dev_admin", pid, world.developer, holder, 40).status_code == 201
    body = {"programme_id": pid, "from_organisation_id": holder, "amount": 40, **CROSS_BORDER}
    made = app_client.post("/retirements", json=body, headers=admin | {"Idempotency-Key": unique("k-")})
    assert made.json()["state"] == "pending", made.text
    world.suspend(holder)
    seen = app_client.get(f"/retirements/{made.json()['retirement_id']}", headers=world.headers("gov_viewonly"))
    assert (seen.json()["state"], seen.json()["decision_remarks"]) == (
        "cancelled", "Cancelled by the registry: the holder was suspended.")  # fmt: skip
