"""Bulk import of organisations and users from the seed's CSV files (reference §12.1), with a dry run.

``organisations.csv``: NAME, EMAIL, PHONE, TAX ID, TYPE (Developer | Certifier | API), optional ADDRESS.
``users.csv``: NAME, EMAIL, PHONE, ORGANISATION TAX ID, ORGANISATION TYPE (Government | Developer | Certifier |
API), ROLE (Admin | Manager | View). Deliberate difference from the seed: the Password and APIKey columns are
ignored (a clear-text password in a file is the seed's mistake); every user gets a set-password email, and API
keys are issued through the API, shown once.

Each row runs in its own savepoint and gets a result; rows that already exist are skipped, so the import can be
re-run. A dry run does everything in one transaction and rolls it back: the same checks, nothing written, no
email sent.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pycountry
from pydantic import ValidationError
from sqlalchemy import Connection, Engine, exists, select

from node.config import Settings
from node.errors import RegistryError
from node.identity import audit
from node.identity.organisations import insert_organisation
from node.identity.permissions import GOVERNMENT
from node.identity.schemas import OrganisationIn, UserIn, normalise_email
from node.identity.users import insert_user
from node.models.app import organisation, user_account

Status = Literal["created", "exists", "error"]
ORGANISATION_TYPES = {"developer": "ProgrammeDeveloper", "programmedeveloper": "ProgrammeDeveloper",
                      "certifier": "Certifier", "api": "API", "government": GOVERNMENT}  # fmt: skip
USER_ROLES = {"admin": "Admin", "manager": "Manager", "view": "ViewOnly", "viewonly": "ViewOnly"}


@dataclass(frozen=True)
class RowResult:
    file: str
    line: int
    status: Status
    detail: str


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return [
            {(k or "").strip().upper(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)
        ]


def _explain(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'row'}: {e['msg']}" for e in exc.errors())
    if isinstance(exc, RegistryError):
        return exc.detail
    return str(exc)


def _organisation_row(conn: Connection, settings: Settings, row: dict[str, str]) -> tuple[Status, str]:
    kind = ORGANISATION_TYPES.get(row.get("TYPE", "").lower())
    if kind is None or kind == GOVERNMENT:
        return "error", f"TYPE must be Developer, Certifier or API, not {row.get('TYPE')!r}"
    tax_id = row.get("TAX ID") or None
    if tax_id and conn.execute(select(exists().where(organisation.c.tax_id == tax_id))).scalar():
        return "exists", f"organisation with tax id {tax_id} already registered"
    country = pycountry.countries.get(alpha_2=settings.registry_country)
    address = row.get("ADDRESS") or (country.name if country else settings.registry_country)
    org = OrganisationIn(name=row.get("NAME", ""), role=kind, tax_id=tax_id, email=row.get("EMAIL") or None,
                         phone=row.get("PHONE") or None, address=address)  # fmt: skip
    organisation_id = insert_organisation(conn, settings, org)
    audit.record(conn, None, "organisation.import", organisation_id=organisation_id, target_id=organisation_id,
                 name=org.name, role=org.role)  # fmt: skip
    return "created", f"organisation {organisation_id} ({org.name})"


def _user_row(conn: Connection, settings: Settings, row: dict[str, str]) -> tuple[Status, str]:
    email = normalise_email(row.get("EMAIL", ""))
    if conn.execute(select(exists().where(user_account.c.email == email))).scalar():
        return "exists", f"user {email} already registered"
    kind = ORGANISATION_TYPES.get(row.get("ORGANISATION TYPE", "").lower())
    role = USER_ROLES.get(row.get("ROLE", "").lower())
    if kind is None or role is None:
        return (
            "error",
            "ORGANISATION TYPE must be Government, Developer, Certifier or API and ROLE Admin, Manager or View",
        )
    query = select(organisation.c.organisation_id, organisation.c.name, organisation.c.role)
    if kind == GOVERNMENT:
        query = query.where(organisation.c.role == GOVERNMENT)
    else:
        query = query.where(organisation.c.tax_id == row.get("ORGANISATION TAX ID", ""), organisation.c.role == kind)
    org = conn.execute(query).first()
    if org is None:
        return "error", f"no {kind} organisation with tax id {row.get('ORGANISATION TAX ID')!r}"
    user = UserIn(email=email, name=row.get("NAME", ""), role=role, phone=row.get("PHONE") or None)
    user_id = insert_user(conn, settings, org.organisation_id, org.name, user)
    audit.record(conn, None, "user.import", organisation_id=org.organisation_id, target_id=user_id, email=email,
                 role=role)  # fmt: skip
    note = " (Password column ignored: a set-password link is emailed)" if row.get("PASSWORD") else ""
    return "created", f"user {user_id} ({email}, {role} of {org.name}){note}"


def _rows(
    conn: Connection, settings: Settings, path: Path, handle: Callable[[Connection, Settings, dict[str, str]], Any],
    advance: Callable[[], None],
) -> Iterable[RowResult]:  # fmt: skip
    for line, row in enumerate(_read(path), start=2):
        try:
            with conn.begin_nested():
                status, detail = handle(conn, settings, row)
        except (ValidationError, RegistryError, ValueError) as exc:
            status, detail = "error", _explain(exc)
        advance()
        yield RowResult(path.name, line, status, detail)


def count_rows(*paths: Path | None) -> int:
    return sum(len(_read(path)) for path in paths if path is not None)


def run_import(
    engine: Engine, settings: Settings, *, organisations: Path | None = None, users: Path | None = None,
    dry_run: bool = False, advance: Callable[[], None] = lambda: None,
) -> list[RowResult]:  # fmt: skip
    """Organisations first (users refer to them by tax id), then users."""
    results: list[RowResult] = []
    with engine.connect() as conn:
        transaction = conn.begin()
        if organisations is not None:
            results += _rows(conn, settings, organisations, _organisation_row, advance)
        if users is not None:
            results += _rows(conn, settings, users, _user_row, advance)
        if dry_run:
            transaction.rollback()
        else:
            transaction.commit()
    return results
