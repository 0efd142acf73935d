"""The request guard: bodies bounded, JSON nesting bounded before parsing, and text PostgreSQL cannot store refused
everywhere, before any endpoint runs. Mostly against a small app (so the guard alone is tested), then the node's
own app for the inputs the hardening issue found."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fastapi import FastAPI, File, Form, UploadFile
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel
from sqlalchemy import Engine

from api.app import RECURSION_LIMIT
from api.problems import PROBLEM_JSON
from api.request_guard import MAX_JSON_DEPTH, SPOOL_BYTES, RequestGuard, json_depth_exceeds
from node.chain.registry import Registry
from node.config import Settings
from tests.api.identity.world import build_world

calls: list[str] = []


class Body(BaseModel):
    name: str
    tags: list[Any] = []


def _guarded_app() -> FastAPI:
    app = FastAPI()

    @app.post("/things/{key}")
    def create(key: str, body: Body, q: str | None = None) -> dict[str, str]:
        calls.append(key)
        return {"key": key}

    @app.post("/form")
    def form(field: Annotated[str, Form()]) -> dict[str, str]:
        calls.append(field)
        return {"field": field}

    @app.post("/upload")
    def upload(file: Annotated[UploadFile, File()]) -> dict[str, int]:
        calls.append("upload")
        return {"size": len(file.file.read())}

    app.add_middleware(RequestGuard, max_body_bytes=8192, max_upload_bytes=64 * 1024)
    return app


@pytest.fixture
def guarded() -> Iterator[TestClient]:
    calls.clear()
    with TestClient(_guarded_app()) as test_client:
        yield test_client


def _problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    document: dict[str, Any] = response.json()
    assert document["type"] == f"/problems/{slug}"
    assert document["status"] == status
    return document


def _nested(depth: int) -> str:
    return '{"name": "x", "tags": ' + "[" * depth + "]" * depth + "}"


def test_json_nested_just_within_the_limit_reaches_the_endpoint(guarded: TestClient) -> None:
    response = guarded.post(
        "/things/a", content=_nested(MAX_JSON_DEPTH - 1), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    assert calls == ["a"]


def test_json_nested_200000_deep_is_refused_before_parsing(guarded: TestClient) -> None:
    body = _nested(200_000)
    assert len(body) < 1024 * 1024
    app = _guarded_app()
    app.user_middleware.clear()
    app.add_middleware(RequestGuard, max_body_bytes=1024 * 1024, max_upload_bytes=1024 * 1024)
    with TestClient(app) as client:
        response = client.post("/things/a", content=body, headers={"content-type": "application/json"})
    _problem(response, 422, "json-too-deep")
    assert calls == []


def test_brackets_inside_strings_do_not_count_as_nesting(guarded: TestClient) -> None:
    body = json.dumps({"name": "[" * 100 + '\\"{{{' + "{" * 100, "tags": []})
    response = guarded.post("/things/a", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200


@given(st.recursive(st.none() | st.integers() | st.text(alphabet='[]{}"\\ab'),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(alphabet='[]{}"\\'), inner,
                                                                               max_size=3), max_leaves=40),
       st.integers(min_value=0, max_value=8))  # fmt: skip
def test_the_depth_scan_agrees_with_the_parsed_document(value: Any, limit: int) -> None:
    def depth(item: Any) -> int:
        if isinstance(item, list):
            return 1 + max((depth(x) for x in item), default=0)
        if isinstance(item, dict):
            return 1 + max((depth(x) for x in item.values()), default=0)
        return 0

    assert json_depth_exceeds(json.dumps(value), limit) == (depth(value) > limit)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"name": "a\u0000b"}, ["body", "name"]),
        ({"name": "a", "tags": [{"deep": ["x\u0000"]}]}, ["body", "tags", 0, "deep", 0]),
        ({"name": "a", "tags": [{"k\u0000": 1}]}, ["body", "tags", 0, "k\u0000"]),
    ],
)
def test_a_nul_anywhere_in_a_json_body_is_refused_with_its_location(
    guarded: TestClient, body: dict[str, Any], where: list[Any]
) -> None:
    document = _problem(guarded.post("/things/a", json=body), 422, "validation-error")
    assert document["errors"][0]["loc"] == where
    assert calls == []


def test_a_lone_surrogate_in_json_is_refused(guarded: TestClient) -> None:
    response = guarded.post("/things/a", content=b'{"name": "\\ud800"}', headers={"content-type": "application/json"})
    document = _problem(response, 422, "validation-error")
    assert "surrogate" in document["detail"]


def test_a_valid_surrogate_pair_is_accepted(guarded: TestClient) -> None:
    response = guarded.post("/things/a", content=b'{"name": "\\ud83c\\udf33"}',
                            headers={"content-type": "application/json"})  # fmt: skip
    assert response.status_code == 200


@pytest.mark.parametrize("url", ["/things/a%00b", "/things/a?q=x%00", "/things/a?x%00=1", "/things/a?q=%ED%A0%80"])
def test_a_nul_in_the_path_or_query_is_refused(guarded: TestClient, url: str) -> None:
    response = guarded.post(url, json={"name": "a"})
    if url.endswith("%ED%A0%80"):  # invalid UTF-8 in a query is decoded as U+FFFD: storable, so accepted
        assert response.status_code == 200
        return
    _problem(response, 422, "validation-error")
    assert calls == []


def test_a_nul_in_a_form_field_is_refused(guarded: TestClient) -> None:
    _problem(guarded.post("/form", data={"field": "a\x00b"}), 422, "validation-error")
    assert guarded.post("/form", data={"field": "fine"}).status_code == 200


def test_malformed_json_is_a_422_problem(guarded: TestClient) -> None:
    for body in (b'{"name": ', b'{"name": "\xff"}', b"[1" + b"0" * 4300 + b"]"):
        _problem(guarded.post("/things/a", content=body, headers={"content-type": "application/json"}), 422,
                 "malformed-json")  # fmt: skip
    assert calls == []


def test_a_body_over_the_limit_is_refused_by_its_declared_length(guarded: TestClient) -> None:
    document = _problem(guarded.post("/things/a", json={"name": "x" * 9000}), 413, "payload-too-large")
    assert document["max_bytes"] == 8192
    assert calls == []


def test_a_streamed_body_over_the_limit_is_refused_without_reading_it_all(guarded: TestClient) -> None:
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        for index in range(1000):
            sent.append(index)
            yield b"x" * 1024

    _problem(guarded.post("/things/a", content=chunks(), headers={"content-type": "application/json"}), 413,
             "payload-too-large")  # fmt: skip
    assert calls == []


def test_an_upload_over_the_upload_limit_is_refused_before_the_endpoint(guarded: TestClient) -> None:
    _problem(guarded.post("/upload", files={"file": ("big.png", b"x" * 70 * 1024, "image/png")}), 413,
             "payload-too-large")  # fmt: skip
    assert calls == []
    assert guarded.post("/upload", files={"file": ("ok.png", b"x" * 8 * 1024, "image/png")}).json() == {"size": 8192}


# --------------------------------------------------------------------------- the node's own app


@pytest.fixture
def root_headers(api: TestClient, engine: Engine, settings: Settings, registry: Registry) -> dict[str, str]:
    return build_world(engine, settings, registry).headers("root")


def test_the_app_runs_with_the_default_recursion_limit(api: TestClient) -> None:
    assert sys.getrecursionlimit() == RECURSION_LIMIT


def test_a_200000_deep_login_body_is_a_problem_not_a_crash(api: TestClient) -> None:
    for depth, status, slug in ((200_000, 413, "payload-too-large"), (100_000, 422, "json-too-deep")):
        body = '{"email": ' + "[" * depth + "]" * depth + ', "password": "x"}'
        _problem(api.post("/auth/login", content=body, headers={"content-type": "application/json"}), status, slug)
    assert api.get("/health").status_code in (200, 503)


def test_json_must_be_utf8(guarded: TestClient) -> None:
    body = '{"name": "a"}'
    for encoding in ("utf-16", "utf-32"):
        response = guarded.post(
            "/things/a", content=body.encode(encoding), headers={"content-type": "application/json"}
        )
        assert "UTF-8" in _problem(response, 422, "malformed-json")["detail"]
    bom = guarded.post(
        "/things/a", content=b"\xef\xbb\xbf" + body.encode(), headers={"content-type": "application/json"}
    )
    assert bom.status_code == 200


def test_an_upload_larger_than_the_memory_spool_still_reaches_the_endpoint_whole(guarded: TestClient) -> None:
    app = _guarded_app()
    app.user_middleware.clear()
    app.add_middleware(RequestGuard, max_body_bytes=8192, max_upload_bytes=4 * SPOOL_BYTES)
    with TestClient(app) as client:
        response = client.post("/upload", files={"file": ("big.bin", b"x" * (2 * SPOOL_BYTES + 17), "image/png")})
    assert response.json() == {"size": 2 * SPOOL_BYTES + 17}


@pytest.mark.parametrize(
    "url",
    [
        "/users/9223372036854775808",
        "/organisations/9223372036854775808",
        "/organisations?page=9223372036854775807",
        "/users?organisation_id=9223372036854775808",
        "/audit-events?actor_user_id=-9223372036854775809",
    ],
)
def test_integers_beyond_bigint_are_a_422_problem(api: TestClient, url: str, root_headers: dict[str, str]) -> None:
    _problem(api.get(url, headers=root_headers), 422, "validation-error")


def test_a_nul_in_a_login_email_is_a_422_problem(api: TestClient) -> None:
    _problem(api.post("/auth/login", json={"email": "root\x00@registry.local", "password": "x"}), 422,
             "validation-error")  # fmt: skip
    _problem(api.post("/auth/forgot-password", json={"email": "a\x00@example.org"}), 422, "validation-error")


def test_a_method_not_allowed_names_the_allowed_methods(api: TestClient) -> None:
    response = api.put("/auth/login")
    _problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == "POST"
