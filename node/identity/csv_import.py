"""Bulk import of organisations and users from the seed's CSV files (reference §12.1), with a dry run.

``organisations.csv``: NAME, EMAIL, PHONE, TAX ID, TYPE (Developer | Certifier | API), optional ADDRESS.
``users.csv``: NAME, EMAIL, PHONE, ORGANISATION TAX ID, ORGANISATION TYPE (Government | Developer | Certifier |
API), ROLE (Admin | Manager | View). Deliberate difference from the seed: the Password and APIKey columns are
ignored (a clear-text password in a file is the seed's mistake); every user gets a set-password email, and API
keys are issued through the API, shown once.

Each row runs in its own savepoint and gets a result; rows that already exist are skipped, so the import can be
re-run. A dry run does everything in one transaction and rolls it back: the same checks, nothing written, no
email sent.

A row's outcome is a constant English template plus values (``ROW_MESSAGES``, or the refusing error's own), like
the node's errors (ADR 0019): the command line prints it filled in, the web UI shows it in the reader's language.
The files come from disk (the ``registry import`` command) or from an upload (``POST /organisations/import`` and
the web page), checked by ``uploaded`` before anything is read.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pycountry
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy import Connection, Engine, exists, select

from node.config import Settings
from node.errors import InvalidInput, PayloadTooLarge, RegistryError, UnsupportedMediaType
from node.identity import audit
from node.identity.organisations import insert_organisation
from node.identity.permissions import GOVERNMENT, Principal
from node.identity.schemas import OrganisationIn, UserIn, normalise_email
from node.identity.users import insert_user
from node.models.app import organisation, user_account

Status = Literal["created", "exists", "error"]
ORGANISATION_TYPES = {"developer": "ProgrammeDeveloper", "programmedeveloper": "ProgrammeDeveloper",
                      "certifier": "Certifier", "api": "API", "government": GOVERNMENT}  # fmt: skip
USER_ROLES = {"admin": "Admin", "manager": "Manager", "view": "ViewOnly", "viewonly": "ViewOnly"}

ORGANISATION_CREATED = "organisation {organisation_id} ({name})"
ORGANISATION_EXISTS = "organisation with tax id {tax_id} already registered"
ORGANISATION_TYPE_WRONG = "TYPE must be Developer, Certifier or API, not {value}"
USER_CREATED = "user {user_id} ({email}, {role} of {organisation})"
USER_CREATED_PASSWORD_IGNORED = (
    "user {user_id} ({email}, {role} of {organisation}) (Password column ignored: a set-password link is emailed)"
)
USER_EXISTS = "user {email} already registered"
USER_TYPE_OR_ROLE_WRONG = (
    "ORGANISATION TYPE must be Government, Developer, Certifier or API and ROLE Admin, Manager or View"
)
NO_SUCH_ORGANISATION = "no {kind} organisation with tax id {tax_id}"
ROW_INVALID = "{problems}"
ROW_MESSAGES = (ORGANISATION_CREATED, ORGANISATION_EXISTS, ORGANISATION_TYPE_WRONG, USER_CREATED,
                USER_CREATED_PASSWORD_IGNORED, USER_EXISTS, USER_TYPE_OR_ROLE_WRONG, NO_SUCH_ORGANISATION)  # fmt: skip
"""Every outcome a row can have besides a refusal's own message (``tests/web/test_catalogs.py`` checks they are
translated)."""


@dataclass(frozen=True)
class CsvFile:
    """A CSV file's name (the results name it) and its rows, keyed by upper-case column name."""

    name: str
    rows: list[dict[str, str]]


@dataclass(frozen=True)
class RowResult:
    file: str
    line: int
    status: Status
    message: str
    params: Mapping[str, Any] = field(default_factory=dict)
    problems: tuple[ErrorDetails, ...] = ()
    """pydantic's errors when the row failed validation (the web UI words each in the reader's language)."""

    @property
    def detail(self) -> str:
        """The outcome in English, filled in (the command line and the API)."""
        return self.message.format(**self.params) if self.params else self.message


Outcome = tuple[Status, str, dict[str, Any]]


def _parsed(name: str, text: str) -> CsvFile:
    return CsvFile(name, [{(k or "").strip().upper(): (v or "").strip() for k, v in row.items()}
                          for row in csv.DictReader(io.StringIO(text, newline=""))])  # fmt: skip


def read_file(path: Path) -> CsvFile:
    """A CSV file on disk (UTF-8, with or without a byte-order mark)."""
    return _parsed(path.name, path.read_text(encoding="utf-8-sig"))


