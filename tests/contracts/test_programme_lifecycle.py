"""Programme creation, authorisation with serial allocation, rejection: the on-chain state machine."""

from __future__ import annotations

import pytest

from node.chain.registry import Registry
from node.chain.types import PPM, ProgrammeStage, Sector
from tests.conftest import authorised_programme, create_programme, details_hash_of, programme_input, ref
from tests.contracts.helpers import programme, reverts


class TestCreate:
    def test_create_records_programme_awaiting_authorisation(self, registry: Registry) -> None:
        pid = create_programme(registry, owners=(10, 11), shares=(600_000, 400_000), estimate=500)
        p = programme(registry, pid)
        assert p["stage"] == ProgrammeStage.AWAITING_AUTHORIZATION
        assert (p["owners"], p["shares_ppm"]) == ([10, 11], [600_000, 400_000])
        assert (p["credit_estimate"], p["credit_issued"], p["serial_start"], p["serial_end"]) == (500, 0, 0, 0)
        assert p["country"] == b"NG"
        assert p["credit_unit"].rstrip(b"\0") == b"ITMO"
        assert p["details_hash"] == details_hash_of(p["external_id"])

    def test_create_assigns_running_programme_ids(self, registry: Registry) -> None:
        assert [create_programme(registry) for _ in range(3)] == [1, 2, 3]

    def test_create_emits_event_with_every_field(self, registry: Registry) -> None:
        data = programme_input(external_id="MRV-77", owners=(10, 11), shares=(1, PPM - 1))
        receipt = registry.create_programme(data, request := ref())
        args = registry.events(receipt, "ProgrammeCreated")[0]["args"]
        assert args["requestRef"] == request
        assert args["programme"]["externalId"] == "MRV-77"
        assert list(args["programme"]["owners"]) == [10, 11]
        assert list(args["programme"]["sharesPpm"]) == [1, PPM - 1]
        assert args["programme"]["detailsHash"] == details_hash_of("MRV-77")

    def test_create_publishes_regions_in_the_event(self, registry: Registry) -> None:
        data = programme_input()
        data = data.__class__(**{**data.__dict__, "regions": ("Lagos", "Kano")})
        receipt = registry.create_programme(data, ref())
        assert list(registry.events(receipt, "ProgrammeCreated")[0]["args"]["programme"]["regions"]) == [
            "Lagos",
            "Kano",
        ]

    def test_create_rejects_duplicate_external_id(self, registry: Registry) -> None:
        first = create_programme(registry, external_id="DUP")
        with reverts("ProgrammeExternalIdTaken", externalId="DUP", programmeId=first):
            create_programme(registry, external_id="DUP")

    @pytest.mark.parametrize("external_id", ["", "x" * 65])
    def test_create_rejects_empty_or_long_external_id(self, registry: Registry, external_id: str) -> None:
        with reverts("ProgrammeInvalidExternalId"):
            registry.create_programme(programme_input(external_id=external_id), ref())

    @pytest.mark.parametrize(
        ("sector", "scope"),
        [(Sector.ENERGY, 0), (Sector.ENERGY, 16), (Sector.ENERGY, 7), (Sector.FORESTRY, 15), (Sector.WASTE, 1)],
    )
    def test_create_rejects_scope_not_admitted_for_sector(self, registry: Registry, sector: Sector, scope: int) -> None:
        with reverts("ProgrammeInvalidSectoralScope", sectoralScope=scope):
            create_programme(registry, sector=sector, scope=scope)

    @pytest.mark.parametrize(("sector", "scope"), [(Sector.HEALTH, 11), (Sector.WASTE, 10), (Sector.OTHER, 6)])
    def test_create_accepts_scope_admitted_for_sector(self, registry: Registry, sector: Sector, scope: int) -> None:
        assert programme(registry, create_programme(registry, sector=sector, scope=scope))["sectoral_scope"] == scope

    def test_create_rejects_other_country(self, registry: Registry) -> None:
        with reverts("ProgrammeInvalidCountry", country="0x4b45", registryCountry="0x4e47"):
            create_programme(registry, country="KE")

    def test_create_rejects_empty_credit_unit(self, registry: Registry) -> None:
        data = programme_input()
        bad = data.__class__(**{**data.__dict__, "credit_unit": ""})
        with reverts("ProgrammeInvalidCreditUnit"):
            registry.create_programme(bad, ref())

    def test_create_rejects_zero_details_hash(self, registry: Registry) -> None:
        with reverts("ProgrammeInvalidDetailsHash"):
            create_programme(registry, details_hash=bytes(32))
        assert registry.view("totals")[0] == 0

    def test_create_rejects_end_not_after_start(self, registry: Registry) -> None:
        with reverts("ProgrammeInvalidPeriod", startTime=100, endTime=100):
            create_programme(registry, start_time=100, end_time=100)

    def test_create_rejects_zero_estimate(self, registry: Registry) -> None:
        with reverts("ProgrammeInvalidCreditEstimate", creditEstimate=0):
            create_programme(registry, estimate=0)

    def test_create_rejects_no_owners(self, registry: Registry) -> None:
        with reverts("ProgrammeInvalidOwners", owners=0):
            create_programme(registry, owners=(), shares=())

    def test_create_rejects_owner_share_length_mismatch(self, registry: Registry) -> None:
        with reverts("ProgrammeInvalidOwners", owners=2, shares=1):
            create_programme(registry, owners=(10, 11), shares=(PPM,))

    def test_create_rejects_more_than_sixteen_owners(self, registry: Registry) -> None:
        with reverts("ProgrammeInvalidOwners", owners=17, maxOwners=16):
            create_programme(registry, owners=tuple(range(10, 27)))

    @pytest.mark.parametrize("owners", [(0, 11), (10, 10)])
    def test_create_rejects_zero_or_duplicate_owner(self, registry: Registry, owners: tuple[int, int]) -> None:
        with reverts("ProgrammeInvalidOwner"):
            create_programme(registry, owners=owners)

    @pytest.mark.parametrize("shares", [(PPM, 0), (500_000, 499_999), (500_000, 500_001)])
    def test_create_rejects_shares_not_summing_to_a_million(self, registry: Registry, shares: tuple[int, int]) -> None:
        with reverts("ProgrammeInvalidShares"):
            create_programme(registry, owners=(10, 11), shares=shares)


