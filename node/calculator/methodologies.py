"""One pure function per methodology (reference §8.1–§8.3): inputs and constants in, exact credits out.

Every function returns a ``Fraction`` (tonnes of CO2e, unrounded): rounding happens once, in
``node.calculator.estimate``. A unit that is unknown, of the wrong dimension or of the wrong shape, or a building
type the constants do not define, raises ``InvalidInput`` naming the field; the seed's calculator threw and its
callers stored 0 credits instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fractions import Fraction
from typing import TypeVar

from node.calculator import units
from node.calculator.constants import (
    AgricultureConstants,
    BiocharConstants,
    Constants,
    CookstovesConstants,
    SolarConstants,
    SolarWaterPumpingConstants,
)
from node.calculator.schemas import (
    AgricultureInput,
    BiocharInput,
    CalculatorInput,
    CookstovesInput,
    SolarInput,
    SolarWaterPumpingOffGridInput,
    SolarWaterPumpingOnGridInput,
)
from node.errors import InvalidInput

Parsed = TypeVar("Parsed")


@contextmanager
def _field(name: str) -> Iterator[None]:
    """Makes a unit error (an ``InvalidInput`` with its own translatable template) name the field ``name``."""
    try:
        yield
    except units.UnitError as exc:
        exc.extensions["field"] = name
        raise


def _parse(parser: Callable[[str, str], Parsed], value: str, name: str, what: str) -> Parsed:
    with _field(name):
        return parser(value, what)


def agriculture(inputs: AgricultureInput, constants: AgricultureConstants, *, period_seconds: int | None = None
                ) -> Fraction:  # fmt: skip
    """Rice crops (§8.1): emission factor × area (in the factor's area unit) × duration (in its time unit).

    Without ``duration`` in the input, the programme's period (``period_seconds``, end − start) is the duration, as
    the registry did with ``endTime − startTime`` in seconds.
    """
    area_unit, time_unit = _parse(units.per_area_per_time, constants.emission_factor_unit,
                                  "constants.emission_factor_unit", "The emission factor unit")  # fmt: skip
    with _field("land_area_unit"):
        area = units.convert(inputs.land_area, inputs.land_area_unit, area_unit.key, units.Dimension.AREA)
    if inputs.duration is not None and inputs.duration_unit is not None:
        with _field("duration_unit"):
            duration = units.convert(inputs.duration, inputs.duration_unit, time_unit.key, units.Dimension.TIME)
    elif period_seconds is not None:
        if period_seconds <= 0:
            raise InvalidInput("The programme's end must be after its start.", field="end_time")
        duration = units.convert(period_seconds, "s", time_unit.key, units.Dimension.TIME)
    else:
        raise InvalidInput("Give duration and duration_unit, or the programme's start and end.", field="duration")
    return Fraction(constants.emission_factor) * area * duration


def solar(inputs: SolarInput, constants: SolarConstants) -> Fraction:
    """Solar PV (§8.2): X below the building type's threshold Y gives X × A; above, Y × A + (X − Y) × B.

    Y is converted into the measured unit (energy and time), A and B into tonnes per measured energy unit.
    """
    energy, time = _parse(units.energy_per_time_per_unit, inputs.energy_generation_unit, "energy_generation_unit",
                          "The energy generation unit")  # fmt: skip
    threshold = constants.thresholds.get(inputs.building_type)
    if threshold is None:
        raise InvalidInput("Unknown building type '{building_type}'; the solar constants define {defined}.",
                           params={"building_type": inputs.building_type,
                                   "defined": ", ".join(sorted(constants.thresholds))},
                           field="building_type")  # fmt: skip
    threshold_energy, threshold_time = _parse(units.energy_per_time, constants.threshold_unit,
                                              "constants.threshold_unit", "The threshold unit")  # fmt: skip
    factor_energy = _parse(units.per_energy, constants.emission_factor_unit, "constants.emission_factor_unit",
                           "The emission factor unit")  # fmt: skip
    y = Fraction(threshold) * (threshold_energy.to_base / energy.to_base) / (threshold_time.to_base / time.to_base)
    per_measured = energy.to_base / factor_energy.to_base  # one measured energy unit in the factor's energy unit
    a = Fraction(constants.emission_factor_below_threshold) * per_measured
    b = Fraction(constants.emission_factor_above_threshold) * per_measured
    x = Fraction(inputs.energy_generation)
    return x * a if x < y else y * a + (x - y) * b


def biochar(inputs: BiocharInput, constants: BiocharConstants) -> Fraction:
    """Soil enrichment with biochar (§8.3): emission factor × weight."""
    return Fraction(constants.emission_factor) * Fraction(inputs.weight)


def cookstoves(inputs: CookstovesInput, constants: CookstovesConstants) -> Fraction:
    """Cookstoves (§8.3): emission factor × days × people."""
    return Fraction(constants.emission_factor) * inputs.number_of_days * inputs.number_of_people


def solar_water_pumping(
    inputs: SolarWaterPumpingOffGridInput | SolarWaterPumpingOnGridInput, constants: SolarWaterPumpingConstants
) -> Fraction:
    """Solar water pumping, off-grid or on-grid (§8.3): emission factor × generation in the factor's unit.

    The seed converted only the energy (and ignored the time part of ``kWh/month/unit``); here the time part is
    converted too, so a monthly figure counts twelve times over a year, as the threshold of ``solar`` always did.
    """
    energy, time = _parse(units.energy_per_time_per_unit, inputs.energy_generation_unit, "energy_generation_unit",
                          "The energy generation unit")  # fmt: skip
    factor_energy, factor_time = _parse(units.energy_per_time, constants.emission_factor_unit,
                                        "constants.emission_factor_unit", "The emission factor unit")  # fmt: skip
    generation = Fraction(inputs.energy_generation) * (energy.to_base / factor_energy.to_base)
    per_factor_time = generation / (time.to_base / factor_time.to_base)
    return Fraction(constants.emission_factor) * per_factor_time


def calculate(inputs: CalculatorInput, constants: Constants, *, period_seconds: int | None = None) -> Fraction:
    """The credits of ``inputs`` under ``constants`` (which must be that methodology's), unrounded."""
    match inputs, constants:
        case AgricultureInput(), AgricultureConstants():
            return agriculture(inputs, constants, period_seconds=period_seconds)
        case SolarInput(), SolarConstants():
            return solar(inputs, constants)
        case BiocharInput(), BiocharConstants():
            return biochar(inputs, constants)
        case CookstovesInput(), CookstovesConstants():
            return cookstoves(inputs, constants)
        case SolarWaterPumpingOffGridInput() | SolarWaterPumpingOnGridInput(), SolarWaterPumpingConstants():
            return solar_water_pumping(inputs, constants)
    raise InvalidInput("{constants} are not constants of the {methodology} methodology.",
                       params={"constants": type(constants).__name__, "methodology": inputs.methodology.value},
                       field="methodology")  # fmt: skip
