"""``/app/dashboard``: the signed-in dashboard of reference §11.3, per role, over a date range, overall or "mine".

The figures are the analytics' own (``node.stats.query.answer``, what ``POST /stats`` answers): one request, one
snapshot, one indexed block. Cards are rendered here; the charts' and maps' figures go into the page as JSON that
``static/dashboard.js`` draws with Chart.js and Leaflet (the CSP forbids inline scripts), each with a table of the
same figures for those who do not see the drawing. The maps draw the country outlines shipped with the node
(``world-atlas``, served under ``/assets/vendor/``), so they work offline; ``MAP_TILE_URL`` adds a tile layer, and
then this page's CSP allows images from that origin only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlsplit

import pycountry
from babel.dates import format_skeleton
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from api.auth.dependencies import context_of
from api.security_headers import PAGE_POLICY
from api.web.render import N_, gettext_for, language_of, page
from api.web.session import User
from node.i18n import country_name
from node.identity.permissions import CERTIFIER, Principal
from node.stats import query
from node.stats.permissions import scope_of
from node.stats.schemas import (
    CertificationRow,
    CountryRow,
    FeatureCollection,
    GroupBy,
    MyCredits,
    PendingRequests,
    ProgrammeRow,
    StatRequest,
    StatResult,
    StatsQuery,
    StatType,
)

router = APIRouter(include_in_schema=False)

RANGES = ("today", "7", "14", "custom")
VIEWS = ("overall", "mine")
DAILY_LIMIT = 62
"""Longest window (days) drawn per day; a longer custom range is drawn per month."""
STAGES = ("AwaitingAuthorization", "Authorised", "Rejected")
STAGE_COLOURS = {"AwaitingAuthorization": "#b35900", "Authorised": "#0b5d3b", "Rejected": "#a4000f"}
PALETTE = ("#0b5d3b", "#1f5fa8", "#b35900", "#7a3e9d", "#a4000f", "#4a4a4a", "#00796b", "#8a6d00", "#c2185b")
CHOROPLETH = ("#d4e9dd", "#8cc3a4", "#3f8f63", "#0b5d3b")


@dataclass
class Period:
    """The chosen range: ``[start, end)`` in UTC (presets leave the end open: up to now and whatever comes)."""

    range: str
    start: datetime
    end: datetime | None
    first_day: date
    last_day: date
    error: str | None = None


def period_of(chosen: str, start: str | None, end: str | None, today: date) -> Period:
    if chosen == "custom":
        try:
            first, last = date.fromisoformat(start or ""), date.fromisoformat(end or "")
            if first <= last and first.year >= 1970 and last.year < 9000:
                return Period("custom", _midnight(first), _midnight(last + timedelta(days=1)), first, last)
        except ValueError:
            pass
        period = period_of("14", None, None, today)
        period.error = N_("Enter a start date and an end date, the start on or before the end.")
        return period
    days = {"today": 1, "7": 7}.get(chosen, 14)
    first = today - timedelta(days=days - 1)
    return Period(chosen if chosen in RANGES else "14", _midnight(first), None, first, today)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def role_of(principal: Principal) -> str:
    """Which stat set (reference §11.3): the Government's (those who see every programme), a certifier's, or a
    developer's (every other organisation)."""
    if scope_of(principal).everything:
        return "government"
    return "certifier" if principal.organisation_role == CERTIFIER else "developer"


