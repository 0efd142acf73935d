"""``TransactionSigner`` signs the node's transactions byte for byte as eth-account does (ADR 0021), and leaves any
other shape to eth-account."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from eth_utils.address import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from node.chain.signing import TransactionSigner
from node.config import ANVIL_DEV_KEY

ACCOUNT = Account.from_key(ANVIL_DEV_KEY)
SIGNER = TransactionSigner(ACCOUNT)
UINT = st.integers(min_value=0, max_value=2**64 - 1)
ADDRESS = st.binary(min_size=20, max_size=20).map(lambda raw: to_checksum_address("0x" + raw.hex()))


def _expected(tx: dict[str, Any]) -> bytes:
    return bytes(ACCOUNT.sign_transaction(tx).raw_transaction)


@settings(max_examples=200, deadline=None)
@given(
    chain_id=st.integers(min_value=1, max_value=2**32),
    nonce=UINT,
    tip=st.integers(min_value=0, max_value=10**12),
    extra=st.integers(min_value=0, max_value=10**12),
    gas=st.integers(min_value=21_000, max_value=30_000_000),
    to=st.one_of(st.none(), ADDRESS),
    value=st.integers(min_value=0, max_value=10**24),
    data=st.binary(max_size=600),
)
def test_a_type_2_transaction_is_signed_exactly_as_eth_account_signs_it(
    chain_id: int, nonce: int, tip: int, extra: int, gas: int, to: str | None, value: int, data: bytes
) -> None:
    tx: dict[str, Any] = {"chainId": chain_id, "nonce": nonce, "maxPriorityFeePerGas": tip,
                          "maxFeePerGas": tip + extra, "gas": gas, "value": value, "data": "0x" + data.hex(),
                          "type": 2}  # fmt: skip
    if to is not None:
        tx["to"] = to
    assert SIGNER.sign(tx) == _expected(tx)


def test_the_node_shape_without_value_signs_as_eth_account_and_recovers_to_the_node_address() -> None:
    tx = {"to": "0x5FbDB2315678afecb367f032d93F642f64180aa3", "data": "0x" + "ab" * 68, "gas": 400_000, "nonce": 7,
          "chainId": 31337, "maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 10**9, "type": 2}  # fmt: skip
    raw = SIGNER.sign(tx)
    assert raw == _expected(tx)
    assert Account.recover_transaction(raw) == ACCOUNT.address


def test_other_shapes_go_through_eth_account() -> None:
    legacy = {"to": "0x5FbDB2315678afecb367f032d93F642f64180aa3", "data": "0x", "gas": 21_000, "nonce": 1,
              "chainId": 31337, "gasPrice": 10**9}  # fmt: skip
    with_access_list = {"to": "0x5FbDB2315678afecb367f032d93F642f64180aa3", "data": "0x", "gas": 30_000, "nonce": 2,
                        "chainId": 31337, "maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 10**9, "type": 2,
                        "accessList": [{"address": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
                                        "storageKeys": ["0x" + "00" * 32]}]}  # fmt: skip
    hex_numbers = {"to": "0x5FbDB2315678afecb367f032d93F642f64180aa3", "data": "0x", "gas": "0x5208", "nonce": 3,
                   "chainId": 31337, "maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 10**9, "type": 2}  # fmt: skip
    for tx in (legacy, with_access_list, hex_numbers):
        assert SIGNER.sign(tx) == _expected(tx)


def test_a_malformed_address_is_left_to_eth_account_to_refuse() -> None:
    tx = {"to": "0x5FbDB2315678afecb367f032d93F642f64180a", "data": "0x", "gas": 21_000, "nonce": 1, "chainId": 31337,
          "maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 10**9, "type": 2}  # fmt: skip
    with pytest.raises((TypeError, ValueError)):
        SIGNER.sign(tx)
