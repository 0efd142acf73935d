"""Who is signed in to the web UI: the API's own session token, kept in an HttpOnly cookie.

Why the same token as ``POST /auth/login``: one definition of a session (its version ends it on a password change or
a suspension, ``node.identity.principals``), and pages resolve the caller exactly as the API does. The cookie is
``HttpOnly`` (no script reads it), ``SameSite=Lax`` (no other site's form or script sends it along a POST) and
``Secure`` behind HTTPS. Every form that changes something also carries a CSRF token, an HMAC of the session token
under the node's secret, checked before anything else (``require_csrf``).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Form, Request

from api.auth.dependencies import context_of
from node.errors import Forbidden, NotAuthenticated
from node.identity.permissions import Principal
from node.identity.principals import principal_for_session
from node.security.tokens import InvalidToken, read_token

COOKIE = "registry_session"
LANGUAGE_COOKIE = "registry_lang"


class SignInRequired(Exception):
    """The page needs a signed-in user: the app answers with a redirect to the sign-in page."""

    def __init__(self, next_path: str, change_password: bool = False) -> None:
        self.next_path = next_path
        self.change_password = change_password

    @property
    def location(self) -> str:
        page = "/password" if self.change_password else "/login"
        return f"{page}?next={quote(self.next_path, safe='/')}"


def optional_principal(request: Request) -> Principal | None:
    """The signed-in user, or None (an invalid or ended session counts as none)."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    context = context_of(request)
    try:
        claims = read_token(token, context.settings.token_secret())
        with context.engine.connect() as conn:
            return principal_for_session(conn, claims.user_id, claims.session_version)
    except (InvalidToken, NotAuthenticated):
        return None


def _next_path(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


async def signed_in(request: Request, principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    if principal is None:
        raise SignInRequired(_next_path(request))
    if principal.must_change_password:
        raise SignInRequired(_next_path(request), change_password=True)
    return principal


OptionalUser = Annotated[Principal | None, Depends(optional_principal)]
User = Annotated[Principal, Depends(signed_in)]


def csrf_token(request: Request) -> str:
    """The CSRF token of the request's session ('' without one)."""
    token = request.cookies.get(COOKIE, "")
    if not token:
        return ""
    secret = context_of(request).settings.token_secret().encode()
    return hmac.new(secret, b"csrf:" + token.encode(), hashlib.sha256).hexdigest()[:40]


def require_csrf(request: Request, csrf: Annotated[str, Form(max_length=100)] = "") -> None:
    """Forms post the token as ``csrf``; htmx sends it in ``X-CSRF-Token`` (``static/app.js``)."""
    given = csrf or request.headers.get("x-csrf-token", "")
    expected = csrf_token(request)
    if not expected or not hmac.compare_digest(given, expected):
        raise Forbidden("This form has expired or did not come from this site; reload the page and try again.")


CSRF = Depends(require_csrf)