def stat_requests(role: str, period: Period, mine: bool) -> StatsQuery:
    span = (period.end or datetime.now(UTC)) - period.start
    series = GroupBy.DAY if span <= timedelta(days=DAILY_LIMIT) else GroupBy.MONTH
    window: dict[str, Any] = {"created_from": period.start, "created_before": period.end, "only_mine": mine}
    stats = [
        StatRequest(type=StatType.PENDING_REQUESTS, key="pending"),
        StatRequest(type=StatType.MY_CREDITS, key="credits"),
        StatRequest(type=StatType.PROGRAMMES_BY_STAGE, key="stages", **window),
        StatRequest(type=StatType.PROGRAMMES_BY_STAGE, key="stages_series", group_by=series, **window),
        StatRequest(type=StatType.PROGRAMMES_BY_SECTOR, key="sectors", **window),
        StatRequest(type=StatType.CERTIFICATION, key="certification", **window),
        StatRequest(type=StatType.CERTIFICATION, key="certification_series", group_by=series, **window),
        StatRequest(type=StatType.PROGRAMME_LOCATIONS, key="locations", **window),
        StatRequest(type=StatType.RETIREMENTS_BY_COUNTRY, key="countries", **window),
    ]
    if role == "certifier":  # its cards are its own certifications, whatever the view
        stats.append(StatRequest(type=StatType.CERTIFICATION, key="my_certification",
                                 **(window | {"only_mine": True})))  # fmt: skip
    return StatsQuery(stats=stats)


@dataclass
class Card:
    label: str
    value: int | float
    key: str
    """The statistic it comes from (its key in the answer)."""
    field: str
    """Where the figure is in that statistic's data: ``a.b`` for objects, ``stage=X/programmes`` for rows."""


@dataclass
class Chart:
    key: str
    stat: str
    title: str
    kind: str
    labels: list[str]
    series: list[dict[str, Any]] = field(default_factory=list)
    empty: bool = False

    def json(self) -> dict[str, Any]:
        return {"kind": self.kind, "title": self.title, "labels": self.labels, "series": self.series,
                "stacked": self.kind == "bar" and len(self.series) > 1}  # fmt: skip


def _n(value: int | float | Decimal) -> int | float:
    return int(value) if value == int(value) else float(value)


def cards(role: str, stats: dict[str, StatResult], _: Any) -> list[Card]:
    pending = stats["pending"].data
    credits = stats["credits"].data
    assert isinstance(pending, PendingRequests)
    assert isinstance(credits, MyCredits)
    if role == "certifier":
        mine = stats["my_certification"].data
        assert isinstance(mine, list)
        row = mine[0] if mine else None

        def part(name: str) -> int:
            return int(getattr(row, name).programmes) if isinstance(row, CertificationRow) else 0

        return [
            Card(_("Programmes you can certify"), part("uncertified"), "my_certification", "uncertified.programmes"),
            Card(_("Programmes you certified"), part("certified"), "my_certification", "certified.programmes"),
            Card(_("Certifications you revoked"), part("revoked"), "my_certification", "revoked.programmes"),
        ]
    result = []
    if role == "government":
        rows = stats["stages"].data
        awaiting = sum(r.programmes for r in rows if isinstance(r, ProgrammeRow) and r.stage == STAGES[0])
        result.append(Card(_("Programmes awaiting authorisation"), awaiting, "stages",
                           "stage=AwaitingAuthorization/programmes"))  # fmt: skip
    result += [
        Card(_("Pending transfer requests sent"), pending.transfers_sent, "pending", "transfers_sent"),
        Card(
            _("Pending transfer requests to approve"), pending.transfers_to_approve, "pending", "transfers_to_approve"
        ),  # fmt: skip
    ]
    if role == "government":
        result.append(Card(_("Retirement requests to recognise"), pending.retirements_to_recognise, "pending",
                           "retirements_to_recognise"))  # fmt: skip
    else:
        result.append(Card(_("Pending retirement requests"), pending.retirements_requested, "pending",
                           "retirements_requested"))  # fmt: skip
    result.append(Card(_("Credit balance"), credits.held, "credits", "held"))
    if credits.frozen:
        result.append(Card(_("Frozen credits"), credits.frozen, "credits", "frozen"))
    return result


def _periods(rows: list[Any], period: Period, series: GroupBy | None) -> list[date]:
    """Every day of the window (and any later day with figures), or the months with figures."""
    seen = sorted({r.period for r in rows if r.period is not None})
    if series is not GroupBy.DAY:
        return seen
    last = max([period.last_day, *seen])
    return [period.first_day + timedelta(days=i) for i in range((last - period.first_day).days + 1)]


