"""Serial numbers in the reference registry's format (reference §7.1), for whole programmes and for blocks.

``<country>-<unit>-<sectoral scope>-<programme id>-<year>-0-<first serial>-<last serial>``

The contract holds the numbers (country, unit, scope, programme id, start time, serial range); this module only
renders and parses them, so anyone can rebuild a serial number from chain data. The programme id is zero-padded
to at least three digits and the year is the calendar year (UTC) of the programme's start time. Each serial block
gets its own serial number with its own range, which is what the reference could not do (§7.2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_PATTERN = re.compile(
    r"^(?P<country>[A-Z]{2})-(?P<unit>[A-Z0-9]{1,8})-(?P<scope>\d{1,2})-(?P<programme>\d{3,})-(?P<year>\d{4})"
    r"-0-(?P<start>\d+)-(?P<end>\d+)$"
)


class InvalidSerialNumber(ValueError):
    """The text is not a serial number of this format.

    As a ``RegistryError``: a constant English ``message`` with ``{name}`` placeholders and its ``params``, so the
    text can be translated wherever it is shown (``str()`` is the message filled in).
    """

    def __init__(self, message: str, /, **params: Any) -> None:
        self.message = message
        self.params = params
        super().__init__(message.format(**params))


@dataclass(frozen=True)
class SerialNumber:
    country: str
    credit_unit: str
    sectoral_scope: int
    programme_id: int
    year: int
    start: int
    end: int

    def __str__(self) -> str:
        return (
            f"{self.country}-{self.credit_unit}-{self.sectoral_scope}-{self.programme_id:03d}-{self.year}"
            f"-0-{self.start}-{self.end}"
        )

    @property
    def size(self) -> int:
        return self.end - self.start + 1

    def contains(self, other: SerialNumber) -> bool:
        """Whether ``other`` (a block) lies inside this range of the same programme."""
        same = (self.country, self.credit_unit, self.sectoral_scope, self.programme_id, self.year) == (
            other.country, other.credit_unit, other.sectoral_scope, other.programme_id, other.year,
        )  # fmt: skip
        return same and self.start <= other.start and other.end <= self.end


def vintage_year(start_time: int) -> int:
    """Calendar year (UTC) of a programme's start time, in Unix seconds."""
    return datetime.fromtimestamp(start_time, tz=UTC).year


def serial_number(
    *, country: str, credit_unit: str, sectoral_scope: int, programme_id: int, start_time: int, start: int, end: int
) -> SerialNumber:
    if not 1 <= start <= end:
        raise InvalidSerialNumber("range [{start}, {end}] is empty or starts below 1", start=start, end=end)
    return SerialNumber(country, credit_unit, sectoral_scope, programme_id, vintage_year(start_time), start, end)


def parse(text: str) -> SerialNumber:
    match = _PATTERN.match(text.strip())
    if match is None:
        raise InvalidSerialNumber("{text} is not a serial number like NG-ITMO-1-001-2023-0-1-1000", text=repr(text))
    serial = SerialNumber(
        match["country"], match["unit"], int(match["scope"]), int(match["programme"]), int(match["year"]),
        int(match["start"]), int(match["end"]),
    )  # fmt: skip
    if serial.start > serial.end or serial.start < 1:
        raise InvalidSerialNumber("{text} has an empty range", text=repr(text))
    return serial
