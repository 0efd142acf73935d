"""Unit conversion: the seed's ``convert-units`` keys and factors, exact through pint, strict about what it takes."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.calculator import units
from node.calculator.units import Dimension, UnitError

CONVERT_UNITS_ANCHORS = {
    # convert-units' ``to_anchor`` (anchor m2, s, J) of every key it shares with the calculator (metric and time
    # exactly; imperial areas go through its rounded 10.7639 ft2/m2 ratio, so they are checked on their own below).
    "mm2": Fraction(1, 10**6), "cm2": Fraction(1, 10**4), "m2": Fraction(1), "ha": Fraction(10**4),
    "km2": Fraction(10**6), "s": Fraction(1), "min": Fraction(60), "h": Fraction(3600), "d": Fraction(86400),
    "week": Fraction(604800), "month": Fraction(86400 * 365.25 / 12), "year": Fraction(86400 * 36525, 100),
    "Wh": Fraction(3600), "mWh": Fraction(36, 10), "kWh": Fraction(3_600_000), "MWh": Fraction(3_600_000_000),
    "GWh": Fraction(3_600_000_000_000), "J": Fraction(1), "kJ": Fraction(1000),
}  # fmt: skip

ALL_KEYS = [(key, dimension) for dimension in Dimension for key in units.keys(dimension)]
same_dimension_keys = st.sampled_from(list(Dimension)).flatmap(
    lambda d: st.tuples(
        st.just(d), st.sampled_from(units.keys(d)), st.sampled_from(units.keys(d)), st.sampled_from(units.keys(d))
    )  # fmt: skip
)
amounts = st.decimals(min_value=Decimal("0.000000001"), max_value=Decimal(10**12), places=9, allow_nan=False,
                      allow_infinity=False)  # fmt: skip


@pytest.mark.parametrize(("key", "anchor"), sorted(CONVERT_UNITS_ANCHORS.items()))
def test_every_shared_key_has_the_factor_convert_units_gives_it(key: str, anchor: Fraction) -> None:
    assert units.units()[key].to_base == anchor


def test_every_convert_units_key_of_the_three_dimensions_is_accepted() -> None:
    assert set(units.keys(Dimension.AREA)) == {"mm2", "cm2", "m2", "ha", "km2", "in2", "ft2", "ac", "mi2"}
    assert set(units.keys(Dimension.TIME)) == {"s", "min", "h", "d", "week", "month", "year"}
    assert set(units.keys(Dimension.ENERGY)) == {"Wh", "mWh", "kWh", "MWh", "GWh", "J", "kJ"}


@pytest.mark.parametrize(
    ("value", "source", "target", "dimension", "expected"),
    [
        (1, "ha", "m2", Dimension.AREA, Fraction(10_000)),
        (Decimal("0.16"), "km2", "ha", Dimension.AREA, Fraction(16)),
        (1, "ac", "m2", Dimension.AREA, Fraction("4046.8564224")),  # the international acre, 43 560 ft2
        (1, "mi2", "ac", Dimension.AREA, Fraction(640)),
        (144, "in2", "ft2", Dimension.AREA, Fraction(1)),
        (2880, "h", "d", Dimension.TIME, Fraction(120)),
        (1, "year", "d", Dimension.TIME, Fraction("365.25")),
        (12, "month", "year", Dimension.TIME, Fraction(1)),
        (1, "week", "h", Dimension.TIME, Fraction(168)),
        (31_536_000, "s", "d", Dimension.TIME, Fraction(365)),
        (1, "kWh", "kJ", Dimension.ENERGY, Fraction(3600)),
        (1, "GWh", "MWh", Dimension.ENERGY, Fraction(1000)),
        (1, "mWh", "Wh", Dimension.ENERGY, Fraction(1, 1000)),  # milli, not mega: convert-units' to_anchor 3.6 J
        (1, "mWh", "J", Dimension.ENERGY, Fraction("3.6")),
        (8_520_000_000, "Wh", "MWh", Dimension.ENERGY, Fraction(8520)),
    ],
)
def test_known_conversions_are_exact(
    value: int | Decimal, source: str, target: str, dimension: Dimension, expected: Fraction
) -> None:
    assert units.convert(value, source, target, dimension) == expected


@given(same_dimension_keys, amounts)
def test_a_round_trip_gives_back_the_very_same_number(keys: tuple[Dimension, str, str, str], value: Decimal) -> None:
    dimension, a, b, _ = keys
    assert units.convert(units.convert(value, a, b, dimension), b, a, dimension) == Fraction(value)


@given(same_dimension_keys, amounts, st.integers(min_value=1, max_value=10**6))
def test_conversion_scales_linearly(keys: tuple[Dimension, str, str, str], value: Decimal, k: int) -> None:
    dimension, a, b, _ = keys
    assert units.convert(value * k, a, b, dimension) == k * units.convert(value, a, b, dimension)


@given(same_dimension_keys, amounts)
def test_converting_through_a_third_unit_changes_nothing(keys: tuple[Dimension, str, str, str], value: Decimal) -> None:
    dimension, a, b, c = keys
    assert units.convert(units.convert(value, a, b, dimension), b, c, dimension) == units.convert(value, a, c,
                                                                                                 dimension)  # fmt: skip


@given(same_dimension_keys)
def test_factors_are_positive_and_reciprocal(keys: tuple[Dimension, str, str, str]) -> None:
    dimension, a, b, _ = keys
    assert units.factor(a, b, dimension) > 0
    assert units.factor(a, b, dimension) * units.factor(b, a, dimension) == 1


def test_area_time_and_energy_agree_with_each_other() -> None:
    """Cross-checks between keys: the km2 is 100 ha, a year 52 weeks and a day and a quarter, a GWh 3.6 TJ."""
    assert units.factor("km2", "ha", Dimension.AREA) == 100
    assert units.factor("ha", "m2", Dimension.AREA) * units.factor("m2", "cm2", Dimension.AREA) == 10**8
    assert units.factor("year", "week", Dimension.TIME) == Fraction("365.25") / 7
    assert units.factor("year", "month", Dimension.TIME) == 12
    assert units.factor("d", "s", Dimension.TIME) == 24 * units.factor("h", "s", Dimension.TIME)
    assert units.factor("GWh", "kJ", Dimension.ENERGY) == 3_600_000_000
    assert units.factor("kWh", "Wh", Dimension.ENERGY) == units.factor("Wh", "mWh", Dimension.ENERGY) == 1000


@pytest.mark.parametrize(("key", "dimension"), ALL_KEYS)
def test_a_key_of_another_dimension_is_refused_naming_both(key: str, dimension: Dimension) -> None:
    for other in Dimension:
        if other is not dimension:
            with pytest.raises(UnitError, match=f"'{key}' is an? {dimension.value} unit; expected an? {other.value}"):
                units.unit(key, other)


@pytest.mark.parametrize("key", ["mwh", "MWH", "KJ", "kwh", "Ha", "hectare", "m^2", "m**2", "days", "yr", "", " h",
                                 "m*s", "furlong", "d/d"])  # fmt: skip
def test_anything_but_an_exact_key_is_refused(key: str) -> None:
    with pytest.raises(UnitError, match="is not a unit the calculator knows"):
        units.unit(key, Dimension.TIME)


@given(st.text(max_size=12).filter(lambda t: t not in units.units()))
def test_no_other_string_is_a_unit(text: str) -> None:
    for dimension in Dimension:
        with pytest.raises(UnitError):
            units.unit(text, dimension)


@pytest.mark.parametrize(
    ("text", "parser", "message"),
    [
        ("tCO2e/ha", units.per_area_per_time, "must have 3 non-empty '/'-separated parts: <tCO2e>/<area>/<time>"),
        ("tCO2e/ha/d/x", units.per_area_per_time, "must have 3"),
        ("tCO2e//d", units.per_area_per_time, "must have 3"),
        ("kgCO2e/ha/d", units.per_area_per_time, "must be in tonnes of CO2"),
        ("tCO2e/d/ha", units.per_area_per_time, "'d' is a time unit; expected an area unit"),
        ("tCO2/MWh/year", units.per_energy, "must have 2"),
        ("kWh", units.energy_per_time, "must have 2"),
        ("kWh/year", units.energy_per_time_per_unit, "must have 3 non-empty '/'-separated parts: <energy>/<time>/unit"),
        ("kWh/year/household", units.energy_per_time_per_unit, "must end in '/unit'"),
        ("ha/year/unit", units.energy_per_time_per_unit, "'ha' is an area unit; expected an energy unit"),
        ("kWh/" + "y" * 80 + "/unit", units.energy_per_time_per_unit, "longer than 64 characters"),
    ],
)
def test_compound_units_are_parsed_strictly(text: str, parser: object, message: str) -> None:
    with pytest.raises(UnitError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parser(text, "The unit")  # type: ignore[operator]


def test_compound_units_give_their_parts() -> None:
    area, time = units.per_area_per_time("tCO2e/ha/d", "The unit")
    assert (area.key, time.key) == ("ha", "d")
    energy, time = units.energy_per_time_per_unit("Wh/year/unit", "The unit")
    assert (energy.key, energy.dimension, time.key) == ("Wh", Dimension.ENERGY, "year")
    assert units.per_energy("tCO2/MWh", "The unit").key == "MWh"
