"""Field rules of calculator input and constants: positive finite bounded amounts, bounded strings, the
discriminator, and examples that validate as documented."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from node.calculator import (
    CONSTANTS_MODELS,
    DEFAULTS,
    AgricultureConstants,
    AgricultureInput,
    BiocharConstants,
    CalculatorInput,
    CookstovesConstants,
    CookstovesInput,
    Methodology,
    SolarConstants,
    SolarInput,
    SolarWaterPumpingConstants,
    SolarWaterPumpingOffGridInput,
    schemas,
)
from node.calculator.constants import parse

INPUT = TypeAdapter(CalculatorInput)
RICE = {"methodology": "agriculture", "land_area": 16, "land_area_unit": "ha", "duration": 120, "duration_unit": "d"}


def test_the_methodology_chooses_the_model() -> None:
    assert isinstance(INPUT.validate_python(RICE), AgricultureInput)
    pumping = {"methodology": "solar_water_pumping_off_grid", "energy_generation": 1, "energy_generation_unit": "x"}
    assert isinstance(INPUT.validate_python(pumping), SolarWaterPumpingOffGridInput)
    with pytest.raises(ValidationError, match="union_tag_invalid"):
        INPUT.validate_python(RICE | {"methodology": "RiceCrops"})
    with pytest.raises(ValidationError, match="union_tag_not_found"):
        INPUT.validate_python({k: v for k, v in RICE.items() if k != "methodology"})


@pytest.mark.parametrize(
    "value",
    [0, -1, "0", "-0.5", "NaN", "Infinity", "-Infinity", 10**10 + 1, "1e11", "0.0000000001", "1E-999999", True,
     "sixteen", None],
)  # fmt: skip
def test_amounts_are_positive_finite_bounded_and_of_bounded_precision(value: Any) -> None:
    with pytest.raises(ValidationError):
        INPUT.validate_python(RICE | {"duration": value})


@pytest.mark.parametrize("value", [1, "16.5", 0.1, "0.000000001", 10**10, Decimal("1E+3")])
def test_reasonable_amounts_are_accepted(value: Any) -> None:
    request = INPUT.validate_python(RICE | {"duration": value})
    assert isinstance(request, AgricultureInput)
    assert request.duration == Decimal(str(value))


def test_duration_and_its_unit_go_together() -> None:
    with pytest.raises(ValidationError, match="duration and duration_unit go together"):
        INPUT.validate_python({k: v for k, v in RICE.items() if k != "duration_unit"})
    with pytest.raises(ValidationError, match="duration and duration_unit go together"):
        INPUT.validate_python({k: v for k, v in RICE.items() if k != "duration"})
    without = INPUT.validate_python({k: v for k, v in RICE.items() if k not in ("duration", "duration_unit")})
    assert isinstance(without, AgricultureInput)
    assert without.duration is None


def test_unit_strings_and_building_types_are_bounded() -> None:
    with pytest.raises(ValidationError, match="at most 64 characters"):
        INPUT.validate_python(RICE | {"land_area_unit": "h" * 65})
    with pytest.raises(ValidationError, match="at least 1 character"):
        INPUT.validate_python(RICE | {"land_area_unit": ""})
    solar = {"methodology": "solar", "energy_generation": 1, "energy_generation_unit": "kWh/year/unit"}
    for building in ("", "Health Center", "Höpital", "x" * 65, "1School"):
        with pytest.raises(ValidationError):
            INPUT.validate_python(solar | {"building_type": building})


def test_cookstove_counts_are_whole_and_bounded() -> None:
    body = {"methodology": "cookstoves", "number_of_days": 365, "number_of_people": 5}
    assert isinstance(INPUT.validate_python(body), CookstovesInput)
    for change in ({"number_of_days": 0}, {"number_of_days": 36_526}, {"number_of_people": "2.5"},
                   {"number_of_people": 10**9 + 1}):  # fmt: skip
        with pytest.raises(ValidationError):
            INPUT.validate_python(body | change)


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="extra_forbidden"):
        INPUT.validate_python(RICE | {"emission_factor": 1})


@pytest.mark.parametrize(
    "model",
    [schemas.AgricultureInput, schemas.SolarInput, schemas.BiocharInput, schemas.CookstovesInput,
     schemas.SolarWaterPumpingOffGridInput, schemas.SolarWaterPumpingOnGridInput],
)  # fmt: skip
def test_the_documented_input_examples_validate(model: type[BaseModel]) -> None:
    examples = model.model_json_schema()["examples"]
    assert examples
    for example in examples:
        assert isinstance(INPUT.validate_python(example), model)


@pytest.mark.parametrize("model", [AgricultureConstants, SolarConstants, BiocharConstants, CookstovesConstants,
                                   SolarWaterPumpingConstants])  # fmt: skip
def test_the_documented_constants_examples_validate(model: type[BaseModel]) -> None:
    for example in model.model_json_schema()["examples"]:
        model.model_validate(example)


def test_the_defaults_are_the_seeds_values() -> None:
    assert DEFAULTS[Methodology.AGRICULTURE] == AgricultureConstants(emission_factor=Decimal("0.046"),
                                                                     emission_factor_unit="tCO2e/ha/d")  # fmt: skip
    solar = DEFAULTS[Methodology.SOLAR]
    assert isinstance(solar, SolarConstants)
    assert solar.emission_factor_below_threshold == Decimal("6.8")
    assert solar.emission_factor_above_threshold == Decimal("1.3")
    assert (solar.emission_factor_unit, solar.threshold_unit) == ("tCO2/MWh", "kWh/year")
    assert solar.thresholds == {"Household": 55, "HealthCenter": 825, "Dispensary": 825, "School": 275,
                                "PrimarySchool": 275, "SecondarySchool": 275, "PublicAdministration": 55,
                                "TradingPlace": 825, "BusStop": 200}  # fmt: skip
    assert DEFAULTS[Methodology.BIOCHAR] == BiocharConstants(emission_factor=Decimal("3.66"),
                                                             emission_factor_unit="tCO2e")  # fmt: skip
    assert DEFAULTS[Methodology.SOLAR_WATER_PUMPING_OFF_GRID] == SolarWaterPumpingConstants(
        emission_factor=Decimal("1.3"), emission_factor_unit="kWh/year"
    )
    assert DEFAULTS[Methodology.SOLAR_WATER_PUMPING_ON_GRID] == SolarWaterPumpingConstants(
        emission_factor=Decimal("1.06"), emission_factor_unit="kWh/year"
    )
    assert set(DEFAULTS) == set(CONSTANTS_MODELS) == set(Methodology)


@pytest.mark.parametrize(
    ("methodology", "change", "message"),
    [
        ("agriculture", {"emission_factor_unit": "tCO2e/ha"}, "must have 3 non-empty"),
        ("agriculture", {"emission_factor_unit": "kgCO2e/ha/d"}, "must be in tonnes of CO2"),
        ("agriculture", {"emission_factor_unit": "tCO2e/kWh/d"}, "'kWh' is an energy unit; expected an area unit"),
        ("agriculture", {"emission_factor": 0}, "greater than 0"),
        ("agriculture", {"emission_factor": "NaN"}, "finite number"),
        ("agriculture", {"emission_factor": 10**6 + 1}, "less than or equal"),
        ("solar", {"emission_factor_unit": "tCO2/kWh/year"}, "must have 2"),
        ("solar", {"threshold_unit": "kWh/year/unit"}, "must have 2"),
        ("solar", {"threshold_unit": "year/kWh"}, "'year' is a time unit; expected an energy unit"),
        ("solar", {"thresholds": {}}, "at least 1 item"),
        ("solar", {"thresholds": {"Health Center": 825}}, "String should match pattern"),
        ("solar", {"thresholds": {"Household": -1}}, "greater than 0"),
        ("biochar", {"emission_factor_unit": "tCO2"}, "Input should be 'tCO2e'"),
        ("cookstoves", {"emission_factor_unit": "tCO2e"}, "Extra inputs are not permitted"),
        ("solar_water_pumping_on_grid", {"emission_factor_unit": "kWh/unit"}, "'unit' is not a unit"),
    ],
)
def test_constants_with_a_bad_unit_or_value_are_refused(methodology: str, change: dict[str, Any], message: str
                                                        ) -> None:  # fmt: skip
    data = DEFAULTS[Methodology(methodology)].model_dump(mode="json") | change
    with pytest.raises(ValidationError, match=message):
        parse(Methodology(methodology), data)


def test_constants_parse_from_their_stored_json_form_to_equal_values() -> None:
    for methodology, constants in DEFAULTS.items():
        assert parse(methodology, constants.model_dump(mode="json")) == constants
    solar = DEFAULTS[Methodology.SOLAR].model_dump(mode="json") | {"emission_factor_below_threshold": "6.80"}
    assert parse(Methodology.SOLAR, solar) == DEFAULTS[Methodology.SOLAR]  # 6.80 is 6.8


def test_solar_input_is_frozen() -> None:
    solar = SolarInput(methodology=Methodology.SOLAR, energy_generation=Decimal(1),
                       energy_generation_unit="kWh/year/unit", building_type="Household")  # fmt: skip
    with pytest.raises(ValidationError, match="frozen"):
        solar.building_type = "School"  # type: ignore[misc]