def charts(stats: dict[str, StatResult], period: Period, language: str, _: Any) -> list[Chart]:
    stages = [r for r in stats["stages"].data if isinstance(r, ProgrammeRow)]
    by_stage = {str(r.stage): r for r in stages}
    stage_labels = [str(_(s)) for s in STAGES]
    result = [Chart("stages", "stages", _("Programmes by stage"), "pie", stage_labels, [
        {"label": _("Programmes"), "values": [by_stage[s].programmes if s in by_stage else 0 for s in STAGES],
         "colors": [STAGE_COLOURS[s] for s in STAGES]}])]  # fmt: skip
    authorised = by_stage.get("Authorised")
    states = [
        (_("Authorised, not yet issued"), max(authorised.credit_estimate - authorised.credit_issued, Decimal(0))
         if authorised else Decimal(0)),
        (_("Credits held"), sum((r.credit_held - r.credit_frozen for r in stages), Decimal(0))),
        (_("Frozen credits"), sum((r.credit_frozen for r in stages), Decimal(0))),
        (_("Credits retired"), sum((r.credit_retired for r in stages), Decimal(0))),
    ]  # fmt: skip
    result.append(Chart("credit_states", "stages", _("Credits by state"), "pie", [s[0] for s in states], [
        {"label": _("Credits"), "values": [_n(s[1]) for s in states], "colors": list(PALETTE[:4])}]))  # fmt: skip
    certification = [r for r in stats["certification"].data if isinstance(r, CertificationRow)]
    parts = (("certified", _("Certified")), ("revoked", _("Revoked")), ("uncertified", _("Not certified")))
    result.append(Chart("certified_credits", "certification", _("Estimated credits by certification"), "pie",
                        [label for _name, label in parts], [
        {"label": _("Estimated credits"), "colors": list(PALETTE[:3]),
         "values": [_n(sum((getattr(r, name).credit_estimate for r in certification), Decimal(0)))
                    for name, _label in parts]}]))  # fmt: skip
    series_rows = [r for r in stats["stages_series"].data if isinstance(r, ProgrammeRow)]
    group = GroupBy.DAY if (period.end or datetime.now(UTC)) - period.start <= timedelta(days=DAILY_LIMIT) else None
    days = _periods(series_rows, period, group)
    skeleton = "MMMd" if group is GroupBy.DAY else "yMMM"
    day_labels = [format_skeleton(skeleton, day, locale=language) for day in days]
    cell = {(r.period, str(r.stage)): r for r in series_rows}
    result.append(Chart("stages_series", "stages_series", _("Programmes over time by stage"), "bar", day_labels, [
        {"label": _(s), "color": STAGE_COLOURS[s],
         "values": [cell[(d, s)].programmes if (d, s) in cell else 0 for d in days]} for s in STAGES]))  # fmt: skip
    sectors = [r for r in stats["sectors"].data if isinstance(r, ProgrammeRow)]
    result.append(Chart("sectors", "sectors", _("Programmes by sector"), "bar", [_(str(r.sector)) for r in sectors],
                        [{"label": _("Programmes"), "color": PALETTE[1],
                          "values": [r.programmes for r in sectors]}]))  # fmt: skip

    def per_period(attribute: str) -> list[int | float]:
        return [_n(sum((getattr(r, attribute) for r in series_rows if r.period == d), Decimal(0))) for d in days]

    result.append(Chart("credits_series", "stages_series", _("Credits over time"), "bar", day_labels, [
        {"label": _("Credits issued"), "color": PALETTE[0], "values": per_period("credit_issued")},
        {"label": _("Credits transferred"), "color": PALETTE[1], "values": per_period("credit_transferred")},
        {"label": _("Credits retired"), "color": PALETTE[2], "values": per_period("credit_retired")},
    ]))  # fmt: skip
    cert_rows = {r.period: r for r in stats["certification_series"].data if isinstance(r, CertificationRow)}
    cert_days = _periods(list(cert_rows.values()), period, group)
    result.append(Chart("certified_series", "certification_series", _("Estimated credits certified over time"),
                        "bar", [format_skeleton(skeleton, d, locale=language) for d in cert_days], [
        {"label": label, "color": PALETTE[i],
         "values": [_n(getattr(cert_rows[d], name).credit_estimate) if d in cert_rows else 0 for d in cert_days]}
        for i, (name, label) in enumerate(parts)]))  # fmt: skip
    for chart in result:
        chart.empty = not any(v for s in chart.series for v in s["values"])
    return result


