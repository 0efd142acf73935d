"""Chain data whose serial blocks span the whole ``uint64`` range, made the way the contract allows.

Authorisation reserves a programme's whole credit estimate from the country-wide serial counter, so three
programmes with large estimates put issued block ends at exactly 2^31 - 1 (PostgreSQL INTEGER's maximum),
2^63 - 1 (BIGINT's), past 2^63, and at 2^64 - 1, the last serial the contract can issue.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.chain.registry import Registry
from node.chain.types import RetirementInput, RetirementType
from tests.conftest import authorised_programme, ref

INT_MAX = 2**31 - 1
BIGINT_MAX = 2**63 - 1
U64_MAX = 2**64 - 1
BIG_ACCOUNT = 2**40 - 1
"""Account ids are ``uint40``: past INTEGER too."""

MIDDLE_FIRST_HALF = 2**62 - 2**30
"""What each owner of the middle programme gets from its first issuance: owner 11's block ends at 2^63 - 1."""
HIGH_START = 2**63 + 2**31
"""First serial of the high programme, whose one issued block ends at 2^64 - 1."""


@dataclass(frozen=True)
class Programmes:
    low: int
    """Serials up to 2^31 - 1, owner 10: its one issued block ends exactly at INTEGER's maximum."""
    middle: int
    """Serials [2^31, 2^63 + 2^31 - 1], owners 10 and 11, issued in two parts: the first ends exactly at
    BIGINT's maximum (owner 11's block), the second lies past it."""
    high: int
    """Serials [2^63 + 2^31, 2^64 - 1], owner 12, issued in full: one block ending at the last uint64."""


def programmes_across_the_serial_range(registry: Registry) -> Programmes:
    counter = int(registry.view("totals")[1])
    low = authorised_programme(registry, issue=INT_MAX - counter, estimate=INT_MAX - counter, owners=(10,))
    middle = authorised_programme(registry, issue=2 * MIDDLE_FIRST_HALF, estimate=2**63, owners=(10, 11))
    registry.issue(middle, 2**31, ref())  # the rest: [2^63, 2^63 + 2^30 - 1] to 10, then 11's up to 2^63 + 2^31 - 1
    high_size = U64_MAX - HIGH_START + 1
    high = authorised_programme(registry, issue=high_size, estimate=high_size, owners=(12,))
    registry.set_omge_rate(1000, ref())
    return Programmes(low, middle, high)


def move_serials_in_every_programme(registry: Registry, p: Programmes) -> None:
    """One transfer per programme (splitting the blocks ending at 2^31 - 1 and 2^64 - 1; moving owner 11's whole
    block ending at 2^63 - 1, then splitting its next one past 2^63), one retirement (main and OMGE moves split
    from the block ending at 2^64 - 1, at the 10% OMGE rate set with the programmes) and a receiver past INTEGER:
    four transactions, four chain blocks."""
    registry.transfer(p.low, 10, 20, 5, ref())
    registry.transfer(p.middle, 11, 21, MIDDLE_FIRST_HALF + 3, ref())
    registry.transfer(p.high, 12, BIG_ACCOUNT, 7, ref())
    registry.retire(p.high, 12, 10, RetirementInput(RetirementType.CROSS_BORDER, "CH", "Buyer", 1000), ref())
