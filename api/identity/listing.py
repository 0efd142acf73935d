"""Query parameters shared by every list endpoint, and the page they return.

(No ``from __future__ import annotations`` here: FastAPI reads the dependency's annotations at runtime, and the
``sort`` enum of each list is a local of :func:`list_params`.)
"""

from collections.abc import Awaitable, Callable, Iterable
from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Query
from pydantic import BaseModel

from node.identity.listing import MAX_PAGE_SIZE, ListQuery, Page

Item = TypeVar("Item", bound=BaseModel)

MAX_PAGE = 1_000_000
"""Far beyond any registry's data (100 million rows at the largest page size), and keeps the offset a bigint."""


def list_query_for(name: str, sortable: Iterable[str]) -> Callable[..., Awaitable[ListQuery]]:
    """The ``ListQuery`` dependency of one list endpoint (use as ``Annotated[ListQuery, Depends(...)]``); ``sort``
    is an enum of exactly the columns it sorts by, so the OpenAPI document offers only values it accepts."""
    sort_key: Any = StrEnum(f"{name}Sort", {key: key for key in sortable})  # type: ignore[misc]

    async def list_query(
        page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="1-based page number")] = 1,
        size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
        sort: Annotated[sort_key | None, Query(description="Column to sort by")] = None,
        order: Annotated[Literal["asc", "desc"], Query()] = "asc",
        q: Annotated[str | None, Query(max_length=200, description="Case-insensitive search")] = None,
    ) -> ListQuery:
        return ListQuery(page=page, size=size, sort=sort.value if sort else None, order=order, search=q)

    return list_query


class PageOut(BaseModel, Generic[Item]):
    items: list[Item]
    total: int
    page: int
    size: int

    @classmethod
    def of(cls, page: Page, item: type[Item]) -> Any:
        return cls(items=[item.model_validate(row) for row in page.items], total=page.total, page=page.page,
                   size=page.size)  # fmt: skip
