"""Every revert the node can decode reads as a sentence, filled in from the error's own arguments."""

from __future__ import annotations

import string

import pytest

from node.chain.compiler import Artifact
from node.chain.errors import REVERT_FALLBACK, REVERT_MESSAGES, ContractRevert, ErrorDecoder, class_for

NODE_NAMES = {"UnknownRevert": {"data", "message"}, "NoContractCreated": {"txHash"}, "TransactionReverted": {"txHash"}}
"""The node's own names for a revert it could not explain, with the arguments it gives them (node/chain/client.py)."""


def _placeholders(template: str) -> set[str]:
    return {field for _text, field, _spec, _conversion in string.Formatter().parse(template) if field is not None}


def _decoded_errors(artifacts: dict[str, Artifact]) -> dict[str, set[str]]:
    """Each error the deployed contracts declare (the test contracts aside), and Solidity's built-in two, with the
    names of its arguments as the decoder gives them."""
    abis = [a.abi for a in artifacts.values() if not a.source.startswith("contracts/test/")]
    errors: dict[str, set[str]] = {}
    for abi in [*abis, ErrorDecoder._STANDARD]:
        for item in abi:
            if item.get("type") == "error":
                names = {i["name"] or f"arg{n}" for n, i in enumerate(item["inputs"])}
                errors.setdefault(item["name"], set()).update(names)
    return errors


def test_every_decodable_error_has_a_sentence(artifacts: dict[str, Artifact]) -> None:
    decoded = _decoded_errors(artifacts)
    assert {"CreditsInsufficientBalance", "EnforcedPause", "Panic"} <= set(decoded)
    assert sorted(set(decoded) - set(REVERT_MESSAGES)) == []


def test_a_sentence_only_names_its_errors_arguments(artifacts: dict[str, Artifact]) -> None:
    known = _decoded_errors(artifacts) | NODE_NAMES
    assert sorted(set(REVERT_MESSAGES) - set(known)) == [], "a sentence for an error the node never decodes"
    wrong = {name: sorted(_placeholders(t) - known[name]) for name, t in REVERT_MESSAGES.items()
             if not _placeholders(t) <= known[name]}  # fmt: skip
    assert wrong == {}


@pytest.mark.parametrize("name", sorted(REVERT_MESSAGES))
def test_a_revert_is_its_sentence_filled_in(name: str) -> None:
    template = REVERT_MESSAGES[name]
    arguments = dict.fromkeys(_placeholders(template), 7)
    error = class_for(name)(name, arguments)
    assert error.message == template
    assert error.detail == template.format(**arguments)
    assert error.extensions == {"contract_error": name, "arguments": arguments}


def test_bytes_are_hex_and_countries_letters() -> None:
    error = ContractRevert("RegistryRequestAlreadyApplied", {"requestRef": b"\xab" * 32})
    assert error.params == {"requestRef": "0x" + "ab" * 32}
    assert "0x" + "ab" * 32 in error.detail
    country = class_for("ProgrammeInvalidCountry")("ProgrammeInvalidCountry",
                                                   {"country": "0x4b45", "registryCountry": "0x4348"})  # fmt: skip
    assert country.detail == "The programme's country, KE, is not the registry's country, CH."
    assert country.arguments == {"country": "0x4b45", "registryCountry": "0x4348"}


def test_an_error_without_a_sentence_is_named_with_its_values() -> None:
    error = ContractRevert("SomethingNew", {"a": 1, "b": "0x02"})
    assert error.message == REVERT_FALLBACK
    assert error.detail == "The registry contract refused the call: SomethingNew(a=1, b=0x02)."
    assert ContractRevert("SomethingNew", {}).detail == "The registry contract refused the call: SomethingNew."
    # A sentence whose values are missing falls back rather than failing.
    partial = ContractRevert("CreditsInsufficientBalance", {"balance": 5})
    assert partial.detail == "The registry contract refused the call: CreditsInsufficientBalance(balance=5)."
