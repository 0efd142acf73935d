"""Certification by certifier accounts and its revocation."""

from __future__ import annotations

from node.chain.registry import Registry
from tests.conftest import authorised_programme, create_programme, ref
from tests.contracts.helpers import programme, reverts

CERTIFIER = 50


def test_certify_programme_awaiting_authorisation_or_authorised(registry: Registry) -> None:
    pending = create_programme(registry)
    authorised = authorised_programme(registry)
    receipt = registry.certify(pending, CERTIFIER, request := ref())
    registry.certify(authorised, CERTIFIER, ref())
    args = registry.events(receipt, "ProgrammeCertified")[0]["args"]
    assert (args["programmeId"], args["certifier"], args["requestRef"]) == (pending, CERTIFIER, request)
    assert registry.view("isCertifiedBy", pending, CERTIFIER)
    assert programme(registry, authorised)["certifiers"] == [CERTIFIER]


def test_several_certifiers_and_revocation_keep_the_others(registry: Registry) -> None:
    pid = authorised_programme(registry)
    for certifier in (50, 51, 52):
        registry.certify(pid, certifier, ref())
    receipt = registry.revoke_certification(pid, 50, ref())
    assert registry.events(receipt, "CertificationRevoked")[0]["args"]["certifier"] == 50
    assert sorted(programme(registry, pid)["certifiers"]) == [51, 52]
    assert not registry.view("isCertifiedBy", pid, 50)


def test_certify_twice_is_refused(registry: Registry) -> None:
    pid = authorised_programme(registry)
    registry.certify(pid, CERTIFIER, ref())
    with reverts("ProgrammeAlreadyCertified", programmeId=pid, certifier=CERTIFIER):
        registry.certify(pid, CERTIFIER, ref())


def test_recertify_after_revocation(registry: Registry) -> None:
    pid = authorised_programme(registry)
    registry.certify(pid, CERTIFIER, ref())
    registry.revoke_certification(pid, CERTIFIER, ref())
    registry.certify(pid, CERTIFIER, ref())
    assert programme(registry, pid)["certifiers"] == [CERTIFIER]


def test_revoke_without_certification_is_refused(registry: Registry) -> None:
    pid = authorised_programme(registry)
    with reverts("ProgrammeNotCertified", programmeId=pid, certifier=CERTIFIER):
        registry.revoke_certification(pid, CERTIFIER, ref())


def test_certify_rejected_programme_is_refused(registry: Registry) -> None:
    pid = create_programme(registry)
    registry.reject(pid, ref())
    with reverts("ProgrammeRejectedTerminal", programmeId=pid):
        registry.certify(pid, CERTIFIER, ref())


def test_frozen_certifier_cannot_certify(registry: Registry) -> None:
    pid = authorised_programme(registry)
    registry.freeze(CERTIFIER, ref())
    with reverts("RegistryAccountFrozen", account=CERTIFIER):
        registry.certify(pid, CERTIFIER, ref())


def test_certifier_zero_is_invalid(registry: Registry) -> None:
    pid = authorised_programme(registry)
    with reverts("RegistryInvalidAccount", account=0):
        registry.certify(pid, 0, ref())


def test_certify_unknown_programme_is_not_found(registry: Registry) -> None:
    with reverts("ProgrammeNotFound"):
        registry.certify(7, CERTIFIER, ref())
    with reverts("ProgrammeNotFound"):
        registry.revoke_certification(7, CERTIFIER, ref())