def choropleth(top: int) -> list[dict[str, Any]]:
    """Up to four classes of credits from 1 to ``top`` (the largest), of about equal width."""
    lows = sorted({1 + (top * i) // len(CHOROPLETH) for i in range(len(CHOROPLETH))}) if top > 0 else []
    return [{"from": low, "to": lows[i + 1] - 1 if i + 1 < len(lows) else top, "color": CHOROPLETH[i]}
            for i, low in enumerate(lows)]  # fmt: skip


def _numeric(code: str) -> str | None:
    country = pycountry.countries.get(alpha_2=code)
    return None if country is None else str(country.numeric)


def maps(stats: dict[str, StatResult], language: str, _: Any) -> dict[str, Any]:
    locations = stats["locations"].data
    countries = [r for r in stats["countries"].data if isinstance(r, CountryRow)]
    assert isinstance(locations, FeatureCollection)
    points = [{"lon": f.geometry["coordinates"][0], "lat": f.geometry["coordinates"][1],
               "stage": _(f.properties["stage"]), "color": STAGE_COLOURS.get(f.properties["stage"], PALETTE[5]),
               "count": f.properties["count"]} for f in locations.features]  # fmt: skip
    classes = choropleth(max((r.credits for r in countries), default=0))
    rows = [{"code": r.country, "numeric": _numeric(r.country), "name": country_name(r.country, language),
             "retirements": r.retirements, "credits": r.credits,
             "color": next((c["color"] for c in reversed(classes) if r.credits >= c["from"]), CHOROPLETH[0])}
            for r in countries]  # fmt: skip
    return {"points": points, "countries": rows, "classes": classes}


def tile_origin(url: str) -> str:
    """The CSP source of a tile URL: its scheme and host (``{s}`` subdomains as a wildcard)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.replace('{s}', '*')}"


@router.get("/app/dashboard", response_class=HTMLResponse)
def dashboard(
    request: Request, user: User,
    chosen: Annotated[str, Query(alias="range", max_length=10)] = "14",
    start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
    view: Annotated[str, Query(max_length=10)] = "overall",
) -> HTMLResponse:  # fmt: skip
    language = language_of(request)
    _ = gettext_for(language)
    settings = context_of(request).settings
    period = period_of(chosen, start, end, datetime.now(UTC).date())
    view = view if view in VIEWS else "overall"
    role = role_of(user)
    answer = query.answer(context_of(request).engine, user, stat_requests(role, period, view == "mine"))
    drawn = charts(answer.stats, period, language, _)
    tiles = ({"url": settings.map_tile_url, "attribution": settings.map_tile_attribution}
             if settings.map_tile_url else None)  # fmt: skip
    data = {
        "charts": {c.key: c.json() for c in drawn},
        "maps": maps(answer.stats, language, _),
        "tiles": tiles,
        "text": {"zoomIn": _("Zoom in"), "zoomOut": _("Zoom out"), "programmes": _("Programmes"),
                 "credits": _("Credits"), "retirements": _("Retirements")},
    }  # fmt: skip
    response = page(request, "dashboard/dashboard.html", user, period=period, view=view, role=role,
                    answer=answer, cards=cards(role, answer.stats, _), charts=drawn, data=data, stages=STAGES,
                    error=_(period.error) if period.error else None, stage_colours=STAGE_COLOURS)  # fmt: skip
    if settings.map_tile_url:
        origin = tile_origin(settings.map_tile_url)
        response.headers["Content-Security-Policy"] = PAGE_POLICY.replace(
            "img-src 'self' data:", f"img-src 'self' data: {origin}"
        )
    return response
