"""Turn a contract revert into a typed domain error carrying the contract's argument values.

The chain is the last line of defence: the API validates first, but whatever the contract refuses comes
back here as one of the classes below, keyed by the Solidity custom error's name (see
contracts/interfaces/ICarbonRegistryErrors.sol and OpenZeppelin's errors).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from eth_abi.abi import decode
from eth_utils.abi import function_signature_to_4byte_selector

from node.chain.abi import abi_type
from node.errors import RegistryError, ServiceUnavailable


class ChainUnavailable(ServiceUnavailable):
    """The JSON-RPC endpoint cannot be reached or did not answer in time."""

    type_slug = "chain-unavailable"
    title = "Chain unavailable"


class ContractRevert(RegistryError):
    """The contract refused the call. ``error_name`` and ``arguments`` are the custom error and its values."""

    status_code = 409
    type_slug = "contract-revert"
    title = "Refused by the registry contract"

    def __init__(self, error_name: str, arguments: dict[str, Any]) -> None:
        template, params = _message(error_name, arguments)
        super().__init__(template, params=params, contract_error=error_name, arguments=arguments)
        self.error_name = error_name
        self.arguments = arguments

    @property
    def problem_type(self) -> str:
        """Stable problem slug derived from the Solidity error name, e.g. ``credits-insufficient-balance``."""
        return re.sub(r"(?<!^)(?=[A-Z])", "-", self.error_name).lower()


class InvalidChainInput(ContractRevert):
    """The call's arguments break a contract rule (zero amount, bad shares, bad country...)."""

    status_code = 422
    title = "Invalid input"


class ChainNotFound(ContractRevert):
    """A programme, block or retirement does not exist on chain."""

    status_code = 404
    title = "Not found"


class InvalidTransition(ContractRevert):
    """The programme's stage does not allow the call."""

    title = "Illegal programme transition"


class InsufficientCredits(ContractRevert):
    title = "Insufficient credits"


class EstimateExceeded(ContractRevert):
    title = "Credit estimate exceeded"


class SerialsExhausted(ContractRevert):
    """The country's serial numbers (1 to 2^64 - 1) have too few left for the programme's estimate.

    A conflict with the registry's state, not invalid input: the same estimate fit before other programmes reserved
    their ranges, and a smaller one may still fit (``serialsLeft``).
    """

    title = "Serial numbers exhausted"


class AccountFrozen(ContractRevert):
    title = "Account frozen"


class AccountNotFrozen(ContractRevert):
    title = "Account not frozen"


class TransfersPaused(ContractRevert):
    title = "Transfers paused"


class TransfersNotPaused(ContractRevert):
    title = "Transfers not paused"


class RequestAlreadyApplied(ContractRevert):
    """The request reference was applied before to this same call: a retry, the write already happened once.

    (A reference applied before implementation 1.1.0 answers this for any call: no call digest was recorded.)
    """

    title = "Request already applied"


class RequestReferenceReused(ContractRevert):
    """The request reference was applied before to a *different* call (ADR 0012): nothing was done.

    Not a retry, so never "already applied": the caller reused a reference for a new write (a bug, or an
    idempotency key sent again with other content). ``appliedCallDigest`` is keccak256 of the earlier call's calldata.
    """

    title = "Request reference reused"


class OmgeRateChanged(ContractRevert):
    """A cross-border retirement stated an OMGE rate other than the registry's current one (``omgeRate``): the rate
    changed since the retirement was requested. A conflict with the registry's state, not invalid input."""

    title = "OMGE rate changed"


class DuplicateExternalId(ContractRevert):
    title = "Duplicate external id"


class CertificationConflict(ContractRevert):
    title = "Certification conflict"


class ChainPermissionDenied(ContractRevert):
    """The node's key lacks the contract role for the call (a configuration problem)."""

    status_code = 403
    title = "Chain permission denied"


class TransactionReverted(ContractRevert):
    """A mined transaction reverted and the reason could not be recovered.

    Every write is simulated first, so this means the chain changed between simulation and mining, or the node
    could not read the reason back: a condition of the chain service, answered 503 (retry; request references make
    a retry safe, ADR 0005), never a 500.
    """

    status_code = 503
    title = "Transaction reverted"


_CLASS_BY_ERROR: dict[str, type[ContractRevert]] = {
    "RegistryRequestAlreadyApplied": RequestAlreadyApplied,
    "RegistryRequestReferenceReused": RequestReferenceReused,
    "RegistryAccountFrozen": AccountFrozen,
    "RegistryAccountNotFrozen": AccountNotFrozen,
    "RegistrySerialsExhausted": SerialsExhausted,
    "ProgrammeNotFound": ChainNotFound,
    "RetirementNotFound": ChainNotFound,
    "BlockNotFound": ChainNotFound,
    "ProgrammeExternalIdTaken": DuplicateExternalId,
    "ProgrammeInvalidDetailsHash": InvalidChainInput,
    "ProgrammeInvalidStage": InvalidTransition,
    "ProgrammeRejectedTerminal": InvalidTransition,
    "ProgrammeEstimateExceeded": EstimateExceeded,
    "ProgrammeAlreadyCertified": CertificationConflict,
    "ProgrammeNotCertified": CertificationConflict,
    "CreditsInsufficientBalance": InsufficientCredits,
    "RetirementOmgeRateMismatch": OmgeRateChanged,
    "EnforcedPause": TransfersPaused,
    "ExpectedPause": TransfersNotPaused,
    "AccessControlUnauthorizedAccount": ChainPermissionDenied,
}
_INVALID_INPUT = re.compile(r"^(Registry|Programme|Credits|Retirement)(Invalid|SelfTransfer)")


