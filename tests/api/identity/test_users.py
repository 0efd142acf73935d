"""User rules (§4.1, §4.3): row-level list filters, the last Admin, Root only by setup, self-service limits."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient
from sqlalchemy import text

from node.errors import InvalidState
from node.identity import users
from node.identity.schemas import ORGANISATION_EXAMPLES
from node.security.passwords import hash_password
from tests.api.identity.world import World, unique


def test_lists_show_everyone_to_the_government_and_only_colleagues_to_others(
    app_client: TestClient, world: World
) -> None:
    every = app_client.get("/users", headers=world.headers("gov_viewonly"), params={"size": 100}).json()
    assert {u["organisation_id"] for u in every["items"]} >= {world.government, world.developer, world.certifier}
    for caller, organisation in (("dev_viewonly", world.developer), ("cert_admin", world.certifier),
                                 ("api_key", world.api_org)):  # fmt: skip
        page = app_client.get("/users", headers=world.headers(caller), params={"size": 100}).json()
        assert {u["organisation_id"] for u in page["items"]} == {organisation}, caller
        assert page["total"] == len(page["items"])
        # asking for another organisation's users finds nothing rather than an error
        other = app_client.get("/users", headers=world.headers(caller), params={"organisation_id": world.government})
        assert other.json()["total"] == 0


def test_the_list_searches_sorts_and_pages(app_client: TestClient, world: World) -> None:
    organisation = world.organisation(admin=False)
    for _ in range(5):
        world.user(organisation)
    headers = world.headers("root")
    first = app_client.get("/users", headers=headers, params={"organisation_id": organisation, "size": 2,
                                                              "sort": "email", "order": "desc"}).json()  # fmt: skip
    second = app_client.get("/users", headers=headers, params={"organisation_id": organisation, "size": 2, "page": 2,
                                                               "sort": "email", "order": "desc"}).json()  # fmt: skip
    emails = [u["email"] for u in first["items"] + second["items"]]
    assert first["total"] == 5
    assert emails == sorted(emails, reverse=True)
    assert len(set(emails)) == 4
    assert all(u["password_set"] is False for u in first["items"])
    one = app_client.get("/users", headers=headers, params={"q": emails[0].upper()}).json()
    assert [u["email"] for u in one["items"]] == [emails[0]]


def test_root_cannot_be_created_or_granted_through_the_api(app_client: TestClient, world: World) -> None:
    headers = world.headers("root")
    created = app_client.post(
        "/users",
        headers=headers,
        json={"email": f"{unique('r')}@example.org", "name": "R", "role": "Root", "organisation_id": world.government},
    )
    assert created.status_code == 422
    assert [e["loc"] for e in created.json()["errors"]] == [["body", "role"]]
    promoted = app_client.patch(f"/users/{world.members['gov_viewonly'].user_id}", headers=headers,
                                json={"role": "Root"})  # fmt: skip
    assert promoted.status_code == 422
    schemas = app_client.get("/openapi.json").json()["components"]["schemas"]
    assert schemas["NewUser"]["properties"]["role"]["enum"] == ["Admin", "Manager", "ViewOnly"]  # not even offered


def test_the_last_admin_can_be_neither_deleted_nor_demoted(app_client: TestClient, world: World) -> None:
    root = world.headers("root")
    only_admin = world.members["gov_admin"].user_id  # the Government's only Admin in this module
    deleted = app_client.delete(f"/users/{only_admin}", headers=root)
    assert (deleted.status_code, deleted.json()["type"]) == (409, "/problems/invalid-state")
    demoted = app_client.patch(f"/users/{only_admin}", headers=root, json={"role": "Manager"})
    assert (demoted.status_code, demoted.json()["type"]) == (409, "/problems/invalid-state")

    second = world.user(world.government, "Admin")
    assert app_client.patch(f"/users/{second}", headers=root, json={"role": "Manager"}).status_code == 200


def test_admins_remove_colleagues_but_never_themselves(app_client: TestClient, world: World) -> None:
    organisation = world.organisation(admin=False)
    first, second = world.user(organisation, "Admin"), world.user(organisation, "Admin")
    headers = {"Authorization": f"Bearer {world.token(first)}"}
    second_headers = {"Authorization": f"Bearer {world.token(second)}"}
    assert app_client.delete(f"/users/{first}", headers=headers).status_code == 403
    assert app_client.patch(f"/users/{first}", headers=headers, json={"role": "Manager"}).status_code == 403
    assert app_client.delete(f"/users/{second}", headers=headers).status_code == 204
    assert app_client.get("/auth/me", headers=second_headers).status_code == 401  # a deleted user's token is dead
    assert app_client.get(f"/users/{second}", headers=headers).status_code == 404


def test_users_edit_their_own_profile_but_not_their_email_or_organisation(app_client: TestClient, world: World) -> None:
    user = world.user(world.developer)
    headers = {"Authorization": f"Bearer {world.token(user)}"}
    changed = app_client.patch(f"/users/{user}", headers=headers, json={"name": "New Name", "phone": "+234 700 1234",
                                                                        "language": "fr"})  # fmt: skip
    assert changed.status_code == 200
    assert (changed.json()["name"], changed.json()["language"]) == ("New Name", "fr")
    assert app_client.patch(f"/users/{user}", headers=headers, json={"email": "me@example.org"}).status_code == 403
    moved = app_client.patch(f"/users/{user}", headers=headers, json={"organisation_id": world.government})
    assert moved.status_code == 422  # not a field of the update at all


def test_an_admin_changes_a_colleague_email_but_not_to_a_taken_one(app_client: TestClient, world: World) -> None:
    user = world.user(world.developer)
    headers = world.headers("dev_admin")
    fresh = f"{unique('mail')}@example.org"
    assert app_client.patch(f"/users/{user}", headers=headers, json={"email": fresh.upper()}).json()["email"] == fresh
    taken = world.principal(world.members["dev_manager"].user_id).email
    conflict = app_client.patch(f"/users/{user}", headers=headers, json={"email": taken})
    assert (conflict.status_code, conflict.json()["type"]) == (409, "/problems/already-exists")


def test_two_admins_deleting_each_other_at_once_leave_one_admin(world: World) -> None:
    organisation = world.organisation(admin=False)
    first, second = world.user(organisation, "Admin"), world.user(organisation, "Admin")
    barrier = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def delete(actor: int, target: int) -> None:
        principal = world.principal(actor)
        barrier.wait()
        try:
            with world.engine.begin() as conn:
                users.delete_user(conn, principal, target)
            outcomes[actor] = "deleted"
        except InvalidState:
            outcomes[actor] = "refused"

    threads = [threading.Thread(target=delete, args=pair) for pair in ((first, second), (second, first))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()) == ["deleted", "refused"]
    with world.engine.connect() as conn:
        admins = conn.execute(text("select count(*) from app.user_account where organisation_id = :o "
                                   "and role = 'Admin'"), {"o": organisation}).scalar_one()  # fmt: skip
    assert admins == 1


def test_required_user_fields_cannot_be_cleared(app_client: TestClient, world: World) -> None:
    user = world.user(world.developer)
    headers = {"Authorization": f"Bearer {world.token(user)}"}
    for field in ("name", "language"):
        response = app_client.patch(f"/users/{user}", headers=headers, json={field: None})
        assert (response.status_code, response.json()["type"]) == (422, "/problems/validation-error")
    assert app_client.patch(f"/users/{user}", headers=headers, json={"phone": None}).status_code == 200


def test_a_full_width_or_case_variant_of_an_email_is_the_same_account(app_client: TestClient, world: World) -> None:
    tag = unique("gov.admin")
    created = app_client.post("/users", headers=world.headers("gov_admin"), json={
        "email": f"{tag}@example.org", "name": "Original", "organisation_id": world.government})  # fmt: skip
    assert created.status_code == 201, created.text
    full_width = "ｇ" + f"{tag}@example.org"[1:]
    for variant in (full_width, f"{tag.upper()}@EXAMPLE.ORG"):
        twin = app_client.post("/users", headers=world.headers("gov_admin"), json={
            "email": variant, "name": "Twin", "organisation_id": world.government})  # fmt: skip
        assert (twin.status_code, twin.json()["type"]) == (409, "/problems/already-exists"), variant
    with world.engine.begin() as conn:
        conn.execute(text("update app.user_account set password_hash = :h where user_id = :u"),
                     {"h": hash_password("a passphrase of mine"), "u": created.json()["user_id"]})  # fmt: skip
    login = app_client.post("/auth/login", json={"email": full_width, "password": "a passphrase of mine"})
    assert login.status_code == 200, login.text


def test_text_fields_with_line_breaks_or_control_characters_are_422_everywhere(
    app_client: TestClient, world: World
) -> None:
    admin = world.headers("dev_admin")
    for name in ("Eve\r\n2026-11-30 INFO forged", "Eve\x1b[2J", "Eve\u202emoc.live"):
        created = app_client.post("/users", headers=admin, json={
            "email": f"{unique('eve')}@example.org", "name": name, "organisation_id": world.developer})  # fmt: skip
        assert created.status_code == 422, name
        renamed = app_client.patch(f"/users/{world.members['dev_viewonly'].user_id}", headers=admin,
                                   json={"name": name})  # fmt: skip
        assert renamed.status_code == 422, name
    tag = unique("crlf")
    organisation = {"name": f"Org {tag}", "role": "ProgrammeDeveloper", "tax_id": f"T-{tag}",
                    "email": f"{tag}@example.org", "phone": "+234 800 000 0003", "address": "1 Road\nBcc: x@y.z",
                    "admin": {"email": f"admin-{tag}@example.org", "name": "Admin"}}  # fmt: skip
    refused = app_client.post("/organisations", headers=world.headers("gov_admin"), json=organisation)
    assert refused.status_code == 422
    assert [e["loc"] for e in refused.json()["errors"]] == [["body", "address"]]
    updated = app_client.patch(f"/organisations/{world.developer}", headers=admin, json={"name": "Dev\rLtd"})
    assert updated.status_code == 422


def test_ids_beyond_postgresql_bigint_are_422_not_500(app_client: TestClient, world: World) -> None:
    root = world.headers("root")
    too_big = 2**63
    created = app_client.post("/users", headers=root, json={
        "email": f"{unique('big')}@example.org", "name": "Big", "organisation_id": too_big})  # fmt: skip
    assert created.status_code == 422
    for path in (f"/users/{too_big}", f"/users?organisation_id={too_big}", "/users?role=Wizard"):
        assert app_client.get(path, headers=root).status_code == 422, path
    assert app_client.get(f"/users/{2**63 - 1}", headers=root).status_code == 404


def test_every_documented_organisation_example_is_accepted_as_it_stands(app_client: TestClient, world: World) -> None:
    for example in ORGANISATION_EXAMPLES:
        assert isinstance(example, dict)
        created = app_client.post("/organisations", headers=world.headers("gov_admin"), json=example)
        assert created.status_code == 201, created.text
