"""Signing in and out of the web UI, the first password change, and the language switcher.

The password checks, throttling and sign-in links are the API's own (``api.auth.endpoints``): these handlers call
them and keep the session token in the cookie instead of answering it as JSON.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.auth import endpoints
from api.auth.dependencies import context_of
from api.web.messages import problem_message
from api.web.render import gettext_for, language_of, page
from api.web.session import COOKIE, CSRF, LANGUAGE_COOKIE, OptionalUser
from node.errors import RegistryError
from node.i18n import LANGUAGES
from node.identity import users
from node.identity.schemas import UserUpdate

router = APIRouter(include_in_schema=False)
YEAR = 365 * 86_400
Next = Annotated[str | None, Query(max_length=500, description="Where to go afterwards (a path of this site)")]


def safe_next(target: str | None, default: str = "/app/dashboard") -> str:
    """Only a path of this site: never ``//host`` or ``https://...`` (an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def _signed_in(request: Request, response: Response, token: str, expires: int) -> Response:
    secure = context_of(request).settings.public_url.startswith("https://")
    response.set_cookie(COOKIE, token, max_age=expires, httponly=True, samesite="lax", secure=secure, path="/")
    return response


def _message(request: Request, error: Exception) -> str:
    _ = gettext_for(language_of(request))
    if isinstance(error, ValidationError):
        return str(_("Enter a valid email address and password."))
    return problem_message(error, language_of(request)) if isinstance(error, RegistryError) else str(error)


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, user: OptionalUser, next: Annotated[str | None, Query(max_length=500)] = None
) -> Response:  # noqa: A002
    if user is not None and not user.must_change_password:
        return RedirectResponse(safe_next(next), status_code=303)
    return page(request, "login.html", next=safe_next(next))


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=500)] = "",  # noqa: A002
) -> Response:
    target = safe_next(next)
    try:
        answer = endpoints.login(endpoints.Login(email=email, password=password), request)
    except (RegistryError, ValidationError) as error:
        return page(request, "login.html", next=target, email=email, error=_message(request, error), status_code=400)
    if not isinstance(answer, endpoints.Session):  # a sign-in link was emailed instead (ADR 0009)
        answer.status_code = 200
        notice = gettext_for(language_of(request))(
            "This account needs a sign-in link from a new device: if the password was right, we emailed one."
        )
        rendered = page(request, "login.html", next=target, email=email, notice=notice, status_code=429)
        rendered.background = answer.background
        return rendered
    destination = f"/password?next={target}" if answer.must_change_password else target
    return _signed_in(request, RedirectResponse(destination, status_code=303), answer.access_token, answer.expires_in)


@router.post("/logout", dependencies=[CSRF])
def logout() -> Response:
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/password", response_class=HTMLResponse)
def password_page(
    request: Request, user: OptionalUser, next: Annotated[str | None, Query(max_length=500)] = None
) -> Response:  # noqa: A002
    if user is None:
        return RedirectResponse("/login", status_code=303)
    return page(request, "password.html", user, next=safe_next(next), first=user.must_change_password)


@router.post("/password", response_class=HTMLResponse, dependencies=[CSRF])
def change_password(
    request: Request,
    user: OptionalUser,
    old_password: Annotated[str, Form(max_length=1024)],
    new_password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=500)] = "",  # noqa: A002
) -> Response:
    if user is None:
        return RedirectResponse("/login", status_code=303)
    target = safe_next(next)
    try:
        change = endpoints.PasswordChange(old_password=old_password, new_password=new_password)
        session = endpoints.change_password(change, user, request)
    except ValidationError:
        _ = gettext_for(language_of(request))
        message = _("The new password needs at least 12 characters.")
        return page(request, "password.html", user, next=target, first=user.must_change_password,
                    error=message, error_field="new_password", status_code=400)  # fmt: skip
    except RegistryError as error:
        return page(request, "password.html", user, next=target, first=user.must_change_password,
                    error=_message(request, error), status_code=400)  # fmt: skip
    return _signed_in(request, RedirectResponse(target, status_code=303), session.access_token, session.expires_in)


@router.get("/language")
def choose_language(
    request: Request, user: OptionalUser, lang: Annotated[str, Query(max_length=5)],
    next: Next = None,  # noqa: A002
) -> Response:  # fmt: skip
    """Remembered in a cookie for a year, and in the signed-in user's profile (emails use it too)."""
    language = lang if lang in LANGUAGES else "en"
    response = RedirectResponse(safe_next(next, default="/"), status_code=303)
    response.set_cookie(LANGUAGE_COOKIE, language, max_age=YEAR, samesite="lax", path="/")
    if user is not None and not user.via_api_key:
        context = context_of(request)
        try:
            with context.engine.begin() as conn:
                users.update_user(conn, context.settings, user, user.user_id, UserUpdate(language=language))
        except RegistryError:
            pass  # e.g. a suspended organisation's user: the cookie still remembers it on this browser
    return response
