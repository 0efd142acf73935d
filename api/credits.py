"""Credits: holdings, the Government's retirement accounts, transfers and transfer requests (reference §6).

Thin: parse, call :mod:`node.credits`, shape the answer. Transfers take a required ``Idempotency-Key`` and answer
once their chain transaction is indexed (ADR 0014).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import AwareDatetime, BaseModel, Field

from api.auth.dependencies import CurrentPrincipal, context_of
from api.identity.params import OrganisationId
from api.indexing import IndexWaiterDep
from api.problems import documented
from api.programmes import IdempotencyKey, programme_context
from node.credits import holdings, transfers
from node.credits import settings as credit_settings
from node.credits.schemas import Decision, TransferIn

router = APIRouter(tags=["credits"])
TransferId = Annotated[int, Path(ge=1, le=2**63 - 1)]
CreatedFrom = Annotated[AwareDatetime | None, Query(description="Made at or after this time (with its UTC offset)")]
CreatedBefore = Annotated[AwareDatetime | None, Query(description="Made before this time (with its UTC offset)")]
TransferState = StrEnum("TransferState", {name: name for name in transfers.STATES})  # type: ignore[misc]


class Holding(BaseModel):
    programme_id: int
    title: str | None
    external_id: str
    credit_unit: str
    held: int = Field(description="Credits of the programme this organisation holds")
    frozen: int = Field(description="Held credits it cannot move (its organisation is suspended)")
    available: int
    issued: int
    received: int
    transferred: int
    retired: int


class Holdings(BaseModel):
    organisation_id: int
    name: str
    frozen: bool
    items: list[Holding]
    total_held: int
    total_available: int


class RetiredPerProgramme(BaseModel):
    programme_id: int
    international: int = Field(description="Retired cross-border (OMGE share excluded)")
    local: int = Field(description="Retired for legal action or other reasons")
    omge: int = Field(description="The Overall Mitigation in Global Emissions share of cross-border retirements")


class RetirementAccounts(BaseModel):
    government_account: int | None
    totals: dict[str, int]
    items: list[RetiredPerProgramme]


class TransferOut(BaseModel):
    transfer_id: int
    programme_id: int
    from_organisation_id: int
    from_name: str | None
    to_organisation_id: int
    to_name: str | None
    amount: int
    state: str = Field(description="pending | executing | executed | approved | rejected | cancelled | failed")
    remarks: str | None
    initiator_organisation_id: int
    initiator_user_id: int | None
    decision_remarks: str | None
    tx_hash: str | None = Field(description="The (last) chain transaction that moved the credits")
    tx_hashes: list[str] = Field(
        description="Every chain transaction of the transfer, in order: one unless the "
        "sender's credits were fragmented into more blocks than one call can move"
    )
    block_number: int | None
    created_at: datetime
    updated_at: datetime


class TransferPage(BaseModel):
    items: list[TransferOut]
    next_cursor: str | None


@router.get("/organisations/{organisation_id}/holdings", response_model=Holdings,
            responses=documented(401, 403, 404), operation_id="organisation_holdings",
            summary="An organisation's credits per programme")  # fmt: skip
def organisation_holdings(organisation_id: OrganisationId, principal: CurrentPrincipal, request: Request) -> Any:
    """Held, frozen and available credits per programme (the serial blocks: `/programmes/{id}/blocks?holder=`)."""
    with context_of(request).engine.connect() as conn:
        return holdings.holdings(conn, principal, organisation_id)


@router.get("/retirement-accounts", response_model=RetirementAccounts, responses=documented(401),
            operation_id="retirement_accounts", summary="The Government's retirement accounts")  # fmt: skip
def retirement_accounts(_principal: CurrentPrincipal, request: Request) -> Any:
    """Credits retired into the Government's international, local and OMGE accounts, per programme."""
    with context_of(request).engine.connect() as conn:
        return holdings.retirement_accounts(conn)


@router.post("/transfers", status_code=201, response_model=TransferOut,
             responses=documented(401, 403, 404, 409, 428), operation_id="create_transfer",
             summary="Send credits, or request a transfer")  # fmt: skip
def create_transfer(
    body: TransferIn, principal: CurrentPrincipal, request: Request, waiter: IndexWaiterDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:  # fmt: skip
    """The sender's own Admin or Manager sends at once (`executed`); anyone else's request waits for the sender
    (`pending`). Requires an `Idempotency-Key`."""
    return transfers.create(programme_context(request, waiter), principal, body, idempotency_key)


@dataclass(frozen=True)
class TransferSelection:
    """Which transfers, in which order: the query parameters the list and its CSV export share."""

    filters: transfers.TransferFilters
    newest_first: bool


async def transfer_selection(
    programme_id: Annotated[int | None, Query(ge=1, le=2**40 - 1)] = None,
    organisation_id: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="Sender or receiver")] = None,
    state: Annotated[TransferState | None, Query()] = None,
    created_from: CreatedFrom = None, created_before: CreatedBefore = None,
    order: Annotated[Literal["asc", "desc"], Query()] = "desc",
) -> TransferSelection:  # fmt: skip
    """Declared once so `GET /transfers` and `GET /exports/transfers.csv` cannot drift apart."""
    filters = transfers.TransferFilters(programme_id=programme_id, organisation_id=organisation_id,
                                        state=state.value if state else None,
                                        created=(created_from, created_before))  # fmt: skip
    return TransferSelection(filters, newest_first=order == "desc")


