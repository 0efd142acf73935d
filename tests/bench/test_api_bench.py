"""``python -m bench.api`` in-process with a few transfers per phase in two alternating rounds: every API transfer
answers 201, the chain balances move by exactly the transfers sent over both rounds, and the JSON comes last. Speed
figures are never asserted."""

from __future__ import annotations

import json

import pytest

from bench.api import QUICK_TRANSFERS, measure, report

pytestmark = pytest.mark.slow

KEYS = {"transfers", "clients", "raw_tx_per_s", "api_transfers_per_s", "ratio", "api_p50_ms", "api_p95_ms"}


def test_api_bench_sends_every_transfer_once_and_prints_json_last(capsys: pytest.CaptureFixture[str]) -> None:
    result = measure(QUICK_TRANSFERS, clients=4, rounds=2)  # two rounds of each phase, alternating
    assert result.api.statuses == {201: QUICK_TRANSFERS}
    assert (result.api.failures, result.raw.failures, result.balance_errors) == ([], [], [])
    assert result.api.succeeded == result.raw.succeeded == QUICK_TRANSFERS
    # Read back from the contract: each receiver holds exactly what was sent to it (checked per pair in `measure`).
    assert result.api_moved == result.raw_moved == QUICK_TRANSFERS
    assert result.ok

    report(result)
    lines = capsys.readouterr().out.strip().splitlines()
    figures = json.loads(lines[-1])
    assert set(figures) == KEYS
    assert (figures["transfers"], figures["clients"]) == (QUICK_TRANSFERS, 4)
    assert figures["ratio"] == pytest.approx(figures["api_transfers_per_s"] / figures["raw_tx_per_s"], rel=0.02)
    table = "\n".join(lines[:-1])
    assert "raw chain" in table
    assert "REST API" in table
