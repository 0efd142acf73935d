"""Every worked example of reference §8 as a golden test, the errors the seed turned into 0 credits, and the
properties an estimate must have whatever the units."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from node.calculator import (
    DEFAULTS,
    MAX_CREDITS,
    AgricultureConstants,
    AgricultureInput,
    CalculatorInput,
    Methodology,
    SolarConstants,
    SolarInput,
    compute,
    methodologies,
    round_half_up,
    units,
)
from node.errors import InvalidInput

INPUT = TypeAdapter(CalculatorInput)
JAN_2023, JAN_2024 = 1_672_531_200, 1_704_067_200


def _estimate(body: dict[str, Any], **period: int) -> tuple[Decimal, int]:
    request = INPUT.validate_python(body)
    result = compute(request, DEFAULTS[request.methodology], **period)
    return result.credits, result.credits_whole


def _exact(body: dict[str, Any], period_seconds: int | None = None) -> Fraction:
    request = INPUT.validate_python(body)
    return methodologies.calculate(request, DEFAULTS[request.methodology], period_seconds=period_seconds)


def _agriculture(area: object, area_unit: str, duration: object = None, duration_unit: str | None = None
                 ) -> dict[str, Any]:  # fmt: skip
    body = {"methodology": "agriculture", "land_area": area, "land_area_unit": area_unit}
    if duration is not None:
        body |= {"duration": duration, "duration_unit": duration_unit}
    return body


def _solar(x: object, unit: str = "kWh/year/unit", building: str = "Household") -> dict[str, Any]:
    return {"methodology": "solar", "energy_generation": x, "energy_generation_unit": unit, "building_type": building}


def _pumping(grid: str, x: object, unit: str = "kWh/year/unit") -> dict[str, Any]:
    return {"methodology": f"solar_water_pumping_{grid}_grid", "energy_generation": x, "energy_generation_unit": unit}


# ---------------------------------------------------------------------------------------------- golden examples


@pytest.mark.parametrize(
    ("body", "credits", "whole"),
    [
        pytest.param(_agriculture(16, "ha", 120, "d"), "88.32", 88, id="rice 16 ha 120 d"),
        pytest.param(_agriculture("0.16", "km2", 120, "d"), "88.32", 88, id="rice 0.16 km2"),
        pytest.param(_agriculture(16, "ha", 2880, "h"), "88.32", 88, id="rice 2880 h"),
        pytest.param(_agriculture("0.16", "km2", 2880, "h"), "88.32", 88, id="rice 0.16 km2 2880 h"),
        pytest.param(_agriculture(160_000, "m2", "0.3285421", "year"), "88.32", 88, id="rice in m2 and years"),
        pytest.param(_solar(20), "0.14", 0, id="solar household 20 kWh"),
        pytest.param(_solar(105), "0.44", 0, id="solar household 105 kWh"),
        pytest.param(_solar(8_520_000_000, "Wh/year/unit", "HealthCenter"), "11080.54", 11081, id="solar 8.52e9 Wh"),
        pytest.param({"methodology": "biochar", "weight": 10}, "36.60", 37, id="biochar 10 t"),
        pytest.param(
            {"methodology": "cookstoves", "number_of_days": 365, "number_of_people": 5},
            "182.50",
            183,
            id="cookstoves 365 d 5 people",
        ),  # fmt: skip
        pytest.param(_pumping("off", 1000), "1300.00", 1300, id="pumping off-grid 1000 kWh"),
        pytest.param(_pumping("on", 1000), "1060.00", 1060, id="pumping on-grid 1000 kWh"),
    ],
)
def test_the_worked_examples_of_the_reference(body: dict[str, Any], credits: str, whole: int) -> None:
    assert _estimate(body) == (Decimal(credits), whole)


def test_rice_over_the_year_2023_is_839_5_and_a_programme_estimate_of_840() -> None:
    """§8.1: 50 ha from 1 Jan 2023 to 1 Jan 2024; without a duration the programme's period in seconds applies."""
    assert _estimate(_agriculture(50, "ha"), start_time=JAN_2023, end_time=JAN_2024) == (Decimal("839.50"), 840)
    assert _exact(_agriculture(50, "ha"), period_seconds=JAN_2024 - JAN_2023) == Fraction("839.5")  # no 839.4999…


def test_a_duration_in_the_input_wins_over_the_period() -> None:
    assert _estimate(_agriculture(16, "ha", 120, "d"), start_time=JAN_2023, end_time=JAN_2024)[0] == Decimal("88.32")


def test_the_seeds_three_decimal_values_are_the_exact_ones() -> None:
    """The bundled tests of the seed expected 0.136 and 0.439 (PRECISION 3) and the README 11080.5375."""
    assert _exact(_solar(20)) == Fraction("0.136")
    assert _exact(_solar(105)) == Fraction("0.439")
    assert _exact(_solar(8_520_000_000, "Wh/year/unit", "HealthCenter")) == Fraction("11080.5375")


