"""Signing the node's own EIP-1559 transactions without eth-account's per-call overhead.

Why: ``LocalAccount.sign_transaction`` validates and converts its dict through several layers of formatters and
typed-transaction objects, about 1.4 ms of CPU per transaction, 7% of the API process's work per transfer
(bench.api, ADR 0021). The node only ever signs one shape: type 2, no access list, a ``to`` or a contract creation.
For that shape the encoding is fixed by EIP-1559 and EIP-2718:

    0x02 || rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gas, to, value, data, accessList,
                 yParity, r, s])

signed over ``keccak(0x02 || rlp(the first nine))``. ``rlp`` and libsecp256k1 (coincurve, which eth-keys itself uses
here) do the encoding and the signature, so about 0.25 ms. Any other shape goes through eth-account. The output is
byte-for-byte eth-account's (tests/node/chain/test_signing.py compares them over generated transactions).
"""

from __future__ import annotations

from typing import Any

import coincurve
import rlp
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak

_NUMBERS = ("chainId", "nonce", "maxPriorityFeePerGas", "maxFeePerGas", "gas")
_FIELDS = frozenset({*_NUMBERS, "to", "value", "data", "type"})


class TransactionSigner:
    """Signs transactions for one account: type-2 transactions of the node's shape directly, others via eth-account."""

    def __init__(self, account: LocalAccount) -> None:
        self.account = account
        self._key = coincurve.PrivateKey(account.key)

    def sign(self, tx: dict[str, Any]) -> bytes:
        """The raw signed transaction, ready for ``eth_sendRawTransaction``."""
        if not _own_shape(tx):
            return bytes(self.account.sign_transaction(tx).raw_transaction)
        to = tx.get("to")
        fields = [
            tx["chainId"],
            tx["nonce"],
            tx["maxPriorityFeePerGas"],
            tx["maxFeePerGas"],
            tx["gas"],
            b"" if to is None else _hex_bytes(to),
            tx.get("value", 0),
            _hex_bytes(tx.get("data", "0x")),
            [],
        ]
        signature = self._key.sign_recoverable(keccak(b"\x02" + rlp.encode(fields)), hasher=None)
        r, s, y_parity = signature[:32], signature[32:64], signature[64]
        encoded: bytes = rlp.encode([*fields, y_parity, int.from_bytes(r, "big"), int.from_bytes(s, "big")])
        return b"\x02" + encoded


def _own_shape(tx: dict[str, Any]) -> bool:
    """Type 2 with only the fields above, every number a non-negative int (anything else: eth-account decides)."""
    numbers = [tx.get(name) for name in _NUMBERS] + [tx.get("value", 0)]
    return (
        tx.get("type") == 2
        and _FIELDS.issuperset(tx)
        and all(type(n) is int and n >= 0 for n in numbers)
        and isinstance(tx.get("data", "0x"), str | bytes)
        and _address_or_none(tx.get("to"))
    )


def _address_or_none(to: object) -> bool:
    """A contract creation, or 20 bytes (as bytes or 0x-hex): anything else is eth-account's to refuse."""
    if to is None:
        return True
    if isinstance(to, str):
        return len(to) == 42 and to.startswith("0x")
    return isinstance(to, bytes) and len(to) == 20


def _hex_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else bytes.fromhex(value.removeprefix("0x"))
