"""Typed access to the deployed registry contract: one method per contract function.

Write methods take the request reference last and return the transaction receipt; ``events`` decodes the
registry's events from a receipt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi.exceptions import InsufficientDataBytes
from eth_utils.abi import event_abi_to_log_topic, get_abi_input_names
from web3._utils.abi import (
    exclude_indexed_event_inputs,
    get_indexed_event_inputs,
    named_tree,
    normalize_event_input_types,
)
from web3._utils.events import get_event_abi_types_for_decoding
from web3.contract import Contract
from web3.datastructures import AttributeDict
from web3.logs import DISCARD
from web3.types import EventData, TxReceipt

from node.chain.client import ChainClient
from node.chain.types import ProgrammeInput, RetirementInput

MOVE_GAS_BASE = 300_000
"""Gas limit of a transfer or retirement before its per-block parts (ADR 0020): the heaviest one-block move measured,
a cross-border retirement with its OMGE split, uses 193,135 gas (``bench.gas``, ADR 0015)."""
MOVE_GAS_PER_BLOCK = 20_000
"""Per block of the holder the move touches: measured 9,415 (transfer), 16,495 (merging on both sides), 8,474
(retirement)."""
MOVE_GAS_PER_RECEIVER_BLOCK = 3_000
"""Per block of the receiver: a range landing before the receiver's last block walks its list (2,354 per block)."""


def move_gas(blocks: int, receiver_blocks: int = 0) -> int:
    """A gas limit for a transfer or retirement touching ``blocks`` of the holder's blocks and landing among
    ``receiver_blocks`` of the receiver's (ADR 0020): the measured costs with a margin. The client caps it at the block
    gas limit, and a transaction that runs out of it anyway is sent again with an estimate."""
    return MOVE_GAS_BASE + MOVE_GAS_PER_BLOCK * max(1, blocks) + MOVE_GAS_PER_RECEIVER_BLOCK * receiver_blocks


@dataclass(frozen=True)
class _Event:
    """What decoding one event's logs needs, worked out once (web3 works it out again for every log)."""

    topic: bytes
    topic_types: tuple[str, ...]
    topic_names: list[str | None]
    data_types: tuple[str, ...]
    data_inputs: tuple[Any, ...]
    plain: bool
    """No address among its values: web3's return normalizers (checksummed addresses) change nothing."""


class Registry:
    """The registry contract behind its proxy, driven by one ``ChainClient``."""

    def __init__(self, client: ChainClient, address: str, abi: list[dict[str, Any]]) -> None:
        self.client = client
        self.contract: Contract = client.contract(address, abi)
        client.use_error_abis([abi])
        self._events: dict[str, _Event] = {}

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

    def transfer(self, programme_id: int, sender: int, receiver: int, amount: int, ref: bytes, *,
                 gas: int | None = None) -> TxReceipt:  # fmt: skip
        """``gas``: a limit from the move's shape (:func:`move_gas`), sent without an estimate; None estimates."""
        return self._transact("transfer", programme_id, sender, receiver, amount, ref, gas=gas)

    def retire(self, programme_id: int, holder: int, amount: int, details: RetirementInput, ref: bytes, *,
               gas: int | None = None) -> TxReceipt:  # fmt: skip
        """``gas``: as for :meth:`transfer`."""
        return self._transact("retire", programme_id, holder, amount, details.as_abi(), ref, gas=gas)

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
        """The registry's ``name`` events in ``receipt``, decoded as web3's ``process_receipt(errors=DISCARD)``
        decodes them, with the event's types worked out once (web3's per-log work cost more than the rest of a
        transfer's chain write, ADR 0020). An event with an address among its values goes through web3 itself."""
        event = self._event(name)
        if not event.plain:
            return list(self.contract.events[name]().process_receipt(receipt, errors=DISCARD))
        codec = self.client.w3.codec
        found: list[EventData] = []
        for log in receipt["logs"]:
            topics = log["topics"]
            if not topics or bytes(topics[0]) != event.topic or len(topics) - 1 != len(event.topic_types):
                continue  # another event, or a log web3 would discard (MismatchedABI, LogTopicError)
            try:
                data = codec.decode(event.data_types, bytes(log["data"]))
                pairs = zip(event.topic_types, topics[1:], strict=True)
                indexed = [codec.decode([kind], bytes(topic))[0] for kind, topic in pairs]
            except (TypeError, InsufficientDataBytes):  # discarded by web3 too
                continue
            args = dict(zip(event.topic_names, indexed, strict=True)) | named_tree(event.data_inputs, data)
            decoded: Any = {
                "args": args, "event": name, "logIndex": log["logIndex"], "transactionIndex": log["transactionIndex"],
                "transactionHash": log["transactionHash"], "address": log["address"], "blockHash": log["blockHash"],
                "blockNumber": log["blockNumber"],
            }  # fmt: skip
            found.append(AttributeDict.recursive(decoded) if isinstance(log, AttributeDict) else decoded)
        return found

    def _event(self, name: str) -> _Event:
        if name not in self._events:
            abi = self.contract.events[name].abi
            indexed, data = get_indexed_event_inputs(abi), exclude_indexed_event_inputs(abi)
            topic_types = get_event_abi_types_for_decoding(normalize_event_input_types(indexed))
            data_inputs = normalize_event_input_types(data)
            data_types = get_event_abi_types_for_decoding(data_inputs)
            topic_names = get_abi_input_names({"name": name, "type": "event", "inputs": indexed})
            plain = not any("address" in kind for kind in (*topic_types, *data_types))
            self._events[name] = _Event(event_abi_to_log_topic(abi), topic_types, topic_names, data_types,
                                        data_inputs, plain)  # fmt: skip
        return self._events[name]

    def _transact(self, function: str, *args: Any, gas: int | None = None) -> TxReceipt:
        return self.client.transact(self.contract, function, *args, gas=gas)