def test_the_other_threshold_buildings_and_units() -> None:
    # 825 kWh/year is the threshold of HealthCenter, Dispensary and TradingPlace alike.
    for building in ("HealthCenter", "Dispensary", "TradingPlace"):
        assert _exact(_solar(8520, "MWh/year/unit", building)) == Fraction("11080.5375")
    # The threshold converts with the measured time unit: 55 kWh/year is 55/12 kWh/month.
    assert _exact(_solar(4, "kWh/month/unit")) == 4 * Fraction("0.0068")  # 4 < 55/12: all at A
    assert _exact(_solar(10, "kWh/month/unit")) == Fraction(55 * 68 + (120 - 55) * 13, 10000) / 12


def test_pumping_converts_the_energy_and_the_time_of_the_measured_unit() -> None:
    assert _exact(_pumping("off", 1, "MWh/year/unit")) == 1300
    assert _exact(_pumping("off", 3_600_000, "kJ/year/unit")) == 1300
    assert _exact(_pumping("on", 100, "kWh/month/unit")) == Fraction("1272")  # 1200 kWh a year × 1.06


# ---------------------------------------------------------------------------------------------- rounding


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        (Fraction("0.005"), 2, "0.01"), (Fraction("0.004999"), 2, "0.00"), (Fraction("2.675"), 2, "2.68"),
        (Fraction("839.5"), 0, "840"), (Fraction("0.5"), 0, "1"), (Fraction("0.49"), 0, "0"),
        (Fraction(1, 3), 2, "0.33"), (Fraction(2, 3), 2, "0.67"), (Fraction(0), 2, "0.00"),
        (Fraction(MAX_CREDITS), 2, "1000000000000000.00"),
    ],
)  # fmt: skip
def test_rounding_is_half_up_and_exact(value: Fraction, places: int, expected: str) -> None:
    assert str(round_half_up(value, places)) == expected


def test_the_whole_estimate_rounds_the_two_decimal_credits_as_the_seed_did() -> None:
    """The seed's Math.round applied to the already rounded number: 2.495022 → 2.50 → 3 (not 2)."""
    result = compute(
        INPUT.validate_python({"methodology": "biochar", "weight": "0.6817"}), DEFAULTS[Methodology.BIOCHAR]
    )
    assert result.credits == Decimal("2.50")
    assert result.credits_whole == 3


# ---------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (_agriculture(16, "kWh", 120, "d"), "land_area_unit", "'kWh' is an energy unit; expected an area unit"),
        (_agriculture(16, "hectares", 120, "d"), "land_area_unit", "'hectares' is not a unit the calculator knows"),
        (_agriculture(16, "ha", 120, "m2"), "duration_unit", "'m2' is an area unit; expected a time unit"),
        (_agriculture(16, "ha", 120, "days"), "duration_unit", "'days' is not a unit"),
        (_agriculture(16, "ha"), "duration", "Give duration and duration_unit, or the programme's start and end"),
        (_solar(20, "kWh/year"), "energy_generation_unit", "must have 3 non-empty '/'-separated parts"),
        (_solar(20, "kWh/year/unit/x"), "energy_generation_unit", "must have 3"),
        (_solar(20, "kWh"), "energy_generation_unit", "must have 3"),
        (_solar(20, "kWh/year/house"), "energy_generation_unit", "must end in '/unit'"),
        (_solar(20, "MWH/year/unit"), "energy_generation_unit", "'MWH' is not a unit"),
        (_solar(20, "kWh/ha/unit"), "energy_generation_unit", "'ha' is an area unit; expected a time unit"),
        (_solar(20, building="Castle"), "building_type", "Unknown building type 'Castle'; the solar constants define"),
        (_solar(20, building="household"), "building_type", "Unknown building type"),
        (_pumping("off", 1000, "kWh/year"), "energy_generation_unit", "must have 3"),
        (_pumping("on", 1000, "d/year/unit"), "energy_generation_unit", "'d' is a time unit; expected an energy"),
    ],
)
def test_a_bad_unit_or_building_type_is_an_error_naming_the_field_never_zero_credits(
    body: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        _estimate(body)
    assert caught.value.extensions == {"field": field}


def test_a_period_must_be_whole_and_forward() -> None:
    request = INPUT.validate_python(_agriculture(50, "ha"))
    with pytest.raises(InvalidInput, match="both the start and the end"):
        compute(request, DEFAULTS[Methodology.AGRICULTURE], start_time=JAN_2023)
    with pytest.raises(InvalidInput, match="end must be after its start"):
        compute(request, DEFAULTS[Methodology.AGRICULTURE], start_time=JAN_2024, end_time=JAN_2023)
    with pytest.raises(InvalidInput, match="end must be after its start"):
        methodologies.agriculture(request, DEFAULTS[Methodology.AGRICULTURE], period_seconds=0)  # type: ignore[arg-type]


def test_an_absurd_result_is_refused_rather_than_stored() -> None:
    body = _agriculture(10**9, "mi2", 10**9, "year")
    with pytest.raises(InvalidInput, match="exceeds 1e\\+15 credits"):
        _estimate(body)


def test_constants_of_another_methodology_are_refused() -> None:
    with pytest.raises(InvalidInput, match="not constants of the agriculture methodology"):
        compute(INPUT.validate_python(_agriculture(16, "ha", 120, "d")), DEFAULTS[Methodology.SOLAR])


def test_building_types_come_from_the_constants_in_force() -> None:
    """A version can add a building type: the request's type is checked against the constants, not a fixed list."""
    solar = DEFAULTS[Methodology.SOLAR]
    assert isinstance(solar, SolarConstants)
    extended = solar.model_copy(update={"thresholds": {**solar.thresholds, "Hospital": Decimal(1000)}})
    request = INPUT.validate_python(_solar(1000, building="Hospital"))
    assert compute(request, extended).credits == Decimal("6.80")


# ---------------------------------------------------------------------------------------------- properties

areas = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10**6), places=3)
days = st.integers(min_value=1, max_value=36_525)


