"""Public pages, no sign-in: the registry's figures (from the same summaries as ``GET /public/stats``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.auth.dependencies import context_of
from api.web.render import language_of, page
from api.web.session import OptionalUser
from node.i18n import country_name
from node.stats.public import public_stats

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, user: OptionalUser) -> HTMLResponse:
    language = language_of(request)
    return page(request, "home.html", user, stats=public_stats(context_of(request).engine),
                country_name=lambda code: country_name(code, language))  # fmt: skip
