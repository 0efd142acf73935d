"""Serial numbers render and parse in the reference format, for programmes and for single blocks."""

from __future__ import annotations

import pytest

from node.chain.registry import Registry
from node.domain.serials import InvalidSerialNumber, parse, serial_number
from tests.conftest import authorised_programme, ref

START_2023 = 1_672_531_200  # 2023-01-01T00:00:00Z


def test_reference_example_programme_serial() -> None:
    serial = serial_number(country="NG", credit_unit="ITMO", sectoral_scope=1, programme_id=1,
                           start_time=START_2023, start=1, end=1000)  # fmt: skip
    assert str(serial) == "NG-ITMO-1-001-2023-0-1-1000"


def test_parse_round_trips_and_pads_programme_id() -> None:
    assert str(parse("VU-ITMO-11-356-2022-0-27-35")) == "VU-ITMO-11-356-2022-0-27-35"
    assert parse("NG-ITMO-15-1002-2024-0-1001-1251").programme_id == 1002
    assert parse("NG-ITMO-15-1002-2024-0-1001-1251").size == 251


MALFORMED = [
    "",
    "NG-ITMO-1-1-2023-0-1-10",
    "NG-ITMO-1-001-2023-1-1-10",
    "NG-ITMO-1-001-2023-0-9-1",
    "ng-ITMO-1-001-2023-0-1-10",
    "NG-ITMO-1-001-2023-0-0-10",
]


@pytest.mark.parametrize("text", MALFORMED)
def test_parse_refuses_malformed_serials(text: str) -> None:
    with pytest.raises(InvalidSerialNumber):
        parse(text)


def test_block_serials_lie_inside_the_programme_serial(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=100, owners=(10, 11), estimate=1000)
    registry.transfer(pid, 10, 20, 30, ref())
    view = registry.view("getProgramme", pid)
    common = {"country": "NG", "credit_unit": "ITMO", "sectoral_scope": view[4], "programme_id": pid,
              "start_time": view[7]}  # fmt: skip
    whole = serial_number(**common, start=view[12], end=view[13])
    blocks = [serial_number(**common, start=b[0], end=b[1]) for a in (10, 11, 20) for b in registry.blocks_of(pid, a)]
    assert str(whole) == "NG-ITMO-1-001-2023-0-1-1000"
    assert sorted(str(b) for b in blocks) == sorted(
        ["NG-ITMO-1-001-2023-0-1-30", "NG-ITMO-1-001-2023-0-31-50", "NG-ITMO-1-001-2023-0-51-100"]
    )
    assert all(whole.contains(b) for b in blocks)
