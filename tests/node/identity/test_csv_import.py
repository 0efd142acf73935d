"""Bulk import from the seed's CSV files: per-row results, a dry run that writes nothing, safe re-runs, the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from node.cli import app
from node.config import Settings
from node.identity.bootstrap import setup
from node.identity.csv_import import run_import
from tests.api.conftest import empty_app, make_settings

ORGANISATIONS = """NAME,EMAIL,PHONE,TAX ID,TYPE
Green Power Ltd,info@greenpower.example.org,+234 800 100 2000,GP-001,Developer
Verify SA,contact@verify.example.org,+234 800 100 3000,VS-002,Certifier
MRV Cloud,mrv@mrv.example.org,,,API
Broken Co,not-an-email,+234 1,BC-003,Developer
Mystery,m@example.org,+234 800 100 4000,MY-004,Wizard
"""
USERS = """NAME,EMAIL,PHONE,ORGANISATION TAX ID,ORGANISATION TYPE,ROLE,Password,APIKey
Ada Obi,ada@greenpower.example.org,+234 800 1,GP-001,Developer,admin,secret123,
Ben Eze,ben@greenpower.example.org,,GP-001,Developer,View,,
Gov Clerk,clerk@gov.example.org,,,Government,Manager,,
Nobody,nobody@example.org,,NOPE-1,Developer,admin,,
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "organisations.csv").write_text(ORGANISATIONS)
    (tmp_path / "users.csv").write_text(USERS)
    return tmp_path / "organisations.csv", tmp_path / "users.csv"


@pytest.fixture
def settings(tmp_path: Path, engine: Engine) -> Settings:
    empty_app(engine)
    settings = make_settings(tmp_path / "data")
    setup(engine, settings)
    return settings


def _counts(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return conn.execute(text("select (select count(*) from app.organisation), (select count(*) from "
                                 "app.user_account), (select count(*) from app.email_outbox)")).one()  # fmt: skip


def test_a_dry_run_reports_every_row_and_writes_nothing(
    engine: Engine, settings: Settings, files: tuple[Path, Path]
) -> None:
    before = _counts(engine)
    advanced: list[int] = []
    results = run_import(engine, settings, organisations=files[0], users=files[1], dry_run=True,
                         advance=lambda: advanced.append(1))  # fmt: skip
    assert _counts(engine) == before
    assert len(advanced) == len(results) == 9
    statuses = [(r.file, r.line, r.status) for r in results]
    assert statuses == [
        ("organisations.csv", 2, "created"), ("organisations.csv", 3, "created"), ("organisations.csv", 4, "created"),
        ("organisations.csv", 5, "error"), ("organisations.csv", 6, "error"),
        ("users.csv", 2, "created"), ("users.csv", 3, "created"), ("users.csv", 4, "created"),
        ("users.csv", 5, "error"),
    ]  # fmt: skip
    assert "email" in results[3].detail
    assert "Wizard" in results[4].detail
    assert "Password column ignored" in results[5].detail
    assert "NOPE-1" in results[8].detail


def test_the_import_creates_the_good_rows_emails_set_password_links_and_can_be_rerun(
    engine: Engine, settings: Settings, files: tuple[Path, Path]
) -> None:
    run_import(engine, settings, organisations=files[0], users=files[1])
    with engine.connect() as conn:
        query = text(
            "select u.email, o.name from app.user_account u join app.organisation o "
            "using (organisation_id) where u.role <> 'Root'"
        )
        users: dict[str, str] = {row.email: row.name for row in conn.execute(query)}
        hashes = conn.execute(text("select count(*) from app.user_account where password_hash is not null "
                                   "and role <> 'Root'")).scalar_one()  # fmt: skip
        welcomes = conn.execute(text("select count(*) from app.email_outbox where template = 'welcome'")).scalar_one()
        country = conn.execute(text("select country, address from app.organisation where tax_id = 'GP-001'")).one()
    assert users == {"ada@greenpower.example.org": "Green Power Ltd", "ben@greenpower.example.org": "Green Power Ltd",
                     "clerk@gov.example.org": "Government (NG)"}  # fmt: skip
    assert hashes == 0  # the CSV's clear-text password is never used
    assert welcomes == 3
    assert tuple(country) == ("NG", "Nigeria")

    again = run_import(engine, settings, organisations=files[0], users=files[1])
    assert [r.status for r in again].count("created") == 0
    assert [r.status for r in again].count("exists") == 5


def test_the_cli_prints_one_line_per_row_and_fails_when_a_row_fails(
    engine: Engine, settings: Settings, files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("REGISTRY_DATA_DIR", str(settings.registry_data_dir))
    from node.config import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["import", "--organisations", str(files[0]), "--dry-run"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1, result.output
    assert "organisations.csv:5: error:" in result.output
    assert "3 would be created, 0 already there, 2 error(s)" in result.output
    assert _counts(engine)[0] == 1  # only the Government


def test_the_import_knows_an_email_in_any_width_or_case_and_refuses_names_that_break_lines(
    engine: Engine, settings: Settings, files: tuple[Path, Path], tmp_path: Path
) -> None:
    run_import(engine, settings, organisations=files[0], users=files[1])
    variants = tmp_path / "variants.csv"
    variants.write_text(
        "NAME,EMAIL,PHONE,ORGANISATION TAX ID,ORGANISATION TYPE,ROLE\n"
        "Ada Twin,ＡＤＡ@GreenPower.Example.Org,,GP-001,Developer,View\n"
        '"Mallory\r\nINFO forged line",mallory@greenpower.example.org,,GP-001,Developer,View\n'
    )
    first, second = run_import(engine, settings, users=variants)
    assert (first.status, first.detail) == ("exists", "user ada@greenpower.example.org already registered")
    assert second.status == "error"
    assert "one line without control" in second.detail
    assert "forged" not in second.detail  # the report does not echo the raw text back into a terminal or log
