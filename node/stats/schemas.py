"""What a caller may ask of the analytics, and the shapes of the answers (reference §11.2).

Each reference stat type maps onto one of ours, with a filter or ``only_mine`` where the reference had a variant:

| reference | here |
|---|---|
| ``AGG_PROGRAMME_BY_STATUS`` / ``MY_…`` | ``programmes_by_stage`` (``only_mine``) |
| ``AGG_AUTH_PROGRAMME_BY_STATUS``, ``ALL_AUTH_PROGRAMMES`` | ``programmes_by_stage`` with ``stage=authorised`` |
| ``AGG_PROGRAMME_BY_SECTOR`` / ``MY_…`` | ``programmes_by_sector`` |
| ``CERTIFIED_BY_ME_BY_STATE`` / ``_BY_SECTOR`` | the two above with ``only_mine`` as a certifier |
| ``CERTIFIED_REVOKED_PROGRAMMES`` / ``MY_…`` | ``certification`` |
| ``CERTIFIED_BY_ME``, ``REVOKED_BY_ME``, ``(UN)CERTIFIED_(REVOKED_)BY_ME`` | ``certification``, ``only_mine`` |
| ``MY_CREDIT`` | ``my_credits`` |
| ``PENDING_TRANSFER_INIT`` / ``_RECV`` | ``pending_requests`` (also pending retirement requests) |
| ``ALL_PROGRAMME_LOCATION`` / ``MY_…`` | ``programme_locations`` (GeoJSON) |
| ``ALL_TRANSFER_LOCATION`` / ``MY_…`` | ``retirements_by_country`` |
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer, model_validator

from node.programmes.queries import SECTORS, STAGES
from node.programmes.schemas import SectorName


class StatType(StrEnum):
    PROGRAMMES_BY_STAGE = "programmes_by_stage"
    PROGRAMMES_BY_SECTOR = "programmes_by_sector"
    CERTIFICATION = "certification"
    MY_CREDITS = "my_credits"
    PENDING_REQUESTS = "pending_requests"
    PROGRAMME_LOCATIONS = "programme_locations"
    RETIREMENTS_BY_COUNTRY = "retirements_by_country"


class GroupBy(StrEnum):
    DAY = "day"
    MONTH = "month"
    YEAR = "year"


Stage = StrEnum("Stage", {name: name for name in STAGES.values()})  # type: ignore[misc]
"""Stages by the names the programme API shows (``AwaitingAuthorization``, ``Authorised``, ``Rejected``)."""
DB_STAGE = {api: db for db, api in STAGES.items()}
AUTHORISED = Stage("Authorised")


def shown_stage(db_name: str) -> Stage:
    return Stage(STAGES[db_name])


def shown_sector(db_name: str) -> SectorName:
    return SectorName(SECTORS[db_name])


EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)


def _bounded(value: datetime) -> datetime:
    """Months are computed in UTC: a time near year 1 or 9999 would leave the calendar when converted."""
    if not EARLIEST <= value <= LATEST:
        raise ValueError("give a time between 1970-01-01T00:00:00Z and 9000-01-01T00:00:00Z")
    return value


AwareTime = Annotated[AwareDatetime, AfterValidator(_bounded)]


def _number(value: Decimal) -> int | float:
    """Whole amounts as JSON integers; "only mine" shares of an estimate keep their (at most 6) decimals."""
    return int(value) if value == value.to_integral_value() else float(value)


Amount = Annotated[Decimal, PlainSerializer(_number, return_type=float, when_used="json")]


class Window(BaseModel):
    """The filters every statistic takes (reference §11.1)."""

    model_config = ConfigDict(extra="forbid")

    created_from: AwareTime | None = Field(
        None, description="Only programmes created (retirements made) at or after this time, with its UTC offset"
    )
    created_before: AwareTime | None = Field(None, description="... and before this time")  # fmt: skip
    only_mine: bool = Field(
        False,
        description="Only the caller's organisation: programmes it owns (estimates and issuance weighted by its "
        "share, credits as it holds them) or, for a certifier, programmes it certifies",
    )
    group_by: GroupBy | None = Field(None, description="Series per UTC day, month or year of creation")
    stage: Stage | None = Field(None, description="Only programmes at this stage")

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.created_from and self.created_before and self.created_from >= self.created_before:
            raise ValueError("created_from must be before created_before")
        return self


class StatRequest(Window):
    type: StatType
    key: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$",
                            description="Name of this statistic in the answer (default: its type)")  # fmt: skip


class StatsQuery(BaseModel):
    """Several statistics in one round trip (the dashboard's), all read as of the same indexed block."""

    model_config = ConfigDict(extra="forbid")

    stats: list[StatRequest] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _unique_keys(self) -> StatsQuery:
        keys = [s.key or s.type.value for s in self.stats]
        if len(set(keys)) != len(keys):
            raise ValueError("each statistic needs its own key: give `key` to ask for one type twice")
        return self


class ProgrammeRow(BaseModel):
    """Sums over a group of programmes. ``credit_held`` = issued − retired (overall) or what the caller holds."""

    period: date | None = Field(None, description="Start of the UTC day, month or year (with group_by)")
    stage: Stage | None = None
    sector: SectorName | None = None
    programmes: int
    credit_estimate: Amount
    credit_issued: Amount
    credit_held: Amount
    credit_retired: Amount
    credit_transferred: Amount = Field(description="Volume of transfers (only mine: what the caller sent)")
    credit_frozen: Amount = Field(description="Held in frozen (suspended) accounts")


class CertificationPart(BaseModel):
    programmes: int
    credit_estimate: Amount


class CertificationRow(BaseModel):
    """Authorised programmes by certification. Overall: certified (≥ 1 certifier), revoked (none left but one
    revoked), uncertified. A certifier's own view: certified by it, revoked by it, and the rest."""

    period: date | None = None
    certified: CertificationPart
    revoked: CertificationPart
    uncertified: CertificationPart


class MyCredits(BaseModel):
    organisation_id: int
    held: int
    frozen: int
    available: int
    issued: int = Field(description="Received by issuance")
    received: int = Field(description="Received by transfer")
    transferred: int = Field(description="Sent by transfer")
    retired: int


class PendingRequests(BaseModel):
    transfers_sent: int = Field(description="Pending transfer requests the caller's organisation initiated")
    transfers_to_approve: int = Field(description="Pending transfer requests from the organisation's account")
    retirements_requested: int = Field(description="Pending retirement requests of the organisation")
    retirements_to_recognise: int = Field(description="Pending requests the Government must decide (officers)")


class CountryRow(BaseModel):
    country: str = Field(description="Receiving country, ISO 3166-1 alpha-2")
    retirements: int
    credits: int = Field(description="Credits retired (international and OMGE parts)")
    international_credits: int


class Feature(BaseModel):
    type: Literal["Feature"] = "Feature"
    geometry: dict[str, Any] = Field(description='{"type": "Point", "coordinates": [longitude, latitude]}')
    properties: dict[str, Any] = Field(description="{id, count, stage}")


class FeatureCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[Feature]


StatData = (
    list[ProgrammeRow] | list[CertificationRow] | MyCredits | PendingRequests | FeatureCollection | list[CountryRow]
)


class StatResult(BaseModel):
    type: StatType
    last: datetime | None = Field(description="When what this statistic counts last changed (its latest event)")
    data: StatData


class AsOf(BaseModel):
    as_of_block: int | None = Field(description="The chain block every figure is as of (the indexer's cursor)")
    as_of_time: datetime | None = Field(description="That block's time")


class StatsAnswer(AsOf):
    stats: dict[str, StatResult]


class SingleStat(AsOf, StatResult):
    pass
