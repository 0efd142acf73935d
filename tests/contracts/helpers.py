"""Assertions for contract tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from node.chain.errors import ContractRevert
from node.chain.registry import Registry


@contextmanager
def reverts(error_name: str, **arguments: Any) -> Iterator[None]:
    """Expects the call to revert with the custom error ``error_name`` and, if given, these argument values."""
    with pytest.raises(ContractRevert) as info:
        yield
    assert info.value.error_name == error_name, info.value.detail
    for key, value in arguments.items():
        assert info.value.arguments[key] == value, (key, info.value.arguments)


def blocks(registry: Registry, programme_id: int, account: int) -> list[tuple[int, int]]:
    """The account's blocks of a programme as ``(start, end)`` pairs, in list order."""
    return [(b[0], b[1]) for b in registry.blocks_of(programme_id, account)]


def balance(registry: Registry, programme_id: int, account: int) -> int:
    return int(registry.view("balanceOf", programme_id, account))


def programme(registry: Registry, programme_id: int) -> dict[str, Any]:
    names = [
        "programme_id", "stage", "external_id", "sector", "sectoral_scope", "country", "credit_unit", "start_time",
        "end_time", "credit_estimate", "credit_issued", "credit_retired", "serial_start", "serial_end", "owners",
        "shares_ppm", "certifiers", "details_hash",
    ]  # fmt: skip
    return dict(zip(names, registry.view("getProgramme", programme_id), strict=True))