def class_for(error_name: str) -> type[ContractRevert]:
    """The domain class of a Solidity custom error."""
    if error_name in _CLASS_BY_ERROR:
        return _CLASS_BY_ERROR[error_name]
    if _INVALID_INPUT.match(error_name):
        return InvalidChainInput
    return ContractRevert


REVERT_FALLBACK = "The registry contract refused the call: {error}."
"""The sentence of a revert without one of its own in ``REVERT_MESSAGES``: ``{error}`` names it with its values."""

REVERT_MESSAGES: dict[str, str] = {
    # The registry's own errors (contracts/interfaces/ICarbonRegistryErrors.sol).
    "RegistryInvalidRequestReference": "The request reference must not be zero.",
    "RegistryRequestAlreadyApplied": (
        "The request reference {requestRef} was already applied to this same call: the write happened once."
    ),
    "RegistryRequestReferenceReused": (
        "The request reference {requestRef} was already used by a different call (call digest {appliedCallDigest}); "
        "nothing was done. A request reference names one write: send a new write with a new reference."
    ),
    "RegistryInvalidAccount": "Account {account} is not a valid registry account.",
    "RegistryAccountFrozen": (
        "The account of organisation {account} is frozen because the organisation is suspended: it cannot send or "
        "retire credits, nor certify programmes."
    ),
    "RegistryAccountNotFrozen": "The account of organisation {account} is not frozen, so it cannot be unfrozen.",
    "RegistrySerialsExhausted": (
        "The estimate of programme {programmeId}, {creditEstimate} credits, does not fit in the serial numbers the "
        "country has left: {serialsLeft}."
    ),
    "ProgrammeNotFound": "The registry contract has no programme {programmeId}.",
    "ProgrammeExternalIdTaken": "Programme {programmeId} already has the external id {externalId}.",
    "ProgrammeInvalidExternalId": "The external id must be 1 to 64 bytes long.",
    "ProgrammeInvalidSectoralScope": (
        "The sectoral scope {sectoralScope} does not exist or is not admitted for the programme's sector."
    ),
    "ProgrammeInvalidCountry": "The programme's country, {country}, is not the registry's country, {registryCountry}.",
    "ProgrammeInvalidCreditUnit": "The credit unit must not be empty.",
    "ProgrammeInvalidPeriod": "The programme must end after it starts.",
    "ProgrammeInvalidDetailsHash": "The hash of the programme's details must not be zero.",
    "ProgrammeInvalidCreditEstimate": "The credit estimate must be at least 1 credit.",
    "ProgrammeInvalidOwners": (
        "A programme has 1 to {maxOwners} owners, each with one share; {owners} owners and {shares} shares were given."
    ),
    "ProgrammeInvalidOwner": "Owner {owner} is not valid: an owner id cannot be zero or appear twice.",
    "ProgrammeInvalidShares": (
        "Each owner's share must be more than zero and the shares must add up to 1,000,000 ppm; they add up to "
        "{sumPpm} ppm."
    ),
    "ProgrammeInvalidStage": "Programme {programmeId} is not at the stage this action needs.",
    "ProgrammeRejectedTerminal": "Programme {programmeId} was rejected; nothing more can happen to it.",
    "ProgrammeEstimateExceeded": (
        "Programme {programmeId} has issued {issued} of its estimate of {estimate} credits: issuing {requested} more "
        "would exceed it."
    ),
    "ProgrammeAlreadyCertified": "Organisation {certifier} already certifies programme {programmeId}.",
    "ProgrammeNotCertified": "Organisation {certifier} does not certify programme {programmeId}.",
    "CreditsInvalidAmount": "The amount of credits must be at least 1.",
    "CreditsInsufficientBalance": (
        "Organisation {holder} holds {balance} credits of programme {programmeId}, fewer than the {needed} needed."
    ),
    "CreditsSelfTransfer": "Organisation {account} cannot send credits to itself.",
    "RetirementInvalidDetails": (
        "The retirement's details do not fit its type: only a cross-border retirement has a receiving country, a "
        "beneficiary and an OMGE share."
    ),
    "RetirementInvalidOmgeShare": "An OMGE rate of {omgeBps} bps is not allowed: the rate must be below 10,000 bps.",
    "RetirementOmgeRateMismatch": (
        "The OMGE rate is now {omgeRate} bps, not the {omgeBps} bps the retirement states: request it again."
    ),
    "RetirementNotFound": "The registry contract has no retirement {retirementId}.",
    "BlockNotFound": "No block of credits ends at serial number {blockEnd}.",
    # OpenZeppelin's errors the registry contract and its proxy include.
    "AccessControlUnauthorizedAccount": (
        "The node's account {account} does not have the contract role {neededRole} this action needs: the "
        "registry's operator must grant it."
    ),
    "AccessControlBadConfirmation": "Only the account itself can give up one of its contract roles.",
    "EnforcedPause": "Transfers and retirements are paused registry-wide by the Government.",
    "ExpectedPause": "Transfers and retirements are not paused.",
    "AddressEmptyCode": "There is no contract at the address {target}.",
    "FailedCall": "A call the registry contract made to another contract failed.",
    "ERC1967InvalidImplementation": "The address {implementation} is not a valid implementation of the registry.",
    "ERC1967NonPayable": "The registry's upgrade cannot receive a payment.",
    "ERC1967ProxyUninitialized": "The registry's proxy must be initialised when it is deployed.",
    "InvalidInitialization": "The registry contract is already initialised.",
    "NotInitializing": "The registry contract is not being initialised.",
    "UUPSUnauthorizedCallContext": "The registry can only be upgraded through its proxy.",
    "UUPSUnsupportedProxiableUUID": (
        "The new implementation uses the storage slot {slot}, which the proxy does not support."
    ),
    # Solidity's built-in errors.
    "Error": "The registry contract refused the call: {message}",
    "Panic": "The registry contract stopped on an internal error (panic code {code}).",
    # The node's own names for a revert it could not explain (node/chain/client.py).
    "UnknownRevert": "The registry contract refused the call, and the node could not read why.",
    "NoContractCreated": "The deployment transaction {txHash} created no contract.",
    "TransactionReverted": (
        "The transaction {txHash} was reverted and its reason could not be read back; retry the request."
    ),
}
"""Every custom error the node decodes, as a sentence for a registry user: a constant template (the id of its
translations, api/web/locale/*/LC_MESSAGES/errors_chain.po) whose ``{placeholders}`` are the error's ABI argument
names (tests/node/chain/test_revert_messages.py checks both against the compiled ABIs)."""


