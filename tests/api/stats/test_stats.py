"""Every statistic over HTTP (real Anvil, PostgreSQL and indexer), against values computed here from what the test
did: programmes on different days with owners at different shares, issuance, a transfer, a pending request, a
cross-border retirement, a certification and a revocation, a frozen (suspended) holder; for each role, overall and
"only mine"; and after a reorg that removes a programme and a transfer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from node.stats.schemas import StatType
from tests.api.credits.test_retirements import CROSS_BORDER, retire
from tests.api.credits.test_transfers import send
from tests.api.identity.world import Member, World, unique
from tests.api.programmes.test_programme_lifecycle import create, post

DAY = 86_400


def _tax_id(world: World, organisation_id: int) -> str:
    with world.engine.connect() as conn:
        return str(conn.execute(text("select tax_id from app.organisation where organisation_id = :id"),
                                {"id": organisation_id}).scalar_one())  # fmt: skip


def _advance(world: World, seconds: int) -> None:
    provider = world.registry.client.w3.provider
    provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    provider.make_request("evm_mine", [])  # type: ignore[arg-type]


@dataclass
class Scenario:
    """What the test did, as plain numbers: the expectations are computed from these alone."""

    dev: int
    dev2: int
    # pid -> (stage, sector, estimate, {owner: share %}, day index)
    programmes: dict[int, tuple[str, str, int, dict[int, int], int]] = field(default_factory=dict)
    holdings: dict[tuple[int, int], dict[str, int]] = field(default_factory=dict)
    transferred: dict[int, int] = field(default_factory=dict)
    days: list[str] = field(default_factory=list)
    certified: set[int] = field(default_factory=set)
    revoked: set[int] = field(default_factory=set)
    located: set[int] = field(default_factory=set)
    # (from, programme, country, amount, omge)
    retirements: list[tuple[int, int, str, int, int]] = field(default_factory=list)
    pending: list[tuple[int, int]] = field(default_factory=list)
    """(initiator, sender) of pending transfer requests."""

    def hold(self, pid: int, org: int) -> dict[str, int]:
        return self.holdings.setdefault((pid, org), {"held": 0, "issued": 0, "transferred": 0, "retired": 0,
                                                     "received": 0})  # fmt: skip


def _created_day(app_client: TestClient, world: World, pid: int) -> str:
    with world.engine.connect() as conn:
        return str(conn.execute(text("select (created_at at time zone 'UTC')::date from chain.programme "
                                     "where programme_id = :p"), {"p": pid}).scalar_one())  # fmt: skip


def resolve(world: World, pids: set[int]) -> None:
    """Where the programmes are, as the location worker (not running here) resolves their region."""
    with world.engine.begin() as conn:
        conn.execute(text("update chain.programme_location set status = 'resolved', latitude = 6.5, "
                          "longitude = 3.4 where programme_id = any(:p)"), {"p": sorted(pids)})  # fmt: skip


@pytest.fixture(scope="module")
def scenario(app_client: TestClient, world: World) -> Scenario:
    dev2 = world.organisation("ProgrammeDeveloper", admin=False, name="Second Developer")
    world.members["dev2_admin"] = Member(world.user(dev2, "Admin"), "Admin", dev2)
    s = Scenario(world.developer, dev2)
    dev_tax, dev2_tax = _tax_id(world, world.developer), _tax_id(world, dev2)
    # Day 0: two programmes, one shared 60/40, both authorised with credits.
    p1 = create(app_client, world, sector="Energy", credit_estimate=1000)["programme_id"]
    p2 = create(app_client, world, sector="Forestry", sectoral_scope=14, credit_estimate=2000,
                proponents=[{"tax_id": dev_tax, "percentage": 60}, {"tax_id": dev2_tax, "percentage": 40}])[
        "programme_id"]  # fmt: skip
    for pid, issue in ((p1, 600), (p2, 1000)):
        done = app_client.post(f"/programmes/{pid}/authorise", json={"issue_amount": issue},
                               headers=world.headers("gov_admin") | {"Idempotency-Key": unique("auth-")})  # fmt: skip
        assert done.status_code == 200, done.text
    s.programmes[p1] = ("Authorised", "Energy", 1000, {s.dev: 100}, 0)
    s.programmes[p2] = ("Authorised", "Forestry", 2000, {s.dev: 60, dev2: 40}, 0)
    s.hold(p1, s.dev).update(held=600, issued=600)
    s.hold(p2, s.dev).update(held=600, issued=600)
    s.hold(p2, dev2).update(held=400, issued=400)
    # Two days later: one programme waiting, one rejected.
    _advance(world, 2 * DAY)
    p3 = create(app_client, world, caller="dev2_admin", sector="Waste", sectoral_scope=13, credit_estimate=500,
                proponents=[{"tax_id": dev2_tax, "percentage": 100}])["programme_id"]  # fmt: skip
    p4 = create(app_client, world, sector="Energy", credit_estimate=300)["programme_id"]
    assert post(app_client, world, "gov_admin", f"/programmes/{p4}/reject", {"remarks": "No"}).status_code == 200
    s.programmes[p3] = ("AwaitingAuthorization", "Waste", 500, {dev2: 100}, 2)
    s.programmes[p4] = ("Rejected", "Energy", 300, {s.dev: 100}, 2)
    # Credits move: 100 of P1 to dev2; a pending request from the Government; 50 of P2 retired to CH.
    assert send(app_client, world, "dev_admin", p1, s.dev, dev2, 100).status_code == 201
    s.hold(p1, s.dev).update(held=500, transferred=100)
    s.hold(p1, dev2).update(held=100, received=100)
    s.transferred[p1] = 100
    pending = send(app_client, world, "gov_admin", p1, s.dev, world.government, 10)
    assert pending.json()["state"] == "pending", pending.text
    retired = retire(app_client, world, "gov_admin", p2, s.dev, amount=50, **CROSS_BORDER)
    assert retired.status_code == 201, retired.text
    omge = retired.json()["omge_amount"]
    s.hold(p2, s.dev).update(held=550, retired=50)
    s.retirements.append((s.dev, p2, "CH", 50, omge))
    s.pending.append((world.government, s.dev))
    # The certifier certifies both, then revokes P2; dev2 is suspended (its account frozen).
    for pid in (p1, p2):
        assert post(app_client, world, "cert_admin", f"/programmes/{pid}/certify", {}).status_code == 200
    assert post(app_client, world, "cert_admin", f"/programmes/{p2}/revoke", {}).status_code == 200
    s.certified, s.revoked = {p1}, {p2}
    world.suspend(dev2)
    s.located = {p1, p2}
    resolve(world, s.located)
    s.days = [_created_day(app_client, world, p1), _created_day(app_client, world, p3)]
    assert (retired.json()["amount"], omge) == (50, omge)
    return s


CALLERS = ("gov_admin", "root", "dev_admin", "dev2_admin", "cert_admin", "api_key")
TOTALS = ("programmes", "credit_estimate", "credit_issued", "credit_held", "credit_retired", "credit_transferred",
          "credit_frozen")  # fmt: skip


def _organisation(world: World, caller: str) -> int:
    return world.members[caller].organisation_id


def _sums(s: Scenario, pids: set[int], key: int, org: int | None) -> dict[str, dict[str, float]]:
    """Per stage (key 0) or sector (key 1): overall (``org`` None) or as ``org``'s own (weighted) figures."""
    groups: dict[str, dict[str, float]] = {}
    for pid in pids:
        stage, sector, estimate, owners, _day = s.programmes[pid]
        g = groups.setdefault((stage, sector)[key], dict.fromkeys(TOTALS, 0))
        if org is None:
            g["programmes"] += 1
            g["credit_estimate"] += estimate
            g["credit_transferred"] += s.transferred.get(pid, 0)
            holdings = [(h, o) for (p, o), h in s.holdings.items() if p == pid]
        else:
            g["programmes"] += 1 if org in owners else 0
            g["credit_estimate"] += estimate * owners.get(org, 0) / 100
            holdings = [(h, o) for (p, o), h in s.holdings.items() if p == pid and o == org]
            g["credit_transferred"] += sum(h["transferred"] for h, _ in holdings)
        for h, holder in holdings:
            g["credit_issued"] += h["issued"]
            g["credit_held"] += h["held"]
            g["credit_retired"] += h["retired"]
            g["credit_frozen"] += h["held"] if holder == s.dev2 else 0
    return groups


