"""``python -m bench.gas`` prints its table and, last, one JSON object with every figure.

Gas is deterministic, so the budget is asserted here as a regression guard (speed figures never are).
"""

from __future__ import annotations

import json
import subprocess
import sys

from node.paths import PROJECT_ROOT

KEYS = {
    "create_programme", "authorise_issue_1_owner", "authorise_issue_3_owners", "issue", "transfer_no_split",
    "transfer_split", "retire_split", "freeze", "erc20_transfer_fresh", "transfer_split_vs_erc20",
}  # fmt: skip


def test_gas_bench_prints_json_last_line_within_budget() -> None:
    result = subprocess.run([sys.executable, "-m", "bench.gas"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            timeout=300, check=True)  # fmt: skip
    lines = result.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    assert set(figures) == KEYS
    assert figures["transfer_split_vs_erc20"] == round(figures["transfer_split"] / figures["erc20_transfer_fresh"], 4)
    assert figures["transfer_split_vs_erc20"] <= 2.5
    assert figures["transfer_no_split"] < figures["transfer_split"]
    assert "transfer_split" in result.stdout.split(lines[-1])[0]  # the table precedes the JSON
