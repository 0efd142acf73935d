"""Filter, search, sort and paginate a table query: one implementation for every list endpoint.

Sorting always ends with the primary key, so pages are stable while rows share a sort value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Column, ColumnElement, Connection, Select, func, or_, select

from node.errors import InvalidInput

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class ListQuery:
    page: int = 1
    size: int = 20
    sort: str | None = None
    order: Literal["asc", "desc"] = "asc"
    search: str | None = None


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    page: int
    size: int


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def fetch_page(
    conn: Connection,
    base: Select[Any],
    query: ListQuery,
    *,
    sortable: Mapping[str, Column[Any]],
    searchable: Sequence[Column[Any]],
    key: Column[Any],
    where: Sequence[ColumnElement[bool]] = (),
) -> Page:
    """Runs ``base`` with the row filters in ``where``, the search term, the sort and the page window."""
    if query.sort is not None and query.sort not in sortable:
        raise InvalidInput("Cannot sort by {sort}; choose one of {choices}.",
                           params={"sort": repr(query.sort), "choices": ", ".join(sorted(sortable))})  # fmt: skip
    statement = base.where(*where)
    if query.search:
        pattern = f"%{_escape_like(query.search.strip())}%"
        statement = statement.where(or_(*(column.ilike(pattern, escape="\\") for column in searchable)))
    total = conn.execute(select(func.count()).select_from(statement.order_by(None).subquery())).scalar_one()
    column = sortable[query.sort] if query.sort else key
    ordering = column.desc().nulls_last() if query.order == "desc" else column.asc().nulls_last()
    rows = conn.execute(
        statement.order_by(ordering, key).limit(query.size).offset(query.size * (query.page - 1))
    ).mappings()
    return Page([dict(row) for row in rows], int(total), query.page, query.size)
