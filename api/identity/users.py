"""``/users``: list, profile, creation, update, deletion, a fresh set-password link, API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from api.auth.dependencies import CurrentPrincipal, context_of
from api.identity.listing import PageOut, list_query_for
from api.identity.params import IdFilter, UserId
from api.problems import documented
from node.identity import api_keys, users
from node.identity.listing import ListQuery
from node.identity.schemas import AnyUserRole, DatabaseId, UserIn, UserUpdate

router = APIRouter(prefix="/users", tags=["users"])


class UserOut(BaseModel):
    user_id: int
    email: str
    name: str
    role: str
    organisation_id: int
    organisation_name: str
    organisation_role: str
    organisation_state: str
    phone: str | None
    language: str
    password_set: bool = Field(description="False until the user follows the set-password link")
    created_at: datetime


class NewUser(UserIn):
    organisation_id: DatabaseId = Field(description="An existing organisation; use POST /organisations for a new one")


list_query = list_query_for("User", users.SORTABLE)


class ApiKeyOut(BaseModel):
    key_id: int
    api_key: str = Field(description="Shown this once; only its hash is stored")
    prefix: str


class ApiKeyInUse(BaseModel):
    prefix: str = Field(description="The key's public start, e.g. what a request log shows")
    created_at: datetime
    last_used_at: datetime | None


@router.get("", response_model=PageOut[UserOut], responses=documented(401, 403, 404))
def list_users(
    principal: CurrentPrincipal, request: Request, params: Annotated[ListQuery, Depends(list_query)],
    organisation_id: IdFilter = None,
    role: Annotated[AnyUserRole | None, Query()] = None,
) -> PageOut[UserOut]:  # fmt: skip
    """Root and Government users see every user; everyone else the users of their own organisation."""
    with context_of(request).engine.connect() as conn:
        page = users.list_users(conn, principal, params, organisation_id=organisation_id, role=role)
    return PageOut[UserOut].of(page, UserOut)  # type: ignore[no-any-return]


@router.post("", status_code=201, response_model=UserOut, responses=documented(401, 403, 404, 409))
def create_user(body: NewUser, principal: CurrentPrincipal, request: Request) -> UserOut:
    """Creates a user without a password; the user is emailed a link to set one."""
    context = context_of(request)
    user = UserIn.model_validate(body.model_dump(exclude={"organisation_id"}))
    with context.engine.begin() as conn:
        user_id = users.create_user(conn, context.settings, principal, body.organisation_id, user)
        return UserOut.model_validate(users.get_user(conn, principal, user_id))


@router.get("/{user_id}", response_model=UserOut, responses=documented(401, 403, 404))
def get_user(user_id: UserId, principal: CurrentPrincipal, request: Request) -> UserOut:
    with context_of(request).engine.connect() as conn:
        return UserOut.model_validate(users.get_user(conn, principal, user_id))


@router.patch("/{user_id}", response_model=UserOut, responses=documented(401, 403, 404, 409))
def update_user(user_id: UserId, body: UserUpdate, principal: CurrentPrincipal, request: Request) -> UserOut:
    """Users edit their own name, phone and language; Admins also the role and email of their organisation's users.

    A new email is told to the old address; a user who stops being Admin loses its API key."""
    context = context_of(request)
    with context.engine.begin() as conn:
        users.update_user(conn, context.settings, principal, user_id, body)
        return UserOut.model_validate(users.get_user(conn, principal, user_id))


@router.delete("/{user_id}", status_code=204, responses=documented(401, 403, 404, 409))
def delete_user(user_id: UserId, principal: CurrentPrincipal, request: Request) -> Response:
    with context_of(request).engine.begin() as conn:
        users.delete_user(conn, principal, user_id)
    return Response(status_code=204)


class InvitationSent(BaseModel):
    detail: str


@router.post("/{user_id}/invitation", status_code=202, response_model=InvitationSent,
             responses=documented(401, 403, 404, 409))  # fmt: skip
def resend_invitation(user_id: UserId, principal: CurrentPrincipal, request: Request) -> InvitationSent:
    """Emails a fresh set-password link to a user who has not set a password yet (earlier links stop working)."""
    context = context_of(request)
    with context.engine.begin() as conn:
        users.resend_invitation(conn, context.settings, principal, user_id)
    return InvitationSent(detail="A new set-password link is on its way.")


@router.get("/{user_id}/api-key", response_model=ApiKeyInUse, responses=documented(401, 403, 404))
def read_api_key(user_id: UserId, principal: CurrentPrincipal, request: Request) -> ApiKeyInUse:
    """The API key in use: its public prefix (the part a log shows) and when it was issued and last used, for its
    holder and whoever may issue and revoke it. The key itself is shown only once, when issued."""
    with context_of(request).engine.connect() as conn:
        return ApiKeyInUse.model_validate(api_keys.key_in_use(conn, principal, user_id))


@router.post("/{user_id}/api-key", status_code=201, response_model=ApiKeyOut, responses=documented(401, 403, 404))
def issue_api_key(user_id: UserId, principal: CurrentPrincipal, request: Request) -> ApiKeyOut:
    """A new API key for an API organisation's Admin; any earlier key stops working."""
    context = context_of(request)
    with context.engine.begin() as conn:
        issued = api_keys.issue_key(conn, context.settings, principal, user_id)
    return ApiKeyOut(key_id=issued.key_id, api_key=issued.key, prefix=issued.prefix)


@router.delete("/{user_id}/api-key", status_code=204, responses=documented(401, 403, 404))
def revoke_api_key(user_id: UserId, principal: CurrentPrincipal, request: Request) -> Response:
    with context_of(request).engine.begin() as conn:
        api_keys.revoke_keys(conn, principal, user_id)
    return Response(status_code=204)
