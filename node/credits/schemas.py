"""Input models of the credit endpoints (reference §6.2-6.3)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from node.programmes.schemas import Credits, Remarks

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