def _message(error_name: str, arguments: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The error's sentence (its ``REVERT_MESSAGES`` template) and the values it is filled in with: bytes and
    addresses as 0x-hex, a country code as its two letters. A name without a sentence, or a sentence whose values
    are missing, gets the general one naming the error and its arguments."""
    params = {name: _shown(name, value) for name, value in arguments.items()}
    template = REVERT_MESSAGES.get(error_name)
    if template is not None:
        try:
            template.format(**params)
        except (KeyError, IndexError, ValueError):
            template = None
    if template is None:
        shown = ", ".join(f"{k}={v}" for k, v in params.items())
        return REVERT_FALLBACK, {**params, "error": f"{error_name}({shown})" if shown else error_name}
    return template, params


def _shown(name: str, value: Any) -> Any:
    value = _plain(value)
    if name in _COUNTRY_ARGUMENTS and isinstance(value, str) and value.startswith("0x"):
        letters = bytes.fromhex(value[2:]).decode("ascii", "replace")
        if letters.isalpha():
            return letters
    return value


_COUNTRY_ARGUMENTS = {"country", "registryCountry"}
"""``bytes2`` ISO 3166-1 alpha-2 codes: shown as ``KE``, not ``0x4b45``."""


@dataclass(frozen=True)
class _ErrorSpec:
    name: str
    types: tuple[str, ...]
    names: tuple[str, ...]


class ErrorDecoder:
    """Decodes revert data by selector against the errors declared in one or more ABIs."""

    _STANDARD: ClassVar[list[dict[str, Any]]] = [
        {"type": "error", "name": "Error", "inputs": [{"name": "message", "type": "string"}]},
        {"type": "error", "name": "Panic", "inputs": [{"name": "code", "type": "uint256"}]},
    ]

    def __init__(self, abis: Iterable[list[dict[str, Any]]]) -> None:
        self._specs: dict[bytes, _ErrorSpec] = {}
        for abi in [*abis, self._STANDARD]:
            for item in abi:
                if item.get("type") != "error":
                    continue
                types = tuple(abi_type(i) for i in item["inputs"])
                selector = function_signature_to_4byte_selector(f"{item['name']}({','.join(types)})")
                names = tuple(i["name"] or f"arg{n}" for n, i in enumerate(item["inputs"]))
                self._specs[selector] = _ErrorSpec(item["name"], types, names)

    def decode(self, data: bytes | str | None) -> ContractRevert:
        """The typed error for revert ``data`` (hex or bytes); ``TransactionReverted`` when unknown or empty."""
        raw = bytes.fromhex(data[2:] if data.startswith("0x") else data) if isinstance(data, str) else data or b""
        spec = self._specs.get(raw[:4])
        if spec is None:
            return TransactionReverted("UnknownRevert", {"data": "0x" + raw.hex()})
        values = decode(list(spec.types), raw[4:])
        arguments = {name: _plain(value) for name, value in zip(spec.names, values, strict=True)}
        return class_for(spec.name)(spec.name, arguments)


def _plain(value: Any) -> Any:
    """ABI values as JSON-friendly Python values (bytes as 0x-hex, tuples as lists)."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value
