"""The hardening migration puts stored emails in the one form logins now look up (exactly what the application
computes, punycode domains included), stops on two accounts that are one address, and voids links already sent
(nothing says whether they went stale before the revision)."""

from __future__ import annotations

import functools
import importlib.util
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

import node
from node.db import migrate
from node.db.engine import make_engine
from node.identity.schemas import lookup_email, normalise_email

BEFORE, AFTER = "0006_identity_services", "0007_hardening"
TRICKY = [
    "a@xn--bcher-kva.example",  # punycode domain: stored as Unicode, as the application stores it
    "A@BÜCHER.example",
    "x@xn--fiqs8s.example",
    "ｇov.admin@example.org",  # full-width
    "user@ＥＸＡＭＰＬＥ．ＯＲＧ",
    "Straße@example.de",  # German sharp s folds to ss
    "STRASSE@example.de",
    "İstanbul@example.com",  # Turkish dotted capital I folds to i + combining dot above
    "ıi@example.com",  # Turkish dotless i stays
    "ꭰꭱ@example.org",  # Cherokee small letters fold to the capitals
    "ᎠᎡ@example.org",
    "ﬁ@example.org",  # compatibility ligature
    "  Padded@Example.org ",
    "not-an-email",  # refused by the application: stored as a login for it looks it up
    "a@localhost",
    "user@example.org.",
]


@pytest.fixture
def blank_database(database_url: str) -> Iterator[str]:
    """A database of its own on the test server, migrated up to the revision before the hardening."""
    url = make_url(database_url)
    admin = psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True)
    name = f"registry_migration_{uuid.uuid4().hex[:12]}"
    admin.execute(f'create database "{name}"')
    own = url.set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(own, BEFORE)
    yield own
    admin.execute(f'drop database "{name}" with (force)')
    admin.close()


def _insert(url: str, *emails: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("insert into app.organisation (organisation_id, name, role, country, email) "
                          "values (1, 'Government', 'Government', 'NG', 'Contact@ＧＯＶ.example.org')"))  # fmt: skip
        for i, email in enumerate(emails, start=1):
            conn.execute(text("insert into app.user_account (user_id, email, name, role, organisation_id, "
                              "session_version) values (:i, :e, 'U', 'Admin', 1, 2)"),
                         {"i": i, "e": email})  # fmt: skip
        conn.execute(text("insert into app.password_token (token_hash, user_id, purpose, expires_at) "
                          "values ('h', 1, 'set', now() + interval '1 hour')"))  # fmt: skip
    engine.dispose()


@functools.cache
def _migration_stored_email() -> Callable[[str], str]:
    """The migration's own copy of the email normalisation, loaded from its file (a revision is not a module)."""
    path = Path(node.__file__).parent / "migrations" / "versions" / "2026-11-30-2100_hardening.py"
    spec = importlib.util.spec_from_file_location("hardening_revision", path)
    assert spec is not None
    assert spec.loader is not None
    revision = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(revision)
    stored_email: Callable[[str], str] = revision.stored_email
    return stored_email


@pytest.mark.parametrize("address", TRICKY)
def test_the_migration_stores_exactly_what_the_application_looks_up(address: str) -> None:
    try:
        expected = normalise_email(address)
    except ValueError:  # an address the application refuses to store: kept in the form a login looks up
        expected = lookup_email(address)
    assert _migration_stored_email()(address) == expected


def test_stored_emails_are_folded_and_links_already_sent_are_void(blank_database: str) -> None:
    _insert(blank_database, "ｇov.admin@example.org", "Other@Example.org", "a@xn--bcher-kva.example")
    migrate.upgrade(blank_database, AFTER)
    engine = make_engine(blank_database)
    with engine.connect() as conn:
        users = conn.execute(text("select email from app.user_account order by user_id")).scalars().all()
        organisation = conn.execute(text("select email from app.organisation")).scalar_one()
        token = conn.execute(text("select session_version, email, expires_at <= now() as void "
                                  "from app.password_token")).one()  # fmt: skip
    engine.dispose()
    assert users == ["gov.admin@example.org", "other@example.org", "a@bücher.example"]
    assert organisation == "contact@gov.example.org"
    assert tuple(token) == (2, "gov.admin@example.org", True)


def test_two_accounts_that_are_one_address_stop_the_upgrade_and_are_named(blank_database: str) -> None:
    _insert(blank_database, "gov.admin@example.org", "ｇov.admin@example.org", "unrelated@example.org")
    with pytest.raises(RuntimeError, match=r"gov\.admin@example\.org: user_id 1 .*user_id 2"):
        migrate.upgrade(blank_database, AFTER)
    engine = make_engine(blank_database)
    with engine.connect() as conn:  # the whole revision rolled back: nothing half-done
        emails = conn.execute(text("select email from app.user_account order by user_id")).scalars().all()
        version = conn.execute(text("select version_num from app.alembic_version")).scalar_one()
    engine.dispose()
    assert emails == ["gov.admin@example.org", "ｇov.admin@example.org", "unrelated@example.org"]
    assert version == BEFORE
