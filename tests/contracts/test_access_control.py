"""Only the registrar writes, only the pauser pauses, only the admin governs and upgrades."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from node.chain.compiler import Artifact
from node.chain.registry import Registry
from node.chain.types import RetirementInput, RetirementType
from tests.conftest import programme_input, ref
from tests.contracts.helpers import reverts

REGISTRAR_ROLE = "0x" + keccak(text="REGISTRAR_ROLE").hex()
PAUSER_ROLE = "0x" + keccak(text="PAUSER_ROLE").hex()
ADMIN_ROLE = "0x" + bytes(32).hex()
IMPLEMENTATION_SLOT = int.from_bytes(keccak(text="eip1967.proxy.implementation")) - 1

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
    ("setOmgeRate", REGISTRAR_ROLE, lambda r: r.set_omge_rate(100, ref())),
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


def test_programme_code_refuses_direct_calls(registry: Registry, artifacts: dict[str, Artifact]) -> None:
    """``createProgramme`` runs in ``CarbonRegistryProgrammes`` by delegatecall (ADR 0015); called directly, that
    contract refuses, whoever calls: it has no role storage and writes nothing of the registry's."""
    implementation = registry.client.w3.eth.get_storage_at(registry.contract.address, IMPLEMENTATION_SLOT)[-20:]
    code = bytes(registry.client.w3.eth.get_code(to_checksum_address(implementation)))
    compiled = bytes.fromhex(artifacts["CarbonRegistry"].deployed_bytecode[2:])
    # Immutables are zeros in the compiled code, set at deployment: UUPS's own address and the extension's.
    filled = {code[i + 12 : i + 32] for i in range(len(compiled) - 31)
              if compiled[i : i + 32] == bytes(32) and code[i : i + 32] != bytes(32)} - {implementation}  # fmt: skip
    assert len(filled) == 1
    direct = registry.client.contract(to_checksum_address(filled.pop()), artifacts["CarbonRegistryProgrammes"].abi)
    with reverts("AccessControlUnauthorizedAccount", neededRole=REGISTRAR_ROLE):
        registry.client.transact(direct, "createProgramme", programme_input().as_abi(), ref())


def test_initialize_cannot_run_twice(registry: Registry) -> None:
    with reverts("InvalidInitialization"):
        registry.client.transact(
            registry.contract, "initialize", registry.client.address, registry.client.address,
            registry.client.address, b"NG", 1,
        )  # fmt: skip
