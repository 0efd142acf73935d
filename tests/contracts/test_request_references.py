"""A request reference is accepted once, ever: a retried write never applies twice."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from node.chain.registry import Registry
from node.chain.types import RetirementInput, RetirementType
from tests.conftest import authorised_programme, create_programme, programme_input, ref
from tests.contracts.helpers import balance, reverts

Write = Callable[[Registry, int, bytes], object]

WRITES: dict[str, Write] = {
    "createProgramme": lambda r, pid, x: r.create_programme(programme_input(external_id=f"X-{x.hex()[:16]}"), x),
    "authorise": lambda r, pid, x: r.authorise(create_programme(r), 0, x),
    "reject": lambda r, pid, x: r.reject(create_programme(r), x),
    "issue": lambda r, pid, x: r.issue(pid, 1, x),
    "certify": lambda r, pid, x: r.certify(pid, 50, x),
    "transfer": lambda r, pid, x: r.transfer(pid, 10, 20, 1, x),
    "retire": lambda r, pid, x: r.retire(pid, 10, 1, RetirementInput(RetirementType.OTHER), x),
    "freezeAccount": lambda r, pid, x: r.freeze(30, x),
    "pauseTransfers": lambda r, pid, x: r.pause_transfers(x),
    "setGovernmentAccount": lambda r, pid, x: r.set_government_account(2, x),
}


@pytest.mark.parametrize("name", sorted(WRITES))
def test_every_write_refuses_a_used_reference(registry: Registry, name: str) -> None:
    pid = authorised_programme(registry, issue=10, estimate=1000)
    used = ref()
    registry.issue(pid, 1, used)
    with reverts("RegistryRequestAlreadyApplied", requestRef="0x" + used.hex()):
        WRITES[name](registry, pid, used)


@pytest.mark.parametrize("name", sorted(WRITES))
def test_every_write_refuses_the_zero_reference(registry: Registry, name: str) -> None:
    pid = authorised_programme(registry, issue=10, estimate=1000)
    with reverts("RegistryInvalidRequestReference"):
        WRITES[name](registry, pid, bytes(32))


def test_retried_transfer_applies_once(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=10)
    request = ref()
    registry.transfer(pid, 10, 20, 4, request)
    with reverts("RegistryRequestAlreadyApplied"):
        registry.transfer(pid, 10, 20, 4, request)
    assert (balance(registry, pid, 10), balance(registry, pid, 20)) == (6, 4)
    assert registry.view("isRequestApplied", request)


def test_reference_of_a_reverted_call_stays_usable(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=10)
    request = ref()
    with reverts("CreditsInsufficientBalance"):
        registry.transfer(pid, 10, 20, 11, request)
    assert not registry.view("isRequestApplied", request)
    registry.transfer(pid, 10, 20, 10, request)
