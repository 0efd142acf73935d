"""The calculator's one entry point for services: credits of a methodology's inputs under the constants in force.

Arithmetic is exact (``Fraction``) until the end, then rounded once, half-up, to the seed's ``PRECISION`` of 2
decimals (``credits``); a programme's integer estimate (§5.1: the seed applied ``Math.round`` to that 2-decimal
number) is ``credits`` rounded half-up to a whole number (``credits_whole``). Nothing here writes: the programmes
service records ``constants_version`` with the programme, and ``POST /calculator/estimate`` lets an MRV system
preview the same answer.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from math import floor
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from node.calculator import constants as constants_store
from node.calculator.constants import Constants
from node.calculator.methodologies import calculate
from node.calculator.schemas import CalculatorInput, Methodology
from node.errors import InvalidInput

PRECISION = 2
"""Decimals of ``credits`` (the seed's ``PRECISION``; it was 3 before Nov 2022)."""
MAX_CREDITS = 10**15
"""No single programme reduces a petatonne of CO2e (the world emits some 5 × 10^10 t a year): a result beyond
this comes from a unit mix-up, and is refused rather than stored on chain (whose estimate is a uint64)."""


class Estimate(BaseModel):
    """The calculator's answer, and what a programme records about it."""

    model_config = ConfigDict(frozen=True, json_schema_extra={"examples": [{
        "credits": "88.32", "credits_whole": 88, "methodology": "agriculture", "constants_version": None,
        "constants": {"emission_factor": "0.046", "emission_factor_unit": "tCO2e/ha/d"},
    }]})  # fmt: skip

    credits: Decimal = Field(description="Tonnes of CO2e, rounded half-up to 2 decimals")
    credits_whole: int = Field(description="credits rounded half-up to a whole number: a programme's estimate")
    methodology: Methodology
    constants_version: int | None = Field(description="The constants' version; null for the built-in defaults")
    constants: dict[str, Any] = Field(description="The constants used")


def round_half_up(value: Fraction, places: int = 0) -> Decimal:
    """``value`` (not negative) rounded half-up to ``places`` decimals, exactly (no float, no context precision)."""
    scaled = floor(value * 10**places + Fraction(1, 2))
    return Decimal((0, tuple(int(d) for d in str(scaled)), -places))


def compute(
    request: CalculatorInput, constants: Constants, *, version: int | None = None, start_time: int | None = None,
    end_time: int | None = None,
) -> Estimate:  # fmt: skip
    """The estimate of ``request`` under the given ``constants`` (of ``version``), without the database.

    ``start_time`` and ``end_time`` (Unix seconds) are the programme's period: the agriculture duration when the
    request gives none; other methodologies ignore them.
    """
    if (start_time is None) != (end_time is None):
        raise InvalidInput("Give both the start and the end of the period, or neither.", field="end_time")
    period = end_time - start_time if start_time is not None and end_time is not None else None
    if period is not None and period <= 0:
        raise InvalidInput("The period's end must be after its start.", field="end_time")
    exact = calculate(request, constants, period_seconds=period)
    if exact > MAX_CREDITS:
        raise InvalidInput("The estimate exceeds 1e+15 credits; check the amounts and their units.")  # MAX_CREDITS
    credits = round_half_up(exact, PRECISION)
    return Estimate(credits=credits, credits_whole=int(round_half_up(Fraction(credits))),
                    methodology=request.methodology, constants_version=version,
                    constants=constants.model_dump(mode="json"))  # fmt: skip


def estimate(
    conn: Connection, request: CalculatorInput, *, start_time: int | None = None, end_time: int | None = None
) -> Estimate:
    """The estimate of ``request`` under the constants in force for its methodology (reference §8)."""
    version, constants = constants_store.latest(conn, request.methodology)
    return compute(request, constants, version=version, start_time=start_time, end_time=end_time)
