"""Bootstrap of Government and Root, login with Argon2 passwords, JWT expiry and tampering, forced first change."""

from __future__ import annotations

import stat

import jwt
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from node.config import Settings
from node.identity.bootstrap import setup
from node.security.passwords import hash_password

ROOT = "root@registry.local"


def _root_password(settings: Settings) -> str:
    return (settings.data_dir / "secrets" / "root-password").read_text().strip()


def test_setup_creates_government_and_root_once_with_a_private_password_file(
    settings: Settings, engine: Engine, empty_app_schema: None
) -> None:
    first = setup(engine, settings)
    again = setup(engine, settings)
    assert (first.created, again.created) == (True, False)
    assert (again.government_id, again.root_user_id) == (first.government_id, first.root_user_id)
    assert first.password_file is not None
    assert stat.S_IMODE(first.password_file.stat().st_mode) == 0o600
    with engine.connect() as conn:
        rows = conn.execute(text("select u.role, u.must_change_password, u.password_hash, o.role as org_role, "
                                 "o.organisation_id from app.user_account u join app.organisation o "
                                 "using (organisation_id)")).all()  # fmt: skip
    assert len(rows) == 1
    role, must_change, password_hash, org_role, org_id = rows[0]
    assert (role, must_change, org_role, org_id) == ("Root", True, "Government", settings.registry_government_account)
    assert password_hash.startswith("$argon2id$")
    assert _root_password(settings) not in password_hash


def test_root_must_change_the_first_password_before_anything_else(api: TestClient, settings: Settings,
                                                                   engine: Engine) -> None:  # fmt: skip
    setup(engine, settings)
    first = _root_password(settings)  # read now: the file goes once Root has changed the password
    session = api.post("/auth/login", json={"email": ROOT, "password": first}).json()
    assert session["must_change_password"] is True
    headers = {"Authorization": f"Bearer {session['access_token']}"}
    blocked = api.get("/auth/me", headers=headers)
    assert (blocked.status_code, blocked.json()["type"]) == (403, "/problems/password-change-required")

    weak = api.post("/auth/password", headers=headers, json={"old_password": first, "new_password": "short"})
    assert weak.status_code == 422
    wrong = api.post("/auth/password", headers=headers, json={"old_password": "nope", "new_password": "x" * 16})
    assert wrong.status_code == 401
    changed = api.post("/auth/password", headers=headers, json={"old_password": first,
                                                                "new_password": "a long new passphrase"})  # fmt: skip
    assert changed.status_code == 200
    assert changed.json()["must_change_password"] is False
    me = api.get("/auth/me", headers={"Authorization": f"Bearer {changed.json()['access_token']}"})
    assert me.status_code == 200
    assert (me.json()["role"], me.json()["organisation_role"]) == ("Root", "Government")
    old = api.post("/auth/login", json={"email": ROOT, "password": first})
    assert old.status_code == 401


def test_wrong_password_and_unknown_email_get_the_same_answer(api: TestClient, settings: Settings,
                                                              engine: Engine) -> None:  # fmt: skip
    setup(engine, settings)
    wrong = api.post("/auth/login", json={"email": ROOT, "password": "wrong"})
    unknown = api.post("/auth/login", json={"email": "nobody@example.org", "password": "wrong"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert wrong.headers["www-authenticate"] == "Bearer"
    assert wrong.headers["content-type"] == "application/problem+json"


def test_expired_tampered_and_missing_tokens_are_refused(api: TestClient, settings: Settings,
                                                         engine: Engine) -> None:  # fmt: skip
    setup(engine, settings)
    with engine.begin() as conn:
        conn.execute(text("update app.user_account set must_change_password = false, password_hash = :h"),
                     {"h": hash_password("a long new passphrase")})  # fmt: skip
    token = api.post("/auth/login", json={"email": ROOT, "password": "a long new passphrase"}).json()["access_token"]
    assert api.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    payload = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode(
        {**payload, "role": "Root", "org": 99}, "a forger who does not know the signing secret", algorithm="HS256"
    )
    expired = jwt.encode({**payload, "exp": payload["iat"] - 1}, settings.token_secret(), algorithm="HS256")
    for bad in (forged, expired, token[:-4] + "AAAA", "garbage"):
        response = api.get("/auth/me", headers={"Authorization": f"Bearer {bad}"})
        assert (response.status_code, response.json()["type"]) == (401, "/problems/not-authenticated"), bad
    assert "expired" in api.get("/auth/me", headers={"Authorization": f"Bearer {expired}"}).json()["detail"]
    assert api.get("/auth/me").status_code == 401
