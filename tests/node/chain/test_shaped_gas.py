"""Moves sent with a gas limit from their shape, without ``eth_estimateGas`` (ADR 0020): they apply once, a refusal is
still the contract's own error (explained from the mined transaction), and a limit too low is sent again with an
estimate."""

from __future__ import annotations

from typing import Any

import pytest
from web3.types import TxReceipt

from node.chain.client import ChainClient
from node.chain.errors import (
    AccountFrozen,
    ContractRevert,
    InsufficientCredits,
    RequestAlreadyApplied,
    TransfersPaused,
)
from node.chain.registry import Registry, move_gas
from node.chain.types import RetirementInput, RetirementType
from tests.conftest import GOVERNMENT, authorised_programme, ref
from tests.contracts.helpers import balance


def _no_estimates(monkeypatch: pytest.MonkeyPatch, client: ChainClient) -> list[dict[str, Any]]:
    """Fails the test if the client estimates; returns the list of what it sent (tx dicts, in order)."""
    sent: list[dict[str, Any]] = []
    real = client._sign_and_send

    def estimate(_tx: dict[str, Any]) -> int:
        raise AssertionError("estimated although the gas was given")

    def sign_and_send(tx: dict[str, Any]) -> Any:
        sent.append(dict(tx))
        return real(tx)

    monkeypatch.setattr(client, "_estimate", estimate)
    monkeypatch.setattr(client, "_sign_and_send", sign_and_send)
    return sent


def test_a_transfer_with_a_shaped_limit_is_sent_without_an_estimate(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = authorised_programme(registry, issue=40)
    sent = _no_estimates(monkeypatch, registry.client)
    receipt: TxReceipt = registry.transfer(pid, 10, 20, 5, ref(), gas=move_gas(1, 1))
    assert receipt["status"] == 1
    assert [tx["gas"] for tx in sent] == [move_gas(1, 1)]
    assert receipt["gasUsed"] < move_gas(1, 1)
    assert (balance(registry, pid, 10), balance(registry, pid, 20)) == (35, 5)


def test_a_retirement_with_a_shaped_limit_is_sent_without_an_estimate(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = authorised_programme(registry, issue=40)
    _no_estimates(monkeypatch, registry.client)
    details = RetirementInput(RetirementType.LEGAL_ACTION, "", "", 0)
    receipt = registry.retire(pid, 10, 7, details, ref(), gas=move_gas(1))
    assert receipt["status"] == 1
    assert balance(registry, pid, 10) == 33


def test_the_limit_is_capped_at_the_block_gas_limit(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    pid = authorised_programme(registry, issue=40)
    sent = _no_estimates(monkeypatch, registry.client)
    registry.transfer(pid, 10, 20, 1, ref(), gas=10**12)
    latest = registry.client.w3.eth.get_block("latest")
    assert sent[0]["gas"] == latest["gasLimit"]


@pytest.mark.parametrize("case", ["over-balance", "paused", "frozen"])
def test_a_refusal_is_the_contracts_error_explained_from_the_mined_transaction(
    registry: Registry, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    pid = authorised_programme(registry, issue=40)
    expected: type[ContractRevert] = InsufficientCredits
    amount = 41
    if case == "paused":
        registry.pause_transfers(ref())
        expected, amount = TransfersPaused, 1
    elif case == "frozen":
        registry.freeze(10, ref())
        expected, amount = AccountFrozen, 1
    sent = _no_estimates(monkeypatch, registry.client)
    head = registry.client.w3.eth.block_number
    with pytest.raises(expected) as refused:
        registry.transfer(pid, 10, 20, amount, ref(), gas=move_gas(1, 1))
    assert refused.value.status_code == 409
    assert len(sent) == 1  # mined and reverted: not sent again
    assert registry.client.w3.eth.block_number == head + 1
    assert (balance(registry, pid, 10), balance(registry, pid, 20)) == (40, 0)


def test_a_limit_too_low_is_sent_again_with_an_estimate_and_applies_once(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=40)
    client = registry.client
    nonce = client.w3.eth.get_transaction_count(client.address)
    request = ref()
    receipt = registry.transfer(pid, 10, 20, 5, request, gas=40_000)  # enough to start, not to finish
    assert receipt["status"] == 1
    assert client.w3.eth.get_transaction_count(client.address) == nonce + 2  # the failed one, then the estimated one
    assert (balance(registry, pid, 10), balance(registry, pid, 20)) == (35, 5)
    with pytest.raises(RequestAlreadyApplied):  # the reference was used once, by the second transaction
        registry.transfer(pid, 10, 20, 5, request, gas=move_gas(1, 1))
    assert (balance(registry, pid, 10), balance(registry, pid, 20)) == (35, 5)


def test_a_retirement_limit_too_low_is_sent_again_and_applies_once(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=40)
    details = RetirementInput(RetirementType.LEGAL_ACTION, "", "", 0)
    client = registry.client
    nonce = client.w3.eth.get_transaction_count(client.address)
    receipt = registry.retire(pid, 10, 7, details, ref(), gas=60_000)
    assert receipt["status"] == 1
    assert client.w3.eth.get_transaction_count(client.address) == nonce + 2
    assert balance(registry, pid, 10) == 33
    assert balance(registry, pid, GOVERNMENT) == 0  # retired, not transferred