class TestAuthorise:
    def test_authorise_allocates_serial_range_from_country_counter(self, registry: Registry) -> None:
        first = authorised_programme(registry, estimate=1000)
        second = authorised_programme(registry, estimate=250)
        assert (programme(registry, first)["serial_start"], programme(registry, first)["serial_end"]) == (1, 1000)
        assert (programme(registry, second)["serial_start"], programme(registry, second)["serial_end"]) == (1001, 1250)
        assert registry.view("totals")[1] == 1250

    def test_authorise_emits_range_and_reference(self, registry: Registry) -> None:
        pid = create_programme(registry, estimate=40)
        receipt = registry.authorise(pid, 0, request := ref())
        args = registry.events(receipt, "ProgrammeAuthorised")[0]["args"]
        assert (args["programmeId"], args["serialStart"], args["serialEnd"], args["requestRef"]) == (
            pid,
            1,
            40,
            request,
        )
        assert registry.events(receipt, "CreditsIssued") == []

    def test_authorise_with_amount_issues_at_once(self, registry: Registry) -> None:
        pid = authorised_programme(registry, issue=300, estimate=1000)
        assert programme(registry, pid)["credit_issued"] == 300
        assert programme(registry, pid)["stage"] == ProgrammeStage.AUTHORISED

    def test_authorise_rejects_issue_above_estimate(self, registry: Registry) -> None:
        pid = create_programme(registry, estimate=100)
        with reverts("ProgrammeEstimateExceeded", issued=0, requested=101, estimate=100):
            registry.authorise(pid, 101, ref())
        assert programme(registry, pid)["stage"] == ProgrammeStage.AWAITING_AUTHORIZATION

    def test_authorise_twice_is_illegal(self, registry: Registry) -> None:
        pid = authorised_programme(registry)
        with reverts("ProgrammeInvalidStage", current=ProgrammeStage.AUTHORISED):
            registry.authorise(pid, 0, ref())

    def test_authorise_rejected_programme_is_illegal(self, registry: Registry) -> None:
        pid = create_programme(registry)
        registry.reject(pid, ref())
        with reverts("ProgrammeInvalidStage", current=ProgrammeStage.REJECTED):
            registry.authorise(pid, 0, ref())

    def test_authorise_unknown_programme_is_not_found(self, registry: Registry) -> None:
        with reverts("ProgrammeNotFound", programmeId=99):
            registry.authorise(99, 0, ref())

    def test_authorise_refuses_to_overflow_serial_space(self, registry: Registry) -> None:
        authorised_programme(registry, estimate=2**64 - 1)
        pid = create_programme(registry, estimate=1)
        with reverts("RegistrySerialsExhausted", programmeId=pid, creditEstimate=1, serialsLeft=0):
            registry.authorise(pid, 0, ref())


