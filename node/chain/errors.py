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

    def __init__(self, error_name: str, arguments: dict[str, Any], detail: str | None = None) -> None:
        super().__init__(detail or _describe(error_name, arguments), contract_error=error_name, arguments=arguments)
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

    def __init__(self, error_name: str, arguments: dict[str, Any], detail: str | None = None) -> None:
        detail = detail or (
            f"The request reference {arguments.get('requestRef')} was already used by a different call "
            f"(call digest {arguments.get('appliedCallDigest')}); nothing was done. A request reference names one "
            f"write: send a new write with a new reference."
        )
        super().__init__(error_name, arguments, detail)


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


def _describe(error_name: str, arguments: dict[str, Any]) -> str:
    if not arguments:
        return f"The registry contract refused the call: {error_name}."
    shown = ", ".join(f"{k}={v}" for k, v in arguments.items())
    return f"The registry contract refused the call: {error_name}({shown})."


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
