"""Suspension freezes the organisation's chain account (read back from the contract), revokes a certifier's
certifications, makes its users read-only, and activation undoes the freeze; retries apply once."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from node.chain.client import request_ref_for
from node.chain.errors import AccountFrozen, ChainPermissionDenied
from node.chain.registry import Registry
from node.identity import audit, suspension
from tests.api.identity.world import World
from tests.conftest import authorised_programme, ref


def _emails(world: World, recipient_org: int, template: str) -> list[str]:
    with world.engine.connect() as conn:
        return list(conn.execute(text(
            "select o.language from app.email_outbox o join app.user_account u on u.email = o.recipient "
            "where u.organisation_id = :org and o.template = :t"),
            {"org": recipient_org, "t": template}).scalars())  # fmt: skip


def _changes(world: World, organisation_id: int) -> list[tuple[str, int, str]]:
    with world.engine.connect() as conn:
        query = "select action, state_version, status from app.organisation_state_change where organisation_id = :id"
        rows = conn.execute(text(query + " order by change_id"), {"id": organisation_id})
        return [(row.action, row.state_version, row.status) for row in rows]


def _state(world: World, organisation_id: int) -> tuple[str, int]:
    with world.engine.connect() as conn:
        row = conn.execute(text("select state, state_version from app.organisation where organisation_id = :id"),
                           {"id": organisation_id}).one()  # fmt: skip
        return row.state, row.state_version


def _audit(world: World, organisation_id: int) -> list[str]:
    with world.engine.connect() as conn:
        query = "select action from app.audit_event where target_id = :id and action like 'organisation.%'"
        return list(conn.execute(text(query + " order by event_id"), {"id": organisation_id}).scalars())


def test_suspending_a_developer_freezes_its_chain_account_and_activation_unfreezes_it(
    app_client: TestClient, world: World
) -> None:
    developer = world.organisation()
    programme = authorised_programme(world.registry, issue=100, owners=(developer,))
    headers = world.headers("gov_manager")

    suspended = app_client.post(f"/organisations/{developer}/suspend", headers=headers, json={"remarks": "audit"})
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["organisation"]["state"] == "suspended"
    assert suspended.json()["organisation"]["remarks"] == "audit"
    assert world.registry.view("isFrozen", developer) is True
    with pytest.raises(AccountFrozen):  # the contract itself now refuses to move its credits
        world.registry.transfer(programme, developer, world.developer, 10, ref())
    assert _emails(world, developer, "organisation_suspended") == ["en"]

    again = app_client.post(f"/organisations/{developer}/suspend", headers=headers, json={"remarks": "twice"})
    assert (again.status_code, again.json()["type"]) == (409, "/problems/invalid-state")

    activated = app_client.post(f"/organisations/{developer}/activate", headers=headers, json={})
    assert activated.status_code == 200, activated.text
    assert activated.json()["state"] == "active"
    assert world.registry.view("isFrozen", developer) is False
    world.registry.transfer(programme, developer, world.developer, 10, ref())
    assert _emails(world, developer, "organisation_reactivated") == ["en"]


def test_suspending_a_certifier_revokes_every_certification_it_holds(app_client: TestClient, world: World) -> None:
    certifier = world.organisation("Certifier")
    certified = [authorised_programme(world.registry, owners=(world.developer,)) for _ in range(3)]
    other = authorised_programme(world.registry, owners=(world.developer,))
    for programme in certified:
        world.registry.certify(programme, certifier, ref())
    world.registry.certify(other, world.certifier, ref())

    response = app_client.post(f"/organisations/{certifier}/suspend", headers=world.headers("root"),
                               json={"remarks": "accreditation withdrawn"})  # fmt: skip
    assert response.status_code == 200, response.text
    assert sorted(response.json()["revoked_certifications"]) == sorted(certified)
    assert not any(world.registry.view("isCertifiedBy", p, certifier) for p in certified)
    assert world.registry.view("isCertifiedBy", other, world.certifier) is True  # another certifier's stays

    app_client.post(f"/organisations/{certifier}/activate", headers=world.headers("root"), json={})
    assert not any(world.registry.view("isCertifiedBy", p, certifier) for p in certified)  # not restored


def test_users_of_a_suspended_organisation_can_read_but_not_write(app_client: TestClient, world: World) -> None:
    headers = world.headers("suspended_admin")
    assert app_client.get("/organisations", headers=headers).status_code == 200
    assert app_client.get("/auth/me", headers=headers).json()["organisation_state"] == "suspended"
    refused = app_client.patch(f"/organisations/{world.suspended}", headers=headers, json={"phone": "+234 1 234 567"})
    assert (refused.status_code, refused.json()["type"]) == (403, "/problems/organisation-suspended")


def test_a_token_issued_before_the_suspension_is_read_only_at_once(app_client: TestClient, world: World) -> None:
    developer = world.organisation()
    admin = world.user(developer, "Admin")
    token = {"Authorization": f"Bearer {world.token(admin)}"}  # says "active"
    world.suspend(developer)
    refused = app_client.patch(f"/users/{admin}", headers=token, json={"name": "Still Me"})
    assert (refused.status_code, refused.json()["type"]) == (403, "/problems/organisation-suspended")


def test_a_retried_suspension_after_a_lost_commit_applies_the_chain_change_once(world: World) -> None:
    developer = world.organisation()
    root = world.principal(world.members["root"].user_id)
    # The chain write of a first attempt happened, then the process died before the database commit.
    world.registry.freeze(developer, request_ref_for(f"organisation:{developer}:1:freeze"))
    suspension.suspend(world.engine, world.settings, world.registry, root, developer, "retry")
    with world.engine.connect() as conn:
        state, version = conn.execute(text("select state, state_version from app.organisation "
                                           "where organisation_id = :id"), {"id": developer}).one()  # fmt: skip
    assert (state, version) == ("suspended", 1)
    assert world.registry.view("isFrozen", developer) is True


def test_a_refused_chain_write_leaves_the_organisation_active(world: World, stranger: Registry) -> None:
    developer = world.organisation()
    root = world.principal(world.members["root"].user_id)
    with pytest.raises(ChainPermissionDenied):  # a node key without the role
        suspension.suspend(world.engine, world.settings, stranger, root, developer, "refused")
    with world.engine.connect() as conn:
        state = conn.execute(text("select state from app.organisation where organisation_id = :id"),
                             {"id": developer}).scalar_one()  # fmt: skip
    assert state == "active"
    assert world.registry.view("isFrozen", developer) is False
    # Nothing of the change is on chain, so it is abandoned rather than completed later, and the next request
    # (with the right key) goes through under the same version.
    assert _changes(world, developer) == [("suspend", 1, "failed")]
    suspension.suspend(world.engine, world.settings, world.registry, root, developer, "accepted")
    assert _changes(world, developer) == [("suspend", 1, "failed"), ("suspend", 1, "done")]
    assert world.registry.view("isFrozen", developer) is True


def test_suspending_an_unknown_organisation_is_404(app_client: TestClient, world: World) -> None:
    missing = app_client.post("/organisations/999999/suspend", headers=world.headers("root"), json={"remarks": "x"})
    assert (missing.status_code, missing.json()["type"]) == (404, "/problems/not-found")


@pytest.mark.parametrize(
    "remarks",
    ["fraud\u0000ulent", "bell\u0007", "escape \u001b[31m red", "lone \ud800 surrogate", "   ", "x" * 1001],
    ids=["nul", "bell", "ansi-escape", "lone-surrogate", "blank", "too-long"],
)
def test_remarks_that_cannot_be_stored_change_nothing_on_chain_or_in_the_database(
    app_client: TestClient, world: World, remarks: str
) -> None:
    developer = world.organisation()
    body = json.dumps({"remarks": remarks})  # ASCII JSON: a lone surrogate travels as its \\u escape
    response = app_client.post(f"/organisations/{developer}/suspend", content=body,
                               headers=world.headers("root") | {"Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 422, response.text
    assert world.registry.view("isFrozen", developer) is False
    assert _state(world, developer) == ("active", 0)
    assert _changes(world, developer) == []
    assert _audit(world, developer) == []


def test_remarks_keep_their_line_breaks_and_tabs(app_client: TestClient, world: World) -> None:
    developer = world.organisation()
    response = app_client.post(f"/organisations/{developer}/suspend", headers=world.headers("root"),
                               json={"remarks": "  late report\r\n\tsee file 12  "})  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json()["organisation"]["remarks"] == "late report\n\tsee file 12"


def test_a_retried_suspension_after_a_failed_database_write_completes_the_first_one_once(
    app_client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    developer = world.organisation()
    headers = world.headers("gov_manager")
    with monkeypatch.context() as patch:
        patch.setattr(audit, "record", _database_gone)
        failed = app_client.post(f"/organisations/{developer}/suspend", headers=headers, json={"remarks": "first"})
    assert failed.status_code == 503  # database unavailable
    assert world.registry.view("isFrozen", developer) is True  # the chain changed, the database did not
    assert _state(world, developer) == ("active", 0)
    assert _changes(world, developer) == [("suspend", 1, "pending")]

    retried = app_client.post(f"/organisations/{developer}/suspend", headers=headers, json={"remarks": "second"})
    # The answer is the one the retry would have had if the first attempt had not failed.
    assert (retried.status_code, retried.json()["detail"]) == (409, "The organisation is already suspended.")
    assert _state(world, developer) == ("suspended", 1)
    assert _changes(world, developer) == [("suspend", 1, "done")]
    assert _audit(world, developer) == ["organisation.suspend"]
    assert _emails(world, developer, "organisation_suspended") == ["en"]
    profile = app_client.get(f"/organisations/{developer}", headers=headers).json()
    assert profile["remarks"] == "first"


def test_an_activation_while_a_suspension_is_pending_completes_the_suspension_first(
    app_client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    developer = world.organisation()
    headers = world.headers("root")
    with monkeypatch.context() as patch:
        patch.setattr(audit, "record", _database_gone)
        app_client.post(f"/organisations/{developer}/suspend", headers=headers, json={"remarks": "first"})

    activated = app_client.post(f"/organisations/{developer}/activate", headers=headers, json={"remarks": "cleared"})
    assert activated.status_code == 200, activated.text
    assert (activated.json()["state"], activated.json()["remarks"]) == ("active", "cleared")
    assert _state(world, developer) == ("active", 2)
    assert _changes(world, developer) == [("suspend", 1, "done"), ("activate", 2, "done")]
    assert _audit(world, developer) == ["organisation.suspend", "organisation.activate"]
    assert world.registry.view("isFrozen", developer) is False


def _database_gone(*_args: object, **_kwargs: object) -> None:
    raise OperationalError("insert into app.audit_event", {}, Exception("server closed the connection unexpectedly"))
