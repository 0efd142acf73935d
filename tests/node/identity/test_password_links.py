"""Link issuing serialises per user: parallel forgot-password requests for one account keep its hourly limit and
leave one usable link, whatever their interleaving."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from node.config import Settings
from node.identity import password_links
from node.identity.bootstrap import setup
from tests.api.conftest import empty_app, make_settings

ROOT = "root@registry.local"


@pytest.fixture
def settings(tmp_path: Path, engine: Engine) -> Settings:
    empty_app(engine)
    settings = make_settings(tmp_path / "data")
    setup(engine, settings)
    return settings


def test_thirty_parallel_reset_requests_queue_the_hourly_limit_and_leave_one_usable_link(
    engine: Engine, settings: Settings
) -> None:
    start = threading.Barrier(30)
    errors: list[BaseException] = []

    def request() -> None:
        start.wait()
        try:
            with engine.begin() as conn:
                password_links.request_reset(conn, settings, ROOT)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=request) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engine.connect() as conn:
        emails = conn.execute(text("select count(*) from app.email_outbox where template = 'reset_password'"))
        usable = conn.execute(text("select count(*) from app.password_token where purpose = 'reset' "
                                   "and used_at is null and expires_at > now()"))  # fmt: skip
        assert (emails.scalar_one(), usable.scalar_one()) == (password_links.RESET_EMAILS_PER_HOUR, 1)
