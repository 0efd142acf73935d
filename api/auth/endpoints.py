"""Login, the caller's own profile, and changing one's password."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import select, update

from api.auth import rate_limit
from api.auth.dependencies import CurrentSubject, TokenClaims
from node.context import NodeContext
from node.errors import InvalidCredentials, NotAuthenticated
from node.models.app import organisation, user_account
from node.security.passwords import hash_password, verify_password
from node.security.tokens import Claims, issue_token

router = APIRouter(prefix="/auth", tags=["auth"])


class Login(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class Session(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    must_change_password: bool


class PasswordChange(BaseModel):
    old_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=12, max_length=1024)


class Me(BaseModel):
    user_id: int
    email: str
    name: str
    role: str
    organisation_id: int
    organisation_role: str
    organisation_state: str


def _context(request: Request) -> NodeContext:
    context: NodeContext = request.app.state.context
    return context


def _session(context: NodeContext, user_id: int) -> Session:
    with context.engine.connect() as conn:
        row = conn.execute(
            select(user_account, organisation.c.role.label("org_role"), organisation.c.state.label("org_state"))
            .join(organisation, organisation.c.organisation_id == user_account.c.organisation_id)
            .where(user_account.c.user_id == user_id)
        ).one()
    claims = Claims(row.user_id, row.role, row.organisation_id, row.org_role, row.org_state, row.must_change_password)
    expires = context.settings.jwt_expires_seconds
    return Session(access_token=issue_token(claims, context.settings.token_secret(), expires), expires_in=expires,
                   must_change_password=row.must_change_password)  # fmt: skip


@router.post(
    "/login",
    response_model=Session,
    responses={401: {"description": "Invalid credentials"}, 429: {"description": "Too many failed logins"}},
)
def login(body: Login, request: Request) -> Session:
    """Email and password for a session token. The same error for an unknown email and a wrong password."""
    context = _context(request)
    email = body.email.strip().lower()
    address = request.client.host if request.client else "unknown"
    with context.engine.begin() as conn:
        rate_limit.check(conn, context.settings, email, address)
        row = conn.execute(
            select(user_account.c.user_id, user_account.c.password_hash).where(user_account.c.email == email)
        ).first()
        succeeded = verify_password(row.password_hash if row else None, body.password) and row is not None
        rate_limit.record(conn, email, address, succeeded)
    if not succeeded or row is None:
        raise InvalidCredentials("The email or the password is wrong.")
    return _session(context, row.user_id)


@router.post("/password", response_model=Session, responses={401: {"description": "Wrong old password"}})
def change_password(body: PasswordChange, claims: TokenClaims, request: Request) -> Session:
    """Changes the caller's password (the old one is required) and returns a fresh session."""
    context = _context(request)
    with context.engine.begin() as conn:
        current = conn.execute(
            select(user_account.c.password_hash).where(user_account.c.user_id == claims.user_id)
        ).scalar()
        if not verify_password(current, body.old_password):
            raise InvalidCredentials("The old password is wrong.")
        conn.execute(
            update(user_account)
            .where(user_account.c.user_id == claims.user_id)
            .values(
                password_hash=hash_password(body.new_password),
                must_change_password=False,
                password_changed_at=datetime.now(UTC),
            )  # fmt: skip
        )
    return _session(context, claims.user_id)


@router.get("/me", response_model=Me)
def me(claims: CurrentSubject, request: Request) -> Me:
    with _context(request).engine.connect() as conn:
        row = conn.execute(select(user_account).where(user_account.c.user_id == claims.user_id)).first()
    if row is None:
        raise NotAuthenticated("The token's user no longer exists.")
    return Me(user_id=row.user_id, email=row.email, name=row.name, role=row.role, organisation_id=row.organisation_id,
              organisation_role=claims.organisation_role, organisation_state=claims.organisation_state)  # fmt: skip