class TestReject:
    def test_reject_is_terminal(self, registry: Registry) -> None:
        pid = create_programme(registry)
        receipt = registry.reject(pid, ref())
        assert registry.events(receipt, "ProgrammeRejected")[0]["args"]["programmeId"] == pid
        assert programme(registry, pid)["stage"] == ProgrammeStage.REJECTED
        with reverts("ProgrammeInvalidStage", current=ProgrammeStage.REJECTED):
            registry.reject(pid, ref())

    def test_reject_authorised_programme_is_illegal(self, registry: Registry) -> None:
        pid = authorised_programme(registry)
        with reverts(
            "ProgrammeInvalidStage", current=ProgrammeStage.AUTHORISED, required=ProgrammeStage.AWAITING_AUTHORIZATION
        ):
            registry.reject(pid, ref())

    def test_reject_unknown_programme_is_not_found(self, registry: Registry) -> None:
        with reverts("ProgrammeNotFound"):
            registry.reject(5, ref())

    def test_get_unknown_programme_is_not_found(self, registry: Registry) -> None:
        with reverts("ProgrammeNotFound", programmeId=3):
            registry.view("getProgramme", 3)


class TestDetails:
    def test_update_anchors_the_new_hash_and_emits_it(self, registry: Registry) -> None:
        pid = create_programme(registry)
        new = details_hash_of("revision 2")
        receipt = registry.update_programme_details(pid, new, request := ref())
        args = registry.events(receipt, "ProgrammeDetailsUpdated")[0]["args"]
        assert (args["programmeId"], args["requestRef"], args["detailsHash"]) == (pid, request, new)
        assert programme(registry, pid)["details_hash"] == new

    def test_update_leaves_every_credit_field_alone(self, registry: Registry) -> None:
        pid = authorised_programme(registry, issue=10, estimate=100)
        before = programme(registry, pid)
        registry.update_programme_details(pid, details_hash_of("revision 2"), ref())
        after = programme(registry, pid)
        assert {**after, "details_hash": None} == {**before, "details_hash": None}

    def test_update_is_allowed_awaiting_authorisation_and_authorised(self, registry: Registry) -> None:
        waiting, authorised = create_programme(registry), authorised_programme(registry)
        for pid in (waiting, authorised):
            registry.update_programme_details(pid, details_hash_of(f"p{pid}"), ref())
            assert programme(registry, pid)["details_hash"] == details_hash_of(f"p{pid}")

    def test_update_of_a_rejected_programme_is_refused(self, registry: Registry) -> None:
        pid = create_programme(registry)
        registry.reject(pid, ref())
        with reverts("ProgrammeRejectedTerminal", programmeId=pid):
            registry.update_programme_details(pid, details_hash_of("late"), ref())

    def test_update_refuses_the_zero_hash(self, registry: Registry) -> None:
        pid = create_programme(registry)
        with reverts("ProgrammeInvalidDetailsHash"):
            registry.update_programme_details(pid, bytes(32), ref())
        assert programme(registry, pid)["details_hash"] == details_hash_of(programme(registry, pid)["external_id"])

    def test_update_of_an_unknown_programme_is_not_found(self, registry: Registry) -> None:
        with reverts("ProgrammeNotFound", programmeId=9):
            registry.update_programme_details(9, details_hash_of("x"), ref())

    def test_details_hash_must_be_32_bytes_in_python(self) -> None:
        with pytest.raises(ValueError, match="32 bytes"):
            programme_input(details_hash=b"short")
