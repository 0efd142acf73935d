"""Gas per registry operation, against a plain OpenZeppelin ERC-20 transfer measured in the same run.

    python -m bench.gas [--blocks 1,10,100,1000]

Starts its own Anvil, deploys the registry behind its proxy (as production does), and prints two tables; the last
line is one JSON object with every figure. Figures are whole-transaction gas (21,000 base included) for both sides.

- Single operations, with random request references (what the node sent before ADR 0015) and, for the split
  transfer, with sequenced ones (ADR 0015: two references per storage word; the first of a pair pays the new word,
  the second rewrites it; ``transfer_split_sequenced`` is their mean, what a node numbering its writes pays).
- Merging on receipt (ADR 0015): a split transfer to an account holding the adjacent block, and to an account
  holding a block that is not adjacent.
- Moves of N blocks (``--blocks``): a sender holding N one-credit blocks (every other serial) sends them all to a
  fresh account (``transfer_<N>_blocks``), or to the account holding the serials in between, so every block merges
  on both sides (``transfer_<N>_blocks_merging``, the worst case per block); the fresh account retires them
  (``retire_<N>_blocks``); a one-credit transfer lands after N blocks of the receiver (``receive_after_<N>_blocks``:
  the receiver's list is walked once per call). From the two largest N: gas per extra block, and the most blocks
  one call can move within a 30,000,000-gas block (``max_blocks_per_transfer_30m``, merging on both sides;
  ``max_blocks_per_retire_30m``), which the node uses to split larger moves into several calls.

Budget: a split transfer with sequenced references costs at most 2.25x an ERC-20 ``transfer`` to a fresh recipient
(``transfer_split_sequenced_vs_erc20``; random references: 2.5x, ``transfer_split_vs_erc20``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
from pathlib import Path

from eth_abi.abi import encode
from eth_utils.address import to_checksum_address
from rich.console import Console
from rich.table import Table

from bench.load import send_presigned, wait_mined
from node.chain.client import ChainClient, new_request_ref
from node.chain.compiler import compile_contracts
from node.chain.deployment import deploy_registry
from node.chain.registry import Registry
from node.chain.types import PPM, ProgrammeInput, RetirementInput, RetirementType, Sector, SequencedRefs
from node.config import ANVIL_DEV_KEY
from node.runtime.anvil import AnvilProcess, free_port

BUDGET = 2.5
SEQUENCED_BUDGET = 2.25
BLOCK_GAS_LIMIT = 30_000_000
BLOCK_COUNTS = (1, 10, 100, 1000)
LABELS = {
    "create_programme": "create programme (1 owner)",
    "authorise_issue_1_owner": "authorise + issue, 1 owner",
    "authorise_issue_3_owners": "authorise + issue, 3 owners",
    "issue": "issue (1 owner, further issuance, merged with its block)",
    "transfer_no_split": "transfer whole block, fresh recipient",
    "transfer_split": "transfer splitting a block, fresh recipient",
    "transfer_split_sequenced_first": "  same, sequenced reference, new word",
    "transfer_split_sequenced_second": "  same, sequenced reference, shared word",
    "transfer_split_sequenced": "  same, sequenced references (mean of a pair)",
    "transfer_split_merge": "transfer splitting a block, merged at receiver",
    "transfer_split_to_holder": "transfer splitting a block, receiver holds another",
    "retire_split": "retire splitting a block (cross-border, no OMGE)",
    "set_omge_rate": "set OMGE rate",
    "retire_split_omge": "retire splitting a block (cross-border, 2% OMGE)",
    "freeze": "freeze account",
    "erc20_transfer_fresh": "baseline: OZ ERC-20 transfer, fresh recipient",
}
SENDER, GAPS, FRESH, ELSEWHERE = 50, 51, 60, 52
LEGAL = RetirementInput(RetirementType.LEGAL_ACTION)


def _programme(external_id: str, owners: tuple[int, ...], estimate: int = 1_000_000) -> ProgrammeInput:
    shares = [PPM // len(owners)] * len(owners)
    shares[0] += PPM - sum(shares)
    return ProgrammeInput(external_id, Sector.ENERGY, 1, "NG", "ITMO", 1_672_531_200, 1_767_225_600, estimate,
                          owners, shares, details_hash=hashlib.sha256(external_id.encode()).digest())  # fmt: skip


def _created(registry: Registry, receipt: object) -> int:
    return int(registry.events(receipt, "ProgrammeCreated")[0]["args"]["programmeId"])  # type: ignore[arg-type]


def measure(client: ChainClient, block_counts: tuple[int, ...] = BLOCK_COUNTS) -> dict[str, int]:
    artifacts = compile_contracts()
    deployment = deploy_registry(client, artifacts, country="NG", government_account=1)
    registry = Registry(client, deployment.registry, artifacts["CarbonRegistry"].abi)
    gas: dict[str, int] = {}

    receipt = registry.create_programme(_programme("BENCH-1", (10,)), new_request_ref())
    gas["create_programme"] = receipt["gasUsed"]
    one = _created(registry, receipt)
    gas["authorise_issue_1_owner"] = registry.authorise(one, 1000, new_request_ref())["gasUsed"]
    three = _created(registry, registry.create_programme(_programme("BENCH-3", (10, 11, 12)), new_request_ref()))
    gas["authorise_issue_3_owners"] = registry.authorise(three, 1000, new_request_ref())["gasUsed"]
    gas["issue"] = registry.issue(one, 500, new_request_ref())["gasUsed"]  # account 10: 1-1500, one block
    gas["transfer_no_split"] = registry.transfer(one, 10, 20, 1500, new_request_ref())["gasUsed"]  # 20: 1-1500
    registry.transfer(one, 20, 10, 1000, new_request_ref())  # 10: 1-1000, 20: 1001-1500
    gas["transfer_split"] = registry.transfer(one, 10, 21, 100, new_request_ref())["gasUsed"]  # 21: 1-100
    sequenced = SequencedRefs()
    first = registry.transfer(one, 10, 22, 100, sequenced())["gasUsed"]  # 22: 101-200
    second = registry.transfer(one, 10, 23, 100, sequenced())["gasUsed"]  # 23: 201-300
    gas["transfer_split_sequenced_first"], gas["transfer_split_sequenced_second"] = first, second
    gas["transfer_split_sequenced"] = (first + second + 1) // 2
    gas["transfer_split_merge"] = registry.transfer(one, 10, 23, 100, new_request_ref())["gasUsed"]  # 201-400
    gas["transfer_split_to_holder"] = registry.transfer(one, 10, 20, 100, new_request_ref())["gasUsed"]  # 401-500
    cross_border = RetirementInput(RetirementType.CROSS_BORDER, country="CH", beneficiary="Buyer")
    gas["retire_split"] = registry.retire(one, 10, 100, cross_border, new_request_ref())["gasUsed"]
    gas["set_omge_rate"] = registry.set_omge_rate(200, new_request_ref())["gasUsed"]
    cross_border = RetirementInput(RetirementType.CROSS_BORDER, country="CH", beneficiary="Buyer", omge_bps=200)
    gas["retire_split_omge"] = registry.retire(one, 10, 100, cross_border, new_request_ref())["gasUsed"]
    gas["freeze"] = registry.freeze(30, new_request_ref())["gasUsed"]

    token = artifacts["BaselineToken"]
    token_address, _ = client.deploy(token.bytecode, "0x" + encode(["uint256"], [10**24]).hex())
    erc20 = client.contract(token_address, token.abi)
    fresh = to_checksum_address("0x" + "ab" * 20)
    gas["erc20_transfer_fresh"] = client.transact(erc20, "transfer", fresh, 10**18)["gasUsed"]

    for n in block_counts:
        gas |= _multi_block(registry, n)
    gas |= _per_block(gas, sorted(block_counts))
    return gas


def _fragmented(registry: Registry, name: str, steps: int) -> int:
    """A programme whose owners SENDER and GAPS hold every other serial: SENDER 1, 3, 5..., GAPS 2, 4, 6... in
    ``steps`` one-credit blocks each (one issuance of two credits per step, pre-signed and batched)."""
    pid = _created(registry, registry.create_programme(_programme(name, (SENDER, GAPS), 2 * steps + 2),
                                                       new_request_ref()))  # fmt: skip
    registry.authorise(pid, 0, new_request_ref())
    calls = [("issue", [pid, 2, new_request_ref()]) for _ in range(steps)]
    for start in range(0, steps, 500):
        hashes = send_presigned(registry, ANVIL_DEV_KEY, calls[start : start + 500])
        wait_mined(registry, hashes[-1])
    return pid


def _multi_block(registry: Registry, n: int) -> dict[str, int]:
    gas: dict[str, int] = {}
    spread = _fragmented(registry, f"SPREAD-{n}", n)
    gas[f"transfer_{n}_blocks"] = registry.transfer(spread, SENDER, FRESH, n, new_request_ref())["gasUsed"]
    gas[f"retire_{n}_blocks"] = registry.retire(spread, FRESH, n, LEGAL, new_request_ref())["gasUsed"]

    interleaved = _fragmented(registry, f"INTERLEAVED-{n}", n)
    gas[f"transfer_{n}_blocks_merging"] = registry.transfer(interleaved, SENDER, GAPS, n,
                                                            new_request_ref())["gasUsed"]  # fmt: skip

    # SENDER holds 1, 3, ..., 2n - 1 and then 2n + 1; GAPS sends 2n, which joins both, after a walk of n blocks.
    walk = _fragmented(registry, f"WALK-{n}", n)
    if n > 1:
        registry.transfer(walk, GAPS, ELSEWHERE, n - 1, new_request_ref())
    registry.issue(walk, 2, new_request_ref())
    gas[f"receive_after_{n}_blocks"] = registry.transfer(walk, GAPS, SENDER, 1, new_request_ref())["gasUsed"]
    return gas


def _per_block(gas: dict[str, int], counts: list[int]) -> dict[str, int]:
    if len(counts) < 2:
        return {}
    low, high = counts[-2], counts[-1]

    def slope(key: str) -> float:
        return (gas[key.format(high)] - gas[key.format(low)]) / (high - low)

    def most_blocks(key: str) -> int:
        per_block = slope(key)
        fixed = gas[key.format(high)] - per_block * high
        return int((BLOCK_GAS_LIMIT - fixed) // per_block)

    return {
        "gas_per_block_transfer": round(slope("transfer_{}_blocks")),
        "gas_per_block_transfer_merging": round(slope("transfer_{}_blocks_merging")),
        "gas_per_block_retire": round(slope("retire_{}_blocks")),
        "gas_per_receiver_block_walked": round(slope("receive_after_{}_blocks")),
        "max_blocks_per_transfer_30m": most_blocks("transfer_{}_blocks_merging"),
        "max_blocks_per_retire_30m": most_blocks("retire_{}_blocks"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", default=",".join(map(str, BLOCK_COUNTS)),
                        help="block counts of the multi-block moves (comma-separated)")  # fmt: skip
    counts = tuple(sorted({int(n) for n in parser.parse_args().blocks.split(",")}))
    with tempfile.TemporaryDirectory() as tmp, AnvilProcess(port=free_port(), home=Path(tmp)) as anvil:
        gas = measure(ChainClient(anvil.url, ANVIL_DEV_KEY, lock_dir=Path(tmp) / "locks"), counts)
    erc20 = gas["erc20_transfer_fresh"]
    ratio = gas["transfer_split"] / erc20
    sequenced_ratio = gas["transfer_split_sequenced"] / erc20
    console = Console(width=120)
    table = Table(title="Gas per operation (whole transaction)")
    for column, justify in (("key", "left"), ("operation", "left"), ("gas", "right"), ("x ERC-20", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for key, label in LABELS.items():
        table.add_row(key, label, f"{gas[key]:,}", f"{gas[key] / erc20:.2f}")
    console.print(table)
    blocks = Table(title="Moves of N one-credit blocks (whole transaction)")
    blocks.add_column("N", justify="right")
    for column in ("transfer, fresh receiver", "transfer, merging both sides", "retire", "1 credit after N blocks"):
        blocks.add_column(column, justify="right")
    keys = ("transfer_{}_blocks", "transfer_{}_blocks_merging", "retire_{}_blocks", "receive_after_{}_blocks")
    for n in counts:
        blocks.add_row(str(n), *(f"{gas[k.format(n)]:,}" for k in keys))
    console.print(blocks)
    if "gas_per_block_transfer" in gas:
        console.print(
            f"per extra block: transfer {gas['gas_per_block_transfer']:,}, merging "
            f"{gas['gas_per_block_transfer_merging']:,}, retire {gas['gas_per_block_retire']:,}, receiver block "
            f"walked {gas['gas_per_receiver_block_walked']:,}; most blocks per call within {BLOCK_GAS_LIMIT:,} gas: "
            f"transfer {gas['max_blocks_per_transfer_30m']:,}, retire {gas['max_blocks_per_retire_30m']:,}"
        )
    for name, value, budget in (("transfer_split_vs_erc20", ratio, BUDGET),
                                ("transfer_split_sequenced_vs_erc20", sequenced_ratio, SEQUENCED_BUDGET)):  # fmt: skip
        console.print(f"{name} = {value:.3f} ({'within' if value <= budget else 'OVER'} the {budget}x budget)")
    print(json.dumps(gas | {"transfer_split_vs_erc20": round(ratio, 4),
                            "transfer_split_sequenced_vs_erc20": round(sequenced_ratio, 4)}))  # fmt: skip


if __name__ == "__main__":
    main()
