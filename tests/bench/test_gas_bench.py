"""``python -m bench.gas`` prints its tables and, last, one JSON object with every figure.

Gas is deterministic, so the budgets are asserted here as a regression guard (speed figures never are).
"""

from __future__ import annotations

import json
import subprocess
import sys

from node.paths import PROJECT_ROOT

COUNTS = (1, 10, 100)
KEYS = {
    "create_programme", "authorise_issue_1_owner", "authorise_issue_3_owners", "issue", "transfer_no_split",
    "transfer_split", "transfer_split_sequenced_first", "transfer_split_sequenced_second", "transfer_split_sequenced",
    "transfer_split_merge", "transfer_split_to_holder", "retire_split", "set_omge_rate", "retire_split_omge", "freeze",
    "erc20_transfer_fresh", "transfer_split_vs_erc20", "transfer_split_sequenced_vs_erc20",
    "gas_per_block_transfer", "gas_per_block_transfer_merging", "gas_per_block_retire",
    "gas_per_receiver_block_walked", "max_blocks_per_transfer_30m", "max_blocks_per_retire_30m",
} | {key.format(n) for n in COUNTS for key in (
    "transfer_{}_blocks", "transfer_{}_blocks_merging", "retire_{}_blocks", "receive_after_{}_blocks")}  # fmt: skip


def test_gas_bench_prints_json_last_line_within_budget() -> None:
    result = subprocess.run([sys.executable, "-m", "bench.gas", "--blocks", ",".join(map(str, COUNTS))],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=True)  # fmt: skip
    lines = result.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    assert set(figures) == KEYS
    assert figures["transfer_split_vs_erc20"] == round(figures["transfer_split"] / figures["erc20_transfer_fresh"], 4)
    assert figures["transfer_split_vs_erc20"] <= 2.5
    assert figures["transfer_split_sequenced_vs_erc20"] <= 2.25
    assert figures["transfer_split_sequenced_second"] < figures["transfer_split_sequenced_first"]
    assert figures["transfer_no_split"] < figures["transfer_split"]
    assert figures["transfer_split_merge"] < figures["transfer_split"]  # no new slot for the receiver's holding
    assert 1000 <= figures["max_blocks_per_transfer_30m"] <= figures["max_blocks_per_retire_30m"]
    assert "transfer_split" in result.stdout.split(lines[-1])[0]  # the tables precede the JSON
