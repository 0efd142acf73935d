"""Who is calling: the bearer token resolved to its claims, once, for every protected endpoint."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from node.context import NodeContext
from node.errors import NotAuthenticated, PasswordChangeRequired
from node.security.tokens import Claims, InvalidToken, read_token

_bearer = HTTPBearer(auto_error=False)


def token_claims(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Claims:
    """Claims of a valid token, even one that must change its password first."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("Send a bearer token from POST /auth/login in the Authorization header.")
    context: NodeContext = request.app.state.context
    try:
        return read_token(credentials.credentials, context.settings.token_secret())
    except InvalidToken as exc:
        raise NotAuthenticated(f"The bearer token is not valid ({exc}); log in again.") from exc


def current_subject(claims: Annotated[Claims, Depends(token_claims)]) -> Claims:
    """Claims of a caller allowed to use the API (its first password already changed)."""
    if claims.must_change_password:
        raise PasswordChangeRequired("Change the initial password with POST /auth/password first.")
    return claims


TokenClaims = Annotated[Claims, Depends(token_claims)]
CurrentSubject = Annotated[Claims, Depends(current_subject)]
