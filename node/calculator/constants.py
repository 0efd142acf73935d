"""The calculator's constants per methodology: built-in defaults (reference §8) and Government-set versions.

A version is a row of ``app.calculator_constants``; the newest row of a methodology applies, and without one the
built-in defaults do (version ``None``, the seed's ``constantVersion: "default"``). An estimate records the
version it used, so a programme's credit estimate can always be recomputed. Versions are only ever added: a change
is a new row, written with its audit event in one transaction, and a version identical to the one in force is
refused (``ConstantsUnchanged``), as ``updateConfigs`` refused it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError
from sqlalchemy import Connection, insert, select, text

from node.calculator import permissions, units
from node.calculator.schemas import BuildingTypeName, Methodology, UnitText
from node.errors import InvalidInput, InvalidState
from node.identity import audit
from node.identity.permissions import Principal
from node.models.app import calculator_constants

_c = calculator_constants.c

MAX_FACTOR = 10**6
MAX_THRESHOLD = 10**15
MAX_BUILDING_TYPES = 100
_LOCK_NAMESPACE = 0x4341_4C43  # "CALC": advisory lock namespace of constants updates (two-int form)

Factor = Annotated[
    Decimal, Field(gt=0, le=MAX_FACTOR, decimal_places=12, allow_inf_nan=False, description="A positive factor")
]
Threshold = Annotated[Decimal, Field(gt=0, le=MAX_THRESHOLD, decimal_places=9, allow_inf_nan=False)]


def _checked(parse: Any, what: str) -> AfterValidator:
    """A validator running ``parse(text, what)`` (one of the ``units`` parsers) and keeping the text.

    The parser's ``UnitError`` becomes the validation error ``invalid_value`` would make of its template and params
    (the templates are the ``UnitError`` ones in ``units``), so the web UI can translate it.
    """

    def check(value: str) -> str:
        try:
            parse(value, what)
        except units.UnitError as exc:
            raise PydanticCustomError("value_error", exc.message, {**exc.params, "template": exc.message}) from exc
        return value

    return AfterValidator(check)


class _Constants(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class AgricultureConstants(_Constants):
    """Rice crops: ``emission_factor`` tonnes per area unit per time unit."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"emission_factor": "0.046", "emission_factor_unit": "tCO2e/ha/d"},
    ]})  # fmt: skip

    emission_factor: Factor
    emission_factor_unit: Annotated[UnitText, _checked(units.per_area_per_time, "The emission factor unit")] = Field(
        description="<tCO2e|tCO2>/<area>/<time>, e.g. tCO2e/ha/d"
    )


class SolarConstants(_Constants):
    """Solar PV: generation up to a building type's yearly threshold counts at the higher factor, the excess at the
    lower one (the seed's A and B)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "emission_factor_below_threshold": "6.8", "emission_factor_above_threshold": "1.3",
        "emission_factor_unit": "tCO2/MWh", "threshold_unit": "kWh/year",
        "thresholds": {"Household": "55", "HealthCenter": "825", "School": "275"},
    }]})  # fmt: skip

    emission_factor_below_threshold: Factor = Field(description="A: for generation up to the threshold")
    emission_factor_above_threshold: Factor = Field(description="B: for generation above the threshold")
    emission_factor_unit: Annotated[UnitText, _checked(units.per_energy, "The emission factor unit")] = Field(
        description="<tCO2e|tCO2>/<energy>, e.g. tCO2/MWh"
    )
    threshold_unit: Annotated[UnitText, _checked(units.energy_per_time, "The threshold unit")] = Field(
        description="<energy>/<time>, e.g. kWh/year"
    )
    thresholds: dict[BuildingTypeName, Threshold] = Field(
        min_length=1, max_length=MAX_BUILDING_TYPES, description="The threshold Y of each building type"
    )


class BiocharConstants(_Constants):
    """Biochar: tonnes of CO2e per tonne of biochar."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"emission_factor": "3.66", "emission_factor_unit": "tCO2e"},
    ]})  # fmt: skip

    emission_factor: Factor
    emission_factor_unit: Literal["tCO2e"]


class CookstovesConstants(_Constants):
    """Cookstoves: tonnes of CO2e per person per day."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"emission_factor": "0.1"}]})

    emission_factor: Factor


class SolarWaterPumpingConstants(_Constants):
    """Solar water pumping (off-grid or on-grid): the factor applies to the generation in the unit's energy per its
    time (kWh per year by default), as in the seed, which multiplies kWh, not MWh."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"emission_factor": "1.3", "emission_factor_unit": "kWh/year"},
    ]})  # fmt: skip

    emission_factor: Factor
    emission_factor_unit: Annotated[UnitText, _checked(units.energy_per_time, "The emission factor unit")] = Field(
        description="<energy>/<time>, e.g. kWh/year"
    )


Constants = AgricultureConstants | SolarConstants | BiocharConstants | CookstovesConstants | SolarWaterPumpingConstants
"""The constants of any methodology (``CONSTANTS_MODELS`` says which model belongs to which)."""

CONSTANTS_MODELS: Mapping[Methodology, type[Constants]] = {
    Methodology.AGRICULTURE: AgricultureConstants,
    Methodology.SOLAR: SolarConstants,
    Methodology.BIOCHAR: BiocharConstants,
    Methodology.COOKSTOVES: CookstovesConstants,
    Methodology.SOLAR_WATER_PUMPING_OFF_GRID: SolarWaterPumpingConstants,
    Methodology.SOLAR_WATER_PUMPING_ON_GRID: SolarWaterPumpingConstants,
}

