"""The OpenAPI document tells the truth a client generator relies on (schemathesis checks it against answers)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.problems import PROBLEM_JSON


@pytest.fixture
def document(api: TestClient) -> dict[str, Any]:
    response = api.get("/openapi.json")
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, ops in document["paths"].items() for method, op in ops.items()]


def test_every_error_answer_is_documented_as_a_problem_document(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            if (method, path, status) == ("GET", "/health", "503"):
                continue  # its own Health model: which dependency is down (test_an_endpoints_own_error_model_is_kept)
            if int(status) >= 400:
                assert list(response["content"]) == [PROBLEM_JSON], (method, path, status)
                expected = "ValidationProblem" if status == "422" else "Problem"
                assert response["content"][PROBLEM_JSON]["schema"] == {"$ref": f"#/components/schemas/{expected}"}


def test_fastapis_validation_error_shape_is_gone(document: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert "errors" in document["components"]["schemas"]["ValidationProblem"]["properties"]


def test_every_operation_documents_422_and_503_and_bodies_document_413(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        assert {"422", "503"} <= set(operation["responses"]), (method, path)
        if "requestBody" in operation:
            assert "413" in operation["responses"], (method, path)


def test_every_authenticated_operation_documents_401_and_403(document: dict[str, Any]) -> None:
    secured = [(m, p, op) for m, p, op in _operations(document) if op.get("security")]
    assert len(secured) > 15
    for method, path, operation in secured:
        assert {"401", "403"} <= set(operation["responses"]), (method, path)


def test_sort_parameters_list_the_columns_they_accept(document: dict[str, Any]) -> None:
    sorts = [
        param for _, _, op in _operations(document) for param in op.get("parameters", []) if param["name"] == "sort"
    ]
    assert len(sorts) == 5  # organisations, users, audit events, programmes, the programme export
    schemas = document["components"]["schemas"]
    for parameter in sorts:
        schema = parameter["schema"]
        reference = schema.get("$ref") or next(s["$ref"] for s in schema["anyOf"] if "$ref" in s)
        choices = schemas[reference.rsplit("/", 1)[1]]["enum"]
        assert choices, parameter
        assert "password_hash" not in choices
    assert set(schemas["UserSort"]["enum"]) == {"name", "email", "role", "organisation_id", "created_at", "user_id"}


def test_ids_in_paths_are_bounded_to_what_the_database_holds(document: dict[str, Any]) -> None:
    """Database ids fit a BIGINT; programme ids are the contract's uint40."""
    ids = [param for _, path, op in _operations(document) for param in op.get("parameters", [])
           if param["in"] == "path" and param["name"].endswith("_id")]  # fmt: skip
    assert ids
    for parameter in ids:
        bound = 2**40 - 1 if parameter["name"] == "programme_id" else 2**63 - 1
        assert parameter["schema"]["maximum"] == bound
        assert parameter["schema"]["minimum"] == 1


def test_an_endpoints_own_error_model_is_kept(document: dict[str, Any]) -> None:
    health_503 = document["paths"]["/health"]["get"]["responses"]["503"]
    assert health_503["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Health"}


def test_429_and_503_document_retry_after(document: dict[str, Any]) -> None:
    login = document["paths"]["/auth/login"]["post"]["responses"]
    assert "Retry-After" in login["429"]["headers"]
    assert "Retry-After" in document["paths"]["/users"]["get"]["responses"]["503"]["headers"]


def test_programme_credit_and_calculator_operations_have_a_summary_and_an_operation_id(
    document: dict[str, Any],
) -> None:
    prefixes = ("/programmes", "/calc", "/transfers", "/retirement-accounts", "/settings")
    operations = [(path, op) for _, path, op in _operations(document)
                  if path.startswith(prefixes) or path.endswith("/holdings")]  # fmt: skip
    assert len(operations) >= 24
    for path, operation in operations:
        assert operation.get("summary"), path
        assert operation.get("operationId"), path
        generated = operation["operationId"].endswith(("_get", "_post", "_put", "_patch", "_delete"))
        assert not generated, (path, operation["operationId"])  # named on purpose, not FastAPI's path-derived id
    all_ids = [op["operationId"] for _, _, op in _operations(document)]
    assert len(all_ids) == len(set(all_ids))