def _expected(s: Scenario, world: World, caller: str, stat_type: str, mine: bool) -> Any:
    """What each statistic must say to ``caller``, from the scenario's own numbers (reference §11.2, §4.2)."""
    org = _organisation(world, caller)
    everything = caller in ("gov_admin", "root", "api_key")
    certifier = caller == "cert_admin"
    authorised = {p for p, v in s.programmes.items() if v[0] == "Authorised"}
    owned = {p for p, v in s.programmes.items() if org in v[3]}
    held = {p for (p, o) in s.holdings if o == org}
    visible = set(s.programmes) if everything else authorised | (owned if not certifier else set())
    pids = (s.certified if certifier else owned | held) if mine else visible
    if stat_type in ("programmes_by_stage", "programmes_by_sector"):
        key = 0 if stat_type == "programmes_by_stage" else 1
        return _sums(s, pids, key, org if mine and not certifier else None)
    if stat_type == "certification":
        parts = {"certified": [0, 0.0], "revoked": [0, 0.0], "uncertified": [0, 0.0]}
        chosen = (pids & authorised) if not (mine and certifier) else authorised
        for pid in chosen:
            estimate, owners = s.programmes[pid][2], s.programmes[pid][3]
            weight = owners.get(org, 0) / 100 if mine and not certifier else 1
            part = "certified" if pid in s.certified else "revoked" if pid in s.revoked else "uncertified"
            parts[part][0] += 0 if mine and not certifier and org not in owners else 1  # held, not owned: no count
            parts[part][1] += estimate * weight
        if not chosen:
            return []
        return [{"period": None, **{k: {"programmes": n, "credit_estimate": e} for k, (n, e) in parts.items()}}]
    if stat_type == "my_credits":
        mine_held = [h for (p, o), h in s.holdings.items() if o == org]
        total = {k: sum(h[k] for h in mine_held) for k in ("held", "issued", "received", "transferred", "retired")}
        frozen = total["held"] if org == s.dev2 else 0
        return {"organisation_id": org, "held": total["held"], "frozen": frozen, "available": total["held"] - frozen,
                "issued": total["issued"], "received": total["received"], "transferred": total["transferred"],
                "retired": total["retired"]}  # fmt: skip
    if stat_type == "pending_requests":
        return {"transfers_sent": sum(1 for i, _ in s.pending if i == org),
                "transfers_to_approve": sum(1 for _, f in s.pending if f == org),
                "retirements_requested": 0, "retirements_to_recognise": 0}  # fmt: skip
    if stat_type == "programme_locations":
        # "Mine" on the map: programmes the caller owns or certifies (reference §11.2), not those it only holds.
        points = (pids if not mine else s.certified if certifier else owned) & s.located
        return [([3.4, 6.5], "Authorised", len(points))] if points else []
    countries: dict[str, list[int]] = {}
    for sender, pid, country, amount, omge in s.retirements:
        if not mine or sender == org or pid in s.certified and certifier:
            row = countries.setdefault(country, [0, 0, 0])
            row[0], row[1], row[2] = row[0] + 1, row[1] + amount, row[2] + amount - omge
    return [[c, *v] for c, v in sorted(countries.items())]


