"""The audit trail records who changed which organisation, user or key, is filtered by row, and is append-only."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.api.identity.world import World, unique


def _events(api: TestClient, headers: dict[str, str], **params: object) -> list[dict[str, object]]:
    response = api.get("/audit-events", headers=headers, params={"size": 100, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


def test_each_change_is_recorded_with_its_actor_newest_first(app_client: TestClient, world: World) -> None:
    organisation = world.organisation()
    manager = world.members["gov_manager"]
    app_client.post(f"/organisations/{organisation}/suspend", headers=world.headers("gov_manager"),
                    json={"remarks": "late report"})  # fmt: skip
    app_client.post(f"/organisations/{organisation}/activate", headers=world.headers("root"), json={})
    events = _events(app_client, world.headers("root"), organisation_id=organisation)
    assert [e["action"] for e in events[:2]] == ["organisation.activate", "organisation.suspend"]
    suspend = events[1]
    assert suspend["actor_user_id"] == manager.user_id
    assert suspend["details"] == {
        "remarks": "late report",
        "revoked_certifications": [],
        "cancelled_transfers": [],
        "cancelled_retirements": [],
    }


def test_user_changes_keys_and_password_links_are_recorded(app_client: TestClient, world: World) -> None:
    headers = world.headers("dev_admin")
    body = {"email": f"{unique('aud')}@example.org", "name": "Audited", "organisation_id": world.developer}
    created = app_client.post("/users", headers=headers, json=body)
    user_id = created.json()["user_id"]
    app_client.patch(f"/users/{user_id}", headers=headers, json={"role": "Manager"})
    app_client.delete(f"/users/{user_id}", headers=headers)
    actions = [(e["action"], e["details"]) for e in _events(app_client, headers, organisation_id=world.developer)
               if e["target_id"] == user_id]  # fmt: skip
    assert [a for a, _ in actions] == ["user.delete", "user.update", "user.create"]
    assert actions[1][1] == {"changes": {"role": "Manager"}}

    api_admin = world.user(world.api_org, "Admin")
    app_client.post(f"/users/{api_admin}/api-key", headers=world.headers("root"))
    [issued] = [e for e in _events(app_client, world.headers("root"), action="api_key.issue")
                if e["target_id"] == api_admin]  # fmt: skip
    assert str(issued["details"]["prefix"]).startswith("ncr_")  # type: ignore[index]

    link_user = world.user(world.developer)
    app_client.post("/auth/forgot-password", json={"email": world.principal(link_user).email})
    with world.engine.connect() as conn:
        body = conn.execute(text("select body from app.email_outbox where template = 'reset_password' "
                                 "order by email_id desc limit 1")).scalar_one()  # fmt: skip
    token = body.split("token=")[1].split()[0]
    app_client.post("/auth/reset-password", json={"token": token, "new_password": "a long enough secret"})
    [password] = _events(app_client, world.headers("root"), action="user.password", actor_user_id=link_user)
    assert password["details"] == {"method": "link"}


def test_admins_outside_the_government_see_only_their_organisation(app_client: TestClient, world: World) -> None:
    world.user(world.certifier)  # an event-free change; then one with an event:
    app_client.patch(f"/organisations/{world.certifier}", headers=world.headers("cert_admin"),
                     json={"phone": "+234 800 555 0000"})  # fmt: skip
    seen = _events(app_client, world.headers("cert_admin"))
    assert seen
    assert {e["organisation_id"] for e in seen} == {world.certifier}
    assert _events(app_client, world.headers("cert_admin"), organisation_id=world.developer) == []


def test_the_trail_cannot_be_rewritten(world: World) -> None:
    for statement in ("update app.audit_event set action = 'nothing'", "delete from app.audit_event"):
        with pytest.raises(DBAPIError, match="append-only"), world.engine.begin() as conn:
            conn.execute(text(statement))
