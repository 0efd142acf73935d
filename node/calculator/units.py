"""Units of the calculator: the reference's ``convert-units`` keys, converted exactly through pint.

The seed converted with the npm ``convert-units`` package, so MRV systems and stored constants speak its unit
keys. This module accepts exactly those keys (case-sensitive) for the three dimensions the methodologies use, and
nothing else: a unit string is never handed to pint's parser, so ``m*s`` or ``furlong`` cannot slip in, and a typo
is an error rather than a guess.

| dimension | keys                                                   |
|-----------|--------------------------------------------------------|
| area      | ``mm2 cm2 m2 ha km2 in2 ft2 ac mi2``                   |
| time      | ``s min h d week month year`` (year = 365.25 d, month = year / 12) |
| energy    | ``Wh mWh kWh MWh GWh J kJ``                            |

``mWh`` is the **milliwatt-hour** (3.6 J), as in ``convert-units`` (``to_anchor: 3.6``), not the megawatt-hour
``MWh``; ``mwh`` or ``KJ`` are refused. The imperial areas use the international foot exactly (1 ac = 43 560 ft²
= 4 046.856 422 4 m²), where ``convert-units`` used the rounded ratio 10.7639 ft² per m²: results differ from the
seed's in the sixth significant digit for imperial inputs only.

Factors are exact: pint runs with ``Fraction`` magnitudes, so 2 880 h is exactly 120 d and a round trip through any
unit gives back the very number that went in (the float arithmetic of the seed made 0.046 × 50 × 365 =
839.4999…). Compound units (``tCO2e/ha/d``, ``kWh/year/unit``) are split on ``/`` into exactly the number of parts
a methodology expects; each part is then one key of the expected dimension.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from functools import cache

import pint

from node.errors import InvalidInput


class Dimension(StrEnum):
    AREA = "area"
    TIME = "time"
    ENERGY = "energy"


_KIND = {Dimension.AREA: "an area unit", Dimension.TIME: "a time unit", Dimension.ENERGY: "an energy unit"}
"""How a message names a unit of each dimension (a parameter the web UI translates: each is in the catalogs)."""

_BASE = {Dimension.AREA: "meter ** 2", Dimension.TIME: "second", Dimension.ENERGY: "joule"}
"""The unit each dimension's factors are expressed in (any would do: only ratios are used)."""

PINT_UNITS: Mapping[Dimension, Mapping[str, str]] = {
    Dimension.AREA: {
        "mm2": "millimeter ** 2", "cm2": "centimeter ** 2", "m2": "meter ** 2", "ha": "hectare",
        "km2": "kilometer ** 2", "in2": "inch ** 2", "ft2": "foot ** 2", "ac": "43560 * foot ** 2",
        "mi2": "mile ** 2",
    },
    Dimension.TIME: {
        "s": "second", "min": "minute", "h": "hour", "d": "day", "week": "week", "month": "month", "year": "year",
    },
    Dimension.ENERGY: {
        "Wh": "watt_hour", "mWh": "milliwatt_hour", "kWh": "kilowatt_hour", "MWh": "megawatt_hour",
        "GWh": "gigawatt_hour", "J": "joule", "kJ": "kilojoule",
    },
}  # fmt: skip
"""Each accepted key and the pint expression it stands for. ``ac`` is the international acre (pint's ``acre`` is
the US survey acre)."""

MAX_UNIT_LENGTH = 64
"""Longest unit string accepted anywhere (the longest valid one, ``kWh/year/unit``, has 13 characters)."""


class UnitError(InvalidInput, ValueError):
    """A unit string that is not what the caller needs; the message says what was expected.

    An ``InvalidInput`` with a translatable template (a service adds the ``field`` it came from) and a
    ``ValueError`` (a pydantic validator turns it into a validation error: ``constants._checked``).
    """


@dataclass(frozen=True)
class Unit:
    key: str
    dimension: Dimension
    to_base: Fraction
    """How many of the dimension's base unit (m², s, J) one of this unit is."""


@cache
def _registry() -> pint.UnitRegistry[Fraction]:
    return pint.UnitRegistry(non_int_type=Fraction)


