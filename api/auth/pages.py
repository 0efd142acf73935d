"""The pages behind the links in set-password and reset emails: a form, and its result.

They work without JavaScript (a plain form POST), so the link works from any mail client and browser. The
token travels in the form, never in a log line; pages are marked ``no-store`` and ``no-referrer``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment

from api.auth.dependencies import context_of
from node.errors import InvalidPasswordToken
from node.identity import password_links

router = APIRouter(include_in_schema=False)
_page = Environment(autoescape=True).from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>{{ title }} · {{ registry }}</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}
label,input,button{display:block;width:100%;margin:.4rem 0}input{padding:.5rem}button{padding:.6rem}
.error{color:#a00}</style></head>
<body><h1>{{ title }}</h1>
{% if message %}<p class="{{ 'error' if error else 'ok' }}" role="status">{{ message }}</p>{% endif %}
{% if form %}<form method="post">
<input type="hidden" name="token" value="{{ token }}">
<label for="p1">New password (at least 12 characters)</label>
<input id="p1" name="new_password" type="password" minlength="12" autocomplete="new-password" required>
<label for="p2">Repeat it</label>
<input id="p2" name="confirm_password" type="password" minlength="12" autocomplete="new-password" required>
<button type="submit">Save password</button></form>{% endif %}</body></html>""")
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}


def _render(request: Request, title: str, *, status: int = 200, **values: object) -> HTMLResponse:
    registry = context_of(request).settings.registry_name
    html = _page.render(title=title, registry=registry, **values)
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


def _title(request: Request) -> str:
    return "Set your password" if request.url.path.endswith("set-password") else "Reset your password"


@router.get("/set-password", response_class=HTMLResponse)
@router.get("/reset-password", response_class=HTMLResponse)
def password_form(request: Request, token: str = "") -> HTMLResponse:
    try:
        with context_of(request).engine.begin() as conn:
            password_links.check_token(conn, token)
    except InvalidPasswordToken as exc:
        return _render(request, _title(request), status=400, message=exc.detail, error=True)
    return _render(request, _title(request), form=True, token=token)


@router.post("/set-password", response_class=HTMLResponse)
@router.post("/reset-password", response_class=HTMLResponse)
def submit_password(
    request: Request,
    token: Annotated[str, Form()],
    new_password: Annotated[str, Form()],
    confirm_password: Annotated[str, Form()],
) -> HTMLResponse:
    title = _title(request)
    if new_password != confirm_password:
        return _render(request, title, status=422, form=True, token=token, message="The two passwords differ.",
                       error=True)  # fmt: skip
    if not 12 <= len(new_password) <= 1024:
        return _render(request, title, status=422, form=True, token=token, error=True,
                       message="The password must have at least 12 characters.")  # fmt: skip
    context = context_of(request)
    try:
        with context.engine.begin() as conn:
            password_links.use_token(conn, context.settings, token, new_password)
    except InvalidPasswordToken as exc:
        return _render(request, title, status=400, message=exc.detail, error=True)
    return _render(request, title, message="Your password is saved. You can now sign in.")
