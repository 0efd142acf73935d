"""Reading programmes: one programme, the list (filters, sort, keyset pages), its serial blocks.

Credit-relevant fields come from the ``chain`` projections, the rest from ``app.programme_detail``; every query
applies :func:`node.programmes.permissions.visible_programmes`, so a caller never learns of a programme it may not
read (it gets 404, as for one that does not exist).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, exists, func, or_, select, tuple_
from sqlalchemy.sql.elements import KeyedColumnElement

from node.domain.serials import serial_number
from node.errors import InvalidInput, NotFound
from node.identity.permissions import Principal
from node.models.app import organisation, programme_detail
from node.models.chain import programme, programme_certifier, programme_owner, serial_block
from node.programmes.canonical import details_hash
from node.programmes.permissions import visible_programmes
from node.programmes.schemas import SectorName

_p = programme.c
_d = programme_detail.c
_b = serial_block.c
PPM = 1_000_000

STAGES = {"awaiting_authorization": "AwaitingAuthorization", "authorised": "Authorised", "rejected": "Rejected"}
"""Projection value -> the stage name the API shows (reference §2)."""
SECTORS = {name.name.lower(): name.value for name in SectorName}

SORTABLE: dict[str, KeyedColumnElement[Any]] = {
    "programme_id": _p.programme_id,
    "title": _d.title,
    "start_time": _p.start_time,
    "end_time": _p.end_time,
    "credit_estimate": _p.credit_estimate,
    "credit_issued": _p.credit_issued,
    "created_block": _p.created_block,
}
"""The columns the programme list sorts by (the API offers exactly these); ties break on the programme id."""


def programme_serial(row: Any) -> str | None:
    if row.serial_start is None:
        return None
    return str(serial_number(
        country=row.country, credit_unit=row.credit_unit, sectoral_scope=row.sectoral_scope,
        programme_id=row.programme_id, start_time=int(row.start_time.timestamp()), start=row.serial_start,
        end=row.serial_end,
    ))  # fmt: skip


def _base() -> Select[Any]:
    return select(programme, _d.title, _d.details, _d.revision).outerjoin(
        programme_detail, _d.programme_id == _p.programme_id
    )


def _owners(conn: Connection, ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    o = organisation.c
    rows = conn.execute(
        select(programme_owner, o.name, o.tax_id)
        .outerjoin(organisation, o.organisation_id == programme_owner.c.account_id)
        .where(programme_owner.c.programme_id.in_(ids)).order_by(programme_owner.c.programme_id,
                                                                   programme_owner.c.position)
    )  # fmt: skip
    owners: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        owners.setdefault(row.programme_id, []).append({
            "organisation_id": row.account_id, "name": row.name, "tax_id": row.tax_id,
            "share_ppm": row.share_ppm, "percentage": str(row.share_ppm * 100 / PPM),
        })  # fmt: skip
    return owners


def _certifiers(conn: Connection, ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    o, c = organisation.c, programme_certifier.c
    rows = conn.execute(
        select(programme_certifier, o.name).outerjoin(organisation, o.organisation_id == c.certifier_id)
        .where(c.programme_id.in_(ids)).order_by(c.programme_id, c.certifier_id)
    )  # fmt: skip
    result: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        result.setdefault(row.programme_id, []).append(
            {"organisation_id": row.certifier_id, "name": row.name, "certified": row.certified}
        )
    return result


def _shape(row: Any, owners: list[dict[str, Any]], certifiers: list[dict[str, Any]]) -> dict[str, Any]:
    details: dict[str, Any] = row.details or {}
    anchored = bytes(row.details_hash) if row.details_hash is not None else None
    stored = details_hash(details) if row.details is not None else None  # recomputed from what is shown
    return {
        "programme_id": row.programme_id,
        "serial_number": programme_serial(row),
        "title": row.title,
        "external_id": row.external_id,
        "stage": STAGES[row.stage],
        "sector": SECTORS[row.sector],
        "sectoral_scope": row.sectoral_scope,
        "type_of_mitigation": details.get("type_of_mitigation"),
        "country": row.country,
        "credit_unit": row.credit_unit,
        "start_time": row.start_time,
        "end_time": row.end_time,
        "credit_estimate": row.credit_estimate,
        "credit_issued": row.credit_issued,
        "credit_retired": row.credit_retired,
        "serial_start": row.serial_start,
        "serial_end": row.serial_end,
        "owners": owners,
        "certifiers": [c for c in certifiers if c["certified"]],
        "revoked_certifiers": [c for c in certifiers if not c["certified"]],
        "regions": list(row.regions),
        "details": details or None,
        "details_revision": row.revision,
        "details_hash": stored.hex() if stored else None,
        "anchored_details_hash": anchored.hex() if anchored else None,
        "details_verified": stored is not None and stored == anchored,
        "created_block": row.created_block,
        "authorised_block": row.authorised_block,
        "updated_block": row.updated_block,
    }


def shape_programmes(conn: Connection, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Rows of :func:`select_programmes` as the API shows them, with their owners and certifiers in two queries
    for the whole batch (not two per programme)."""
    ids = [row.programme_id for row in rows]
    owners, certifiers = _owners(conn, ids), _certifiers(conn, ids)
    return [_shape(row, owners.get(row.programme_id, []), certifiers.get(row.programme_id, [])) for row in rows]


def get_programme(conn: Connection, principal: Principal | None, programme_id: int) -> dict[str, Any]:
    """The programme as the API shows it; ``principal`` None reads without the visibility filter (services)."""
    query = _base().where(_p.programme_id == programme_id)
    if principal is not None:
        query = query.where(visible_programmes(principal))
    row = conn.execute(query).first()
    if row is None:
        raise NotFound("No programme {programme_id}.", params={"programme_id": programme_id})
    return shape_programmes(conn, [row])[0]