TransferSelectionDep = Annotated[TransferSelection, Depends(transfer_selection)]


async def id_page(
    after: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> tuple[int | None, int]:  # fmt: skip
    """A page of the transfer or retirement list. A dependency only to come after the selection: FastAPI documents
    an endpoint's own parameters before its dependencies', and the lists keep their documented parameter order."""
    return after, limit


IdPage = Annotated[tuple[int | None, int], Depends(id_page)]


@router.get("/transfers", response_model=TransferPage, responses=documented(401),
            operation_id="list_transfers", summary="List transfers")  # fmt: skip
def list_transfers(principal: CurrentPrincipal, request: Request, selection: TransferSelectionDep,
                   page_parameters: IdPage) -> Any:  # fmt: skip
    """The transfers the caller may read (§4.2), newest first unless `order=asc`."""
    after, limit = page_parameters
    with context_of(request).engine.connect() as conn:
        return transfers.list_transfers(conn, principal, selection.filters, after=after, limit=limit,
                                        newest_first=selection.newest_first)  # fmt: skip


@router.get("/transfers/{transfer_id}", response_model=TransferOut, responses=documented(401, 404),
            operation_id="get_transfer", summary="Read a transfer")  # fmt: skip
def get_transfer(transfer_id: TransferId, principal: CurrentPrincipal, request: Request) -> Any:
    with context_of(request).engine.connect() as conn:
        return transfers.get_transfer(conn, principal, transfer_id)


@router.post("/transfers/{transfer_id}/approve", response_model=TransferOut,
             responses=documented(401, 403, 404, 409), operation_id="approve_transfer",
             summary="Approve a transfer request")  # fmt: skip
def approve_transfer(
    transfer_id: TransferId, body: Decision, principal: CurrentPrincipal, request: Request, waiter: IndexWaiterDep,
) -> Any:  # fmt: skip
    """The sender approves: the transfer executes now. Approving again completes it once (a safe retry)."""
    return transfers.approve(programme_context(request, waiter), principal, transfer_id, body)


@router.post("/transfers/{transfer_id}/reject", response_model=TransferOut,
             responses=documented(401, 403, 404, 409), operation_id="reject_transfer",
             summary="Reject a transfer request")  # fmt: skip
def reject_transfer(
    transfer_id: TransferId, body: Decision, principal: CurrentPrincipal, request: Request, waiter: IndexWaiterDep,
) -> Any:  # fmt: skip
    return transfers.reject(programme_context(request, waiter), principal, transfer_id, body)


@router.post("/transfers/{transfer_id}/cancel", response_model=TransferOut,
             responses=documented(401, 403, 404, 409), operation_id="cancel_transfer",
             summary="Cancel a transfer request")  # fmt: skip
def cancel_transfer(
    transfer_id: TransferId, body: Decision, principal: CurrentPrincipal, request: Request, waiter: IndexWaiterDep,
) -> Any:  # fmt: skip
    return transfers.cancel(programme_context(request, waiter), principal, transfer_id, body)


class CreditSettings(BaseModel):
    transfers_paused: bool = Field(description="While true, the contract refuses every transfer and retirement")
    government_account: int | None = Field(description="The organisation whose accounts receive retirements")
    omge_rate_bps: int = Field(description="Share of a cross-border retirement retired into the OMGE account, bps")


class TransferPause(BaseModel):
    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [{"paused": True}]}}

    paused: bool


@router.get("/settings/credits", response_model=CreditSettings, responses=documented(401),
            operation_id="credit_settings", summary="The registry's credit settings")  # fmt: skip
def read_credit_settings(_principal: CurrentPrincipal, request: Request) -> Any:
    context = context_of(request)
    with context.engine.connect() as conn:
        return credit_settings.read(conn, context.registry)


@router.put("/settings/credits/transfer-pause", response_model=CreditSettings, responses=documented(401, 403),
            operation_id="set_transfer_pause", summary="Pause or resume transfers and retirements")  # fmt: skip
def set_transfer_pause(body: TransferPause, principal: CurrentPrincipal, request: Request,
                       waiter: IndexWaiterDep) -> Any:  # fmt: skip
    """Root and Government Admins pause (or resume) every transfer and retirement registry-wide, on chain."""
    return credit_settings.set_transfer_pause(programme_context(request, waiter), principal, body.paused)


class OmgeRate(BaseModel):
    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [{"omge_bps": 100}]}}

    omge_bps: int = Field(ge=0, le=9999, description="Basis points: 100 is 1%")


@router.put("/settings/credits/omge-rate", response_model=CreditSettings, responses=documented(401, 403),
            operation_id="set_omge_rate", summary="Set the OMGE share of cross-border retirements")  # fmt: skip
def set_omge_rate(body: OmgeRate, principal: CurrentPrincipal, request: Request, waiter: IndexWaiterDep) -> Any:
    """Root and Government Admins set, on chain, the share of each cross-border retirement retired into the OMGE
    account (rounded down per retirement)."""
    return credit_settings.set_omge_rate(programme_context(request, waiter), principal, body.omge_bps)
