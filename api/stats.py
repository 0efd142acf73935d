"""Analytics (reference §10.7, §11): the dashboard's statistics, and the registry's public figures.

Thin: parse, call :mod:`node.stats`, shape the answer. ``POST /stats`` answers several statistics in one round trip
(the dashboard's) and ``GET /stats/{type}`` one; both say the chain block they are as of. ``GET /public/stats``
needs no login and is cacheable: its ETag changes only when its figures do, and a matching ``If-None-Match`` gets
304 without a body.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from api.auth.dependencies import CurrentPrincipal, context_of
from api.problems import documented
from node.stats import public, query
from node.stats.schemas import AwareTime, GroupBy, SingleStat, Stage, StatRequest, StatsAnswer, StatsQuery, StatType

router = APIRouter(tags=["analytics"])
PUBLIC_MAX_AGE = 10
"""Seconds a cache may reuse the public figures without asking again (then it revalidates with the ETag)."""


@router.post("/stats", response_model=StatsAnswer, responses=documented(401), operation_id="query_stats",
             summary="Several statistics in one request (the dashboard)")  # fmt: skip
def query_stats(body: StatsQuery, principal: CurrentPrincipal, request: Request) -> Any:
    """Each statistic names its `type` and may set `key` (its name in the answer), `created_from` /
    `created_before`, `only_mine`, `group_by` (day, month, year) and `stage`. Every figure is read in one snapshot,
    as of `as_of_block`. Each caller sees the programmes it may list: Root, the Government and API Admins all;
    others the authorised ones and their own (a certifier: those it certifies)."""
    return query.answer(context_of(request).engine, principal, body)


@router.get("/stats/{stat_type}", response_model=SingleStat, responses=documented(401),
            operation_id="get_stat", summary="One statistic")  # fmt: skip
def get_stat(
    stat_type: StatType, principal: CurrentPrincipal, request: Request,
    created_from: Annotated[AwareTime | None, Query(description="Programmes created at or after (UTC offset)")] = None,
    created_before: Annotated[AwareTime | None, Query(description="... and before this time")] = None,
    only_mine: Annotated[bool, Query(description="Only the caller's organisation")] = False,
    group_by: Annotated[GroupBy | None, Query(description="A series per UTC day, month or year")] = None,
    stage: Annotated[Stage | None, Query(description="Only programmes at this stage")] = None,
) -> Any:  # fmt: skip
    """The same statistic as one entry of `POST /stats`, with its filters as query parameters."""
    try:
        stat = StatRequest(type=stat_type, created_from=created_from, created_before=created_before,
                           only_mine=only_mine, group_by=group_by, stage=stage)  # fmt: skip
    except ValidationError as error:
        raise RequestValidationError(error.errors(include_url=False)) from None
    return query.answer_one(context_of(request).engine, principal, stat)


@router.get("/public/stats", response_model=public.PublicStats, operation_id="public_stats",
            summary="The registry's public figures (no login)",
            responses={304: {"description": "Not modified: the figures of the given ETag are current"}})  # fmt: skip
def public_stats(request: Request) -> Any:
    """Programmes by stage, sector and year; credits issued, held, retired and transferred; executed cross-border
    retirements by receiving country. Cacheable: send the `ETag` back in `If-None-Match`."""
    stats = public.public_stats(context_of(request).engine)
    body = stats.model_dump_json().encode()
    etag = f'"{stats.as_of_block or 0}-{hashlib.sha256(body).hexdigest()[:16]}"'
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={PUBLIC_MAX_AGE}, must-revalidate"}
    given = _etags(request.headers.get("if-none-match"))
    if etag in given or "*" in given:
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type="application/json", headers=headers)


def _etags(header: str | None) -> set[str]:
    """The entity tags of an ``If-None-Match`` header (weak ones compare equal, RFC 9110 §13.1.2)."""
    if not header:
        return set()
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}
