"""The hardening migration puts stored emails in the one form logins now look up, stops on two accounts that are
one address, and binds links already sent to their user as they are."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from node.db import migrate
from node.db.engine import make_engine

BEFORE, AFTER = "0006_identity_services", "0007_hardening"


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


def test_stored_emails_are_folded_and_links_already_sent_stay_bound_to_their_user(blank_database: str) -> None:
    _insert(blank_database, "ｇov.admin@example.org", "Other@Example.org")
    migrate.upgrade(blank_database, AFTER)
    engine = make_engine(blank_database)
    with engine.connect() as conn:
        users = conn.execute(text("select email from app.user_account order by user_id")).scalars().all()
        organisation = conn.execute(text("select email from app.organisation")).scalar_one()
        token = conn.execute(text("select session_version, email from app.password_token")).one()
    engine.dispose()
    assert users == ["gov.admin@example.org", "other@example.org"]
    assert organisation == "contact@gov.example.org"
    assert tuple(token) == (2, "gov.admin@example.org")


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
