"""Login (by password, or by an emailed sign-in link), the caller's own profile, and changing one's password."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.background import BackgroundTask

from api.auth import rate_limit
from api.auth.dependencies import AnyPrincipal, CurrentPrincipal
from api.problems import documented, problem
from node.context import NodeContext
from node.errors import Forbidden, InvalidCredentials
from node.identity import login_attempts, password_links
from node.identity.bootstrap import forget_first_password
from node.identity.login_attempts import LOGIN_LINK_DETAIL, ClientAddress, LoginLinkRequired
from node.identity.schemas import LookupEmail
from node.models.app import organisation, user_account
from node.security.passwords import verify_password
from node.security.tokens import Claims, issue_token

router = APIRouter(prefix="/auth", tags=["auth"])
logger = logging.getLogger("registry.auth")


class Login(BaseModel):
    email: LookupEmail = Field(description="Compared in its canonical form (NFKC, case folded)")
    password: str = Field(min_length=1, max_length=1024)


class Session(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    must_change_password: bool


NewPasswordField = Field(min_length=12, max_length=1024, description="At least 12 characters")


class PasswordChange(BaseModel):
    old_password: str = Field(min_length=1, max_length=1024)
    new_password: str = NewPasswordField


class ForgotPassword(BaseModel):
    email: LookupEmail


class NewPassword(BaseModel):
    token: str = Field(min_length=16, max_length=200)
    new_password: str = NewPasswordField


class LoginLink(BaseModel):
    token: str = Field(min_length=16, max_length=200, description="The token of the emailed sign-in link")


class Accepted(BaseModel):
    detail: str


class Me(BaseModel):
    user_id: int
    email: str
    name: str
    role: str
    organisation_id: int
    organisation_role: str
    organisation_state: str
    language: str
    phone: str | None


def _context(request: Request) -> NodeContext:
    context: NodeContext = request.app.state.context
    return context


def _described(descriptions: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """``documented`` problem answers, each with what it means on this endpoint."""
    responses = documented(*descriptions)
    for status, description in descriptions.items():
        responses[status]["description"] = description
    return responses


_THROTTLED = ("Too many failed attempts (`/problems/too-many-login-attempts`, with `Retry-After`): per account and "
              "address, or per address or IPv6 /48")  # fmt: skip


def _session(context: NodeContext, user_id: int) -> Session:
    with context.engine.connect() as conn:
        row = conn.execute(
            select(user_account, organisation.c.role.label("org_role"), organisation.c.state.label("org_state"))
            .join(organisation, organisation.c.organisation_id == user_account.c.organisation_id)
            .where(user_account.c.user_id == user_id)
        ).one()
    claims = Claims(row.user_id, row.role, row.organisation_id, row.org_role, row.org_state, row.must_change_password,
                    row.session_version)  # fmt: skip
    expires = context.settings.jwt_expires_seconds
    return Session(access_token=issue_token(claims, context.settings.token_secret(), expires), expires_in=expires,
                   must_change_password=row.must_change_password)  # fmt: skip


_LOGIN_RESPONSES = _described({
    401: "Wrong email or password (the same answer for both)",
    429: f"{_THROTTLED}; or, from an address new to an account past its ceiling, `/problems/login-link-required` "
         "whatever the password: if it was right, the account was emailed a sign-in link (`POST /auth/login-link`)",
})  # fmt: skip


@router.post("/login", response_model=Session, responses=_LOGIN_RESPONSES)
def login(body: Login, request: Request) -> Session | JSONResponse:
    """Email and password for a session token. The same error for an unknown email and a wrong password.

    The attempt is counted as a failure before the (slow) password check and turned into a success after it, so
    parallel guesses cannot slip past the throttle (``node.identity.login_attempts``). Past the account's failure
    ceiling, an address the account has not logged in from lately gets one answer whatever the password, and a
    right password only earns an emailed sign-in link: an attacker spread over many addresses can neither keep
    guessing nor lock the owner out (ADR 0009).
    """
    context = _context(request)
    email = body.email  # already canonical (NFKC, case folded): see LookupEmail
    client = rate_limit.client_of(request)
    with context.engine.begin() as conn:
        attempt = login_attempts.begin_attempt(conn, context.settings, email, client, login_link=True)
        row = conn.execute(
            select(user_account.c.user_id, user_account.c.password_hash).where(user_account.c.email == email)
        ).first()
    right = verify_password(row.password_hash if row else None, body.password) and row is not None
    if attempt.needs_login_link:
        # The attempt stays a failure and the answer is the same either way; the link is sent after the answer
        # has left, so neither the answer nor its timing says whether the password was right.
        task = BackgroundTask(_send_login_link, context, row.user_id, client) if right and row else None
        return _login_link_required(request, task)
    if not right or row is None:
        raise InvalidCredentials("The email or the password is wrong.")
    with context.engine.begin() as conn:
        login_attempts.succeed(conn, attempt.attempt_id)
    return _session(context, row.user_id)


def _login_link_required(request: Request, task: BackgroundTask | None) -> JSONResponse:
    """The ``LoginLinkRequired`` problem, built here rather than raised: a raised error's answer would drop the
    background task that sends the link."""
    response = problem(LoginLinkRequired.status_code, LoginLinkRequired.type_slug, LoginLinkRequired.title,
                       LOGIN_LINK_DETAIL, request.url.path, error=LoginLinkRequired.__name__)  # fmt: skip
    response.background = task
    return response


def _send_login_link(context: NodeContext, user_id: int, client: ClientAddress) -> None:
    """Emails the sign-in link of a right password past the ceiling, once the neutral answer has been sent."""
    try:
        with context.engine.begin() as conn:
            password_links.send_login_link(conn, context.settings, user_id, client)
    except Exception:  # the client already has its answer; the operator gets the cause
        logger.exception("A sign-in link could not be queued after the login was answered")


@router.post(
    "/login-link",
    response_model=Session,
    responses=_described({400: "Unknown, expired, used or void link (the password or the email changed since)"}),
)
def login_link(body: LoginLink, request: Request) -> Session:
    """A sign-in link's token for a session, as ``/auth/login`` gives. The link was emailed because the right
    password came from an address new to an account past its failure ceiling; it works once, for 15 minutes, and
    only while the account has the password and email it was sent for. The address it is redeemed from counts as
    the owner's from then on: the next login from there needs no link."""
    context = _context(request)
    with context.engine.begin() as conn:
        user_id = password_links.redeem_login_link(conn, body.token, rate_limit.client_of(request))
    return _session(context, user_id)