def _shown(stat_type: str, answer: Any) -> Any:
    """The part of an answer ``_expected`` predicts, in the same shape."""
    data = answer["data"]
    if stat_type in ("programmes_by_stage", "programmes_by_sector"):
        return _rows(answer, "stage" if stat_type == "programmes_by_stage" else "sector")
    if stat_type == "programme_locations":
        return [(f["geometry"]["coordinates"], f["properties"]["stage"], f["properties"]["count"])
                for f in data["features"]]  # fmt: skip
    if stat_type == "retirements_by_country":
        return [[c["country"], c["retirements"], c["credits"], c["international_credits"]] for c in data]
    return data


def check_every_statistic(app_client: TestClient, world: World, s: Scenario) -> None:
    """Every statistic, as every kind of caller, overall and "only mine", against the scenario's numbers."""
    for caller in CALLERS:
        for stat_type in StatType:
            for mine in (False, True):
                answer = stat(app_client, world, caller, stat_type.value, only_mine=str(mine).lower())
                expected = _expected(s, world, caller, stat_type.value, mine)
                assert _shown(stat_type.value, answer) == expected, (caller, stat_type.value, mine)


def test_every_statistic_as_every_caller_overall_and_mine(
    app_client: TestClient, world: World, scenario: Scenario
) -> None:
    check_every_statistic(app_client, world, scenario)


