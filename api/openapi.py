"""The OpenAPI document, made to tell the truth about errors.

FastAPI documents what each endpoint declares; the rest of what a client actually receives comes from layers it
does not see: the request guard (413, 422), authentication (401, 403), the problem renderer (every 4xx/5xx is
``application/problem+json``) and the backing services (503). This module adds those answers to every operation
they apply to and gives every error response the one ``Problem`` schema, so a generated client can parse every
answer it gets. The schemathesis test (tests/api/test_openapi_conformance.py) checks the result against real
responses.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

from api.problems import PROBLEM_JSON, describe


class Problem(BaseModel):
    """An RFC 9457 problem document. ``type`` is stable per kind of problem; extensions carry specifics."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="Relative URI naming the kind of problem, e.g. /problems/not-found")
    title: str
    status: int
    detail: str
    instance: str = Field(description="The request path")
    error: str | None = Field(default=None, description="Name of the registry error class, when one applies")


class ValidationIssue(BaseModel):
    loc: list[str | int] = Field(description="Where: body/query/path/header, then field names or indices")
    msg: str
    type: str


class ValidationProblem(Problem):
    """A 422 problem; ``errors`` lists each invalid value when the request failed field validation."""

    errors: list[ValidationIssue] | None = None


_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def _schema_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _add_models(schemas: dict[str, Any]) -> None:
    for model in (Problem, ValidationProblem):
        document = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(document.pop("$defs", {}))
        schemas[model.__name__] = document


_RETRY_AFTER = {"description": "Seconds to wait before trying again", "schema": {"type": "integer", "minimum": 1}}


def _declares_its_own_body(response: dict[str, Any]) -> bool:
    """A response an endpoint documented with its own model (``/health``'s 503), not a problem stub of
    ``documented(...)`` nor FastAPI's own 422."""
    fastapi_422 = {"$ref": "#/components/schemas/HTTPValidationError"}
    return any(media != PROBLEM_JSON and content.get("schema") not in (None, {}, fastapi_422)
               for media, content in response.get("content", {}).items())  # fmt: skip


def make_truthful(document: dict[str, Any]) -> dict[str, Any]:
    """Rewrites ``document`` in place (and returns it) with every error answer an operation can give."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    _add_models(schemas)
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            statuses = {422, 503}  # the guard screens every path and query; any operation may lose a backing service
            if "requestBody" in operation:
                statuses.add(413)
            if operation.get("security"):
                statuses |= {401, 403}
            for added in statuses:
                responses.setdefault(str(added), {"description": describe(added)})
            for code, response in responses.items():
                if not (code.isdigit() and int(code) >= 400) or _declares_its_own_body(response):
                    continue  # e.g. /health's 503 is a Health document, not a problem
                if code == "422":
                    response["description"] = describe(422)
                schema = "ValidationProblem" if code == "422" else "Problem"
                response["content"] = {PROBLEM_JSON: {"schema": _schema_ref(schema)}}
                if code in ("429", "503"):
                    response["headers"] = {"Retry-After": _RETRY_AFTER}
            operation["responses"] = dict(sorted(responses.items()))
    return document


def install(app: FastAPI) -> None:
    """Serves the rewritten document at ``/openapi.json`` (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description,
                                   routes=app.routes, tags=app.openapi_tags)  # fmt: skip
            app.openapi_schema = make_truthful(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
