"""Gas per registry operation, against a plain OpenZeppelin ERC-20 transfer measured in the same run.

    python -m bench.gas

Starts its own Anvil, deploys the registry behind its proxy (as production does), and prints a table; the last
line is one JSON object with every figure. Budget: a transfer that splits a block costs at most 2.5x an ERC-20
``transfer`` to a fresh recipient (``transfer_split_vs_erc20``). Figures are whole-transaction gas (21,000 base
included) for both sides.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

from eth_abi.abi import encode
from eth_utils.address import to_checksum_address
from rich.console import Console
from rich.table import Table

from node.chain.client import ChainClient, new_request_ref
from node.chain.compiler import compile_contracts
from node.chain.deployment import deploy_registry
from node.chain.registry import Registry
from node.chain.types import PPM, ProgrammeInput, RetirementInput, RetirementType, Sector
from node.config import ANVIL_DEV_KEY
from node.runtime.anvil import AnvilProcess, free_port

BUDGET = 2.5
LABELS = {
    "create_programme": "create programme (1 owner)",
    "authorise_issue_1_owner": "authorise + issue, 1 owner",
    "authorise_issue_3_owners": "authorise + issue, 3 owners",
    "issue": "issue (1 owner, further issuance)",
    "transfer_no_split": "transfer whole block, fresh recipient",
    "transfer_split": "transfer splitting a block, fresh recipient",
    "retire_split": "retire splitting a block (cross-border)",
    "freeze": "freeze account",
    "erc20_transfer_fresh": "baseline: OZ ERC-20 transfer, fresh recipient",
}


def _programme(external_id: str, owners: tuple[int, ...]) -> ProgrammeInput:
    shares = [PPM // len(owners)] * len(owners)
    shares[0] += PPM - sum(shares)
    return ProgrammeInput(external_id, Sector.ENERGY, 1, "NG", "ITMO", 1_672_531_200, 1_767_225_600, 1_000_000,
                          owners, shares, details_hash=hashlib.sha256(external_id.encode()).digest())  # fmt: skip


def measure(client: ChainClient) -> dict[str, int]:
    artifacts = compile_contracts()
    deployment = deploy_registry(client, artifacts, country="NG", government_account=1)
    registry = Registry(client, deployment.registry, artifacts["CarbonRegistry"].abi)
    gas: dict[str, int] = {}

    def pid_of(receipt: object) -> int:
        return int(registry.events(receipt, "ProgrammeCreated")[0]["args"]["programmeId"])  # type: ignore[arg-type]

    receipt = registry.create_programme(_programme("BENCH-1", (10,)), new_request_ref())
    gas["create_programme"] = receipt["gasUsed"]
    one = pid_of(receipt)
    gas["authorise_issue_1_owner"] = registry.authorise(one, 1000, new_request_ref())["gasUsed"]
    three = pid_of(registry.create_programme(_programme("BENCH-3", (10, 11, 12)), new_request_ref()))
    gas["authorise_issue_3_owners"] = registry.authorise(three, 1000, new_request_ref())["gasUsed"]
    gas["issue"] = registry.issue(one, 500, new_request_ref())["gasUsed"]  # account 10: [1-1000], [1001-1500]
    gas["transfer_no_split"] = registry.transfer(one, 10, 20, 1000, new_request_ref())["gasUsed"]
    gas["transfer_split"] = registry.transfer(one, 10, 21, 100, new_request_ref())["gasUsed"]
    cross_border = RetirementInput(RetirementType.CROSS_BORDER, country="CH", beneficiary="Buyer")
    gas["retire_split"] = registry.retire(one, 10, 100, cross_border, new_request_ref())["gasUsed"]
    gas["freeze"] = registry.freeze(30, new_request_ref())["gasUsed"]

    token = artifacts["BaselineToken"]
    token_address, _ = client.deploy(token.bytecode, "0x" + encode(["uint256"], [10**24]).hex())
    erc20 = client.contract(token_address, token.abi)
    fresh = to_checksum_address("0x" + "ab" * 20)
    gas["erc20_transfer_fresh"] = client.transact(erc20, "transfer", fresh, 10**18)["gasUsed"]
    return gas


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, AnvilProcess(port=free_port(), home=Path(tmp)) as anvil:
        gas = measure(ChainClient(anvil.url, ANVIL_DEV_KEY, lock_dir=Path(tmp) / "locks"))
    ratio = gas["transfer_split"] / gas["erc20_transfer_fresh"]
    table = Table(title="Gas per operation (whole transaction)")
    table.add_column("key")
    table.add_column("operation")
    table.add_column("gas", justify="right")
    table.add_column("x ERC-20", justify="right")
    for key, label in LABELS.items():
        table.add_row(key, label, f"{gas[key]:,}", f"{gas[key] / gas['erc20_transfer_fresh']:.2f}")
    console = Console(width=110)
    console.print(table)
    verdict = "within" if ratio <= BUDGET else "OVER"
    console.print(f"transfer_split_vs_erc20 = {ratio:.3f} ({verdict} the {BUDGET}x budget)")
    print(json.dumps(gas | {"transfer_split_vs_erc20": round(ratio, 4)}))


if __name__ == "__main__":
    main()