def stat(app_client: TestClient, world: World, caller: str, stat_type: str, **params: Any) -> Any:
    answer = app_client.get(f"/stats/{stat_type}", params=params, headers=world.headers(caller))
    assert answer.status_code == 200, answer.text
    return answer.json()


def _visible(s: Scenario, world: World, caller: str) -> set[int]:
    if caller.startswith(("gov", "root")):
        return set(s.programmes)
    authorised = {p for p, v in s.programmes.items() if v[0] == "Authorised"}
    org = world.members[caller].organisation_id
    return authorised | {p for p, v in s.programmes.items() if org in v[3]} if caller.startswith("dev") else authorised


def _expected_by(s: Scenario, pids: set[int], key: int) -> dict[str, dict[str, int]]:
    """Overall sums per stage (key 0) or sector (key 1), from the scenario's own numbers."""
    frozen_org = s.dev2
    groups: dict[str, dict[str, int]] = {}
    for pid in pids:
        stage, sector, estimate, _owners, _day = s.programmes[pid]
        g = groups.setdefault((stage, sector)[key], dict.fromkeys(
            ("programmes", "credit_estimate", "credit_issued", "credit_held", "credit_retired",
             "credit_transferred", "credit_frozen"), 0))  # fmt: skip
        g["programmes"] += 1
        g["credit_estimate"] += estimate
        for (p, org), h in s.holdings.items():
            if p == pid:
                g["credit_issued"] += h["issued"]
                g["credit_held"] += h["held"]
                g["credit_retired"] += h["retired"]
                g["credit_frozen"] += h["held"] if org == frozen_org else 0
        g["credit_transferred"] += s.transferred.get(pid, 0)
    return groups


def _rows(answer: Any, key: str) -> dict[str, dict[str, Any]]:
    return {row[key]: {k: v for k, v in row.items() if k not in ("period", "stage", "sector")}
            for row in answer["data"]}  # fmt: skip


@pytest.mark.parametrize("caller", ["gov_admin", "root", "dev_admin", "cert_admin", "api_key"])
def test_each_role_sees_the_sums_of_the_programmes_it_may_list(
    app_client: TestClient, world: World, scenario: Scenario, caller: str
) -> None:
    visible = _visible(scenario, world, caller) if caller != "api_key" else set(scenario.programmes)
    for stat_type, key, index in (("programmes_by_stage", "stage", 0), ("programmes_by_sector", "sector", 1)):
        answer = stat(app_client, world, caller, stat_type)
        assert _rows(answer, key) == _expected_by(scenario, visible, index), (caller, stat_type)
        assert answer["as_of_block"] > 0
        assert answer["last"] is not None


def test_a_developers_own_figures_are_weighted_by_its_share_and_its_own_credits(
    app_client: TestClient, world: World, scenario: Scenario
) -> None:
    s = scenario
    answer = stat(app_client, world, "dev_admin", "programmes_by_stage", only_mine="true")
    expected: dict[str, dict[str, float]] = {}
    for pid, (stage, _sector, estimate, owners, _day) in s.programmes.items():
        holding = s.holdings.get((pid, s.dev))
        if s.dev not in owners and holding is None:
            continue
        names = ("programmes", "credit_estimate", "credit_issued", "credit_held", "credit_retired",
                 "credit_transferred", "credit_frozen")  # fmt: skip
        g = expected.setdefault(stage, dict.fromkeys(names, 0))
        g["programmes"] += 1 if s.dev in owners else 0
        g["credit_estimate"] += estimate * owners.get(s.dev, 0) / 100
        for name in ("issued", "held", "retired", "transferred"):
            g[f"credit_{name}"] += holding[name] if holding else 0
    assert _rows(answer, "stage") == expected
    # dev2 is frozen: all it holds is frozen, in its own view too.
    frozen = stat(app_client, world, "dev2_admin", "programmes_by_sector", only_mine="true")
    assert {k: v["credit_frozen"] for k, v in _rows(frozen, "sector").items()} == {"Energy": 100, "Forestry": 400,
                                                                                   "Waste": 0}  # fmt: skip
    mine = stat(app_client, world, "dev_admin", "my_credits")["data"]
    assert (mine["held"], mine["available"], mine["frozen"], mine["transferred"], mine["retired"]) == (
        1050, 1050, 0, 100, 50)  # fmt: skip


