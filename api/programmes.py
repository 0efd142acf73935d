"""``/programmes``: register, authorise, reject, issue, certify, revoke; read one, the list, blocks and history.

Thin: parse, call :mod:`node.programmes`, shape the answer. Every write takes an optional ``Idempotency-Key`` and
answers once its chain transaction is mined and indexed, so the next read shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Header, Path, Query, Request, UploadFile
from pydantic import BaseModel, Field

from api.auth.dependencies import CurrentPrincipal, context_of
from api.indexing import IndexWaiterDep, await_indexed
from api.problems import documented
from node.programmes import creation, lifecycle, materials
from node.programmes.changes import ProgrammeContext
from node.programmes.history import history
from node.programmes.materials import MaterialKind
from node.programmes.queries import SORTABLE, STAGES, KeysetQuery, ProgrammeFilters, list_blocks, list_programmes
from node.programmes.queries import get_programme as read_programme
from node.programmes.schemas import (
    Authorisation,
    Certification,
    Issuance,
    NewProgramme,
    Rejection,
    Revocation,
    SectorName,
)
from node.storage import make_storage

router = APIRouter(prefix="/programmes", tags=["programmes"])

ProgrammeId = Annotated[int, Path(ge=1, le=2**40 - 1, description="The programme's id on chain")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key", max_length=200,
        description="Makes the write safe to retry: the same key answers the first result and changes nothing; the "
        "same key with a different request is refused (422). Keys are per caller and per operation.",
    ),
]  # fmt: skip
Stage = StrEnum("Stage", {name: name for name in STAGES.values()})  # type: ignore[misc]
ProgrammeSort = StrEnum("ProgrammeSort", {name: name for name in SORTABLE})  # type: ignore[misc]
BLOCK_STATES = ("held", "retired_international", "retired_local", "retired_omge")
BlockState = StrEnum("BlockState", {name: name for name in BLOCK_STATES})  # type: ignore[misc]
AccountId = Annotated[int | None, Query(ge=1, le=2**40 - 1)]


class Owner(BaseModel):
    organisation_id: int
    name: str | None
    tax_id: str | None
    share_ppm: int = Field(description="Share of every issuance in parts per million")
    percentage: str


class CertifierOut(BaseModel):
    organisation_id: int
    name: str | None


class ProgrammeOut(BaseModel):
    programme_id: int
    serial_number: str | None = Field(description="Set at authorisation, e.g. NG-ITMO-1-001-2024-0-1-1000")
    title: str | None
    external_id: str
    stage: str = Field(description="AwaitingAuthorization | Authorised | Rejected")
    sector: str
    sectoral_scope: int
    type_of_mitigation: str | None
    country: str
    credit_unit: str
    start_time: datetime
    end_time: datetime
    credit_estimate: int
    credit_issued: int
    credit_retired: int
    serial_start: int | None
    serial_end: int | None
    owners: list[Owner]
    certifiers: list[CertifierOut]
    revoked_certifiers: list[CertifierOut]
    regions: list[str]
    details: dict[str, Any] | None = Field(
        description="The off-chain record; SHA-256 of its canonical JSON (sorted keys, no spaces, UTF-8) is "
        "details_hash"
    )
    details_revision: int | None
    details_hash: str | None = Field(description="SHA-256 of the stored details, hex")
    anchored_details_hash: str | None = Field(description="The hash recorded on chain (getProgramme().detailsHash)")
    details_verified: bool = Field(description="Whether the stored details hash to what the chain recorded")
    created_block: int
    authorised_block: int | None
    updated_block: int


class ProgrammePage(BaseModel):
    items: list[ProgrammeOut]
    next_cursor: str | None = Field(description="Pass as `after` for the next page; null on the last page")


class BlockOut(BaseModel):
    serial_number: str
    block_start: int
    block_end: int
    credits: int
    holder: int
    holder_name: str | None
    state: str
    retirement_id: int | None
    updated_block: int


class BlockPage(BaseModel):
    items: list[BlockOut]
    next_cursor: str | None


class Actor(BaseModel):
    user_id: int
    email: str
    organisation_id: int
    organisation_name: str | None
    via_api_key: bool | None


class HistoryEntry(BaseModel):
    event: str
    tx_hash: str
    log_index: int
    block_number: int
    block_time: datetime | None
    amount: int | None
    data: dict[str, Any] = Field(description="The event's arguments as decoded from the chain")
    actor: Actor | None = Field(description="Who asked for it; only for Government users and the actor's organisation")
    remarks: str | None


class HistoryPage(BaseModel):
    items: list[HistoryEntry]
    next_cursor: str | None


def programme_context(request: Request, waiter: IndexWaiterDep) -> ProgrammeContext:
    node = context_of(request)
    timeout = node.settings.index_wait_seconds

    def wait(block: int) -> None:
        await_indexed(waiter, block, timeout)

    return ProgrammeContext(node.engine, node.settings, node.registry, wait)


_WRITE_ERRORS = documented(401, 403, 404, 409)


@router.post("", status_code=201, response_model=ProgrammeOut, responses=_WRITE_ERRORS,
             operation_id="create_programme", summary="Register a programme")  # fmt: skip
def create_programme(
    body: NewProgramme, principal: CurrentPrincipal, request: Request, waiter: IndexWaiterDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:  # fmt: skip
    """Registers the programme on chain (stage AwaitingAuthorization) with the SHA-256 of its off-chain details.
    Without `credit_estimate` the calculator computes it from `calculator` with the latest constants."""
    return creation.create(programme_context(request, waiter), principal, body, idempotency_key)


@dataclass(frozen=True)
class ProgrammeSelection:
    """Which programmes, in which order: the query parameters the list and its CSV export share."""

    filters: ProgrammeFilters
    sort: str
    order: str


async def programme_selection(
    stage: Annotated[Stage | None, Query()] = None, sector: Annotated[SectorName | None, Query()] = None,
    sectoral_scope: Annotated[int | None, Query(ge=1, le=15)] = None, owner: AccountId = None,
    certifier: AccountId = None,
    starts_from: Annotated[datetime | None, Query(description="Programmes starting at or after")] = None,
    starts_before: Annotated[datetime | None, Query(description="Programmes starting before")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Search in title and external id")] = None,
    sort: Annotated[ProgrammeSort, Query()] = ProgrammeSort("programme_id"),
    order: Annotated[Literal["asc", "desc"], Query()] = "asc",
) -> ProgrammeSelection:  # fmt: skip
    """Declared once so `GET /programmes` and `GET /exports/programmes.csv` cannot drift apart."""
    filters = ProgrammeFilters(stage=stage.value if stage else None, sector=sector.value if sector else None,
                               sectoral_scope=sectoral_scope, owner=owner, certifier=certifier,
                               starts_from=starts_from, starts_before=starts_before, search=q)  # fmt: skip
    return ProgrammeSelection(filters, sort.value, order)


ProgrammeSelectionDep = Annotated[ProgrammeSelection, Depends(programme_selection)]


async def programme_page(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    after: Annotated[str | None, Query(max_length=500, description="`next_cursor` of the previous page")] = None,
) -> tuple[int, str | None]:  # fmt: skip
    """The list's page. A dependency only to come after the selection: FastAPI documents an endpoint's own
    parameters before its dependencies', and the list keeps its documented parameter order."""
    return limit, after


