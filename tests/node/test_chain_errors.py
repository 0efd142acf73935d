"""Revert data decodes into typed domain errors carrying the contract's argument values."""

from __future__ import annotations

from eth_abi.abi import encode
from eth_utils.abi import function_signature_to_4byte_selector

from node.chain.compiler import Artifact
from node.chain.errors import (
    ChainNotFound,
    ErrorDecoder,
    InsufficientCredits,
    InvalidChainInput,
    InvalidTransition,
    OmgeRateChanged,
    RequestAlreadyApplied,
    RequestReferenceReused,
    TransactionReverted,
    class_for,
)


def _data(signature: str, types: list[str], values: list[object]) -> str:
    return "0x" + (function_signature_to_4byte_selector(signature) + encode(types, values)).hex()


def test_custom_error_decodes_with_named_arguments(artifacts: dict[str, Artifact]) -> None:
    decoder = ErrorDecoder([artifacts["CarbonRegistry"].abi])
    data = _data(
        "CreditsInsufficientBalance(uint40,uint40,uint64,uint64)", ["uint40"] * 2 + ["uint64"] * 2, [3, 10, 5, 9]
    )
    error = decoder.decode(data)
    assert isinstance(error, InsufficientCredits)
    assert error.arguments == {"programmeId": 3, "holder": 10, "balance": 5, "needed": 9}
    assert error.problem_type == "credits-insufficient-balance"
    assert error.status_code == 409
    assert error.detail == "Organisation 10 holds 5 credits of programme 3, fewer than the 9 needed."


def test_unknown_selector_is_a_generic_revert(artifacts: dict[str, Artifact]) -> None:
    error = ErrorDecoder([artifacts["CarbonRegistry"].abi]).decode("0xdeadbeef")
    assert isinstance(error, TransactionReverted)
    assert error.arguments == {"data": "0xdeadbeef"}


def test_panic_and_error_string_decode() -> None:
    decoder = ErrorDecoder([])
    assert decoder.decode(_data("Panic(uint256)", ["uint256"], [0x11])).arguments == {"code": 0x11}
    assert decoder.decode(_data("Error(string)", ["string"], ["nope"])).arguments == {"message": "nope"}


def test_error_classes_follow_the_error_family() -> None:
    assert class_for("ProgrammeNotFound") is ChainNotFound
    assert class_for("ProgrammeInvalidStage") is InvalidTransition
    assert class_for("ProgrammeInvalidShares") is InvalidChainInput
    assert class_for("CreditsSelfTransfer") is InvalidChainInput
    assert class_for("ProgrammeInvalidDetailsHash") is InvalidChainInput
    assert class_for("RegistryRequestAlreadyApplied") is RequestAlreadyApplied
    assert class_for("RegistryRequestReferenceReused") is RequestReferenceReused
    assert InvalidChainInput.status_code == 422
    assert ChainNotFound.status_code == 404


def test_every_registry_error_has_a_domain_class(artifacts: dict[str, Artifact]) -> None:
    names = [item["name"] for item in artifacts["CarbonRegistry"].abi if item["type"] == "error"]
    generic = [n for n in names if class_for(n).__name__ == "ContractRevert"]
    # Only OpenZeppelin's internal proxy/initialisation errors stay generic.
    assert all(
        n.startswith(
            ("ERC1967", "UUPS", "Invalid", "NotInitializing", "AccessControlBad", "FailedCall", "AddressEmptyCode")
        )
        for n in generic
    ), generic


def test_reused_reference_decodes_with_both_values_and_a_clear_detail(artifacts: dict[str, Artifact]) -> None:
    decoder = ErrorDecoder([artifacts["CarbonRegistry"].abi])
    reference, digest = b"\x01" * 32, b"\x02" * 32
    error = decoder.decode(
        _data("RegistryRequestReferenceReused(bytes32,bytes32)", ["bytes32", "bytes32"], [reference, digest])
    )
    assert isinstance(error, RequestReferenceReused)
    assert not isinstance(error, RequestAlreadyApplied)
    assert error.arguments == {"requestRef": "0x" + reference.hex(), "appliedCallDigest": "0x" + digest.hex()}
    assert error.status_code == 409
    assert "different call" in error.detail


def test_zero_details_hash_is_invalid_input(artifacts: dict[str, Artifact]) -> None:
    error = ErrorDecoder([artifacts["CarbonRegistry"].abi]).decode(_data("ProgrammeInvalidDetailsHash()", [], []))
    assert isinstance(error, InvalidChainInput)
    assert error.status_code == 422
    assert error.problem_type == "programme-invalid-details-hash"


def test_omge_errors_are_a_conflict_and_invalid_input(artifacts: dict[str, Artifact]) -> None:
    decoder = ErrorDecoder([artifacts["CarbonRegistry"].abi])
    changed = decoder.decode(_data("RetirementOmgeRateMismatch(uint16,uint16)", ["uint16", "uint16"], [100, 200]))
    assert isinstance(changed, OmgeRateChanged)
    assert changed.arguments == {"omgeBps": 100, "omgeRate": 200}
    assert (changed.status_code, changed.problem_type) == (409, "retirement-omge-rate-mismatch")
    too_high = decoder.decode(_data("RetirementInvalidOmgeShare(uint16)", ["uint16"], [10_000]))
    assert isinstance(too_high, InvalidChainInput)
    assert too_high.status_code == 422
