"""Send registry calls to the chain: sign locally, one nonce per call even with concurrent senders, wait for
the receipt, and turn every failure into a typed error.

Nonces: a thread lock (callers in one process) and a file lock (other processes on this host using the
same key) serialise the short section "read the pending nonce, sign, send". Receipts are awaited outside
the lock, so concurrent callers still overlap on the chain. A node spread over several hosts must give each
host its own operator key.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from filelock import FileLock
from hexbytes import HexBytes
from web3 import HTTPProvider, Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError, TimeExhausted, Web3RPCError
from web3.types import TxReceipt

from node.chain.errors import ChainUnavailable, ContractRevert, ErrorDecoder, TransactionReverted

T = TypeVar("T")

_GAS_HEADROOM_NUMERATOR = 6
_GAS_HEADROOM_DENOMINATOR = 5  # estimate x 1.2: storage refunds and warm/cold differences between estimate and block


def new_request_ref() -> bytes:
    """A fresh random request reference, for writes that do not come with a client idempotency key."""
    return os.urandom(32)


def request_ref_for(idempotency_key: str) -> bytes:
    """The request reference of a client's ``Idempotency-Key``: the same key always maps to the same ref."""
    return keccak(text=f"registry-request:{idempotency_key}")


class ChainClient:
    """A signer bound to one JSON-RPC endpoint and, optionally, the registry contract."""

    def __init__(
        self,
        rpc_url: str,
        private_key: str,
        *,
        lock_dir: Path,
        receipt_timeout: float = 30.0,
        request_timeout: float = 10.0,
        poll_latency: float = 0.02,
    ) -> None:
        self.rpc_url = rpc_url
        self.w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": request_timeout}))
        self.account: LocalAccount = Account.from_key(private_key)
        self.receipt_timeout = receipt_timeout
        self.poll_latency = poll_latency
        lock_dir.mkdir(parents=True, exist_ok=True)
        self._thread_lock = threading.Lock()
        self._file_lock = FileLock(lock_dir / f"nonce-{self.account.address.lower()}.lock")
        self._chain_id: int | None = None
        self._decoder = ErrorDecoder([])

    @property
    def address(self) -> ChecksumAddress:
        return self.account.address

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = self.rpc(lambda: self.w3.eth.chain_id)
        return self._chain_id

    def use_error_abis(self, abis: Sequence[list[dict[str, Any]]]) -> None:
        """Declares which ABIs' custom errors reverts are decoded against."""
        self._decoder = ErrorDecoder(abis)

    def contract(self, address: str, abi: list[dict[str, Any]]) -> Contract:
        return self.w3.eth.contract(address=to_checksum_address(address), abi=abi)

    def rpc(self, request: Callable[[], T]) -> T:
        """Runs one JSON-RPC request, turning transport failures into ``ChainUnavailable``.

        A connection error is retried once on a fresh connection: nodes close idle keep-alive connections, and the
        first request after a pause then fails although the node is fine. Every request we make is safe to repeat
        (reads, and re-sending the same signed transaction, which has the same hash).
        """
        for attempt in range(2):
            try:
                return request()
            except requests.ConnectionError as exc:
                if attempt == 0:
                    continue
                raise ChainUnavailable(f"The chain at {self.rpc_url} cannot be reached: {type(exc).__name__}.") from exc
            except requests.Timeout as exc:
                raise ChainUnavailable(f"The chain at {self.rpc_url} did not answer in time.") from exc
        raise AssertionError("unreachable")

    def call(self, contract: Contract, function: str, *args: Any) -> Any:
        """Calls a view function; a revert becomes its typed error."""
        try:
            return self.rpc(lambda: contract.functions[function](*args).call())
        except ContractLogicError as exc:
            raise self._revert(exc) from exc

    def transact(self, contract: Contract, function: str, *args: Any) -> TxReceipt:
        """Sends a state-changing call and waits for its receipt.

        Raises:
            ContractRevert: a subclass naming the contract's custom error, with its arguments.
            ChainUnavailable: the endpoint is unreachable or the receipt did not arrive in time.
        """
        data = contract.encode_abi(function, args=list(args))
        return self.send(contract.address, data)

    def deploy(self, bytecode: str, constructor_data: str = "0x") -> tuple[ChecksumAddress, TxReceipt]:
        """Deploys a contract; ``constructor_data`` is the ABI-encoded constructor arguments."""
        receipt = self.send(None, bytecode + constructor_data.removeprefix("0x"))
        address = receipt["contractAddress"]
        if address is None:
            raise TransactionReverted("NoContractCreated", {"txHash": receipt["transactionHash"].to_0x_hex()})
        return address, receipt

    def send(self, to: str | None, data: str) -> TxReceipt:
        tx: dict[str, Any] = {"from": self.address, "data": data, "chainId": self.chain_id}
        if to is not None:
            tx["to"] = to
        gas = self._estimate(tx)
        tx["gas"] = gas * _GAS_HEADROOM_NUMERATOR // _GAS_HEADROOM_DENOMINATOR
        gas_price = self.rpc(lambda: self.w3.eth.gas_price)
        tx["maxFeePerGas"] = gas_price * 2
        tx["maxPriorityFeePerGas"] = min(gas_price, 10**9)
        tx["type"] = 2
        del tx["from"]
        tx_hash = self._sign_and_send(tx)
        receipt = self._wait(tx_hash)
        if receipt["status"] != 1:
            raise self._explain_failure(tx, receipt)
        return receipt

    def _estimate(self, tx: dict[str, Any]) -> int:
        try:
            return int(self.rpc(lambda: self.w3.eth.estimate_gas(tx)))  # type: ignore[arg-type]
        except ContractLogicError as exc:
            raise self._revert(exc) from exc

    def _sign_and_send(self, tx: dict[str, Any]) -> HexBytes:
        with self._nonce_section() as next_nonce:
            for attempt in range(2):
                tx["nonce"] = next_nonce()
                signed = self.account.sign_transaction(tx)
                try:
                    raw = signed.raw_transaction
                    return self.rpc(lambda: self.w3.eth.send_raw_transaction(raw))  # noqa: B023 - called at once
                except Web3RPCError as exc:
                    # Another sender with this key, outside our locks, took the nonce: read it again once.
                    if attempt == 0 and "nonce" in str(exc).lower():
                        continue
                    raise
        raise AssertionError("unreachable")

    @contextmanager
    def _nonce_section(self) -> Iterator[Callable[[], int]]:
        with self._thread_lock, self._file_lock:
            yield lambda: int(self.rpc(lambda: self.w3.eth.get_transaction_count(self.address, "pending")))

    def _wait(self, tx_hash: HexBytes) -> TxReceipt:
        try:
            return self.rpc(
                lambda: self.w3.eth.wait_for_transaction_receipt(
                    tx_hash, timeout=self.receipt_timeout, poll_latency=self.poll_latency
                )
            )
        except TimeExhausted as exc:
            raise ChainUnavailable(
                f"Transaction {tx_hash.to_0x_hex()} was sent but not mined within {self.receipt_timeout:.0f} s."
            ) from exc

    def _explain_failure(self, tx: dict[str, Any], receipt: TxReceipt) -> ContractRevert:
        """Replays a reverted transaction on the state after its block to recover the custom error.

        Its own effects were reverted, so that state is what it met plus what came after it in the block.
        """
        replay = {k: tx[k] for k in ("to", "data") if k in tx} | {"from": self.address, "gas": tx["gas"]}
        try:
            self.rpc(lambda: self.w3.eth.call(replay, receipt["blockNumber"]))  # type: ignore[arg-type]
        except ContractLogicError as exc:
            return self._revert(exc)
        return TransactionReverted("TransactionReverted", {"txHash": receipt["transactionHash"].to_0x_hex()})

    def _revert(self, exc: ContractLogicError) -> ContractRevert:
        data = exc.data
        if isinstance(data, str) and data.startswith("0x"):
            return self._decoder.decode(data)
        return TransactionReverted("UnknownRevert", {"message": str(exc)})
