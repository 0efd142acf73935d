"""``python -m bench.analytics`` in-process at its smoke size: the synthetic load is consistent, every request of
every probe answers 200, and the JSON comes last. Speed figures are never asserted."""

from __future__ import annotations

import json

import pytest

from bench.analytics import QUICK_PROGRAMMES, QUICK_REQUESTS, measure, report

pytestmark = pytest.mark.slow

KEYS = {"programmes", "blocks", "transfers_and_retirements", "dashboard_p50_ms", "dashboard_p95_ms",
        "slowest_stat_p95_ms", "slowest_stat"}  # fmt: skip


def test_analytics_bench_answers_every_request_and_prints_json_last(capsys: pytest.CaptureFixture[str]) -> None:
    result = measure(QUICK_PROGRAMMES, QUICK_REQUESTS)
    assert result.load.errors == []  # balances, blocks, retirements and summaries agree
    assert result.failures == []
    assert {m.probe.kind for m in result.measured} == {"stat", "public", "dashboard"}
    for measured in result.measured:
        assert measured.statuses == {200: QUICK_REQUESTS}, measured.probe.name
        assert len(measured.latencies) == QUICK_REQUESTS
    assert result.ok

    report(result)
    lines = capsys.readouterr().out.strip().splitlines()
    figures = json.loads(lines[-1])
    assert set(figures) == KEYS
    assert figures["programmes"] == QUICK_PROGRAMMES
    assert figures["blocks"] >= 5 * QUICK_PROGRAMMES
    assert figures["transfers_and_retirements"] >= 5 * QUICK_PROGRAMMES
    assert 0 < figures["dashboard_p50_ms"] <= figures["dashboard_p95_ms"]
    assert figures["slowest_stat_p95_ms"] > 0
    table = "\n".join(lines[:-1])
    assert "dashboard" in table
    assert "public stats" in table
