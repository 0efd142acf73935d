"""Login, the caller's own profile, and changing one's password."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from fastapi import APIRouter, BackgroundTasks, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.auth import rate_limit
from api.auth.dependencies import AnyPrincipal, CurrentPrincipal
from node.context import NodeContext
from node.errors import Forbidden, InvalidCredentials
from node.identity import password_links
from node.identity.bootstrap import forget_first_password
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


def _client_address(request: Request) -> str:
    """The address throttling counts: the peer, or what a configured trusted proxy named (``FORWARDED_ALLOW_IPS``)."""
    return rate_limit.address_key(request.client.host if request.client else None)


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


@router.post(
    "/login",
    response_model=Session,
    responses={401: {"description": "Invalid credentials"}, 429: {"description": "Too many failed logins"}},
)
def login(body: Login, request: Request) -> Session:
    """Email and password for a session token. The same error for an unknown email and a wrong password.

    The attempt is counted as a failure before the (slow) password check and turned into a success after it, so
    parallel guesses cannot slip past the throttle (``api.auth.rate_limit``).
    """
    context = _context(request)
    email = body.email  # already canonical (NFKC, case folded): see LookupEmail
    with context.engine.begin() as conn:
        attempt = rate_limit.begin_attempt(conn, context.settings, email, _client_address(request))
        row = conn.execute(
            select(user_account.c.user_id, user_account.c.password_hash).where(user_account.c.email == email)
        ).first()
    if not verify_password(row.password_hash if row else None, body.password) or row is None:
        raise InvalidCredentials("The email or the password is wrong.")
    with context.engine.begin() as conn:
        rate_limit.succeed(conn, attempt)
    return _session(context, row.user_id)


@router.post(
    "/password",
    response_model=Session,
    responses={401: {"description": "Wrong old password"}, 429: {"description": "Too many failed attempts"}},
)
def change_password(body: PasswordChange, principal: AnyPrincipal, request: Request) -> Session:
    """Changes the caller's password (the old one is required); other sessions end, this one is renewed.

    The old password is a password guess like a login's: a stolen session must not become an unthrottled oracle,
    so it counts towards the same per-user throttle.
    """
    context = _context(request)
    if principal.via_api_key:
        raise Forbidden("An API key cannot change a password; log in with the password.")
    with context.engine.begin() as conn:
        attempt = rate_limit.begin_attempt(conn, context.settings, principal.email, _client_address(request))
        current = conn.execute(
            select(user_account.c.password_hash).where(user_account.c.user_id == principal.user_id)
        ).scalar()
    if not verify_password(current, body.old_password):
        raise InvalidCredentials("The old password is wrong.")
    with context.engine.begin() as conn:  # on its own: the old password matched, whatever the new one meets
        rate_limit.succeed(conn, attempt)
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
    responses={400: {"description": "Invalid link"}, 422: {"description": "Too short, or the current password"}},
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