@router.get("", response_model=ProgrammePage, responses=documented(401, 403),
            operation_id="list_programmes", summary="List programmes")  # fmt: skip
def list_all(
    principal: CurrentPrincipal, request: Request, selection: ProgrammeSelectionDep,
    page_parameters: Annotated[tuple[int, str | None], Depends(programme_page)],
) -> Any:  # fmt: skip
    """The programmes the caller may read (reference §4.2), with their owners' and certifiers' names."""
    limit, after = page_parameters
    query = KeysetQuery(sort=selection.sort, order=selection.order, limit=limit, after=after)
    with context_of(request).engine.connect() as conn:
        page = list_programmes(conn, principal, selection.filters, query)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/{programme_id}", response_model=ProgrammeOut, responses=documented(401, 403, 404),
            operation_id="get_programme", summary="Read a programme")  # fmt: skip
def get_programme(programme_id: ProgrammeId, principal: CurrentPrincipal, request: Request) -> Any:
    with context_of(request).engine.connect() as conn:
        return read_programme(conn, principal, programme_id)


@router.post("/{programme_id}/authorise", response_model=ProgrammeOut, responses=_WRITE_ERRORS,
             operation_id="authorise_programme", summary="Authorise a programme")  # fmt: skip
def authorise(
    programme_id: ProgrammeId, body: Authorisation, principal: CurrentPrincipal, request: Request,
    waiter: IndexWaiterDep, idempotency_key: IdempotencyKey = None,
) -> Any:  # fmt: skip
    """Allocates the programme's serial range (its serial number appears) and optionally issues credits at once."""
    return lifecycle.authorise(programme_context(request, waiter), principal, programme_id, body, idempotency_key)


@router.post("/{programme_id}/reject", response_model=ProgrammeOut, responses=_WRITE_ERRORS,
             operation_id="reject_programme", summary="Reject a programme")  # fmt: skip