@dataclass(frozen=True)
class ProgrammeFilters:
    stage: str | None = None
    sector: str | None = None
    sectoral_scope: int | None = None
    owner: int | None = None
    certifier: int | None = None
    starts_from: datetime | None = None
    starts_before: datetime | None = None
    search: str | None = None


@dataclass(frozen=True)
class KeysetQuery:
    sort: str = "programme_id"
    order: str = "asc"
    limit: int = 20
    after: str | None = None


@dataclass(frozen=True)
class KeysetPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filters(filters: ProgrammeFilters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.stage:
        where.append(_p.stage == {shown: stored for stored, shown in STAGES.items()}[filters.stage])
    if filters.sector:
        where.append(_p.sector == SectorName(filters.sector).name.lower())
    if filters.sectoral_scope is not None:
        where.append(_p.sectoral_scope == filters.sectoral_scope)
    if filters.owner is not None:
        o = programme_owner.c
        where.append(exists(select(1).where(o.programme_id == _p.programme_id, o.account_id == filters.owner)))
    if filters.certifier is not None:
        c = programme_certifier.c
        where.append(exists(select(1).where(c.programme_id == _p.programme_id, c.certifier_id == filters.certifier,
                                            c.certified)))  # fmt: skip
    if filters.starts_from is not None:
        where.append(_p.start_time >= filters.starts_from)
    if filters.starts_before is not None:
        where.append(_p.start_time < filters.starts_before)
    if filters.search:
        pattern = f"%{_escape_like(filters.search.strip())}%"
        where.append(or_(_d.title.ilike(pattern, escape="\\"), _p.external_id.ilike(pattern, escape="\\")))
    return where


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        value, key = raw
        if type(key) is not int or not 0 <= key < 2**63:  # not a bool either (bool is an int subclass)
            raise ValueError
        if sort == "title":
            if not isinstance(value, str):
                raise ValueError
            value.encode()  # a lone surrogate cannot be sent to the database
        elif sort in ("start_time", "end_time"):
            value = datetime.fromisoformat(value)
            if value.tzinfo is None:
                raise ValueError
        elif type(value) is not int or not 0 <= value < 2**64:
            raise ValueError
    except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput("The page cursor is not one this list returned.", field="after") from exc
    return value, key


def _sort_value(sort: str) -> ColumnElement[Any]:
    """The sort key: a missing title sorts as the empty string, so the keyset cursor can always name a value."""
    column = SORTABLE[sort]
    return func.coalesce(column, "") if sort == "title" else column


def select_programmes(principal: Principal, filters: ProgrammeFilters, *, sort: str, order: str) -> Select[Any]:
    """Every programme ``principal`` may read that matches ``filters``, in the list's order (ties on the id).

    The one place the list and the CSV export (:mod:`node.exports`) get their rows from, so an export holds exactly
    the rows the caller's list pages would."""
    sort_value = _sort_value(sort)
    ordering = (sort_value.desc(), _p.programme_id.desc()) if order == "desc" else (sort_value, _p.programme_id)
    return _base().where(visible_programmes(principal), *_filters(filters)).order_by(*ordering)


def list_programmes(
    conn: Connection, principal: Principal, filters: ProgrammeFilters, query: KeysetQuery
) -> KeysetPage:
    """A keyset page: stable under inserts, and as fast on the thousandth page as on the first."""
    statement = select_programmes(principal, filters, sort=query.sort, order=query.order)
    if query.after:
        value, key = decode_cursor(query.after, query.sort)
        if query.sort == "title":
            value = value or ""
        position = tuple_(_sort_value(query.sort), _p.programme_id)
        statement = statement.where(position < (value, key) if query.order == "desc" else position > (value, key))
    rows = conn.execute(statement.limit(query.limit + 1)).all()
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    items = shape_programmes(conn, rows)
    cursor = None
    if more:
        last = items[-1]
        value = last["title"] or "" if query.sort == "title" else last[query.sort]
        cursor = encode_cursor([value.isoformat() if isinstance(value, datetime) else value, last["programme_id"]])
    return KeysetPage(items, cursor)


def list_blocks(
    conn: Connection, principal: Principal, programme_id: int, *, holder: int | None, state: str | None,
    after: int | None, limit: int,
) -> KeysetPage:  # fmt: skip
    """The programme's serial blocks in serial order, each with its own serial number, holder and state."""
    shown = get_programme(conn, principal, programme_id)  # 404 when not visible
    o = organisation.c
    where = [_b.programme_id == programme_id]
    if holder is not None:
        where.append(_b.holder == holder)
    if state is not None:
        where.append(_b.state == state)
    if after is not None:
        where.append(_b.block_start > after)
    rows = conn.execute(
        select(serial_block, o.name.label("holder_name")).outerjoin(organisation, o.organisation_id == _b.holder)
        .where(and_(*where)).order_by(_b.block_start).limit(limit + 1)
    ).all()  # fmt: skip
    more = len(rows) > limit
    rows = rows[:limit]
    start_time = int(shown["start_time"].timestamp())
    items = [{
        "serial_number": str(serial_number(
            country=shown["country"], credit_unit=shown["credit_unit"], sectoral_scope=shown["sectoral_scope"],
            programme_id=programme_id, start_time=start_time, start=row.block_start, end=row.block_end,
        )),
        "block_start": row.block_start, "block_end": row.block_end, "credits": row.block_end - row.block_start + 1,
        "holder": row.holder, "holder_name": row.holder_name, "state": row.state, "retirement_id": row.retirement_id,
        "updated_block": row.updated_block,
    } for row in rows]  # fmt: skip
    return KeysetPage(items, str(rows[-1].block_start) if more else None)
