"""Serial numbers (reference §7.1): the reference's own examples as golden values, and properties: formatting and
parsing are inverse, and the blocks a split leaves partition their parent."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from node.domain.serials import SerialNumber, parse, serial_number

START_2022 = 1_640_995_200  # 2022-01-01T00:00:00Z
START_2024 = 1_704_067_200  # 2024-01-01T00:00:00Z
U64 = 2**64 - 1


def test_the_reference_readme_example() -> None:
    serial = serial_number(country="VU", credit_unit="ITMO", sectoral_scope=11, programme_id=356,
                           start_time=START_2022, start=27, end=35)  # fmt: skip
    assert str(serial) == "VU-ITMO-11-356-2022-0-27-35"
    assert parse("VU-ITMO-11-356-2022-0-27-35") == serial


def test_the_reference_second_programme_example() -> None:
    serial = serial_number(country="NG", credit_unit="ITMO", sectoral_scope=15, programme_id=2,
                           start_time=START_2024, start=1001, end=1251)  # fmt: skip
    assert str(serial) == "NG-ITMO-15-002-2024-0-1001-1251"
    assert serial.size == 251


@st.composite
def serials(draw: st.DrawFn) -> SerialNumber:
    start = draw(st.integers(1, U64))
    return SerialNumber(
        country=draw(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2)),
        credit_unit=draw(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=8)),
        sectoral_scope=draw(st.integers(1, 15)),
        programme_id=draw(st.integers(1, 2**40 - 1)),
        year=draw(st.integers(1970, 9999)),
        start=start,
        end=draw(st.integers(start, U64)),
    )


@given(serials())
def test_format_and_parse_are_inverse(serial: SerialNumber) -> None:
    assert parse(str(serial)) == serial
    assert str(parse(str(serial))) == str(serial)


def split_front(start: int, end: int, amount: int) -> tuple[tuple[int, int], tuple[int, int] | None]:
    """What the contract does to a block ``[start, end]`` when ``amount`` credits leave it (``_splitFront``): the
    moved part ``[start, start + amount - 1]`` is a new block, the rest keeps the id ``end``."""
    moved = (start, start + amount - 1)
    return moved, (start + amount, end) if start + amount <= end else None


@given(st.integers(1, U64 - 1), st.lists(st.integers(1, 10**6), min_size=1, max_size=20), st.integers(0, 10**7))
def test_the_blocks_of_successive_splits_partition_their_parent(start: int, amounts: list[int], size: int) -> None:
    end = min(U64, start + size)
    parent = SerialNumber("NG", "ITMO", 1, 1, 2024, start, end)
    pieces: list[tuple[int, int]] = []
    rest: tuple[int, int] | None = (start, end)
    for amount in amounts:
        if rest is None:
            break
        moved, rest = split_front(*rest, min(amount, rest[1] - rest[0] + 1))
        pieces.append(moved)
    if rest is not None:
        pieces.append(rest)
    blocks = [SerialNumber("NG", "ITMO", 1, 1, 2024, s, e) for s, e in pieces]
    assert all(parent.contains(block) for block in blocks)
    assert sum(block.size for block in blocks) == parent.size
    assert all(a.end + 1 == b.start for a, b in zip(blocks, blocks[1:], strict=False))
    assert (blocks[0].start, blocks[-1].end) == (parent.start, parent.end)
