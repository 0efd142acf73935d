"""Input models of the credit endpoints (reference §6.2-6.4)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from node.identity.schemas import Country
from node.programmes.schemas import Credits, Line, Remarks

AccountId = Annotated[int, Field(ge=1, le=2**40 - 1, description="An organisation id (its chain account)")]


class TransferIn(BaseModel):
    """Credits of one programme from one organisation to another."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"programme_id": 1, "from_organisation_id": 3, "to_organisation_id": 5, "amount": 100, "remarks": "Sale"},
    ]})  # fmt: skip

    programme_id: Annotated[int, Field(ge=1, le=2**40 - 1)]
    from_organisation_id: AccountId
    to_organisation_id: AccountId
    amount: Credits
    remarks: Remarks | None = None

    @model_validator(mode="after")
    def _two_parties(self) -> TransferIn:
        if self.from_organisation_id == self.to_organisation_id:
            raise ValueError("the sender and the receiver are the same organisation")
        return self


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"remarks": "Agreed by the board"}]})

    remarks: Remarks | None = None


class RetirementKind(StrEnum):
    """Why credits are retired (reference RetireType): abroad under Article 6, for legal action, or otherwise."""

    CROSS_BORDER = "cross_border"
    LEGAL_ACTION = "legal_action"
    OTHER = "other"


class RetirementIn(BaseModel):
    """Credits of one programme held by one organisation, retired into the Government's accounts."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"programme_id": 1, "from_organisation_id": 3, "retirement_type": "cross_border", "amount": 100,
         "country": "CH", "beneficiary": "Foundation for Climate Protection and Carbon Offset KliK",
         "remarks": "Transfer under the bilateral agreement"},
        {"programme_id": 1, "from_organisation_id": 3, "retirement_type": "legal_action",
         "remarks": "Court order 2026/17"},
    ]})  # fmt: skip

    programme_id: Annotated[int, Field(ge=1, le=2**40 - 1)]
    from_organisation_id: AccountId
    retirement_type: RetirementKind
    amount: Credits | None = Field(default=None, description="Credits to retire; all the holder holds when omitted")
    country: Country | None = Field(default=None, description="Receiving country, ISO 3166-1 alpha-2 (cross-border)")
    beneficiary: Line | None = Field(default=None, description="Receiving organisation (cross-border)")
    remarks: Remarks | None = None

    @model_validator(mode="after")
    def _cross_border_fields(self) -> RetirementIn:
        if self.retirement_type == RetirementKind.CROSS_BORDER:
            if self.country is None or self.beneficiary is None:
                raise ValueError("a cross-border retirement names the receiving country and the beneficiary")
        elif self.country is not None or self.beneficiary is not None:
            raise ValueError("only a cross-border retirement has a receiving country and a beneficiary")
        return self


Period = tuple[datetime | None, datetime | None]
"""A half-open time range for list filters: (from, before); either end may be open."""


def within(query: Any, column: Any, period: Period) -> Any:
    """``query`` limited to rows whose ``column`` falls in ``period``."""
    start, end = period
    if start is not None:
        query = query.where(column >= start)
    if end is not None:
        query = query.where(column < end)
    return query
