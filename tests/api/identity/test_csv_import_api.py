"""``POST /organisations/import``: the seed's CSV files over HTTP, with the dry run, the caller in the audit trail,
safe re-runs, and a clear problem for a file that is not CSV text."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.api.identity.world import World, unique


def _files(tag: str) -> dict[str, tuple[str, bytes, str]]:
    organisations = ("NAME,EMAIL,PHONE,TAX ID,TYPE\n"
                     f"Import {tag},{tag}@import.example.org,+234 800 100 2000,TX-{tag},Developer\n"
                     f"Broken {tag},not-an-email,+234 1,BR-{tag},Developer\n")  # fmt: skip
    users = ("NAME,EMAIL,PHONE,ORGANISATION TAX ID,ORGANISATION TYPE,ROLE,Password\n"
             f"Ada {tag},ada-{tag}@import.example.org,,TX-{tag},Developer,admin,secret\n")  # fmt: skip
    return {"organisations_file": ("organisations.csv", organisations.encode(), "text/csv"),
            "users_file": ("users.csv", users.encode(), "text/csv")}  # fmt: skip


def _import(api: TestClient, world: World, files: dict[str, Any], *, dry_run: bool = False) -> Any:
    return api.post("/organisations/import", headers=world.headers("gov_admin"), files=files,
                    data={"dry_run": str(dry_run).lower()})  # fmt: skip


def _organisations_named(world: World, tag: str) -> int:
    with world.engine.connect() as conn:
        return int(conn.execute(text("select count(*) from app.organisation where name like :n"),
                                {"n": f"%{tag}"}).scalar_one())  # fmt: skip


def test_a_dry_run_reports_each_row_and_writes_nothing(app_client: TestClient, world: World) -> None:
    tag = unique("dry")
    answer = _import(app_client, world, _files(tag), dry_run=True)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["dry_run"], body["created"], body["exists"], body["errors"]) == (True, 2, 0, 1)
    assert [(r["file"], r["line"], r["status"]) for r in body["rows"]] == [
        ("organisations.csv", 2, "created"),
        ("organisations.csv", 3, "error"),
        ("users.csv", 2, "created"),
    ]
    assert "email" in body["rows"][1]["detail"]
    assert "Password column ignored" in body["rows"][2]["detail"]
    assert _organisations_named(world, tag) == 0


def test_the_import_creates_the_rows_names_its_caller_in_the_audit_trail_and_a_rerun_creates_nothing(
    app_client: TestClient, world: World
) -> None:
    tag = unique("run")
    first = _import(app_client, world, _files(tag)).json()
    assert (first["created"], first["errors"]) == (2, 1)
    assert _organisations_named(world, tag) == 1
    events = app_client.get("/audit-events", headers=world.headers("root"),
                            params={"action": "organisation.import", "size": 100}).json()["items"]  # fmt: skip
    mine = [e for e in events if e["details"].get("name") == f"Import {tag}"]
    assert len(mine) == 1
    assert mine[0]["actor_user_id"] == world.members["gov_admin"].user_id
    again = _import(app_client, world, _files(tag)).json()  # a retry, or the same files a second time
    assert (again["created"], again["exists"], again["errors"]) == (0, 2, 1)
    assert _organisations_named(world, tag) == 1


def test_a_file_that_is_not_csv_text_or_no_file_is_a_problem_and_changes_nothing(
    app_client: TestClient, world: World
) -> None:
    cases = {
        "latin-1": ({"organisations_file": ("o.csv", "NAME\nÉnergie\n".encode("latin-1"), "text/csv")}, 415),
        "nul": ({"organisations_file": ("o.csv", b"NAME,EMAIL\nA\x00,b\n", "text/csv")}, 415),
        "too large": ({"users_file": ("u.csv", b"NAME\n" + b"x" * world.settings.max_upload_bytes, "text/csv")},
                      413),
        "none": ({}, 422),
    }  # fmt: skip
    for name, (files, status) in cases.items():
        answer = app_client.post("/organisations/import", headers=world.headers("gov_admin"), files=files or None,
                                 data={"dry_run": "false"})  # fmt: skip
        assert answer.status_code == status, (name, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