_PASSWORD_RESPONSES = _described({
    401: "Wrong old password",
    429: f"{_THROTTLED}; or past the account's ceiling, from an address new to it (sign in there through an emailed "
         "sign-in link first)",
})  # fmt: skip


@router.post("/password", response_model=Session, responses=_PASSWORD_RESPONSES)
def change_password(body: PasswordChange, principal: AnyPrincipal, request: Request) -> Session:
    """Changes the caller's password (the old one is required); other sessions end, this one is renewed.

    The old password is a password guess like a login's: a stolen session must not become an unthrottled oracle,
    so it counts towards the same per-user throttle.
    """
    context = _context(request)
    if principal.via_api_key:
        raise Forbidden("An API key cannot change a password; log in with the password.")
    with context.engine.begin() as conn:
        attempt = login_attempts.begin_attempt(conn, context.settings, principal.email, rate_limit.client_of(request),
                                               login_link=False)  # fmt: skip
        current = conn.execute(
            select(user_account.c.password_hash).where(user_account.c.user_id == principal.user_id)
        ).scalar()
    if not verify_password(current, body.old_password):
        raise InvalidCredentials("The old password is wrong.")
    with context.engine.begin() as conn:  # on its own: the old password matched, whatever the new one meets
        login_attempts.succeed(conn, attempt.attempt_id)
    with context.engine.begin() as conn:
        password_links.set_password(conn, context.settings, principal.user_id, body.new_password, datetime.now(UTC),
                                    method="change")  # fmt: skip
    forget_first_password(context.engine, context.settings)  # after the commit: Root's first password is dead
    return _session(context, principal.user_id)


def _request_reset(context: NodeContext, email: str) -> None:
    """The per-account work of a forgot-password request, run once its answer has been sent."""
    try:
        with context.engine.begin() as conn:
            password_links.request_reset(conn, context.settings, email)
    except Exception:  # the client already has its answer; the operator gets the cause
        logger.exception("A forgot-password request failed after it was answered")


@router.post("/forgot-password", status_code=202, response_model=Accepted)
def forgot_password(body: ForgotPassword, request: Request, background: BackgroundTasks) -> Accepted:
    """Emails a reset link valid one hour if the account exists; the answer is the same either way.

    So is the time it takes: the answer is sent before anything looks at the account (lookup, per-account limit,
    link, email run afterwards, as a background task), so a known email cannot answer slower than an unknown one.
    """
    background.add_task(_request_reset, _context(request), body.email)
    return Accepted(detail="If an account uses this email, a reset link is on its way.")


@router.post(
    "/reset-password",
    response_model=Accepted,
    responses=_described({400: "Unknown, expired, used or void link", 422: "Too short, or the current password"}),
)
def reset_password(body: NewPassword, request: Request) -> Accepted:
    """Sets a password from a set-password or reset link's token; the token works once, and only while its user
    still has the password and email it was sent for."""
    context = _context(request)
    with context.engine.begin() as conn:
        password_links.use_token(conn, context.settings, body.token, body.new_password)
    forget_first_password(context.engine, context.settings)  # after the commit, in case this was Root
    return Accepted(detail="Password set; log in with it.")


@router.get("/me", response_model=Me)
def me(principal: CurrentPrincipal, request: Request) -> Me:
    with _context(request).engine.connect() as conn:
        row = conn.execute(select(user_account).where(user_account.c.user_id == principal.user_id)).one()
    return Me(user_id=row.user_id, email=row.email, name=row.name, role=row.role, organisation_id=row.organisation_id,
              organisation_role=principal.organisation_role, organisation_state=principal.organisation_state,
              language=row.language, phone=row.phone)  # fmt: skip
