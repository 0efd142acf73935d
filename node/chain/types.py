"""Python mirrors of the registry contract's enums and input structs (contracts/interfaces/ICarbonRegistryTypes.sol)."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

PPM = 1_000_000
"""Ownership shares are parts per million; a programme's shares sum to this."""

BPS = 10_000
"""OMGE rates are basis points; the contract refuses a rate of ``BPS`` or more."""

SEQUENCED_REF_TAG = b"NCRSEQ01"
"""First 8 bytes of a sequenced request reference (ADR 0015): ``tag | namespace (16 bytes) | sequence (8 bytes)``."""


class ProgrammeStage(IntEnum):
    NONE = 0
    AWAITING_AUTHORIZATION = 1
    AUTHORISED = 2
    REJECTED = 3


class Sector(IntEnum):
    ENERGY = 0
    HEALTH = 1
    EDUCATION = 2
    TRANSPORT = 3
    MANUFACTURING = 4
    HOSPITALITY = 5
    FORESTRY = 6
    WASTE = 7
    AGRICULTURE = 8
    OTHER = 9


class RetirementType(IntEnum):
    CROSS_BORDER = 0
    LEGAL_ACTION = 1
    OTHER = 2


class BlockState(IntEnum):
    NONE = 0
    HELD = 1
    RETIRED_INTERNATIONAL = 2
    RETIRED_LOCAL = 3
    RETIRED_OMGE = 4


def country_bytes(code: str) -> bytes:
    """ISO alpha-2 code as the contract's ``bytes2`` (empty string: zero)."""
    return code.encode("ascii").ljust(2, b"\0") if code else b"\0\0"


def unit_bytes(unit: str) -> bytes:
    """Credit unit as the contract's left-aligned, zero-padded ``bytes8``."""
    return unit.encode("ascii").ljust(8, b"\0")


def unit_text(raw: bytes) -> str:
    return raw.rstrip(b"\0").decode("ascii")


@dataclass(frozen=True)
class ProgrammeInput:
    """Arguments of ``createProgramme``; see the Solidity struct for each field's rule.

    ``details_hash`` (keyword only, required) is the SHA-256 (32 bytes) of the canonical JSON of the programme's
    off-chain details, anchored on chain; the contract refuses zero (``ProgrammeInvalidDetailsHash``).
    """

    external_id: str
    sector: Sector
    sectoral_scope: int
    country: str
    credit_unit: str
    start_time: int
    end_time: int
    credit_estimate: int
    owners: Sequence[int]
    shares_ppm: Sequence[int]
    regions: Sequence[str] = ()
    details_hash: bytes = field(kw_only=True)

    def __post_init__(self) -> None:
        if not isinstance(self.details_hash, bytes) or len(self.details_hash) != 32:
            raise ValueError("details_hash must be 32 bytes (a SHA-256 digest)")

    def as_abi(self) -> tuple[Any, ...]:
        return (
            self.external_id,
            int(self.sector),
            self.sectoral_scope,
            country_bytes(self.country),
            unit_bytes(self.credit_unit),
            self.start_time,
            self.end_time,
            self.credit_estimate,
            list(self.owners),
            list(self.shares_ppm),
            list(self.regions),
            self.details_hash,
        )


def omge_share(amount: int, omge_bps: int) -> int:
    """Credits of a cross-border retirement of ``amount`` that go to the OMGE account: floor(amount x bps / 10,000),
    as the contract computes it (ADR 0015). Never more than the rate, and less than ``amount`` below 10,000 bps."""
    return amount * omge_bps // BPS


def sequenced_ref(namespace: bytes, sequence: int) -> bytes:
    """The sequenced request reference ``SEQUENCED_REF_TAG | namespace | sequence`` (ADR 0015).

    References ``2k`` and ``2k + 1`` of one namespace share a storage word on chain: a writer that numbers its writes
    pays a new slot once every two writes instead of every write.
    """
    if len(namespace) != 16:
        raise ValueError("a sequenced reference's namespace is 16 bytes")
    if not 0 <= sequence < 2**64:
        raise ValueError("a sequenced reference's sequence number is a uint64")
    return SEQUENCED_REF_TAG + namespace + sequence.to_bytes(8, "big")


class SequencedRefs:
    """Allocates sequenced request references: a random 16-byte namespace per allocator, then 0, 1, 2...

    Unique without coordination (the namespace is random, the counter never repeats within it), and consecutive, so
    pairs share a storage word on chain. Thread-safe. A reference names one write: keep it with the write's intent
    and send it again only for a retry of exactly the same call (ADR 0012).
    """

    def __init__(self, namespace: bytes | None = None, start: int = 0) -> None:
        self.namespace = namespace if namespace is not None else os.urandom(16)
        self._next = start
        self._lock = threading.Lock()

    def __call__(self) -> bytes:
        with self._lock:
            sequence = self._next
            self._next += 1
        return sequenced_ref(self.namespace, sequence)


@dataclass(frozen=True)
class RetirementInput:
    """Arguments of ``retire``: type, receiving country and beneficiary (cross-border), and the OMGE rate in bps the
    caller expects, which must equal the registry's ``omgeRate()`` for a cross-border retirement (else
    ``RetirementOmgeRateMismatch``) and be 0 otherwise."""

    retirement_type: RetirementType
    country: str = ""
    beneficiary: str = ""
    omge_bps: int = 0

    def as_abi(self) -> tuple[Any, ...]:
        return (int(self.retirement_type), country_bytes(self.country), self.beneficiary, self.omge_bps)
