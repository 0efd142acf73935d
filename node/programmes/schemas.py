"""Input models of the programme endpoints (reference §3.1, §5.1-§5.4), shared by the API and the services.

Every rule that can be checked without the database is checked here, before anything is written; the contract
checks the credit-relevant ones again (ADR 0001), and the services check the ones that need the database (owners
are developer organisations, the external id is free).
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from node.calculator import CalculatorInput
from node.chain.types import PPM, Sector
from node.errors import invalid_value

MAX_OWNERS = 16
"""The contract's ``MAX_OWNERS``."""
MAX_CREDITS = 2**63 - 1
"""Credit amounts fit a uint64 on chain and a BIGINT in the database."""
MAX_EXTERNAL_ID_BYTES = 64
MAX_TIME = 253_402_300_799
"""9999-12-31T23:59:59Z: programme dates are calendar dates, and serial numbers print a four-digit year."""


class SectorName(StrEnum):
    """Economic sector (reference §2), the contract's ``Sector`` by name."""

    ENERGY = "Energy"
    HEALTH = "Health"
    EDUCATION = "Education"
    TRANSPORT = "Transport"
    MANUFACTURING = "Manufacturing"
    HOSPITALITY = "Hospitality"
    FORESTRY = "Forestry"
    WASTE = "Waste"
    AGRICULTURE = "Agriculture"
    OTHER = "Other"

    @property
    def on_chain(self) -> Sector:
        return Sector[self.name]


SECTOR_SCOPES: dict[SectorName, frozenset[int]] = {
    SectorName.ENERGY: frozenset({1, 2, 3}),
    SectorName.TRANSPORT: frozenset({7}),
    SectorName.MANUFACTURING: frozenset({4, 5, 9}),
    SectorName.FORESTRY: frozenset({14}),
    SectorName.WASTE: frozenset({10, 13}),
    SectorName.AGRICULTURE: frozenset({15}),
    SectorName.OTHER: frozenset({6, 8, 11, 12}),
}
"""Sector -> admitted CDM sectoral scopes (reference §2); Health, Education and Hospitality admit any scope."""


class TypeOfMitigation(StrEnum):
    AGRICULTURE = "Agriculture"
    BIOMASS_ENERGY = "BiomassEnergy"
    CCS = "CCS"
    CEMENT = "Cement"
    COAL_MINE = "Coal/Mine"
    EE_HOUSEHOLDS = "EEHouseholds"
    EE_INDUSTRY = "EEIndustry"
    EE_OWN_GENERATION = "EEOwnGeneration"
    EE_SERVICE = "EEService"
    EE_SUPPLY_SIDE = "EESupplySide"
    ENERGY_DISTRIBUTION = "EnergyDistribution"
    FORESTRY = "Forestry"
    FOSSIL_FUEL = "FossilFuel"
    FUGITIVE = "Fugitive"
    GEOTHERMAL = "Geothermal"
    HFC_PFCS_SF6 = "HFC_PFCs_SF6"
    HYDRO = "Hydro"
    LANDFILLS = "Landfills"
    MARINE = "Marine"
    METHANE_AVOIDANCE = "MethaneAvoidance"
    N2O = "N20"
    SOLAR = "Solar"
    TRANSPORT = "Transport"
    WIND = "Wind"
    CO2_USAGE = "CO2Usage"
    TIDAL = "Tidal"


class GreenhouseGas(StrEnum):
    CO2 = "CO2"
    CH4 = "CH4"
    N2O = "N2O"
    HFCS = "HFCs"
    PFCS = "PFCs"
    SF6 = "SF6"


class SourceOfFunding(StrEnum):
    BOARD = "BoardSourceFunding"
    GOVERNMENT_GRANT_OR_LOAN = "GovernmentGrantOrLoan"
    OTHER = "Other"


def single_line(value: str) -> str:
    """Trimmed text with no control character: it goes to the chain, emails and CSV exports."""
    value = unicodedata.normalize("NFC", value).strip()
    if not value:
        raise ValueError("must not be blank")
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in value):
        raise ValueError("must be one line with no control characters")
    return value


def clean_external_id(value: str) -> str:
    value = single_line(value)
    if len(value.encode()) > MAX_EXTERNAL_ID_BYTES:
        raise invalid_value("must be at most {limit} bytes in UTF-8", limit=MAX_EXTERNAL_ID_BYTES)
    return value


def multi_line(value: str) -> str:
    """Remarks and reasons: line breaks and tabs kept, other control characters refused."""
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n")).strip()
    if not value:
        raise ValueError("must not be blank")
    if any(c not in "\n\t" and unicodedata.category(c) in ("Cc", "Cs") for c in value):
        raise ValueError("must not contain control characters other than newline and tab")
    return value


def aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must include a time zone (e.g. 2024-01-01T00:00:00Z)")
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00+01:00 is before the first representable instant
        raise ValueError("must be between 1970 and 9999") from exc


Line = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(single_line)]
Remarks = Annotated[str, Field(min_length=1, max_length=1000), AfterValidator(multi_line)]
Credits = Annotated[int, Field(ge=1, le=MAX_CREDITS)]
Money = Annotated[Decimal, Field(gt=0, le=Decimal("1e15"), max_digits=20, decimal_places=2, allow_inf_nan=False)]
Instant = Annotated[datetime, AfterValidator(aware)]


