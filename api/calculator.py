"""``/calculator``: credit estimates (a preview of what a programme's calculator inputs give) and the versioned
constants behind them (reference §8, the seed's ``updateConfigs``). Thin: parse, call ``node.calculator``, shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Self

from fastapi import APIRouter, Body, Path, Request
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from api.auth.dependencies import CurrentPrincipal, context_of
from api.problems import documented
from node import calculator
from node.calculator import constants as constants_store
from node.calculator import permissions as calculator_permissions
from node.calculator.constants import (
    AgricultureConstants,
    BiocharConstants,
    CookstovesConstants,
    SolarConstants,
    SolarWaterPumpingConstants,
)

router = APIRouter(prefix="/calculator", tags=["calculator"])

MAX_TIME = 253_402_300_799
"""9999-12-31T23:59:59Z, as for programmes."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

AnyConstants = (
    AgricultureConstants | SolarConstants | BiocharConstants | CookstovesConstants | SolarWaterPumpingConstants
)
MethodologyPath = Annotated[calculator.Methodology, Path(description="The methodology whose constants these are")]


def _seconds(instant: datetime) -> int:
    """Unix seconds, without ``timestamp()`` (which overflows for year 1 with a positive offset)."""
    return (instant - _EPOCH) // timedelta(seconds=1)


class EstimateRequest(BaseModel):
    """A methodology's inputs, and the programme's period for an agriculture input without a duration."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"calculator": {"methodology": "agriculture", "land_area": "50", "land_area_unit": "ha"},
         "start_time": "2023-01-01T00:00:00Z", "end_time": "2024-01-01T00:00:00Z"},
        {"calculator": {"methodology": "solar", "energy_generation": "105", "energy_generation_unit": "kWh/year/unit",
                        "building_type": "Household"}},
    ]})  # fmt: skip

    calculator: calculator.CalculatorInput
    start_time: AwareDatetime | None = Field(default=None, description="The programme's start, with a time zone")
    end_time: AwareDatetime | None = Field(default=None, description="The programme's end; with start_time")

    @model_validator(mode="after")
    def _period(self) -> Self:
        if (self.start_time is None) != (self.end_time is None):
            raise ValueError("give both start_time and end_time, or neither")
        if self.start_time is not None and self.end_time is not None:
            start, end = _seconds(self.start_time), _seconds(self.end_time)
            if not 0 <= start < end <= MAX_TIME:
                raise ValueError("start_time must be before end_time, both between 1970 and 9999")
        return self


class ConstantsOut(BaseModel):
    """One version of a methodology's constants."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "methodology": "agriculture", "version": 3,
        "constants": {"emission_factor": "0.05", "emission_factor_unit": "tCO2e/ha/d"},
        "created_at": "2026-12-01T09:00:00Z", "created_by_user_id": 2,
    }, {
        "methodology": "biochar", "version": None,
        "constants": {"emission_factor": "3.66", "emission_factor_unit": "tCO2e"},
        "created_at": None, "created_by_user_id": None,
    }]})  # fmt: skip

    methodology: calculator.Methodology
    version: int | None = Field(description="Null for the built-in defaults")
    constants: AnyConstants
    created_at: datetime | None
    created_by_user_id: int | None = Field(description="The Government user who set them")

    @classmethod
    def of(cls, version: calculator.ConstantsVersion) -> ConstantsOut:
        return cls(methodology=version.methodology, version=version.version, constants=version.constants,
                   created_at=version.created_at, created_by_user_id=version.created_by_user_id)  # fmt: skip


@router.post("/estimate", response_model=calculator.Estimate, operation_id="estimate_credits",
             summary="Estimate a methodology's credits")  # fmt: skip
def estimate(body: EstimateRequest, _principal: CurrentPrincipal, request: Request) -> calculator.Estimate:
    """The credits the calculator gives these inputs under the constants in force, as a programme registered with
    them would record them. Creates nothing: an MRV system can preview an estimate before submitting."""
    start = _seconds(body.start_time) if body.start_time is not None else None
    end = _seconds(body.end_time) if body.end_time is not None else None
    with context_of(request).engine.connect() as conn:
        return calculator.estimate(conn, body.calculator, start_time=start, end_time=end)


@router.get("/constants", response_model=list[ConstantsOut], operation_id="list_calculator_constants",
            summary="The constants in force for every methodology")  # fmt: skip
def list_constants(_principal: CurrentPrincipal, request: Request) -> list[ConstantsOut]:
    """One entry per methodology: its newest version, or the built-in defaults (version null)."""
    with context_of(request).engine.connect() as conn:
        return [ConstantsOut.of(version) for version in calculator.current(conn)]


@router.get("/constants/{methodology}", response_model=list[ConstantsOut], operation_id="calculator_constants_history",
            summary="Every version of a methodology's constants")  # fmt: skip
def constants_history(methodology: MethodologyPath, _principal: CurrentPrincipal, request: Request
                      ) -> list[ConstantsOut]:  # fmt: skip
    """Newest first; the last entry is the built-in defaults (version null)."""
    with context_of(request).engine.connect() as conn:
        return [ConstantsOut.of(version) for version in calculator.history(conn, methodology)]


@router.put("/constants/{methodology}", status_code=201, response_model=ConstantsOut,
            operation_id="set_calculator_constants", summary="Set new constants for a methodology",
            responses=documented(409))  # fmt: skip
def set_constants(
    methodology: MethodologyPath, body: Annotated[AnyConstants, Body(description="That methodology's constants")],
    principal: CurrentPrincipal, request: Request,
) -> ConstantsOut:  # fmt: skip
    """Records a new version, used by every estimate from now on (Root, Government Admins and Managers). Constants
    identical to those in force are refused (409): a version that changes nothing is not recorded."""
    calculator_permissions.authorize_set_constants(principal)  # a refusal, before saying what is wrong with the body
    try:
        constants = constants_store.parse(methodology, body)
    except ValidationError as exc:  # the body is another methodology's constants
        raise RequestValidationError([{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]) from exc
    with context_of(request).engine.begin() as conn:
        return ConstantsOut.of(calculator.set_constants(conn, principal, methodology, constants))
