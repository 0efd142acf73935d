"""A suspension or activation is recoverable by design (ADR 0010): inputs are refused before any chain write, the
intent commits first, a failure after the chain write is completed exactly once by recovery, and the consistency
report names an organisation whose database state and chain account disagree."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from node.chain.client import request_ref_for
from node.errors import InvalidInput
from node.identity import audit, consistency, suspension
from node.identity.permissions import Principal
from tests.api.identity import conftest as identity
from tests.api.identity.world import World
from tests.conftest import authorised_programme, ref

# The identity tests' populated registry (one per module, chain snapshotted around it).
module_settings = identity.module_settings
module_registry = identity.module_registry
world = identity.world


class Crash(BaseException):
    """The process dies: nothing after it runs, not even the error bookkeeping."""


def _database_gone(*_args: object, **_kwargs: object) -> None:
    raise OperationalError("insert into app.audit_event", {}, Exception("server closed the connection unexpectedly"))


def _root(world: World) -> Principal:
    return world.principal(world.members["root"].user_id)


def _crash(*_args: object) -> None:
    raise Crash


def _counts(world: World, organisation_id: int) -> dict[str, object]:
    """Everything a completion writes, in one place: state, version, intents, audit events, emails, chain flag."""
    where = {"id": organisation_id}
    with world.engine.connect() as conn:
        state, version = conn.execute(text("select state, state_version from app.organisation "
                                           "where organisation_id = :id"), where).one()  # fmt: skip
        changes = conn.execute(text("select status, attempts from app.organisation_state_change "
                                    "where organisation_id = :id order by change_id"), where).all()  # fmt: skip
        events = conn.execute(text("select count(*) from app.audit_event where target_id = :id "
                                   "and action like 'organisation.%'"), where).scalar_one()  # fmt: skip
        emails = conn.execute(text("select count(*) from app.email_outbox o join app.user_account u on "
                                   "u.email = o.recipient where u.organisation_id = :id "
                                   "and o.template like 'organisation_%'"), where).scalar_one()  # fmt: skip
    return {"state": state, "version": version, "changes": [tuple(c) for c in changes], "events": events,
            "emails": emails, "frozen": world.registry.view("isFrozen", organisation_id)}  # fmt: skip


def test_nul_in_remarks_is_refused_before_anything_is_written(world: World) -> None:
    developer = world.organisation()
    with pytest.raises(InvalidInput, match="U\\+0000"):
        suspension.suspend(world.engine, world.settings, world.registry, _root(world), developer, "a\x00b")
    assert _counts(world, developer) == {"state": "active", "version": 0, "changes": [], "events": 0, "emails": 0,
                                         "frozen": False}  # fmt: skip


def test_a_database_failure_after_the_chain_write_is_completed_once_by_recovery(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    developer = world.organisation()
    with monkeypatch.context() as patch:
        patch.setattr(audit, "record", _database_gone)
        with pytest.raises(OperationalError):
            suspension.suspend(world.engine, world.settings, world.registry, _root(world), developer, "audit")
    # The chain changed, the database did not; the intent says what is left to do and why it is not done.
    assert _counts(world, developer) == {"state": "active", "version": 0, "changes": [("pending", 1)], "events": 0,
                                         "emails": 0, "frozen": True}  # fmt: skip

    completed = suspension.complete_pending(world.engine, world.settings, world.registry)
    assert len(completed) == 1
    assert suspension.complete_pending(world.engine, world.settings, world.registry) == []
    assert _counts(world, developer) == {"state": "suspended", "version": 1, "changes": [("done", 2)], "events": 1,
                                         "emails": 1, "frozen": True}  # fmt: skip
    with world.engine.connect() as conn:
        actor, details = conn.execute(text("select actor_user_id, details from app.audit_event where target_id = :id"),
                                      {"id": developer}).one()  # fmt: skip
    assert (actor, details) == (
        world.members["root"].user_id,
        {"remarks": "audit", "revoked_certifications": [], "cancelled_transfers": [], "cancelled_retirements": []},
    )


def test_a_crash_between_the_intent_and_the_chain_write_is_completed_by_recovery(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    developer = world.organisation()
    with monkeypatch.context() as patch:
        patch.setattr(world.registry, "freeze", _crash)
        with pytest.raises(Crash):
            suspension.suspend(world.engine, world.settings, world.registry, _root(world), developer, "audit")
    assert _counts(world, developer) == {"state": "active", "version": 0, "changes": [("pending", 0)], "events": 0,
                                         "emails": 0, "frozen": False}  # fmt: skip

    assert len(suspension.complete_pending(world.engine, world.settings, world.registry)) == 1
    assert _counts(world, developer) == {"state": "suspended", "version": 1, "changes": [("done", 1)], "events": 1,
                                         "emails": 1, "frozen": True}  # fmt: skip


def test_recovery_leaves_changes_younger_than_its_threshold_to_their_request(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    developer = world.organisation()
    with monkeypatch.context() as patch:
        patch.setattr(world.registry, "freeze", _crash)
        with pytest.raises(Crash):
            suspension.suspend(world.engine, world.settings, world.registry, _root(world), developer, "audit")
    assert suspension.complete_pending(world.engine, world.settings, world.registry, older_than=3600) == []
    assert len(suspension.complete_pending(world.engine, world.settings, world.registry)) == 1


def test_a_certifier_suspension_completed_by_recovery_names_every_revoked_certification(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    certifier = world.organisation("Certifier")
    certified = sorted(authorised_programme(world.registry, owners=(world.developer,)) for _ in range(2))
    for programme in certified:
        world.registry.certify(programme, certifier, ref())
    with monkeypatch.context() as patch:
        patch.setattr(audit, "record", _database_gone)
        with pytest.raises(OperationalError):
            suspension.suspend(world.engine, world.settings, world.registry, _root(world), certifier, "withdrawn")
    assert not any(world.registry.view("isCertifiedBy", p, certifier) for p in certified)  # revoked on chain

    suspension.complete_pending(world.engine, world.settings, world.registry)
    # The first attempt's revocations are read back from the chain by their request references.
    with world.engine.connect() as conn:
        details = conn.execute(text("select details from app.audit_event where target_id = :id"),
                               {"id": certifier}).scalar_one()  # fmt: skip
    assert details == {
        "remarks": "withdrawn",
        "revoked_certifications": certified,
        "cancelled_transfers": [],
        "cancelled_retirements": [],
    }


def test_the_consistency_report_names_an_organisation_frozen_on_chain_but_active_in_the_database(
    world: World,
) -> None:
    assert consistency.organisation_divergences(world.engine, world.registry, stale_after=0) == []
    developer = world.organisation()
    world.registry.freeze(developer, request_ref_for(f"test:diverge:{developer}"))  # behind the registry's back
    try:
        found = consistency.organisation_divergences(world.engine, world.registry, stale_after=0)
        assert found == [consistency.Divergence(developer, "state", "active", "frozen")]
        assert str(found[0]) == f"organisation {developer} state: database='active' chain='frozen'"
    finally:
        world.registry.unfreeze(developer, request_ref_for(f"test:converge:{developer}"))
    assert consistency.organisation_divergences(world.engine, world.registry, stale_after=0) == []


def test_the_consistency_report_names_a_stale_pending_change_not_its_expected_divergence(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    developer = world.organisation()
    with monkeypatch.context() as patch:
        patch.setattr(audit, "record", _database_gone)
        with pytest.raises(OperationalError):
            suspension.suspend(world.engine, world.settings, world.registry, _root(world), developer, "audit")

    assert consistency.organisation_divergences(world.engine, world.registry, stale_after=3600) == []  # in flight
    (stale,) = consistency.organisation_divergences(world.engine, world.registry, stale_after=0)
    assert (stale.organisation_id, stale.what.split()[:2], stale.chain) == (developer, ["suspend", "pending"], None)
    assert "server closed the connection" in stale.database
    suspension.complete_pending(world.engine, world.settings, world.registry)
    assert consistency.organisation_divergences(world.engine, world.registry, stale_after=0) == []


def test_recoveries_running_at_once_complete_a_change_once(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    developer = world.organisation()
    with monkeypatch.context() as patch:
        patch.setattr(audit, "record", _database_gone)
        with pytest.raises(OperationalError):
            suspension.suspend(world.engine, world.settings, world.registry, _root(world), developer, "audit")
    with ThreadPoolExecutor(3) as pool:
        runs = list(pool.map(lambda _: suspension.complete_pending(world.engine, world.settings, world.registry),
                             range(3)))  # fmt: skip
    assert sorted(len(completed) for completed in runs) == [0, 0, 1]
    assert _counts(world, developer) == {"state": "suspended", "version": 1, "changes": [("done", 2)], "events": 1,
                                         "emails": 1, "frozen": True}  # fmt: skip
