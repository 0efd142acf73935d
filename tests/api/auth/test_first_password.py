"""Root's first password: it cannot be "changed" to itself, and its file goes once Root has changed it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from node.config import Settings
from node.identity.bootstrap import first_password_file, forget_first_password, setup

ROOT = "root@registry.local"


def _login(api: TestClient, password: str) -> dict[str, str]:
    session = api.post("/auth/login", json={"email": ROOT, "password": password})
    assert session.status_code == 200, session.text
    return {"Authorization": f"Bearer {session.json()['access_token']}"}


def test_the_first_password_cannot_be_changed_to_itself_and_its_file_goes_once_changed(
    api: TestClient, settings: Settings, engine: Engine
) -> None:
    setup(engine, settings)
    path = first_password_file(settings)
    first = path.read_text().strip()
    headers = _login(api, first)

    same = api.post("/auth/password", headers=headers, json={"old_password": first, "new_password": first})
    assert (same.status_code, same.json()["type"]) == (422, "/problems/invalid-input")
    assert path.exists()  # nothing changed, so the file is still the only record of the password
    assert setup(engine, settings).created is False
    assert path.exists()

    changed = api.post(
        "/auth/password", headers=headers, json={"old_password": first, "new_password": "root's own pass"}
    )
    assert changed.status_code == 200, changed.text
    assert not path.exists()
    assert setup(engine, settings).created is False
    assert not path.exists()


def test_a_file_left_behind_after_the_change_is_removed_by_the_next_setup(
    api: TestClient, settings: Settings, engine: Engine
) -> None:
    setup(engine, settings)
    path = first_password_file(settings)
    first = path.read_text().strip()
    changed = api.post("/auth/password", headers=_login(api, first),
                       json={"old_password": first, "new_password": "root's own pass"})  # fmt: skip
    assert changed.status_code == 200
    path.write_text(first)  # as if the process had stopped between the commit and the removal
    assert forget_first_password(engine, settings) is True
    path.write_text(first)
    setup(engine, settings)
    assert not path.exists()


def test_the_file_stays_while_root_has_not_changed_its_first_password(
    api: TestClient, settings: Settings, engine: Engine
) -> None:
    setup(engine, settings)
    path = first_password_file(settings)
    assert forget_first_password(engine, settings) is False
    assert path.exists()
