"""``Registry.events`` decodes a receipt's events exactly as web3's ``process_receipt(errors=DISCARD)`` does, from
types worked out once (ADR 0020): every event of the ABI, against receipts of every kind of registry write."""

from __future__ import annotations

from typing import Any

from web3.logs import DISCARD
from web3.types import TxReceipt

from node.chain.registry import Registry
from node.chain.types import RetirementInput, RetirementType
from tests.conftest import authorised_programme, create_programme, programme_input, ref


def _receipts(registry: Registry) -> list[TxReceipt]:
    pid = create_programme(registry, owners=(10, 11), shares=(600_000, 400_000))
    created = registry.create_programme(programme_input(external_id="EVENTS-1", owners=(12,)), ref())
    receipts = [created, registry.authorise(pid, 100, ref()), registry.issue(pid, 50, ref())]
    other = authorised_programme(registry, issue=40)
    receipts += [
        registry.transfer(other, 10, 20, 5, ref()),
        registry.transfer(other, 10, 99, 1, ref()),
        registry.transfer(other, 10, 20, 3, ref()),  # lands next to 20's block: a merge
        registry.transfer(other, 20, 10, 2, ref()),
        registry.retire(other, 10, 4, RetirementInput(RetirementType.LEGAL_ACTION), ref()),
        registry.set_omge_rate(200, ref()),
        registry.retire(other, 10, 10, RetirementInput(RetirementType.CROSS_BORDER, "KE", "Kenya Ltd", 200), ref()),
        registry.freeze(11, ref()),
        registry.unfreeze(11, ref()),
        registry.pause_transfers(ref()),
        registry.unpause_transfers(ref()),
        registry.certify(other, 30, ref()),
        registry.revoke_certification(other, 30, ref()),
        registry.update_programme_details(other, b"\x07" * 32, ref()),
        registry.reject(create_programme(registry), ref()),
    ]
    return receipts


def test_events_decode_as_web3_does(registry: Registry) -> None:
    abi: list[dict[str, Any]] = list(registry.contract.abi)  # type: ignore[arg-type]
    names = [item["name"] for item in abi if item.get("type") == "event"]
    decoded: dict[str, int] = {}
    for receipt in _receipts(registry):
        for name in names:
            ours: list[Any] = registry.events(receipt, name)
            web3s: list[Any] = list(registry.contract.events[name]().process_receipt(receipt, errors=DISCARD))
            assert ours == web3s, name
            decoded[name] = decoded.get(name, 0) + len(ours)
    expected = {"ProgrammeCreated", "ProgrammeAuthorised", "CreditsIssued", "CreditsTransferred", "CreditsRetired",
                "OmgeRateSet", "AccountFrozen", "AccountUnfrozen", "ProgrammeCertified", "CertificationRevoked",
                "ProgrammeRejected"}  # fmt: skip
    assert {name for name, count in decoded.items() if count} >= expected