def reject(
    programme_id: ProgrammeId, body: Rejection, principal: CurrentPrincipal, request: Request,
    waiter: IndexWaiterDep, idempotency_key: IdempotencyKey = None,
) -> Any:  # fmt: skip
    """Rejects a programme awaiting authorisation, with the reason sent to its proponents. Terminal."""
    return lifecycle.reject(programme_context(request, waiter), principal, programme_id, body, idempotency_key)


@router.post("/{programme_id}/issue", response_model=ProgrammeOut, responses=documented(401, 403, 404, 409, 428),
             operation_id="issue_credits", summary="Issue credits")  # fmt: skip
def issue(
    programme_id: ProgrammeId, body: Issuance, principal: CurrentPrincipal, request: Request,
    waiter: IndexWaiterDep, idempotency_key: IdempotencyKey = None,
) -> Any:  # fmt: skip
    """Issues credits of an authorised programme up to its estimate, split among the owners by their shares.
    Requires an `Idempotency-Key` (428 without): a retried issuance must never issue twice."""
    return lifecycle.issue(programme_context(request, waiter), principal, programme_id, body, idempotency_key)


@router.post("/{programme_id}/certify", response_model=ProgrammeOut, responses=_WRITE_ERRORS,
             operation_id="certify_programme", summary="Certify a programme")  # fmt: skip
def certify(
    programme_id: ProgrammeId, body: Certification, principal: CurrentPrincipal, request: Request,
    waiter: IndexWaiterDep, idempotency_key: IdempotencyKey = None,
) -> Any:  # fmt: skip
    """The caller's certifier organisation certifies the programme."""
    return lifecycle.certify(programme_context(request, waiter), principal, programme_id, body, idempotency_key)


@router.post("/{programme_id}/revoke", response_model=ProgrammeOut, responses=_WRITE_ERRORS,
             operation_id="revoke_certification", summary="Revoke a certification")  # fmt: skip
def revoke(
    programme_id: ProgrammeId, body: Revocation, principal: CurrentPrincipal, request: Request,
    waiter: IndexWaiterDep, idempotency_key: IdempotencyKey = None,
) -> Any:  # fmt: skip
    """A certifier revokes its own certification; the Government revokes the one it names."""
    return lifecycle.revoke(programme_context(request, waiter), principal, programme_id, body, idempotency_key)


@router.get("/{programme_id}/blocks", response_model=BlockPage, responses=documented(401, 403, 404),
            operation_id="list_programme_blocks", summary="List a programme's serial blocks")  # fmt: skip
def blocks(
    programme_id: ProgrammeId, principal: CurrentPrincipal, request: Request, holder: AccountId = None,
    state: Annotated[BlockState | None, Query()] = None,
    after: Annotated[int | None, Query(ge=0, le=2**64 - 1, description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:  # fmt: skip
    """Blocks in serial order, each with its own serial number, holder and state."""
    with context_of(request).engine.connect() as conn:
        page = list_blocks(conn, principal, programme_id, holder=holder, state=state.value if state else None,
                           after=after, limit=limit)  # fmt: skip
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/{programme_id}/history", response_model=HistoryPage, responses=documented(401, 403, 404),
            operation_id="programme_history", summary="A programme's on-chain history")  # fmt: skip
def programme_history(
    programme_id: ProgrammeId, principal: CurrentPrincipal, request: Request,
    after: Annotated[str | None, Query(max_length=40, description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:  # fmt: skip
    """Every event of the programme in chain order, with transaction hash, block, time and amounts."""
    with context_of(request).engine.connect() as conn:
        return history(conn, principal, programme_id, after=after, limit=limit)


@router.post("/{programme_id}/materials", status_code=201, response_model=ProgrammeOut,
             responses=documented(401, 403, 404, 409, 413, 415), operation_id="add_programme_material",
             summary="Add a material")  # fmt: skip
def add_material(
    programme_id: ProgrammeId, principal: CurrentPrincipal, request: Request, waiter: IndexWaiterDep,
    file: Annotated[UploadFile, File(description="PDF, DOCX, PPTX, XLSX, CSV, PNG or JPEG")],
    kind: Annotated[MaterialKind, Form()],
    title: Annotated[str, Form(min_length=1, max_length=200)],
    idempotency_key: IdempotencyKey = None,
) -> Any:  # fmt: skip
    """Stores the file, lists it (with its SHA-256) in the programme's details, and anchors the details' new hash on
    chain, so anyone can prove later that a document is the one registered."""
    context = programme_context(request, waiter)
    content = file.file.read(context.settings.max_upload_bytes + 1)
    return materials.add_material(
        context, make_storage(context.settings), principal, programme_id, kind=kind, title=title.strip(),
        file_name=(file.filename or "material")[:200], content=content, key=idempotency_key,
    )  # fmt: skip
