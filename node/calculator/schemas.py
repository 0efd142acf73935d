"""What a caller asks the calculator (reference §8): one input model per methodology, told apart by ``methodology``.

Field rules only: amounts are positive, finite, bounded and of bounded precision (so exact arithmetic stays cheap
and a result stays storable), unit strings are short. Whether a unit is known and of the right dimension is the
calculation's business (``node.calculator.units``): it answers with a message naming the field, as the seed's
"Invalid measured unit" did, but as an error instead of a silent 0.

| methodology                    | seed sub-type            | inputs                                          |
|--------------------------------|--------------------------|-------------------------------------------------|
| ``agriculture``                | RiceCrops                | land area + unit, duration + unit (or period)   |
| ``solar``                      | SolarPhotovoltaicsPV     | generation + ``<energy>/<time>/unit``, building |
| ``biochar``                    | SoilEnrichmentBiochar    | weight (tonnes)                                 |
| ``cookstoves``                 | StovesHousesInNamibia    | number of days, number of people                |
| ``solar_water_pumping_off_grid`` | SolarWaterPumpingOffGrid | generation + ``<energy>/<time>/unit``         |
| ``solar_water_pumping_on_grid``  | SolarWaterPumpingOnGrid  | generation + ``<energy>/<time>/unit``         |
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from node.calculator.units import MAX_UNIT_LENGTH


class Methodology(StrEnum):
    AGRICULTURE = "agriculture"
    SOLAR = "solar"
    BIOCHAR = "biochar"
    COOKSTOVES = "cookstoves"
    SOLAR_WATER_PUMPING_OFF_GRID = "solar_water_pumping_off_grid"
    SOLAR_WATER_PUMPING_ON_GRID = "solar_water_pumping_on_grid"


MAX_DECIMAL_PLACES = 9
"""Finer than any measurement of land, time or energy, and keeps ``1E-999999`` (a million-digit denominator) out."""


def amount(upper: int, description: str) -> Any:
    """A positive, finite, bounded decimal with at most ``MAX_DECIMAL_PLACES`` decimals."""
    return Field(gt=0, le=upper, decimal_places=MAX_DECIMAL_PLACES, allow_inf_nan=False, description=description)


MAX_AREA = 10**9
MAX_DURATION = 10**10
"""A century in seconds (3.2 × 10^9) fits."""
MAX_ENERGY = 10**15
"""Large enough for a utility-scale plant in joules over a year (1 TWh = 3.6 × 10^15 J is a lot of MRV data)."""
MAX_WEIGHT = 10**9
MAX_DAYS = 36_525
"""A century: no programme runs longer."""
MAX_PEOPLE = 10**9

UnitText = Annotated[str, Field(min_length=1, max_length=MAX_UNIT_LENGTH)]
BuildingTypeName = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_]*$",
               description="A building type of the solar constants, e.g. Household, HealthCenter, School")
]  # fmt: skip


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class AgricultureInput(_Input):
    """Rice crops (CDM scope 15): emission factor × area × duration."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"methodology": "agriculture", "land_area": "16", "land_area_unit": "ha", "duration": "120",
         "duration_unit": "d"},
        {"methodology": "agriculture", "land_area": "50", "land_area_unit": "ha"},
    ]})  # fmt: skip

    methodology: Literal[Methodology.AGRICULTURE]
    land_area: Annotated[Decimal, amount(MAX_AREA, "The cultivated area, in land_area_unit")]
    land_area_unit: UnitText = Field(description="An area unit: mm2, cm2, m2, ha, km2, in2, ft2, ac, mi2")
    duration: Annotated[Decimal, amount(MAX_DURATION, "How long, in duration_unit")] | None = Field(
        default=None, description="Omit to use the programme's period (end − start)"
    )
    duration_unit: UnitText | None = Field(
        default=None, description="A time unit: s, min, h, d, week, month, year (365.25 d); with duration"
    )

    @model_validator(mode="after")
    def _duration_has_a_unit(self) -> Self:
        if (self.duration is None) != (self.duration_unit is None):
            raise ValueError("duration and duration_unit go together: give both or neither")
        return self


class SolarInput(_Input):
    """Solar photovoltaics (CDM scope 1): generation up to the building type's threshold at the high factor, the
    rest at the low factor."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"methodology": "solar", "energy_generation": "105", "energy_generation_unit": "kWh/year/unit",
         "building_type": "Household"},
    ]})  # fmt: skip

    methodology: Literal[Methodology.SOLAR]
    energy_generation: Annotated[Decimal, amount(MAX_ENERGY, "Measured generation per installed unit")]
    energy_generation_unit: UnitText = Field(description="<energy>/<time>/unit, e.g. kWh/year/unit")
    building_type: BuildingTypeName


class BiocharInput(_Input):
    """Soil enrichment with biochar: emission factor × weight."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"methodology": "biochar", "weight": "10"}]})

    methodology: Literal[Methodology.BIOCHAR]
    weight: Annotated[Decimal, amount(MAX_WEIGHT, "Biochar applied, in tonnes")]


class CookstovesInput(_Input):
    """Efficient cookstoves in households: emission factor × days × people."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"methodology": "cookstoves", "number_of_days": 365, "number_of_people": 5},
    ]})  # fmt: skip

    methodology: Literal[Methodology.COOKSTOVES]
    number_of_days: int = Field(ge=1, le=MAX_DAYS)
    number_of_people: int = Field(ge=1, le=MAX_PEOPLE, description="People in the households served")


class _PumpingInput(_Input):
    energy_generation: Annotated[Decimal, amount(MAX_ENERGY, "Measured generation per installed unit")]
    energy_generation_unit: UnitText = Field(description="<energy>/<time>/unit, e.g. kWh/year/unit")


class SolarWaterPumpingOffGridInput(_PumpingInput):
    """Solar water pumping replacing off-grid (diesel) pumps: emission factor × generation in kWh per year."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"methodology": "solar_water_pumping_off_grid", "energy_generation": "1000",
         "energy_generation_unit": "kWh/year/unit"},
    ]})  # fmt: skip

    methodology: Literal[Methodology.SOLAR_WATER_PUMPING_OFF_GRID]


class SolarWaterPumpingOnGridInput(_PumpingInput):
    """Solar water pumping replacing grid electricity: emission factor × generation in kWh per year."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"methodology": "solar_water_pumping_on_grid", "energy_generation": "1000",
         "energy_generation_unit": "kWh/year/unit"},
    ]})  # fmt: skip

    methodology: Literal[Methodology.SOLAR_WATER_PUMPING_ON_GRID]


CalculatorInput = Annotated[
    AgricultureInput | SolarInput | BiocharInput | CookstovesInput | SolarWaterPumpingOffGridInput
    | SolarWaterPumpingOnGridInput,
    Field(discriminator="methodology"),
]  # fmt: skip
"""Any methodology's input; ``methodology`` says which."""
