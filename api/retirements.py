"""Retirements and retirement requests (reference §6.4).

Thin: parse, call :mod:`node.credits.retirements`, shape the answer. A retirement takes a required
``Idempotency-Key`` and answers once its chain transactions are indexed (ADR 0014).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from api.auth.dependencies import CurrentPrincipal, context_of
from api.credits import CreatedBefore, CreatedFrom, IdPage
from api.indexing import IndexWaiterDep
from api.problems import documented
from api.programmes import IdempotencyKey, programme_context
from node.credits import retirements
from node.credits.schemas import Decision, RetirementIn, RetirementKind

router = APIRouter(tags=["credits"])
RetirementId = Annotated[int, Path(ge=1, le=2**63 - 1)]
RetirementState = StrEnum("RetirementState", {name: name for name in retirements.STATES})  # type: ignore[misc]


class RetirementOut(BaseModel):
    retirement_id: int
    programme_id: int
    from_organisation_id: int = Field(description="The holder whose credits are retired")
    from_name: str | None
    retirement_type: RetirementKind
    country: str | None = Field(description="Receiving country, ISO 3166-1 alpha-2 (cross-border)")
    beneficiary: str | None = Field(description="Receiving organisation (cross-border)")
    amount: int
    omge_bps: int = Field(description="The OMGE rate the retirement was requested at, in basis points")
    omge_amount: int = Field(description="Credits retired into the OMGE account (as retired on chain once executed)")
    international_amount: int = Field(description="Credits retired into the international account (cross-border)")
    state: str = Field(description="pending | executing | recognised | retired | not_recognised | cancelled | failed")
    remarks: str | None
    initiator_organisation_id: int
    initiator_user_id: int | None
    decision_remarks: str | None
    chain_retirement_ids: list[int] = Field(description="`getRetirement` ids on chain, one per chain call")
    tx_hashes: list[str] = Field(description="Every chain transaction of the retirement, in order")
    block_number: int | None
    created_at: datetime
    updated_at: datetime


class RetirementPage(BaseModel):
    items: list[RetirementOut]
    next_cursor: str | None


@router.post("/retirements", status_code=201, response_model=RetirementOut,
             responses=documented(401, 403, 404, 409, 428), operation_id="create_retirement",
             summary="Retire credits, or request a cross-border retirement")  # fmt: skip
def create_retirement(
    body: RetirementIn, principal: CurrentPrincipal, request: Request, waiter: IndexWaiterDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:  # fmt: skip
    """The Government retires at once (`retired`); a holder's Admin or Manager requests a cross-border retirement of
    its own credits (`pending` until the Government recognises it). Legal-action and other retirements cover all
    the holder holds. Requires an `Idempotency-Key`."""
    return retirements.create(programme_context(request, waiter), principal, body, idempotency_key)


@dataclass(frozen=True)
class RetirementSelection:
    """Which retirements, in which order: the query parameters the list and its CSV export share."""

    filters: retirements.RetirementFilters
    newest_first: bool


async def retirement_selection(
    programme_id: Annotated[int | None, Query(ge=1, le=2**40 - 1)] = None,
    organisation_id: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="The holder")] = None,
    state: Annotated[RetirementState | None, Query()] = None,
    retirement_type: Annotated[RetirementKind | None, Query()] = None,
    created_from: CreatedFrom = None, created_before: CreatedBefore = None,
    order: Annotated[Literal["asc", "desc"], Query()] = "desc",
) -> RetirementSelection:  # fmt: skip
    """Declared once so `GET /retirements` and `GET /exports/retirements.csv` cannot drift apart."""
    filters = retirements.RetirementFilters(
        programme_id=programme_id, organisation_id=organisation_id, state=state.value if state else None,
        retirement_type=retirement_type.value if retirement_type else None, created=(created_from, created_before),
    )  # fmt: skip
    return RetirementSelection(filters, newest_first=order == "desc")


RetirementSelectionDep = Annotated[RetirementSelection, Depends(retirement_selection)]


@router.get("/retirements", response_model=RetirementPage, responses=documented(401),
            operation_id="list_retirements", summary="List retirements")  # fmt: skip
def list_retirements(principal: CurrentPrincipal, request: Request, selection: RetirementSelectionDep,
                     page_parameters: IdPage) -> Any:  # fmt: skip
    """The retirements the caller may read (§4.2), newest first unless `order=asc`."""
    after, limit = page_parameters
    with context_of(request).engine.connect() as conn:
        return retirements.list_retirements(conn, principal, selection.filters, after=after, limit=limit,
                                            newest_first=selection.newest_first)  # fmt: skip


@router.get("/retirements/{retirement_id}", response_model=RetirementOut, responses=documented(401, 404),
            operation_id="get_retirement", summary="Read a retirement")  # fmt: skip
def get_retirement(retirement_id: RetirementId, principal: CurrentPrincipal, request: Request) -> Any:
    with context_of(request).engine.connect() as conn:
        return retirements.get_retirement(conn, principal, retirement_id)


@router.post("/retirements/{retirement_id}/recognise", response_model=RetirementOut,
             responses=documented(401, 403, 404, 409), operation_id="recognise_retirement",
             summary="Recognise a retirement request")  # fmt: skip
def recognise_retirement(
    retirement_id: RetirementId, body: Decision, principal: CurrentPrincipal, request: Request, waiter: IndexWaiterDep,
) -> Any:  # fmt: skip
    """The Government recognises the request: the credits are retired now. Recognising again completes it once."""
    return retirements.recognise(programme_context(request, waiter), principal, retirement_id, body)


@router.post("/retirements/{retirement_id}/not-recognise", response_model=RetirementOut,
             responses=documented(401, 403, 404, 409), operation_id="not_recognise_retirement",
             summary="Do not recognise a retirement request")  # fmt: skip
def not_recognise_retirement(
    retirement_id: RetirementId, body: Decision, principal: CurrentPrincipal, request: Request, waiter: IndexWaiterDep,
) -> Any:  # fmt: skip
    return retirements.not_recognise(programme_context(request, waiter), principal, retirement_id, body)


@router.post("/retirements/{retirement_id}/cancel", response_model=RetirementOut,
             responses=documented(401, 403, 404, 409), operation_id="cancel_retirement",
             summary="Cancel a retirement request")  # fmt: skip
def cancel_retirement(
    retirement_id: RetirementId, body: Decision, principal: CurrentPrincipal, request: Request, waiter: IndexWaiterDep,
) -> Any:  # fmt: skip
    return retirements.cancel(programme_context(request, waiter), principal, retirement_id, body)
