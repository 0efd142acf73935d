"""Versioned constants: the defaults until a version exists, a new version per change (never an identical one),
recorded with its author and audit event, and used by the next estimate. Each test runs in a rolled-back
transaction over an emptied constants table."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from pydantic import TypeAdapter
from sqlalchemy import Connection, Engine, select, text

from node import calculator
from node.calculator import (
    DEFAULTS,
    AgricultureConstants,
    CalculatorInput,
    ConstantsUnchanged,
    Methodology,
    SolarConstants,
    SolarWaterPumpingConstants,
)
from node.errors import Forbidden, InvalidInput, OrganisationSuspended
from node.identity.permissions import Principal
from node.models.app import audit_event, calculator_constants

ROOT = Principal(1, "root@example.org", "Root", 1, "Government", "active")
GOV_MANAGER = Principal(3, "manager@example.org", "Manager", 1, "Government", "active")
RICE = TypeAdapter(CalculatorInput).validate_python(
    {"methodology": "agriculture", "land_area": 16, "land_area_unit": "ha", "duration": 120, "duration_unit": "d"}
)
HIGHER = AgricultureConstants(emission_factor=Decimal("0.05"), emission_factor_unit="tCO2e/ha/d")


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(text("delete from app.calculator_constants"))
        yield connection
        transaction.rollback()


def test_without_a_version_the_defaults_apply(conn: Connection) -> None:
    for methodology in Methodology:
        assert calculator.latest(conn, methodology) == (None, DEFAULTS[methodology])
    result = calculator.estimate(conn, RICE)
    assert (result.credits, result.constants_version) == (Decimal("88.32"), None)
    assert result.constants == {"emission_factor": "0.046", "emission_factor_unit": "tCO2e/ha/d"}


def test_a_new_version_is_recorded_and_used_by_the_next_estimate(conn: Connection) -> None:
    stored = calculator.set_constants(conn, GOV_MANAGER, Methodology.AGRICULTURE, HIGHER)
    assert stored.version is not None
    assert (stored.methodology, stored.constants, stored.created_by_user_id) == (Methodology.AGRICULTURE, HIGHER, 3)
    assert calculator.latest(conn, Methodology.AGRICULTURE) == (stored.version, HIGHER)
    assert calculator.latest(conn, Methodology.SOLAR) == (None, DEFAULTS[Methodology.SOLAR])  # per methodology
    result = calculator.estimate(conn, RICE)
    assert (result.credits, result.credits_whole, result.constants_version) == (Decimal("96.00"), 96, stored.version)
    assert result.constants == {"emission_factor": "0.05", "emission_factor_unit": "tCO2e/ha/d"}

    row = conn.execute(select(calculator_constants).where(calculator_constants.c.version == stored.version)).one()
    assert row.created_by == {"user_id": 3, "email": "manager@example.org", "role": "Manager",
                              "organisation_id": 1, "via_api_key": False}  # fmt: skip
    event = conn.execute(select(audit_event).where(audit_event.c.action == "calculator.constants_set",
                                                   audit_event.c.target_id == stored.version)).one()  # fmt: skip
    assert (event.actor_user_id, event.organisation_id) == (3, 1)
    assert event.details == {"methodology": "agriculture", "constants": row.constants}


def test_history_is_newest_first_and_ends_with_the_defaults(conn: Connection) -> None:
    first = calculator.set_constants(conn, ROOT, Methodology.AGRICULTURE, HIGHER)
    second = calculator.set_constants(conn, ROOT, Methodology.AGRICULTURE, DEFAULTS[Methodology.AGRICULTURE])
    versions = [(v.version, v.constants) for v in calculator.history(conn, Methodology.AGRICULTURE)]
    assert versions == [(second.version, DEFAULTS[Methodology.AGRICULTURE]), (first.version, HIGHER),
                        (None, DEFAULTS[Methodology.AGRICULTURE])]  # fmt: skip
    assert [v.version for v in calculator.history(conn, Methodology.BIOCHAR)] == [None]
    current = calculator.current(conn)
    assert [v.methodology for v in current] == list(Methodology)
    assert current[0].version == second.version  # back to the default values, as a version of its own


def test_constants_identical_to_those_in_force_are_refused(conn: Connection) -> None:
    with pytest.raises(ConstantsUnchanged, match="the built-in defaults"):
        calculator.set_constants(conn, ROOT, Methodology.AGRICULTURE, DEFAULTS[Methodology.AGRICULTURE])
    stored = calculator.set_constants(conn, ROOT, Methodology.AGRICULTURE, HIGHER)
    same_value = AgricultureConstants(emission_factor=Decimal("0.0500"), emission_factor_unit="tCO2e/ha/d")
    with pytest.raises(ConstantsUnchanged, match=f"version {stored.version}") as caught:
        calculator.set_constants(conn, ROOT, Methodology.AGRICULTURE, same_value)
    assert caught.value.status_code == 409
    assert caught.value.extensions == {"methodology": "agriculture", "version": stored.version}
    count = conn.execute(text("select count(*) from app.calculator_constants")).scalar_one()
    assert count == 1


def test_pumping_off_and_on_grid_are_versioned_apart(conn: Connection) -> None:
    """Both use one model, but each its own versions (and defaults: 1.3 and 1.06)."""
    on_grid_value = SolarWaterPumpingConstants(emission_factor=Decimal("1.06"), emission_factor_unit="kWh/year")
    stored = calculator.set_constants(conn, ROOT, Methodology.SOLAR_WATER_PUMPING_OFF_GRID, on_grid_value)
    assert calculator.latest(conn, Methodology.SOLAR_WATER_PUMPING_OFF_GRID) == (stored.version, on_grid_value)
    with pytest.raises(ConstantsUnchanged):
        calculator.set_constants(conn, ROOT, Methodology.SOLAR_WATER_PUMPING_ON_GRID, on_grid_value)


def test_constants_of_another_methodology_are_refused(conn: Connection) -> None:
    solar = DEFAULTS[Methodology.SOLAR]
    assert isinstance(solar, SolarConstants)
    with pytest.raises(InvalidInput, match="not constants of the agriculture methodology"):
        calculator.set_constants(conn, ROOT, Methodology.AGRICULTURE, solar)


@pytest.mark.parametrize(
    ("principal", "error"),
    [
        (Principal(4, "v@example.org", "ViewOnly", 1, "Government", "active"), Forbidden),
        (Principal(5, "d@example.org", "Admin", 7, "ProgrammeDeveloper", "active"), Forbidden),
        (Principal(6, "m@example.org", "Manager", 7, "ProgrammeDeveloper", "active"), Forbidden),
        (Principal(8, "c@example.org", "Admin", 8, "Certifier", "active"), Forbidden),
        (Principal(9, "api@example.org", "Admin", 9, "API", "active", via_api_key=True), Forbidden),
        (Principal(2, "a@example.org", "Admin", 1, "Government", "suspended"), OrganisationSuspended),
        (Principal(1, "root@example.org", "Root", 1, "Government", "suspended"), OrganisationSuspended),
    ],
)
def test_only_root_and_government_admins_and_managers_may_set_constants(
    conn: Connection, principal: Principal, error: type[Exception]
) -> None:
    with pytest.raises(error):
        calculator.set_constants(conn, principal, Methodology.AGRICULTURE, HIGHER)
    assert conn.execute(text("select count(*) from app.calculator_constants")).scalar_one() == 0


@pytest.mark.parametrize("role", ["Root", "Admin", "Manager"])
def test_root_and_government_admins_and_managers_may(conn: Connection, role: str) -> None:
    principal = Principal(10, "g@example.org", role, 1, "Government", "active")
    assert calculator.set_constants(conn, principal, Methodology.AGRICULTURE, HIGHER).version is not None
