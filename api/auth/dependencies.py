"""Who is calling: a session token or an API key, resolved once per request to a Principal from the database.

An API key may come as ``Authorization: Bearer ncr_...`` or in an ``api-key`` header (MRV systems built for the
seed send ``api_key``; that spelling is accepted too).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from node.context import NodeContext
from node.errors import NotAuthenticated, PasswordChangeRequired
from node.identity.permissions import Principal
from node.identity.principals import API_KEY_PREFIX, principal_for_api_key, principal_for_session
from node.security.tokens import InvalidToken, read_token

_bearer = HTTPBearer(auto_error=False)
_api_key = APIKeyHeader(name="api-key", auto_error=False, description="An API key of an API organisation's Admin")


def context_of(request: Request) -> NodeContext:
    context: NodeContext = request.app.state.context
    return context


def _not_valid(exc: InvalidToken) -> NotAuthenticated:
    """The token's defect as the reason of the 401: "token expired" or "token invalid" (translated as messages of
    their own), or the malformed claim's name."""
    if "claim" in exc.params:
        return NotAuthenticated("The bearer token is not valid (token invalid (claim {claim})); log in again.",
                                params={"claim": exc.params["claim"]})  # fmt: skip
    return NotAuthenticated("The bearer token is not valid ({reason}); log in again.", params={"reason": exc.message})


def any_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header_key: Annotated[str | None, Depends(_api_key)],
) -> Principal:
    """The caller, even one that must still change its first password."""
    context = context_of(request)
    key = header_key or request.headers.get("api_key")
    if credentials is not None and credentials.scheme.lower() == "bearer":
        if credentials.credentials.startswith(f"{API_KEY_PREFIX}_"):
            key = credentials.credentials
        elif key is None:
            try:
                claims = read_token(credentials.credentials, context.settings.token_secret())
            except InvalidToken as exc:
                raise _not_valid(exc) from exc
            with context.engine.connect() as conn:
                return principal_for_session(conn, claims.user_id, claims.session_version)
    if key is None:
        raise NotAuthenticated("Send a bearer token from POST /auth/login, or an API key.")
    with context.engine.begin() as conn:
        return principal_for_api_key(conn, key)


async def current_principal(principal: Annotated[Principal, Depends(any_principal)]) -> Principal:
    """A caller allowed to use the API (its first password already changed). ``async``, as every dependency here that
    does no I/O: FastAPI runs a plain ``def`` dependency in a worker thread, a hop per request (ADR 0021)."""
    if principal.must_change_password:
        raise PasswordChangeRequired("Change the initial password with POST /auth/password first.")
    return principal


AnyPrincipal = Annotated[Principal, Depends(any_principal)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
