"""Only the registrar writes, only the pauser pauses, only the admin governs and upgrades."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from eth_utils.crypto import keccak

from node.chain.registry import Registry
from node.chain.types import RetirementInput, RetirementType
from tests.conftest import programme_input, ref
from tests.contracts.helpers import reverts

REGISTRAR_ROLE = "0x" + keccak(text="REGISTRAR_ROLE").hex()
PAUSER_ROLE = "0x" + keccak(text="PAUSER_ROLE").hex()
ADMIN_ROLE = "0x" + bytes(32).hex()

CALLS: list[tuple[str, str, Callable[[Registry], object]]] = [
    ("createProgramme", REGISTRAR_ROLE, lambda r: r.create_programme(programme_input(), ref())),
    ("authorise", REGISTRAR_ROLE, lambda r: r.authorise(1, 0, ref())),
    ("reject", REGISTRAR_ROLE, lambda r: r.reject(1, ref())),
    ("issue", REGISTRAR_ROLE, lambda r: r.issue(1, 1, ref())),
    ("updateProgrammeDetails", REGISTRAR_ROLE, lambda r: r.update_programme_details(1, b"\x01" * 32, ref())),
    ("certify", REGISTRAR_ROLE, lambda r: r.certify(1, 50, ref())),
    ("revokeCertification", REGISTRAR_ROLE, lambda r: r.revoke_certification(1, 50, ref())),
    ("transfer", REGISTRAR_ROLE, lambda r: r.transfer(1, 10, 20, 1, ref())),
    ("retire", REGISTRAR_ROLE, lambda r: r.retire(1, 10, 1, RetirementInput(RetirementType.OTHER), ref())),
    ("freezeAccount", REGISTRAR_ROLE, lambda r: r.freeze(10, ref())),
    ("unfreezeAccount", REGISTRAR_ROLE, lambda r: r.unfreeze(10, ref())),
    ("pauseTransfers", PAUSER_ROLE, lambda r: r.pause_transfers(ref())),
    ("unpauseTransfers", PAUSER_ROLE, lambda r: r.unpause_transfers(ref())),
    ("setGovernmentAccount", ADMIN_ROLE, lambda r: r.set_government_account(2, ref())),
]


@pytest.mark.parametrize(("name", "role", "call"), CALLS, ids=[c[0] for c in CALLS])
def test_write_without_role_is_refused(
    registry: Registry, stranger: Registry, name: str, role: str, call: Callable[[Registry], object]
) -> None:
    with reverts("AccessControlUnauthorizedAccount", account=stranger.client.address.lower(), neededRole=role):
        call(stranger)


def test_roles_are_granted_at_initialisation(registry: Registry) -> None:
    operator = registry.client.address
    for role in (REGISTRAR_ROLE, PAUSER_ROLE, ADMIN_ROLE):
        assert registry.view("hasRole", role, operator)


def test_admin_can_grant_registrar_role(registry: Registry, stranger: Registry) -> None:
    registry.client.transact(registry.contract, "grantRole", REGISTRAR_ROLE, stranger.client.address)
    stranger.freeze(10, ref())
    assert registry.view("isFrozen", 10)


def test_initialize_cannot_run_twice(registry: Registry) -> None:
    with reverts("InvalidInitialization"):
        registry.client.transact(
            registry.contract, "initialize", registry.client.address, registry.client.address,
            registry.client.address, b"NG", 1,
        )  # fmt: skip