def test_certification_overall_and_as_the_certifier_sees_its_own(
    app_client: TestClient, world: World, scenario: Scenario
) -> None:
    overall = stat(app_client, world, "gov_admin", "certification")["data"]
    # P1 certified (1000), P2 revoked (2000): the only authorised programmes.
    assert overall == [{"period": None, "certified": {"programmes": 1, "credit_estimate": 1000},
                        "revoked": {"programmes": 1, "credit_estimate": 2000},
                        "uncertified": {"programmes": 0, "credit_estimate": 0}}]  # fmt: skip
    own = stat(app_client, world, "cert_admin", "certification", only_mine="true")["data"]
    assert own == overall
    by_me = stat(app_client, world, "cert_admin", "programmes_by_stage", only_mine="true")
    assert {k: v["programmes"] for k, v in _rows(by_me, "stage").items()} == {"Authorised": 1}  # P1 only


def test_series_per_day_and_time_windows(app_client: TestClient, world: World, scenario: Scenario) -> None:
    s = scenario
    series = stat(app_client, world, "gov_admin", "programmes_by_stage", group_by="day")["data"]
    counts = {(r["period"], r["stage"]): r["programmes"] for r in series}
    assert counts == {(s.days[0], "Authorised"): 2, (s.days[1], "AwaitingAuthorization"): 1,
                      (s.days[1], "Rejected"): 1}  # fmt: skip
    later = stat(app_client, world, "gov_admin", "programmes_by_sector", created_from=f"{s.days[1]}T00:00:00Z")
    assert {k: v["programmes"] for k, v in _rows(later, "sector").items()} == {"Energy": 1, "Waste": 1}
    earlier = stat(app_client, world, "gov_admin", "programmes_by_stage", created_before=f"{s.days[1]}T00:00:00Z",
                   stage="Authorised")  # fmt: skip
    assert {k: v["credit_issued"] for k, v in _rows(earlier, "stage").items()} == {"Authorised": 1600}
    by_month = stat(app_client, world, "gov_admin", "programmes_by_stage", group_by="month")["data"]
    assert sum(r["programmes"] for r in by_month) == 4


def test_requests_locations_and_countries(app_client: TestClient, world: World, scenario: Scenario) -> None:
    s = scenario
    pending = stat(app_client, world, "dev_admin", "pending_requests")["data"]
    assert (pending["transfers_to_approve"], pending["transfers_sent"]) == (1, 0)
    government = stat(app_client, world, "gov_admin", "pending_requests")["data"]
    assert government["transfers_sent"] == 1
    locations = stat(app_client, world, "gov_admin", "programme_locations")["data"]
    assert locations["type"] == "FeatureCollection"
    assert [(f["geometry"]["coordinates"], f["properties"]["stage"], f["properties"]["count"])
            for f in locations["features"]] == [([3.4, 6.5], "Authorised", 2)]  # fmt: skip
    countries = stat(app_client, world, "cert_admin", "retirements_by_country")["data"]
    assert [(c["country"], c["retirements"], c["credits"]) for c in countries] == [("CH", 1, 50)]
    assert stat(app_client, world, "dev2_admin", "retirements_by_country", only_mine="true")["data"] == []
    assert s.dev2 != s.dev