_D = Decimal
DEFAULTS: Mapping[Methodology, Constants] = {
    Methodology.AGRICULTURE: AgricultureConstants(emission_factor=_D("0.046"), emission_factor_unit="tCO2e/ha/d"),
    Methodology.SOLAR: SolarConstants(
        emission_factor_below_threshold=_D("6.8"), emission_factor_above_threshold=_D("1.3"),
        emission_factor_unit="tCO2/MWh", threshold_unit="kWh/year",
        thresholds={"Household": _D(55), "HealthCenter": _D(825), "Dispensary": _D(825), "School": _D(275),
                    "PrimarySchool": _D(275), "SecondarySchool": _D(275), "PublicAdministration": _D(55),
                    "TradingPlace": _D(825), "BusStop": _D(200)},
    ),
    Methodology.BIOCHAR: BiocharConstants(emission_factor=_D("3.66"), emission_factor_unit="tCO2e"),
    Methodology.COOKSTOVES: CookstovesConstants(emission_factor=_D("0.1")),
    Methodology.SOLAR_WATER_PUMPING_OFF_GRID: SolarWaterPumpingConstants(emission_factor=_D("1.3"),
                                                                         emission_factor_unit="kWh/year"),
    Methodology.SOLAR_WATER_PUMPING_ON_GRID: SolarWaterPumpingConstants(emission_factor=_D("1.06"),
                                                                        emission_factor_unit="kWh/year"),
}  # fmt: skip
"""The seed calculator's values (reference §8.1–§8.3), in force until the Government sets a version."""


class ConstantsUnchanged(InvalidState):
    """The new constants equal the ones in force: a version that changes nothing is not recorded."""

    type_slug = "constants-unchanged"
    title = "Constants unchanged"


@dataclass(frozen=True)
class ConstantsVersion:
    """One version of a methodology's constants; ``version`` None (and no author) for the built-in defaults."""

    methodology: Methodology
    version: int | None
    constants: Constants
    created_at: datetime | None = None
    created_by_user_id: int | None = None


def parse(methodology: Methodology, data: Mapping[str, Any] | BaseModel) -> Constants:
    """``data`` as ``methodology``'s constants model (pydantic ``ValidationError`` when it is not one)."""
    raw = data.model_dump() if isinstance(data, BaseModel) else data
    return CONSTANTS_MODELS[methodology].model_validate(raw)


def _version(row: Any) -> ConstantsVersion:
    methodology = Methodology(row.methodology)
    created_by = row.created_by or {}
    return ConstantsVersion(methodology, row.version, parse(methodology, row.constants), row.created_at,
                            created_by.get("user_id"))  # fmt: skip


def _newest(conn: Connection, methodology: Methodology) -> ConstantsVersion:
    row = conn.execute(
        select(calculator_constants).where(_c.methodology == methodology.value).order_by(_c.version.desc()).limit(1)
    ).first()
    return _version(row) if row is not None else ConstantsVersion(methodology, None, DEFAULTS[methodology])


def latest(conn: Connection, methodology: Methodology) -> tuple[int | None, Constants]:
    """The constants in force for ``methodology`` and their version (None: the built-in defaults)."""
    newest = _newest(conn, methodology)
    return newest.version, newest.constants


def current(conn: Connection) -> list[ConstantsVersion]:
    """The constants in force for every methodology, in ``Methodology`` order."""
    return [_newest(conn, methodology) for methodology in Methodology]


def history(conn: Connection, methodology: Methodology) -> list[ConstantsVersion]:
    """Every version of ``methodology``'s constants, newest first, ending with the built-in defaults."""
    rows = conn.execute(
        select(calculator_constants).where(_c.methodology == methodology.value).order_by(_c.version.desc())
    ).all()
    return [*(_version(row) for row in rows), ConstantsVersion(methodology, None, DEFAULTS[methodology])]


def set_constants(
    conn: Connection, principal: Principal, methodology: Methodology, constants: Constants
) -> ConstantsVersion:
    """Records ``constants`` as the newest version of ``methodology``'s (and its audit event), in the caller's
    transaction. Refused when they equal the constants in force, the built-in defaults included."""
    permissions.authorize_set_constants(principal)
    if not isinstance(constants, CONSTANTS_MODELS[methodology]):
        raise InvalidInput("These are not constants of the {methodology} methodology.",
                           params={"methodology": methodology.value}, field="methodology")  # fmt: skip
    # One update per methodology at a time, so two identical concurrent updates cannot both pass the check below.
    conn.execute(text("select pg_advisory_xact_lock(cast(:ns as integer), hashtext(:key))"),
                 {"ns": _LOCK_NAMESPACE, "key": methodology.value})  # fmt: skip
    in_force = _newest(conn, methodology)
    if constants == in_force.constants and in_force.version is None:
        raise ConstantsUnchanged(
            "These {methodology} constants are the ones in force (the built-in defaults); nothing to record.",
            params={"methodology": methodology.value}, methodology=methodology.value, version=None,
        )  # fmt: skip
    if constants == in_force.constants:
        raise ConstantsUnchanged(
            "These {methodology} constants are the ones in force (version {version}); nothing to record.",
            params={"methodology": methodology.value, "version": in_force.version}, methodology=methodology.value,
            version=in_force.version,
        )  # fmt: skip
    stored = constants.model_dump(mode="json")
    author = {"user_id": principal.user_id, "email": principal.email, "role": principal.role,
              "organisation_id": principal.organisation_id, "via_api_key": principal.via_api_key}  # fmt: skip
    row = conn.execute(
        insert(calculator_constants)
        .values(methodology=methodology.value, constants=stored, created_by=author)
        .returning(calculator_constants)
    ).one()
    audit.record(conn, principal, "calculator.constants_set", organisation_id=principal.organisation_id,
                 target_id=row.version, methodology=methodology.value, constants=stored)  # fmt: skip
    return _version(row)
