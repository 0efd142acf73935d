"""Send registry calls to the chain: sign locally, one nonce per call even with concurrent senders, wait for
the receipt, and turn every failure into a typed error.

Nonces: a thread lock (callers in one process) and a file lock (other processes on this host using the
same key) serialise the short section "read the pending nonce, sign, send". Receipts are awaited outside
the lock, so concurrent callers still overlap on the chain. A node spread over several hosts must give each
host its own operator key.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils.abi import function_abi_to_4byte_selector, get_abi_input_types, get_abi_output_types
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from filelock import FileLock
from hexbytes import HexBytes
from web3 import HTTPProvider, Web3
from web3._utils.abi import map_abi_data
from web3._utils.method_formatters import receipt_formatter
from web3._utils.normalizers import BASE_RETURN_NORMALIZERS
from web3.contract import Contract
from web3.datastructures import AttributeDict
from web3.exceptions import ContractLogicError, Web3RPCError
from web3.types import RPCResponse, TxReceipt

from node.chain import activity
from node.chain.errors import ChainUnavailable, ContractRevert, ErrorDecoder, TransactionReverted
from node.chain.jsonrpc import JsonRpcHttp, RpcTimeout, RpcUnreachable
from node.chain.signing import TransactionSigner

T = TypeVar("T")
logger = logging.getLogger("registry.chain")

_GAS_HEADROOM_NUMERATOR = 6
_GAS_HEADROOM_DENOMINATOR = 5  # estimate x 1.2: storage refunds and warm/cold differences between estimate and block
_FIRST_RECEIPT_POLL = 0.001
"""Seconds before the first receipt poll after sending; the pause doubles from there up to ``poll_latency``."""


@dataclass(frozen=True)
class _Function:
    """A contract function's selector and ABI types, worked out once per client."""

    selector: bytes
    inputs: list[str]
    outputs: list[str]


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
        # The hot paths (views, the write path, receipts) post plain JSON-RPC: web3's provider goes through
        # ``requests``, which cost ten times the CPU of a kept-alive connection (node/chain/jsonrpc.py).
        self.http = JsonRpcHttp(rpc_url, timeout=request_timeout)
        # Every transaction is signed here with its chain id, and every address is hex: web3's request validation
        # (an eth_chainId round trip before each call and estimate) and ENS resolution only cost time (bench.api).
        for name in ("validation", "ens_name_to_address"):
            self.w3.middleware_onion.remove(name)
        self._functions: dict[tuple[str, str], _Function] = {}
        self._gas_price: tuple[float, int] | None = None
        self._gas_limit: tuple[float, int] | None = None
        self.account: LocalAccount = Account.from_key(private_key)
        self._signer = TransactionSigner(self.account)
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
            except (requests.ConnectionError, RpcUnreachable) as exc:
                if attempt == 0:
                    continue
                raise ChainUnavailable(
                    "The chain at {url} cannot be reached: {error}.",
                    params={"url": self.rpc_url, "error": type(exc).__name__},
                ) from exc
            except (requests.Timeout, RpcTimeout) as exc:
                raise ChainUnavailable(
                    "The chain at {url} did not answer in time.", params={"url": self.rpc_url}
                ) from exc
        raise AssertionError("unreachable")

    def call(self, contract: Contract, function: str, *args: Any) -> Any:
        """Calls a view function; a revert becomes its typed error.

        The call is encoded and decoded with the function's cached ABI types and sent as one plain ``eth_call``
        (web3's contract-call machinery cost several times the round trip itself, bench.api); anything unusual
        (arguments the codec refuses, a revert, an empty answer) goes through web3's own path, which explains it.
        """
        view = self._abi(contract, function)
        try:
            data = view.selector + self.w3.codec.encode(view.inputs, args)
        except Exception:  # noqa: BLE001 - web3's path below raises the explanatory error
            return self._web3_call(contract, function, *args)
        answer = self.rpc(lambda: self.http.request(
            "eth_call", [{"to": contract.address, "data": "0x" + data.hex()}, "latest"]))  # fmt: skip
        result = answer.get("result")
        if "error" in answer or not isinstance(result, str) or result in ("0x", ""):
            return self._web3_call(contract, function, *args)
        raw = self.w3.codec.decode(view.outputs, HexBytes(result))
        decoded = map_abi_data(BASE_RETURN_NORMALIZERS, view.outputs, raw)
        return decoded[0] if len(decoded) == 1 else decoded

    def _web3_call(self, contract: Contract, function: str, *args: Any) -> Any:
        try:
            return self.rpc(lambda: contract.functions[function](*args).call())
        except ContractLogicError as exc:
            raise self._revert(exc) from exc

    def _abi(self, contract: Contract, function: str) -> _Function:
        key = (contract.address, function)
        if key not in self._functions:
            abi = contract.get_function_by_name(function).abi
            self._functions[key] = _Function(function_abi_to_4byte_selector(abi), get_abi_input_types(abi),
                                             get_abi_output_types(abi))  # fmt: skip
        return self._functions[key]

    def transact(self, contract: Contract, function: str, *args: Any, gas: int | None = None) -> TxReceipt:
        """Sends a state-changing call and waits for its receipt.

        ``gas``: a gas limit the caller worked out from the call's shape (ADR 0020), sent without ``eth_estimateGas``
        (capped at the block gas limit); see :meth:`send`.

        Raises:
            ContractRevert: a subclass naming the contract's custom error, with its arguments.
            ChainUnavailable: the endpoint is unreachable or the receipt did not arrive in time.
        """
        abi = self._abi(contract, function)
        try:
            data = "0x" + (abi.selector + self.w3.codec.encode(abi.inputs, args)).hex()
        except Exception:  # noqa: BLE001 - web3's encoder raises the explanatory error
            data = contract.encode_abi(function, args=list(args))
        return self.send(contract.address, data, gas=gas)

    def deploy(self, bytecode: str, constructor_data: str = "0x") -> tuple[ChecksumAddress, TxReceipt]:
        """Deploys a contract; ``constructor_data`` is the ABI-encoded constructor arguments."""
        receipt = self.send(None, bytecode + constructor_data.removeprefix("0x"))
        address = receipt["contractAddress"]
        if address is None:
            raise TransactionReverted("NoContractCreated", {"txHash": receipt["transactionHash"].to_0x_hex()})
        return address, receipt

    def send(self, to: str | None, data: str, *, gas: int | None = None) -> TxReceipt:
        """Signs, sends and waits for one transaction.

        Without ``gas`` the limit is ``eth_estimateGas`` x 1.2, and a call the contract refuses is refused by the
        estimate, before anything is sent. With ``gas`` (ADR 0020) the estimate is skipped (for Anvil it is a second
        execution of the call): a refusal is then a mined, reverted transaction, explained by replaying it; and a
        transaction that failed although its replay with all the block's gas passes ran out of the given gas, so it
        is sent again with an estimate. Nothing of a reverted transaction stays on chain (its request reference
        included), so the second one applies the call once.
        """
        tx: dict[str, Any] = {"from": self.address, "data": data, "chainId": self.chain_id}
        if to is not None:
            tx["to"] = to
        if gas is None:
            tx["gas"] = self._estimate(tx) * _GAS_HEADROOM_NUMERATOR // _GAS_HEADROOM_DENOMINATOR
        else:
            tx["gas"] = min(gas, self._block_gas_limit())
        gas_price = self._current_gas_price()
        tx["maxFeePerGas"] = gas_price * 2
        tx["maxPriorityFeePerGas"] = min(gas_price, 10**9)
        tx["type"] = 2
        del tx["from"]
        tx_hash = self._sign_and_send(tx)
        receipt = self._wait(tx_hash)
        activity.mined()
        if receipt["status"] != 1:
            refusal = self._explain_failure(tx, receipt, with_all_gas=gas is not None)
            if refusal is None:  # the given limit was too low: the call itself passes
                logger.warning("transaction %s ran out of its %s gas; sending it again with an estimate",
                               receipt["transactionHash"].to_0x_hex(), tx["gas"])  # fmt: skip
                return self.send(to, data)
            raise refusal
        return receipt

    def _block_gas_limit(self) -> int:
        """The latest block's gas limit, read at most once a minute (it moves slowly, if at all)."""
        now = time.monotonic()
        if self._gas_limit is None or now - self._gas_limit[0] > 60.0:
            block = self._raw("eth_getBlockByNumber", ["latest", False])
            self._gas_limit = (now, int(block["gasLimit"], 16))
        return self._gas_limit[1]

    def _current_gas_price(self) -> int:
        """The chain's gas price, read at most once a second: fees are set at twice it, which covers a base fee
        rising for a second (at most 12.5% a block under EIP-1559), and one RPC fewer per transaction."""
        now = time.monotonic()
        if self._gas_price is None or now - self._gas_price[0] > 1.0:
            self._gas_price = (now, int(self._raw("eth_gasPrice", []), 16))
        return self._gas_price[1]

    def _estimate(self, tx: dict[str, Any]) -> int:
        call = {key: tx[key] for key in ("from", "to", "data") if key in tx}
        return int(self._raw("eth_estimateGas", [call], reverts=True), 16)

    def _raw(self, method: str, params: list[Any], *, reverts: bool = False) -> Any:
        """One JSON-RPC request straight through the provider: web3's request and result formatting cost more than
        the round trip on the write path (bench.api). With ``reverts``, an execution revert becomes its typed error,
        as web3 would have raised it; any other error is a ``Web3RPCError`` with the node's message."""
        answer = self.rpc(lambda: self.http.request(method, params))
        error = answer.get("error")
        if error is None:
            return answer["result"]
        error = error if isinstance(error, dict) else {"message": str(error)}
        message, data = str(error.get("message", error)), error.get("data")
        if reverts and (message.startswith("execution reverted") or error.get("code") == 3):
            if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
                raise self._decoder.decode(data)
            raise TransactionReverted("UnknownRevert", {"message": message})
        raise Web3RPCError(message, rpc_response=RPCResponse(**answer))  # type: ignore[typeddict-item]

    def _sign_and_send(self, tx: dict[str, Any]) -> HexBytes:
        with self._nonce_section() as next_nonce:
            for attempt in range(2):
                tx["nonce"] = next_nonce()
                signed = self._signer.sign(tx)
                try:
                    return HexBytes(self._raw("eth_sendRawTransaction", ["0x" + signed.hex()]))
                except Web3RPCError as exc:
                    # Another sender with this key, outside our locks, took the nonce: read it again once.
                    if attempt == 0 and "nonce" in str(exc).lower():
                        continue
                    raise
        raise AssertionError("unreachable")

    @contextmanager
    def _nonce_section(self) -> Iterator[Callable[[], int]]:
        with self._thread_lock, self._file_lock:
            yield lambda: int(self._raw("eth_getTransactionCount", [self.address, "pending"]), 16)

    def _wait(self, tx_hash: HexBytes) -> TxReceipt:
        """Polls ``eth_getTransactionReceipt`` until the receipt comes, formatted as web3 formats it (what
        ``wait_for_transaction_receipt`` did, without its per-call formatting and provider cost).

        The pauses between polls start at 1 ms and double up to ``poll_latency``: an automining chain (Anvil, a
        private registry chain) mines a moment after ``eth_sendRawTransaction`` answers, and a first pause of the
        whole ``poll_latency`` was about a tenth of an API transfer's time (bench.api, ADR 0021); on a chain with
        slower blocks the few extra early polls cost nothing that matters."""
        deadline = time.monotonic() + self.receipt_timeout
        params = [tx_hash.to_0x_hex()]
        pause = min(_FIRST_RECEIPT_POLL, self.poll_latency)
        while True:
            answer = self.rpc(lambda: self.http.request("eth_getTransactionReceipt", params))
            result = answer.get("result")
            if result is not None:
                receipt: TxReceipt = AttributeDict.recursive(receipt_formatter(result))
                return receipt
            error = answer.get("error")
            if error is not None:
                message = str(error.get("message", error) if isinstance(error, dict) else error)
                if not ("index" in message and "progress" in message):  # a node still indexing: ask again
                    raise Web3RPCError(message, rpc_response=RPCResponse(**answer))  # type: ignore[typeddict-item]
            if time.monotonic() >= deadline:
                raise ChainUnavailable(
                    "Transaction {tx_hash} was sent but not mined within {seconds} s.",
                    params={"tx_hash": tx_hash.to_0x_hex(), "seconds": round(self.receipt_timeout)},
                )
            time.sleep(pause)
            pause = min(pause * 2, self.poll_latency)

    def _explain_failure(
        self, tx: dict[str, Any], receipt: TxReceipt, *, with_all_gas: bool = False
    ) -> ContractRevert | None:
        """Replays a reverted transaction on the state after its block to recover the custom error.

        Its own effects were reverted, so that state is what it met plus what came after it in the block. With
        ``with_all_gas`` the replay has the node's default gas (the block's) rather than the transaction's, and a
        replay that passes means the transaction only lacked gas: None.
        """
        replay = {k: tx[k] for k in ("to", "data") if k in tx} | {"from": self.address}
        if not with_all_gas:
            replay["gas"] = tx["gas"]
        try:
            self.rpc(lambda: self.w3.eth.call(replay, receipt["blockNumber"]))  # type: ignore[arg-type]
        except ContractLogicError as exc:
            return self._revert(exc)
        if with_all_gas:
            return None
        return TransactionReverted("TransactionReverted", {"txHash": receipt["transactionHash"].to_0x_hex()})

    def _revert(self, exc: ContractLogicError) -> ContractRevert:
        data = exc.data
        if isinstance(data, str) and data.startswith("0x"):
            return self._decoder.decode(data)
        return TransactionReverted("UnknownRevert", {"message": str(exc)})
