"""The HTTP side of password-guess throttling: which client a request counts as.

The rules, the table and its pruning live in ``node.identity.login_attempts`` (ADR 0009): ``registry up`` prunes
the table in the background, and ``node`` must not import ``api``.
"""

from __future__ import annotations

from fastapi import Request

from node.identity.login_attempts import ClientAddress, client_address


def client_of(request: Request) -> ClientAddress:
    """The peer, or the client a configured trusted proxy named (``FORWARDED_ALLOW_IPS``; uvicorn has already put
    it in ``request.client``), as throttling counts it."""
    return client_address(request.client.host if request.client else None)
