"""API keys: shown once, stored as a hash, accepted as a bearer or an ``api-key`` header, regenerable, revocable."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.api.identity.world import World


def test_an_api_key_is_shown_once_stored_as_a_hash_and_works_in_either_header(
    app_client: TestClient, world: World
) -> None:
    admin = world.user(world.api_org, "Admin")
    issued = app_client.post(f"/users/{admin}/api-key", headers=world.headers("root"))
    assert issued.status_code == 201
    key = issued.json()["api_key"]
    assert key.startswith(issued.json()["prefix"] + "_")
    with world.engine.connect() as conn:
        stored = conn.execute(text("select prefix, secret_hash from app.api_key where user_id = :u"),
                              {"u": admin}).one()  # fmt: skip
        emailed = conn.execute(text("select body, context::text from app.email_outbox where template = "
                                    "'api_key_issued' order by email_id desc limit 1")).one()  # fmt: skip
    assert key not in stored.secret_hash
    assert key not in (emailed.body or "")
    assert key not in emailed.context
    for headers in ({"api-key": key}, {"Authorization": f"Bearer {key}"}, {"api_key": key}):
        me = app_client.get("/auth/me", headers=headers)
        assert me.status_code == 200, headers
        assert me.json()["user_id"] == admin


def test_regenerating_revokes_the_old_key_and_revoking_leaves_none(app_client: TestClient, world: World) -> None:
    admin = world.user(world.api_org, "Admin")
    headers = {"Authorization": f"Bearer {world.token(admin)}"}
    first = app_client.post(f"/users/{admin}/api-key", headers=headers).json()["api_key"]
    second = app_client.post(f"/users/{admin}/api-key", headers=headers).json()["api_key"]
    old = app_client.get("/auth/me", headers={"api-key": first})
    assert (old.status_code, old.json()["type"]) == (401, "/problems/not-authenticated")
    assert app_client.get("/auth/me", headers={"api-key": second}).status_code == 200

    assert app_client.delete(f"/users/{admin}/api-key", headers=headers).status_code == 204
    assert app_client.get("/auth/me", headers={"api-key": second}).status_code == 401


def test_the_key_in_use_is_readable_by_its_prefix_and_dates_never_the_key(app_client: TestClient, world: World) -> None:
    admin = world.user(world.api_org, "Admin")
    headers = {"Authorization": f"Bearer {world.token(admin)}"}
    none = app_client.get(f"/users/{admin}/api-key", headers=headers)
    assert (none.status_code, none.json()["detail"]) == (404, f"User {admin} has no API key in use.")
    issued = app_client.post(f"/users/{admin}/api-key", headers=headers).json()
    assert app_client.get("/auth/me", headers={"api-key": issued["api_key"]}).status_code == 200
    shown = app_client.get(f"/users/{admin}/api-key", headers=headers)
    assert shown.status_code == 200
    assert shown.json()["prefix"] == issued["prefix"]
    assert shown.json()["last_used_at"] is not None
    assert issued["api_key"] not in shown.text
    app_client.delete(f"/users/{admin}/api-key", headers=headers)
    assert app_client.get(f"/users/{admin}/api-key", headers=headers).status_code == 404


def test_malformed_and_forged_keys_are_refused(app_client: TestClient, world: World) -> None:
    admin = world.user(world.api_org, "Admin")
    key = app_client.post(f"/users/{admin}/api-key", headers=world.headers("root")).json()["api_key"]
    prefix = key.rsplit("_", 1)[0] if key.count("_") == 2 else "_".join(key.split("_")[:2])
    for bad in ("ncr_", "nonsense", f"{prefix}_wrongsecret", key[:-1] + ("A" if key[-1] != "A" else "B")):
        assert app_client.get("/auth/me", headers={"api-key": bad}).status_code == 401, bad


def test_an_api_key_cannot_change_the_password(app_client: TestClient, world: World) -> None:
    refused = app_client.post("/auth/password", headers=world.headers("api_key"),
                              json={"old_password": "whatever", "new_password": "a long new passphrase"})  # fmt: skip
    assert refused.status_code == 403


def test_a_deleted_user_key_and_session_stop_working(app_client: TestClient, world: World) -> None:
    admin = world.user(world.api_org, "Admin")
    session = {"Authorization": f"Bearer {world.token(admin)}"}
    key = app_client.post(f"/users/{admin}/api-key", headers=session).json()["api_key"]
    with world.engine.begin() as conn:
        conn.execute(text("delete from app.user_account where user_id = :u"), {"u": admin})
    assert app_client.get("/auth/me", headers={"api-key": key}).status_code == 401
    assert app_client.get("/auth/me", headers=session).status_code == 401


def _key(app_client: TestClient, world: World, admin: int) -> dict[str, str]:
    issued = app_client.post(f"/users/{admin}/api-key", headers={"Authorization": f"Bearer {world.token(admin)}"})
    assert issued.status_code == 201, issued.text
    return {"api-key": issued.json()["api_key"]}


def test_a_demoted_admin_loses_its_key_for_good(app_client: TestClient, world: World) -> None:
    holder = world.user(world.api_org, "Admin")
    key = _key(app_client, world, holder)
    other_admin = world.headers("api_key")  # the API organisation's first Admin, through its own key
    demoted = app_client.patch(f"/users/{holder}", headers=other_admin, json={"role": "Manager"})
    assert demoted.status_code == 200, demoted.text
    refused = app_client.get("/auth/me", headers=key)
    assert (refused.status_code, refused.json()["type"]) == (401, "/problems/not-authenticated")
    with world.engine.connect() as conn:
        revoked = conn.execute(text("select revoked_at is not null from app.api_key where user_id = :u"),
                               {"u": holder}).scalar_one()  # fmt: skip
        audited = conn.execute(text("select details->>'reason' from app.audit_event where action = 'api_key.revoke' "
                                    "and target_id = :u"), {"u": holder}).scalar_one()  # fmt: skip
    assert (revoked, audited) == (True, "no longer Admin")

    promoted = app_client.patch(f"/users/{holder}", headers=world.headers("api_key"), json={"role": "Admin"})
    assert promoted.status_code == 200
    assert app_client.get("/auth/me", headers=key).status_code == 401  # promotion does not revive the old key


def test_a_key_is_honoured_only_while_its_holder_is_an_api_admin_however_the_role_changed(
    app_client: TestClient, world: World
) -> None:
    holder = world.user(world.api_org, "Admin")
    key = _key(app_client, world, holder)
    with world.engine.begin() as conn:  # a path that does not revoke: the check at every request still holds
        conn.execute(text("update app.user_account set role = 'ViewOnly' where user_id = :u"), {"u": holder})
    assert app_client.get("/auth/me", headers=key).status_code == 401
    with world.engine.begin() as conn:
        conn.execute(text("update app.user_account set role = 'Admin' where user_id = :u"), {"u": holder})
    assert app_client.get("/auth/me", headers=key).status_code == 200


def test_a_key_of_a_suspended_api_organisation_is_refused_until_it_is_reactivated(
    app_client: TestClient, world: World
) -> None:
    api_org = world.organisation("API", admin=False)
    key = _key(app_client, world, world.user(api_org, "Admin"))
    assert app_client.get("/auth/me", headers=key).status_code == 200
    world.suspend(api_org)
    refused = app_client.get("/organisations", headers=key)  # even reading: the key stands for the organisation
    assert (refused.status_code, refused.json()["type"]) == (403, "/problems/organisation-suspended")
    activated = app_client.post(f"/organisations/{api_org}/activate", headers=world.headers("root"), json={})
    assert activated.status_code == 200, activated.text
    assert app_client.get("/auth/me", headers=key).status_code == 200