def test_one_request_answers_the_dashboard_as_of_one_block(
    app_client: TestClient, world: World, scenario: Scenario
) -> None:
    body = {"stats": [{"type": "programmes_by_stage"}, {"type": "programmes_by_stage", "key": "daily",
                                                          "group_by": "day"},
                      {"type": "certification"}, {"type": "my_credits"}, {"type": "pending_requests"},
                      {"type": "programme_locations"}, {"type": "retirements_by_country"}]}  # fmt: skip
    answer = app_client.post("/stats", json=body, headers=world.headers("gov_admin"))
    assert answer.status_code == 200, answer.text
    stats = answer.json()["stats"]
    assert set(stats) == {"programmes_by_stage", "daily", "certification", "my_credits", "pending_requests",
                          "programme_locations", "retirements_by_country"}  # fmt: skip
    single = stat(app_client, world, "gov_admin", "programmes_by_stage")
    assert stats["programmes_by_stage"]["data"] == single["data"]
    twice = app_client.post("/stats", json={"stats": [{"type": "certification"}, {"type": "certification"}]},
                            headers=world.headers("gov_admin"))  # fmt: skip
    assert twice.status_code == 422
    assert app_client.post("/stats", json=body).status_code == 401
    window = {"created_from": "2026-12-02T00:00:00Z", "created_before": "2026-12-01T00:00:00Z"}
    backwards = app_client.get("/stats/certification", params=window, headers=world.headers("gov_admin"))
    assert backwards.status_code == 422
    naive = app_client.get("/stats/certification", params={"created_from": "2026-12-02T00:00:00"},
                           headers=world.headers("gov_admin"))  # fmt: skip
    assert naive.status_code == 422


def test_public_figures_need_no_login_and_revalidate_by_etag(
    app_client: TestClient, world: World, scenario: Scenario
) -> None:
    answer = app_client.get("/public/stats")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert {r["stage"]: r["programmes"] for r in body["programmes_by_stage"]} == {
        "Authorised": 2, "AwaitingAuthorization": 1, "Rejected": 1}  # fmt: skip
    assert body["credits"] == {"issued": 1600, "held": 1550, "retired": 50, "transferred": 100}
    assert {r["sector"]: r["credit_estimate"] for r in body["programmes_by_sector"]} == {"Energy": 1000,
                                                                                       "Forestry": 2000}  # fmt: skip
    assert [(r["country"], r["credits"]) for r in body["retirements_by_country"]] == [("CH", 50)]
    assert "public" in answer.headers["cache-control"]
    again = app_client.get("/public/stats", headers={"If-None-Match": answer.headers["etag"]})
    assert (again.status_code, again.content) == (304, b"")


def test_a_reorg_takes_its_programme_and_transfer_out_of_every_statistic(
    app_client: TestClient, world: World, scenario: Scenario
) -> None:
    """Last in the module: it rewrites the chain's recent blocks."""
    s = scenario
    before = app_client.get("/public/stats").json()
    p1 = next(p for p, v in s.programmes.items() if v[1] == "Energy" and v[0] == "Authorised")
    extra = create(app_client, world, sector="Transport", sectoral_scope=7, credit_estimate=70)["programme_id"]
    assert send(app_client, world, "dev_admin", p1, s.dev, world.government, 5).status_code == 201
    grown = app_client.get("/public/stats").json()
    assert grown["credits"]["transferred"] == before["credits"]["transferred"] + 5
    assert any(r["sector"] == "Transport" for r in stat(app_client, world, "gov_admin", "programmes_by_sector")["data"])
    provider = world.registry.client.w3.provider
    provider.make_request("anvil_reorg", [2, []])  # type: ignore[arg-type]  # both transactions' blocks replaced
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        after = app_client.get("/public/stats").json()
        if after["credits"] == before["credits"] and after["programmes_by_stage"] == before["programmes_by_stage"]:
            break
        time.sleep(0.2)
    assert after["credits"] == before["credits"]
    assert after["programmes_by_stage"] == before["programmes_by_stage"]
    sectors = stat(app_client, world, "gov_admin", "programmes_by_sector")
    assert "Transport" not in {r["sector"] for r in sectors["data"]}
    assert _rows(sectors, "sector") == _expected_by(s, set(s.programmes), 1)
    with world.engine.connect() as conn:
        assert conn.execute(text("select count(*) from chain.programme where programme_id = :p"),
                            {"p": extra}).scalar_one() == 0  # fmt: skip
    resolve(world, s.located)  # the replay of P1 (its transfer was orphaned) put its region back to "pending"
    check_every_statistic(app_client, world, s)
