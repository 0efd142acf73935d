"""``/calculator`` over HTTP: estimates for every caller, the constants and their history, and who may set them."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.api.identity.world import World

RICE = {"methodology": "agriculture", "land_area": "16", "land_area_unit": "ha", "duration": 120, "duration_unit": "d"}
HIGHER_RICE = {"emission_factor": "0.05", "emission_factor_unit": "tCO2e/ha/d"}


def _estimate(api: TestClient, headers: dict[str, str], body: dict[str, Any]) -> Any:
    return api.post("/calculator/estimate", headers=headers, json=body)


@pytest.mark.parametrize("caller", ["root", "gov_viewonly", "dev_viewonly", "cert_admin", "api_key",
                                    "suspended_admin"])  # fmt: skip
def test_every_authenticated_caller_may_preview_an_estimate(app_client: TestClient, world: World, caller: str
                                                            ) -> None:  # fmt: skip
    response = _estimate(app_client, world.headers(caller), {"calculator": RICE})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "credits": "88.32", "credits_whole": 88, "methodology": "agriculture", "constants_version": None,
        "constants": {"emission_factor": "0.046", "emission_factor_unit": "tCO2e/ha/d"},
    }  # fmt: skip


def test_an_anonymous_caller_is_not_authenticated(app_client: TestClient) -> None:
    response = _estimate(app_client, {}, {"calculator": RICE})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("calculator", "credits", "whole"),
    [
        ({"methodology": "solar", "energy_generation": 20, "energy_generation_unit": "kWh/year/unit",
          "building_type": "Household"}, "0.14", 0),
        ({"methodology": "solar", "energy_generation": "8520000000", "energy_generation_unit": "Wh/year/unit",
          "building_type": "HealthCenter"}, "11080.54", 11081),
        ({"methodology": "biochar", "weight": 10}, "36.60", 37),
        ({"methodology": "cookstoves", "number_of_days": 365, "number_of_people": 5}, "182.50", 183),
        ({"methodology": "solar_water_pumping_off_grid", "energy_generation": 1000,
          "energy_generation_unit": "kWh/year/unit"}, "1300.00", 1300),
        ({"methodology": "solar_water_pumping_on_grid", "energy_generation": 1000,
          "energy_generation_unit": "kWh/year/unit"}, "1060.00", 1060),
    ],
)  # fmt: skip
def test_each_methodology_over_http(app_client: TestClient, world: World, calculator: dict[str, Any], credits: str,
                                    whole: int) -> None:  # fmt: skip
    response = _estimate(app_client, world.headers("dev_admin"), {"calculator": calculator})
    assert response.status_code == 200, response.text
    assert (response.json()["credits"], response.json()["credits_whole"]) == (credits, whole)


def test_agriculture_without_a_duration_uses_the_period(app_client: TestClient, world: World) -> None:
    body = {"calculator": {"methodology": "agriculture", "land_area": 50, "land_area_unit": "ha"},
            "start_time": "2023-01-01T00:00:00Z", "end_time": "2024-01-01T01:00:00+01:00"}  # fmt: skip
    response = _estimate(app_client, world.headers("api_key"), body)
    assert response.status_code == 200, response.text
    assert (response.json()["credits"], response.json()["credits_whole"]) == ("839.50", 840)


@pytest.mark.parametrize(
    ("body", "field", "detail"),
    [
        ({"calculator": RICE | {"land_area_unit": "kWh"}}, "land_area_unit", "'kWh' is an energy unit"),
        ({"calculator": RICE | {"duration_unit": "days"}}, "duration_unit", "'days' is not a unit"),
        ({"calculator": {"methodology": "agriculture", "land_area": 1, "land_area_unit": "ha"}}, "duration",
         "Give duration and duration_unit"),
        ({"calculator": {"methodology": "solar", "energy_generation": 1, "energy_generation_unit": "kWh/year",
                         "building_type": "Household"}}, "energy_generation_unit", "must have 3"),
        ({"calculator": {"methodology": "solar", "energy_generation": 1, "energy_generation_unit": "kWh/year/unit",
                         "building_type": "Palace"}}, "building_type", "Unknown building type 'Palace'"),
    ],
)  # fmt: skip
def test_a_bad_unit_or_building_type_is_a_problem_naming_the_field(
    app_client: TestClient, world: World, body: dict[str, Any], field: str, detail: str
) -> None:
    response = _estimate(app_client, world.headers("root"), body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert (problem["type"], problem["field"]) == ("/problems/invalid-input", field)
    assert detail in problem["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"calculator": RICE, "start_time": "2023-01-01T00:00:00Z"},
        {"calculator": RICE, "start_time": "2024-01-01T00:00:00Z", "end_time": "2023-01-01T00:00:00Z"},
        {"calculator": RICE, "start_time": "2023-01-01T00:00:00", "end_time": "2024-01-01T00:00:00"},
        {"calculator": RICE, "start_time": "0001-01-01T00:00:00+23:59", "end_time": "2024-01-01T00:00:00Z"},
        {"calculator": RICE | {"land_area": -1}},
        {"calculator": RICE | {"land_area": "1e400"}},
        {"calculator": RICE | {"methodology": "RiceCrops"}},
        {"calculator": RICE, "preview": True},
        RICE,
    ],
)
def test_malformed_requests_are_validation_problems(app_client: TestClient, world: World, body: dict[str, Any]
                                                    ) -> None:  # fmt: skip
    response = _estimate(app_client, world.headers("root"), body)
    assert response.status_code == 422, response.text
    assert response.json()["type"] == "/problems/validation-error"


def test_the_constants_in_force_are_listed_per_methodology(app_client: TestClient, world: World) -> None:
    response = app_client.get("/calculator/constants", headers=world.headers("dev_viewonly"))
    assert response.status_code == 200, response.text
    listed = response.json()
    assert [c["methodology"] for c in listed] == [
        "agriculture",
        "solar",
        "biochar",
        "cookstoves",
        "solar_water_pumping_off_grid",
        "solar_water_pumping_on_grid",
    ]
    assert all(c["version"] is None and c["created_at"] is None for c in listed)
    assert listed[1]["constants"]["thresholds"]["HealthCenter"] == "825"
    assert listed[5]["constants"] == {"emission_factor": "1.06", "emission_factor_unit": "kWh/year"}


@pytest.mark.parametrize(
    ("caller", "status", "problem"),
    [
        ("root", 201, None),
        ("gov_admin", 201, None),
        ("gov_manager", 201, None),
        ("gov_viewonly", 403, "/problems/forbidden"),
        ("dev_admin", 403, "/problems/forbidden"),
        ("cert_admin", 403, "/problems/forbidden"),
        ("api_key", 403, "/problems/forbidden"),
        ("suspended_admin", 403, "/problems/organisation-suspended"),
        ("anonymous", 401, "/problems/not-authenticated"),
    ],
)
def test_who_may_set_constants(app_client: TestClient, world: World, caller: str, status: int,
                               problem: str | None) -> None:  # fmt: skip
    response = app_client.put("/calculator/constants/agriculture", headers=world.headers(caller), json=HIGHER_RICE)
    assert response.status_code == status, response.text
    if problem is not None:
        assert response.json()["type"] == problem
        assert app_client.get("/calculator/constants/agriculture", headers=world.headers("root")).json()[0][
            "version"] is None  # fmt: skip


def test_a_suspended_government_cannot_set_constants(app_client: TestClient, world: World) -> None:
    """The Government cannot be suspended through the API; its state is read per request, so set it directly."""
    with world.engine.begin() as conn:
        conn.execute(text("update app.organisation set state = 'suspended' where organisation_id = :id"),
                     {"id": world.government})  # fmt: skip
    try:
        response = app_client.put("/calculator/constants/agriculture", headers=world.headers("gov_admin"),
                                  json=HIGHER_RICE)  # fmt: skip
    finally:
        with world.engine.begin() as conn:
            conn.execute(text("update app.organisation set state = 'active' where organisation_id = :id"),
                         {"id": world.government})  # fmt: skip
    assert response.status_code == 403
    assert response.json()["type"] == "/problems/organisation-suspended"


def test_a_new_version_is_used_by_the_next_estimate_and_recorded(app_client: TestClient, world: World) -> None:
    manager = world.members["gov_manager"]
    response = app_client.put("/calculator/constants/agriculture", headers=world.headers("gov_manager"),
                              json=HIGHER_RICE)  # fmt: skip
    assert response.status_code == 201, response.text
    created = response.json()
    version = created["version"]
    assert isinstance(version, int)
    assert (created["methodology"], created["constants"], created["created_by_user_id"]) == (
        "agriculture",
        HIGHER_RICE,
        manager.user_id,
    )
    assert created["created_at"] is not None

    estimate = _estimate(app_client, world.headers("api_key"), {"calculator": RICE}).json()
    assert (estimate["credits"], estimate["credits_whole"], estimate["constants_version"]) == ("96.00", 96, version)
    assert estimate["constants"] == HIGHER_RICE

    history = app_client.get("/calculator/constants/agriculture", headers=world.headers("dev_admin")).json()
    assert [h["version"] for h in history] == [version, None]
    current = app_client.get("/calculator/constants", headers=world.headers("dev_admin")).json()
    assert current[0]["version"] == version
    assert current[1]["version"] is None

    events = app_client.get("/audit-events", headers=world.headers("root"),
                            params={"action": "calculator.constants_set"}).json()["items"]  # fmt: skip
    [event] = [e for e in events if e["target_id"] == version]
    assert event["actor_user_id"] == manager.user_id
    assert event["details"] == {"methodology": "agriculture", "constants": HIGHER_RICE}


def test_constants_identical_to_those_in_force_are_refused(app_client: TestClient, world: World) -> None:
    headers = world.headers("root")
    defaults = app_client.put("/calculator/constants/agriculture", headers=headers,
                              json={"emission_factor": "0.0460", "emission_factor_unit": "tCO2e/ha/d"})  # fmt: skip
    assert defaults.status_code == 409
    assert defaults.json()["type"] == "/problems/constants-unchanged"
    assert app_client.put("/calculator/constants/agriculture", headers=headers, json=HIGHER_RICE).status_code == 201
    again = app_client.put("/calculator/constants/agriculture", headers=headers, json=HIGHER_RICE)
    assert again.status_code == 409
    assert again.json()["version"] is not None


def test_solar_constants_with_a_new_building_type(app_client: TestClient, world: World) -> None:
    headers = world.headers("gov_admin")
    solar = app_client.get("/calculator/constants/solar", headers=headers).json()[0]["constants"]
    solar["thresholds"]["Hospital"] = "1000"
    assert app_client.put("/calculator/constants/solar", headers=headers, json=solar).status_code == 201
    body = {"calculator": {"methodology": "solar", "energy_generation": 1000, "energy_generation_unit": "kWh/year/unit",
                           "building_type": "Hospital"}}  # fmt: skip
    assert _estimate(app_client, headers, body).json()["credits"] == "6.80"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/calculator/constants/agriculture", {"emission_factor": "1.3", "emission_factor_unit": "kWh/year"}),
        ("/calculator/constants/agriculture", {"emission_factor": "0.05", "emission_factor_unit": "tCO2e/ha"}),
        ("/calculator/constants/cookstoves", {"emission_factor": "3.66", "emission_factor_unit": "tCO2e"}),
        ("/calculator/constants/biochar", {"emission_factor": "0"}),
        ("/calculator/constants/solar", {"emission_factor": "0.2"}),
        ("/calculator/constants/rice", HIGHER_RICE),
    ],
)
def test_constants_that_do_not_fit_the_methodology_are_validation_problems(
    app_client: TestClient, world: World, path: str, body: dict[str, Any]
) -> None:
    response = app_client.put(path, headers=world.headers("root"), json=body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == "/problems/validation-error"
    assert problem["errors"][0]["loc"][0] in ("body", "path")


def test_the_operations_are_documented(app_client: TestClient) -> None:
    document = app_client.get("/openapi.json").json()
    operations = {(method, path): op for path, ops in document["paths"].items() for method, op in ops.items()
                  if path.startswith("/calculator")}  # fmt: skip
    assert {op["operationId"] for op in operations.values()} == {
        "estimate_credits",
        "list_calculator_constants",
        "calculator_constants_history",
        "set_calculator_constants",
    }
    for operation in operations.values():
        assert operation["summary"]
        assert {"401", "403", "422", "503"} <= set(operation["responses"])
    assert {"201", "409", "413"} <= set(operations[("put", "/calculator/constants/{methodology}")]["responses"])
    schemas = document["components"]["schemas"]
    assert schemas["EstimateRequest"]["examples"]
    assert schemas["Estimate"]["examples"]