def uploaded(name: str, content: bytes, limit: int) -> CsvFile | None:
    """An uploaded file (read up to ``limit`` + 1 bytes) checked before any row is read: at most ``limit`` bytes of
    UTF-8 text that CSV can parse. None when the upload is empty (nothing chosen)."""
    if not content:
        return None
    if len(content) > limit:
        raise PayloadTooLarge("A CSV file may be at most {limit} MiB.", params={"limit": limit // 2**20}, field=name)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnsupportedMediaType("A CSV file must be UTF-8 text.", field=name) from exc
    if "\x00" in text:
        raise UnsupportedMediaType("A CSV file cannot contain NUL characters.", field=name)
    try:
        return _parsed(name, text)
    except csv.Error as exc:
        raise InvalidInput("The file could not be read as CSV.", field=name) from exc


def _failed(exc: Exception) -> tuple[str, dict[str, Any], tuple[ErrorDetails, ...]]:
    if isinstance(exc, ValidationError):
        problems = tuple(exc.errors(include_url=False, include_input=False))
        english = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'row'}: {e['msg']}" for e in problems)
        return ROW_INVALID, {"problems": english}, problems
    if isinstance(exc, RegistryError):
        return exc.message, exc.params, ()
    return str(exc), {}, ()  # a validator's constant ValueError (an email address's)


def _organisation_row(conn: Connection, settings: Settings, actor: Principal | None, row: dict[str, str]) -> Outcome:
    kind = ORGANISATION_TYPES.get(row.get("TYPE", "").lower())
    if kind is None or kind == GOVERNMENT:
        return "error", ORGANISATION_TYPE_WRONG, {"value": repr(row.get("TYPE"))}
    tax_id = row.get("TAX ID") or None
    if tax_id and conn.execute(select(exists().where(organisation.c.tax_id == tax_id))).scalar():
        return "exists", ORGANISATION_EXISTS, {"tax_id": tax_id}
    country = pycountry.countries.get(alpha_2=settings.registry_country)
    address = row.get("ADDRESS") or (country.name if country else settings.registry_country)
    org = OrganisationIn(name=row.get("NAME", ""), role=kind, tax_id=tax_id, email=row.get("EMAIL") or None,
                         phone=row.get("PHONE") or None, address=address)  # fmt: skip
    organisation_id = insert_organisation(conn, settings, org)
    audit.record(conn, actor, "organisation.import", organisation_id=organisation_id, target_id=organisation_id,
                 name=org.name, role=org.role)  # fmt: skip
    return "created", ORGANISATION_CREATED, {"organisation_id": organisation_id, "name": org.name}


def _user_row(conn: Connection, settings: Settings, actor: Principal | None, row: dict[str, str]) -> Outcome:
    email = normalise_email(row.get("EMAIL", ""))
    if conn.execute(select(exists().where(user_account.c.email == email))).scalar():
        return "exists", USER_EXISTS, {"email": email}
    kind = ORGANISATION_TYPES.get(row.get("ORGANISATION TYPE", "").lower())
    role = USER_ROLES.get(row.get("ROLE", "").lower())
    if kind is None or role is None:
        return "error", USER_TYPE_OR_ROLE_WRONG, {}
    query = select(organisation.c.organisation_id, organisation.c.name, organisation.c.role)
    if kind == GOVERNMENT:
        query = query.where(organisation.c.role == GOVERNMENT)
    else:
        query = query.where(organisation.c.tax_id == row.get("ORGANISATION TAX ID", ""), organisation.c.role == kind)
    org = conn.execute(query).first()
    if org is None:
        return "error", NO_SUCH_ORGANISATION, {"kind": kind, "tax_id": repr(row.get("ORGANISATION TAX ID"))}
    user = UserIn(email=email, name=row.get("NAME", ""), role=role, phone=row.get("PHONE") or None)
    user_id = insert_user(conn, settings, org.organisation_id, org.name, user)
    audit.record(conn, actor, "user.import", organisation_id=org.organisation_id, target_id=user_id, email=email,
                 role=role)  # fmt: skip
    message = USER_CREATED_PASSWORD_IGNORED if row.get("PASSWORD") else USER_CREATED
    return "created", message, {"user_id": user_id, "email": email, "role": role, "organisation": org.name}


def _rows(
    conn: Connection, settings: Settings, actor: Principal | None, source: CsvFile,
    handle: Callable[[Connection, Settings, Principal | None, dict[str, str]], Outcome], advance: Callable[[], None],
) -> Iterable[RowResult]:  # fmt: skip
    for line, row in enumerate(source.rows, start=2):
        problems: tuple[ErrorDetails, ...] = ()
        try:
            with conn.begin_nested():
                status, message, params = handle(conn, settings, actor, row)
        except (ValidationError, RegistryError, ValueError) as exc:
            status = "error"
            message, params, problems = _failed(exc)
        advance()
        yield RowResult(source.name, line, status, message, params, problems)


def _source(file: Path | CsvFile | None) -> CsvFile | None:
    return read_file(file) if isinstance(file, Path) else file


def count_rows(*files: Path | CsvFile | None) -> int:
    return sum(len(source.rows) for source in map(_source, files) if source is not None)


def run_import(
    engine: Engine, settings: Settings, *, organisations: Path | CsvFile | None = None,
    users: Path | CsvFile | None = None, dry_run: bool = False, actor: Principal | None = None,
    advance: Callable[[], None] = lambda: None,
) -> list[RowResult]:  # fmt: skip
    """Organisations first (users refer to them by tax id), then users. ``actor`` is who imports, for the audit
    trail (None: the operator at the command line)."""
    results: list[RowResult] = []
    with engine.connect() as conn:
        transaction = conn.begin()
        if (organisation_file := _source(organisations)) is not None:
            results += _rows(conn, settings, actor, organisation_file, _organisation_row, advance)
        if (user_file := _source(users)) is not None:
            results += _rows(conn, settings, actor, user_file, _user_row, advance)
        if dry_run:
            transaction.rollback()
        else:
            transaction.commit()
    return results
