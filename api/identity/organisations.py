"""``/organisations``: list, profile, creation with the first Admin, update, logo, suspend and activate."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from pydantic import BaseModel, Field

from api.auth.dependencies import CurrentPrincipal, context_of
from api.identity.listing import PageOut, list_query_for
from api.identity.params import CountryFilter, OrganisationId
from api.problems import documented
from node.errors import InvalidInput
from node.identity import csv_import, organisations, suspension
from node.identity.listing import ListQuery
from node.identity.permissions import authorize_import
from node.identity.schemas import AnyOrganisationRole, NewOrganisation, OrganisationState, OrganisationUpdate
from node.storage import make_storage

router = APIRouter(prefix="/organisations", tags=["organisations"])
list_query = list_query_for("Organisation", organisations.SORTABLE)


class OrganisationOut(BaseModel):
    organisation_id: int = Field(description="Also the organisation's account on the chain")
    name: str
    role: str
    state: str
    country: str
    tax_id: str | None
    email: str | None
    phone: str | None
    website: str | None
    address: str | None
    logo_url: str | None
    remarks: str | None
    created_at: datetime
    updated_at: datetime


class Created(BaseModel):
    organisation: OrganisationOut
    admin_user_id: int


class Remarks(BaseModel):
    remarks: str = Field(min_length=1, max_length=1000)


class OptionalRemarks(BaseModel):
    remarks: str | None = Field(default=None, max_length=1000)


class Suspended(BaseModel):
    organisation: OrganisationOut
    revoked_certifications: list[int] = Field(description="Programmes this certifier no longer certifies")


class ImportRow(BaseModel):
    file: str = Field(description="organisations.csv or users.csv")
    line: int = Field(description="The row's line in its file (the header is line 1)")
    status: Literal["created", "exists", "error"] = Field(description="`exists`: skipped, already registered")
    detail: str


class ImportResults(BaseModel):
    dry_run: bool = Field(description="True: every row was checked and nothing was written or emailed")
    created: int
    exists: int
    errors: int
    rows: list[ImportRow]


@router.get("", response_model=PageOut[OrganisationOut], responses=documented(401, 403, 404))
def list_organisations(
    _principal: CurrentPrincipal, request: Request, params: Annotated[ListQuery, Depends(list_query)],
    role: Annotated[AnyOrganisationRole | None, Query()] = None,
    state: Annotated[OrganisationState | None, Query()] = None, country: CountryFilter = None,
) -> PageOut[OrganisationOut]:  # fmt: skip
    with context_of(request).engine.connect() as conn:
        page = organisations.list_organisations(conn, params, role=role, state=state, country=country)
    return PageOut[OrganisationOut].of(page, OrganisationOut)  # type: ignore[no-any-return]


@router.post("", status_code=201, response_model=Created, responses=documented(401, 403, 404, 409))
def create_organisation(body: NewOrganisation, principal: CurrentPrincipal, request: Request) -> Created:
    """Creates the organisation and its first Admin, who is emailed a link to set a password."""
    context = context_of(request)
    with context.engine.begin() as conn:
        organisation_id, admin = organisations.create_organisation(conn, context.settings, principal, body)
        created = organisations.get_organisation(conn, organisation_id)
    return Created(organisation=OrganisationOut.model_validate(created), admin_user_id=admin)


@router.post("/import", response_model=ImportResults, responses=documented(401, 403, 413, 415, 422))
def import_csv(
    principal: CurrentPrincipal, request: Request,
    organisations_file: Annotated[UploadFile | None, File(description="The seed's organisations.csv")] = None,
    users_file: Annotated[UploadFile | None, File(description="The seed's users.csv")] = None,
    dry_run: Annotated[bool, Form(description="Check every row and report; write nothing")] = False,
) -> ImportResults:  # fmt: skip
    """Bulk import of organisations and users from the seed's CSV files (reference §12.1), as `registry import` does
    on the node: organisations first, each row in its own savepoint with its result, rows already registered are
    skipped (so a retry or a re-run imports nothing twice). Root and Government Admins only; the audit trail names
    the caller. The Password and APIKey columns are ignored: every new user gets a set-password email."""
    authorize_import(principal)
    context = context_of(request)
    limit = context.settings.max_upload_bytes
    files = {name: csv_import.uploaded(name, upload.file.read(limit + 1), limit) if upload else None
             for name, upload in (("organisations.csv", organisations_file), ("users.csv", users_file))}  # fmt: skip
    if not any(files.values()):
        raise InvalidInput("Give organisations_file, users_file or both, each a CSV file with its header row.")
    results = csv_import.run_import(context.engine, context.settings, organisations=files["organisations.csv"],
                                    users=files["users.csv"], dry_run=dry_run, actor=principal)  # fmt: skip
    count = {status: sum(r.status == status for r in results) for status in ("created", "exists", "error")}
    rows = [ImportRow(file=r.file, line=r.line, status=r.status, detail=r.detail) for r in results]
    return ImportResults(dry_run=dry_run, created=count["created"], exists=count["exists"], errors=count["error"],
                         rows=rows)  # fmt: skip


@router.get("/{organisation_id}", response_model=OrganisationOut, responses=documented(401, 403, 404))
def get_organisation(
    organisation_id: OrganisationId, _principal: CurrentPrincipal, request: Request
) -> OrganisationOut:
    with context_of(request).engine.connect() as conn:
        return OrganisationOut.model_validate(organisations.get_organisation(conn, organisation_id))


@router.patch("/{organisation_id}", response_model=OrganisationOut, responses=documented(401, 403, 404, 409))
def update_organisation(
    organisation_id: OrganisationId, body: OrganisationUpdate, principal: CurrentPrincipal, request: Request
) -> OrganisationOut:
    with context_of(request).engine.begin() as conn:
        organisations.update_organisation(conn, principal, organisation_id, body)
        return OrganisationOut.model_validate(organisations.get_organisation(conn, organisation_id))


@router.put("/{organisation_id}/logo", response_model=OrganisationOut,
            responses=documented(401, 403, 404, 413, 415))  # fmt: skip
def upload_logo(
    organisation_id: OrganisationId, principal: CurrentPrincipal, request: Request,
    file: Annotated[UploadFile, File(description="PNG or JPEG, at most 1 MiB")],
) -> OrganisationOut:  # fmt: skip
    context = context_of(request)
    content = file.file.read(organisations.MAX_LOGO_BYTES + 1)
    with context.engine.begin() as conn:
        organisations.store_logo(conn, make_storage(context.settings), principal, organisation_id, content)
        return OrganisationOut.model_validate(organisations.get_organisation(conn, organisation_id))


@router.post("/{organisation_id}/suspend", response_model=Suspended,
             responses=documented(401, 403, 404, 409))  # fmt: skip
def suspend(organisation_id: OrganisationId, body: Remarks, principal: CurrentPrincipal, request: Request) -> Suspended:
    """Freezes the organisation's chain account, revokes a certifier's certifications, makes its users read-only.

    A suspension or activation of this organisation left unfinished by an earlier failure is completed first.
    """
    context = context_of(request)
    revoked = suspension.suspend(context.engine, context.settings, context.registry, principal, organisation_id,
                                 body.remarks)  # fmt: skip
    with context.engine.connect() as conn:
        row = organisations.get_organisation(conn, organisation_id)
    return Suspended(organisation=OrganisationOut.model_validate(row), revoked_certifications=revoked)


@router.post("/{organisation_id}/activate", response_model=OrganisationOut,
             responses=documented(401, 403, 404, 409))  # fmt: skip
def activate(
    organisation_id: OrganisationId, principal: CurrentPrincipal, request: Request, body: OptionalRemarks | None = None
) -> OrganisationOut:
    """Unfreezes the organisation's chain account; revoked certifications stay revoked."""
    context = context_of(request)
    remarks = body.remarks if body else None
    suspension.activate(context.engine, context.settings, context.registry, principal, organisation_id, remarks)
    with context.engine.connect() as conn:
        return OrganisationOut.model_validate(organisations.get_organisation(conn, organisation_id))
