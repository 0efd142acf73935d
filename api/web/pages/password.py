"""The forgotten-password page (issue 12): the sign-in page's "Forgot your password?" link.

It calls the API's own ``POST /auth/forgot-password`` (:func:`api.auth.endpoints.forgot_password`): the answer is the
same whatever the address, and the account's work (lookup, the per-account limit of reset emails, the link, the
email) runs after the answer has left, so neither the page nor its timing says whether an account exists. The
emailed link opens the reset page of :mod:`api.auth.pages`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.auth import endpoints
from api.auth.dependencies import context_of
from api.web.render import gettext_for, language_of, page
from api.web.session import OptionalUser
from node.identity.permissions import Principal

router = APIRouter(include_in_schema=False)


def _form(request: Request, user: Principal | None, status_code: int = 200, **values: Any) -> HTMLResponse:
    minutes = context_of(request).settings.reset_password_token_minutes
    return page(request, "settings/forgot_password.html", user, status_code, minutes=minutes, **values)


@router.get("/forgot-password", response_class=HTMLResponse)
def forgot_password_page(request: Request, user: OptionalUser,
                         sent: Annotated[str, Query(max_length=5)] = "") -> Response:  # fmt: skip
    return _form(request, user, sent=sent == "1")


@router.post("/forgot-password", response_class=HTMLResponse)
def forgot_password(request: Request, user: OptionalUser, background: BackgroundTasks,
                    email: Annotated[str, Form(max_length=320)] = "") -> Response:  # fmt: skip
    """No CSRF token: there is no session to protect, and the answer says nothing about the address."""
    try:
        body = endpoints.ForgotPassword(email=email)
        if "@" not in body.email:  # the API accepts it and emails nobody; the page says what is wrong
            raise ValueError(email)
    except (ValidationError, ValueError):
        _ = gettext_for(language_of(request))
        return _form(request, user, email=email, error=_("Enter a valid email address."), status_code=422)
    endpoints.forgot_password(body, request, background)  # the reset runs after the redirect below has left
    return RedirectResponse("/forgot-password?sent=1", status_code=303)