@cache
def units() -> Mapping[str, Unit]:
    """Every accepted key, with its exact factor as pint computes it (once per process)."""
    registry = _registry()
    table: dict[str, Unit] = {}
    for dimension, keys in PINT_UNITS.items():
        for key, expression in keys.items():
            quantity = registry.Quantity(expression) if expression[0].isdigit() else registry.Quantity(1, expression)
            magnitude = quantity.to(_BASE[dimension]).magnitude
            table[key] = Unit(key, dimension, Fraction(magnitude))
    return table


def keys(dimension: Dimension) -> tuple[str, ...]:
    return tuple(PINT_UNITS[dimension])


def unit(key: str, dimension: Dimension) -> Unit:
    """The unit ``key`` names, which must be of ``dimension``."""
    found = units().get(key)
    expected = {"key": key, "expected": _KIND[dimension], "keys": ", ".join(keys(dimension))}
    if found is None:
        raise UnitError("'{key}' is not a unit the calculator knows; expected {expected} ({keys}).", params=expected)
    if found.dimension is not dimension:
        raise UnitError("'{key}' is {found}; expected {expected} ({keys}).",
                        params={**expected, "found": _KIND[found.dimension]})  # fmt: skip
    return found


def factor(source: str, target: str, dimension: Dimension) -> Fraction:
    """How many ``target`` one ``source`` is (both of ``dimension``)."""
    return unit(source, dimension).to_base / unit(target, dimension).to_base


def convert(value: Fraction | Decimal | int, source: str, target: str, dimension: Dimension) -> Fraction:
    """``value`` in ``source`` expressed in ``target``, exactly."""
    return Fraction(value) * factor(source, target, dimension)


def split(text: str, shape: str, what: str) -> tuple[str, ...]:
    """``text`` split on ``/`` into exactly as many non-empty parts as ``shape`` has (``"<energy>/<time>/unit"``);
    ``what`` names the unit in the message (``"The emission factor unit"``)."""
    if len(text) > MAX_UNIT_LENGTH:
        raise UnitError("{what} is longer than {limit} characters.", params={"what": what, "limit": MAX_UNIT_LENGTH})
    parts = shape.count("/") + 1
    pieces = tuple(text.split("/"))
    if len(pieces) != parts or not all(pieces):
        raise UnitError("{what} '{text}' must have {parts} non-empty '/'-separated parts: {shape}.",
                        params={"what": what, "text": text, "parts": parts, "shape": shape})  # fmt: skip
    return pieces


EMISSION_UNITS = ("tCO2e", "tCO2")
"""What the first part of an emission factor's unit may be: credits are tonnes of CO2 equivalent."""

PER_UNIT = "unit"
"""The third part of a measured energy generation (``kWh/year/unit``): per installed unit."""


def emission_part(text: str, what: str) -> str:
    if text not in EMISSION_UNITS:
        raise UnitError("{what} must be in tonnes of CO2 (tCO2e or tCO2), not '{text}'.",
                        params={"what": what, "text": text})  # fmt: skip
    return text


def per_area_per_time(text: str, what: str) -> tuple[Unit, Unit]:
    """An emission factor unit like ``tCO2e/ha/d``: (area unit, time unit)."""
    emission, area, time = split(text, "<tCO2e>/<area>/<time>", what)
    emission_part(emission, what)
    return unit(area, Dimension.AREA), unit(time, Dimension.TIME)


def per_energy(text: str, what: str) -> Unit:
    """An emission factor unit like ``tCO2/MWh``: the energy unit."""
    emission, energy = split(text, "<tCO2e>/<energy>", what)
    emission_part(emission, what)
    return unit(energy, Dimension.ENERGY)


def energy_per_time(text: str, what: str) -> tuple[Unit, Unit]:
    """A threshold or factor unit like ``kWh/year``: (energy unit, time unit)."""
    energy, time = split(text, "<energy>/<time>", what)
    return unit(energy, Dimension.ENERGY), unit(time, Dimension.TIME)


def energy_per_time_per_unit(text: str, what: str) -> tuple[Unit, Unit]:
    """A measured generation unit like ``kWh/year/unit``: (energy unit, time unit)."""
    energy, time, per = split(text, f"<energy>/<time>/{PER_UNIT}", what)
    if per != PER_UNIT:
        raise UnitError("{what} '{text}' must end in '/unit' (energy per time per installed unit).",
                        params={"what": what, "text": text})  # fmt: skip
    return unit(energy, Dimension.ENERGY), unit(time, Dimension.TIME)