@given(areas, st.sampled_from(units.keys(units.Dimension.AREA)), days, st.sampled_from(["d", "h", "min", "s"]))
def test_rice_credits_are_the_factor_times_hectares_times_days_whatever_the_units(
    area: Decimal, area_unit: str, duration_days: int, time_unit: str
) -> None:
    duration = units.convert(duration_days, "d", time_unit, units.Dimension.TIME)
    assert duration.denominator == 1
    exact = _exact(_agriculture(area, area_unit, int(duration), time_unit))
    hectares = units.convert(area, area_unit, "ha", units.Dimension.AREA)
    assert exact == Fraction("0.046") * hectares * duration_days


@given(st.integers(min_value=1, max_value=10**5), st.integers(min_value=1, max_value=10**5),
       st.sampled_from(sorted(DEFAULTS[Methodology.SOLAR].thresholds)))  # type: ignore[union-attr]  # fmt: skip
def test_solar_credits_grow_with_generation_and_join_at_the_threshold(x: int, y: int, building: str) -> None:
    low, high = sorted((x, y))
    assert _exact(_solar(low, building=building)) <= _exact(_solar(high, building=building))
    constants = DEFAULTS[Methodology.SOLAR]
    assert isinstance(constants, SolarConstants)
    threshold = constants.thresholds[building]
    at = _exact(_solar(threshold, building=building))
    assert at == Fraction(threshold) * Fraction("0.0068")  # X = Y: the whole threshold at A, nothing at B


@given(st.decimals(min_value=Decimal(1), max_value=Decimal(10**6), places=3),
       st.sampled_from(units.keys(units.Dimension.ENERGY)))  # fmt: skip
def test_solar_gives_the_same_credits_in_any_energy_unit(kwh: Decimal, unit: str) -> None:
    value = units.convert(kwh, "kWh", unit, units.Dimension.ENERGY)
    if value.denominator != 1 and (10**9 % value.denominator) != 0:
        return  # not representable with 9 decimals in that unit
    in_unit = Decimal(value.numerator) / Decimal(value.denominator)
    assert _exact(_solar(in_unit, f"{unit}/year/unit")) == _exact(_solar(kwh))


def test_the_pure_functions_take_their_own_constants() -> None:
    request = AgricultureInput(methodology=Methodology.AGRICULTURE, land_area=Decimal(16), land_area_unit="ha",
                               duration=Decimal(120), duration_unit="d")  # fmt: skip
    doubled = AgricultureConstants(emission_factor=Decimal("0.092"), emission_factor_unit="tCO2e/ha/d")
    assert methodologies.agriculture(request, doubled) == Fraction("176.64")
    weekly = AgricultureConstants(emission_factor=Decimal("0.322"), emission_factor_unit="tCO2e/ha/week")
    assert methodologies.agriculture(request, weekly) == Fraction("0.322") * 16 * Fraction(120, 7)
    solar = SolarInput(methodology=Methodology.SOLAR, energy_generation=Decimal(20),
                       energy_generation_unit="kWh/year/unit", building_type="Household")  # fmt: skip
    assert methodologies.solar(solar, DEFAULTS[Methodology.SOLAR]) == Fraction("0.136")  # type: ignore[arg-type]
