"""Requests meant to break the node, sent to a real ``registry up``: each gets an RFC 9457 problem answer, and
the node keeps serving everyone else."""

from __future__ import annotations

import httpx
import pytest

from tests.runtime.node import Node

pytestmark = pytest.mark.slow


def test_a_json_body_nested_200000_deep_gets_a_4xx_problem_and_the_node_keeps_serving(running_node: Node) -> None:
    """Unauthenticated, so anyone can send it: a recursive parser must not turn it into a crash or a 500."""
    depth = 200_000
    body = '{"email": ' + "[" * depth + "]" * depth + ', "password": "x"}'
    try:
        response = httpx.post(f"{running_node.api}/auth/login", content=body,
                              headers={"content-type": "application/json"}, timeout=60)  # fmt: skip
    except httpx.HTTPError as error:
        pytest.fail(f"no answer ({error!r}); the node's log ends with:\n{running_node.log()[-3000:]}")

    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/problem+json")
    assert httpx.get(f"{running_node.api}/health", timeout=10).status_code == 200
    assert running_node.is_running()