class Proponent(BaseModel):
    """An owner of the programme by tax id, with its fixed share of every issuance (reference §5.1)."""

    model_config = ConfigDict(extra="forbid")

    tax_id: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(single_line)]
    percentage: Annotated[Decimal, Field(gt=0, le=100, max_digits=7, decimal_places=4, allow_inf_nan=False)] = Field(
        default=Decimal(100), description="Share in percent, up to 4 decimals; the shares sum to 100"
    )

    @property
    def share_ppm(self) -> int:
        return int(self.percentage * PPM / 100)


class ProgrammeProperties(BaseModel):
    """``programmeProperties`` of reference §3.1."""

    model_config = ConfigDict(extra="forbid")

    geographical_location: list[Annotated[str, Field(min_length=1, max_length=100), AfterValidator(single_line)]] = (
        Field(min_length=1, max_length=50, description="Region names where the programme takes place")
    )
    greenhouse_gases: list[GreenhouseGas] = Field(min_length=1, max_length=6)
    estimated_programme_cost_usd: Money
    max_international_transfer_amount: Money | None = None
    crediting_period_years: Annotated[int, Field(ge=1, le=200)] | None = None
    source_of_funding: SourceOfFunding | None = None
    grant_equivalent_amount: Money | None = None
    carbon_price_usd_per_ton: Money | None = None
    buyer_country_eligibility: Line | None = None

    @model_validator(mode="after")
    def _distinct(self) -> ProgrammeProperties:
        if len(set(self.greenhouse_gases)) != len(self.greenhouse_gases):
            raise ValueError("greenhouse_gases lists a gas twice")
        return self


class NewProgramme(BaseModel):
    """A programme to register (reference §3.1 and §5.1). Give ``credit_estimate`` or the ``calculator`` inputs."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Solar for rural clinics",
                    "external_id": "MRV-2024-0042",
                    "sector": "Energy",
                    "sectoral_scope": 1,
                    "type_of_mitigation": "Solar",
                    "start_time": "2024-01-01T00:00:00Z",
                    "end_time": "2030-12-31T00:00:00Z",
                    "proponents": [{"tax_id": "TIN-000123", "percentage": 100}],
                    "credit_estimate": 12000,
                    "properties": {
                        "geographical_location": ["Lagos"],
                        "greenhouse_gases": ["CO2"],
                        "estimated_programme_cost_usd": 250000,
                    },
                }
            ]
        },
    )

    title: Line
    external_id: Annotated[str, Field(min_length=1, max_length=64), AfterValidator(clean_external_id)] = Field(
        description="The programme's id in the submitting system (MRV or other); unique in the registry"
    )
    sector: SectorName
    sectoral_scope: Annotated[int, Field(ge=1, le=15, description="CDM sectoral scope; must suit the sector")]
    type_of_mitigation: TypeOfMitigation
    start_time: Instant
    end_time: Instant
    proponents: list[Proponent] = Field(min_length=1, max_length=MAX_OWNERS)
    credit_estimate: Credits | None = Field(
        default=None, description="Credits the programme may ever issue; computed by the calculator when absent"
    )
    calculator: CalculatorInput | None = Field(
        default=None, description="Calculator inputs; required when credit_estimate is absent, recorded otherwise"
    )
    credit_unit: Annotated[str, Field(pattern=r"^[A-Z0-9]{1,8}$")] = "ITMO"
    properties: ProgrammeProperties

    @model_validator(mode="after")
    def _consistent(self) -> NewProgramme:
        if self.sector in SECTOR_SCOPES and self.sectoral_scope not in SECTOR_SCOPES[self.sector]:
            allowed = ", ".join(str(scope) for scope in sorted(SECTOR_SCOPES[self.sector]))
            raise invalid_value("sectoral scope {scope} does not suit sector {sector}: use {allowed}",
                                scope=self.sectoral_scope, sector=self.sector.value, allowed=allowed)  # fmt: skip
        start, end = self.start_time.timestamp(), self.end_time.timestamp()
        if not 0 <= start < end <= MAX_TIME:
            raise ValueError("start_time must be before end_time, both between 1970 and 9999")
        tax_ids = [p.tax_id.casefold() for p in self.proponents]
        if len(set(tax_ids)) != len(tax_ids):
            raise ValueError("a proponent tax id appears twice")
        if sum(p.percentage for p in self.proponents) != 100:
            raise ValueError("proponent percentages must sum to exactly 100")
        if self.credit_estimate is None and self.calculator is None:
            raise ValueError("give credit_estimate or the calculator inputs to compute it")
        return self

    def canonical_request(self) -> dict[str, Any]:
        """The request as JSON values, for the idempotency hash and the intent row."""
        return self.model_dump(mode="json")


class Authorisation(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"issue_amount": 500, "remarks": "OK"}]})

    issue_amount: Annotated[int, Field(ge=0, le=MAX_CREDITS)] = Field(
        default=0, description="Credits to issue at once (0: none); at most the estimate"
    )
    remarks: Remarks | None = None


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"remarks": "Baseline not justified"}]})

    remarks: Remarks = Field(description="The reason, sent to the proponents")


class Issuance(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"amount": 250}]})

    amount: Credits | None = Field(default=None, description="Credits to issue; absent: everything still pending")
    remarks: Remarks | None = None


class Certification(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"remarks": "Site visit 2024-05"}]})

    remarks: Remarks | None = None


class Revocation(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"certifier_id": 7, "remarks": "…"}]})

    certifier_id: Annotated[int, Field(ge=1, le=2**40 - 1)] | None = Field(
        default=None, description="The certifier whose certification ends; required for the Government"
    )
    remarks: Remarks | None = None
