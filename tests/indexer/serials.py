"""Chain data whose serial blocks span the whole ``uint64`` range, made the way the contract allows.

Authorisation reserves a programme's whole credit estimate from the country-wide serial counter, so three
programmes with large estimates, issued in full or in halves, put block ends at exactly 2^31 - 1 (PostgreSQL
INTEGER's maximum), on both sides of 2^63 (BIGINT's) and next to 2^64 - 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.chain.registry import Registry
from node.chain.types import RetirementInput, RetirementType
from tests.conftest import authorised_programme, ref

INT_MAX = 2**31 - 1
BIGINT_MAX = 2**63 - 1
U64_MAX = 2**64 - 1
LAST_ISSUABLE = U64_MAX - 1
"""``_appendBlock`` computes ``start + size - 1``, which overflows for a block ending at 2^64 - 1 (reported)."""
BIG_ACCOUNT = 2**40 - 1
"""Account ids are ``uint40``: past INTEGER too."""


@dataclass(frozen=True)
class Programmes:
    low: int
    """Serials up to 2^31 - 1: its one issued block ends exactly at INTEGER's maximum."""
    middle: int
    """Serials [2^31, 2^63 + 2^31 - 1], two owners, issued in two halves: block ends on both sides of 2^63."""
    high: int
    """Serials up to 2^64 - 1, issued but for the last one (see ``LAST_ISSUABLE``)."""


def programmes_across_the_serial_range(registry: Registry) -> Programmes:
    counter = int(registry.view("totals")[1])
    low = authorised_programme(registry, issue=INT_MAX - counter, estimate=INT_MAX - counter, owners=(10,))
    middle = authorised_programme(registry, issue=2**62, estimate=2**63, owners=(10, 11))
    registry.issue(middle, 2**62, ref())
    high_size = U64_MAX - (INT_MAX + 2**63)
    # Reserves serials up to 2^64 - 1; the contract cannot issue the very last one (see LAST_ISSUABLE).
    high = authorised_programme(registry, issue=high_size - 1, estimate=high_size, owners=(12,))
    return Programmes(low, middle, high)


def move_serials_in_every_programme(registry: Registry, p: Programmes) -> None:
    """One transfer per programme (splitting blocks that end at 2^31 - 1, past 2^63 and at 2^64 - 2), one
    retirement (main and OMGE moves from the block ending at 2^64 - 2) and a receiver past INTEGER."""
    registry.transfer(p.low, 10, 20, 5, ref())
    registry.transfer(p.middle, 11, 21, 2**61 + 3, ref())  # a whole block below 2^63, then a split above it
    registry.transfer(p.high, 12, BIG_ACCOUNT, 7, ref())
    registry.retire(p.high, 12, 10, RetirementInput(RetirementType.CROSS_BORDER, "CH", "Buyer", 1000), ref())
