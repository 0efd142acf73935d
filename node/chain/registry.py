"""Typed access to the deployed registry contract: one method per contract function.

Write methods take the request reference last and return the transaction receipt; ``events`` decodes the
registry's events from a receipt.
"""

from __future__ import annotations

from typing import Any

from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import EventData, TxReceipt

from node.chain.client import ChainClient
from node.chain.types import ProgrammeInput, RetirementInput


class Registry:
    """The registry contract behind its proxy, driven by one ``ChainClient``."""

    def __init__(self, client: ChainClient, address: str, abi: list[dict[str, Any]]) -> None:
        self.client = client
        self.contract: Contract = client.contract(address, abi)
        client.use_error_abis([abi])

    @property
    def address(self) -> str:
        return str(self.contract.address)

    # ------------------------------------------------------------------ writes

    def create_programme(self, programme: ProgrammeInput, ref: bytes) -> TxReceipt:
        return self._transact("createProgramme", programme.as_abi(), ref)

    def authorise(self, programme_id: int, issue_amount: int, ref: bytes) -> TxReceipt:
        return self._transact("authorise", programme_id, issue_amount, ref)

    def reject(self, programme_id: int, ref: bytes) -> TxReceipt:
        return self._transact("reject", programme_id, ref)

    def issue(self, programme_id: int, amount: int, ref: bytes) -> TxReceipt:
        return self._transact("issue", programme_id, amount, ref)

    def update_programme_details(self, programme_id: int, details_hash: bytes, ref: bytes) -> TxReceipt:
        """Anchors a new SHA-256 (32 bytes) of a programme's off-chain details (``updateProgrammeDetails``)."""
        return self._transact("updateProgrammeDetails", programme_id, details_hash, ref)

    def certify(self, programme_id: int, certifier: int, ref: bytes) -> TxReceipt:
        return self._transact("certify", programme_id, certifier, ref)

    def revoke_certification(self, programme_id: int, certifier: int, ref: bytes) -> TxReceipt:
        return self._transact("revokeCertification", programme_id, certifier, ref)

    def transfer(self, programme_id: int, sender: int, receiver: int, amount: int, ref: bytes) -> TxReceipt:
        return self._transact("transfer", programme_id, sender, receiver, amount, ref)

    def retire(self, programme_id: int, holder: int, amount: int, details: RetirementInput, ref: bytes) -> TxReceipt:
        return self._transact("retire", programme_id, holder, amount, details.as_abi(), ref)

    def freeze(self, account: int, ref: bytes) -> TxReceipt:
        return self._transact("freezeAccount", account, ref)

    def unfreeze(self, account: int, ref: bytes) -> TxReceipt:
        return self._transact("unfreezeAccount", account, ref)

    def pause_transfers(self, ref: bytes) -> TxReceipt:
        return self._transact("pauseTransfers", ref)

    def unpause_transfers(self, ref: bytes) -> TxReceipt:
        return self._transact("unpauseTransfers", ref)

    def set_government_account(self, account: int, ref: bytes) -> TxReceipt:
        return self._transact("setGovernmentAccount", account, ref)

    def set_omge_rate(self, omge_bps: int, ref: bytes) -> TxReceipt:
        """Records the registry's OMGE rate (basis points, below 10,000) on chain (``setOmgeRate``)."""
        return self._transact("setOmgeRate", omge_bps, ref)

    # ------------------------------------------------------------------ reads

    def omge_rate(self) -> int:
        """The registry's OMGE rate in basis points (``omgeRate``): what a cross-border ``retire`` must state."""
        return int(self.view("omgeRate"))

    def retirement(self, retirement_id: int) -> dict[str, Any]:
        """``getRetirement`` as a dict keyed by the Solidity field names (``beneficiary`` included since 1.2.0)."""
        names = ("retirementId", "programmeId", "from", "retirementType", "country", "amount", "omgeAmount",
                 "beneficiary")  # fmt: skip
        return dict(zip(names, self.view("getRetirement", retirement_id), strict=True))

    def move_plan(self, programme_id: int, account: int, amount: int, max_blocks: int) -> list[int]:
        """Amounts of consecutive moves of ``amount`` credits from ``account`` that each touch at most ``max_blocks``
        of its blocks (ADR 0015: the most one call can move within the block gas limit), lowest serials first, read
        with ``blocksOf``. Their sum is ``amount``; each call consumes the front of the list, so the plan holds as
        long as nothing else moves the account's credits between the calls.
        """
        if max_blocks < 1:
            raise ValueError("max_blocks must be at least 1")
        plan: list[int] = []
        left, cursor = amount, 0
        while left > 0:
            page, cursor = self.view("blocksOf", programme_id, account, cursor, max_blocks)
            credits = sum(b[1] - b[0] + 1 for b in page)
            if not page:
                raise ValueError(f"account {account} holds fewer than {amount} credits of programme {programme_id}")
            plan.append(min(credits, left))
            left -= plan[-1]
            if cursor == 0 and left > 0:
                raise ValueError(f"account {account} holds fewer than {amount} credits of programme {programme_id}")
        return plan

    def blocks_of(self, programme_id: int, account: int, page_size: int = 500) -> list[tuple[Any, ...]]:
        """All of an account's blocks of a programme, in serial order, read page by page."""
        blocks: list[tuple[Any, ...]] = []
        cursor = 0
        while True:
            page, cursor = self.view("blocksOf", programme_id, account, cursor, page_size)
            blocks += page
            if cursor == 0:
                return blocks

    def view(self, function: str, *args: Any) -> Any:
        return self.client.call(self.contract, function, *args)

    def events(self, receipt: TxReceipt, name: str) -> list[EventData]:
        """The registry's ``name`` events in ``receipt``, decoded."""
        return list(self.contract.events[name]().process_receipt(receipt, errors=DISCARD))

    def _transact(self, function: str, *args: Any) -> TxReceipt:
        return self.client.transact(self.contract, function, *args)
