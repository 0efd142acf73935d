"""RFC 9457 problem details: every error the API returns is ``application/problem+json``.

``type`` is a relative URI ``/problems/<slug>`` with a stable slug per problem; the extension member
``error`` names the domain error class, and reverts add the contract's error ``arguments``.
Unknown exceptions become a 500 problem with a request id that is logged, never the exception text.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from node.chain.errors import ContractRevert
from node.errors import RegistryError

PROBLEM_JSON = "application/problem+json"
logger = logging.getLogger("registry.api")


def problem(status: int, slug: str, title: str, detail: str, instance: str, **extensions: Any) -> JSONResponse:
    body = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail, "instance": instance}
    return JSONResponse(body | extensions, status_code=status, media_type=PROBLEM_JSON)


async def _registry_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RegistryError)
    slug = exc.problem_type if isinstance(exc, ContractRevert) else exc.type_slug
    response = problem(
        exc.status_code, slug, exc.title, exc.detail, request.url.path, error=type(exc).__name__, **exc.extensions
    )
    if exc.status_code == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    if exc.status_code == 429 and "retry_after" in exc.extensions:
        response.headers["Retry-After"] = str(exc.extensions["retry_after"])
    if exc.status_code == 503:
        response.headers["Retry-After"] = "5"
    return response


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()]
    return problem(
        422, "validation-error", "Invalid request", "The request failed validation.", request.url.path, errors=errors
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # The framework's own 400s are bodies it could not parse (malformed multipart or form data): bad input is
        # a 422 everywhere (the registry's own 400s are RegistryErrors and never reach this handler).
        return problem(422, "malformed-body", "Malformed body", f"The request body could not be parsed: {exc.detail}",
                       request.url.path)  # fmt: skip
    slug = {404: "not-found", 405: "method-not-allowed", 401: "unauthorized", 403: "forbidden"}.get(
        exc.status_code, f"http-{exc.status_code}"
    )
    response = problem(exc.status_code, slug, str(exc.detail), str(exc.detail), request.url.path)
    response.headers.update(exc.headers or {})  # e.g. ``Allow`` on 405
    return response


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    """A value PostgreSQL refused (out of range, unstorable text) that validation should have caught first.

    Endpoints bound their inputs so this never happens; if one slips through, the client still gets a 422 and the
    log names the statement, never its parameters (they may hold emails and other personal data).
    """
    assert isinstance(exc, DBAPIError)
    logger.warning("database refused a value: %s (statement: %s)", type(exc.orig).__name__, exc.statement)
    return problem(422, "invalid-input", "Invalid input", "A value is outside what the registry can store.",
                   request.url.path, error="InvalidInput")  # fmt: skip


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The database is down, or every pooled connection stayed busy past the pool timeout."""
    reason = type(exc.orig).__name__ if isinstance(exc, DBAPIError) else type(exc).__name__
    logger.error("database unavailable: %s", reason)
    detail = "The database is unavailable; try again shortly."
    response = problem(503, "service-unavailable", "Service unavailable", detail, request.url.path,
                       error="ServiceUnavailable")  # fmt: skip
    response.headers["Retry-After"] = "5"
    return response


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    request_id = uuid.uuid4().hex
    logger.exception("unhandled error, request_id=%s", request_id, exc_info=exc)
    return problem(
        500,
        "internal-error",
        "Internal error",
        "An unexpected error occurred; quote the request id.",
        request.url.path,
        request_id=request_id,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RegistryError, _registry_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(PoolTimeout, _database_unavailable)
    app.add_exception_handler(Exception, _unhandled)


_DESCRIPTIONS = {
    400: "Bad request", 401: "Not authenticated", 403: "Not allowed for this caller", 404: "Not found",
    409: "Conflicts with the current state", 413: "Payload too large", 415: "Unsupported media type",
    422: "Invalid input", 428: "A required header is missing (e.g. Idempotency-Key)", 429: "Too many requests",
    503: "A backing service is unavailable",
}  # fmt: skip


def describe(status: int) -> str:
    return _DESCRIPTIONS[status]


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the problem documents an endpoint may return (schema added by api.openapi)."""
    return {status: {"description": describe(status), "content": {PROBLEM_JSON: {}}} for status in statuses}
