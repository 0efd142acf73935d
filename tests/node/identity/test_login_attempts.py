"""The login-attempt table is pruned of what no rule reads any more, in the background round of ``registry up``."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from node.config import Settings
from node.identity import login_attempts
from tests.api.conftest import empty_app, make_settings


@pytest.fixture
def settings(tmp_path: Path, engine: Engine) -> Settings:
    empty_app(engine)
    return make_settings(tmp_path / "data", login_window_seconds=900)


def _attempt(engine: Engine, email: str, succeeded: bool, seconds_ago: float) -> None:
    with engine.begin() as conn:
        conn.execute(text("insert into app.login_attempt (email, address, network, succeeded, at) "
                          "values (:e, '192.0.2.1', '192.0.2.1', :s, now() - make_interval(secs => :a))"),
                     {"e": email, "s": succeeded, "a": seconds_ago})  # fmt: skip


def _left(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("select email from app.login_attempt order by email")).scalars())


def test_prune_deletes_failures_past_the_window_and_successes_past_the_familiar_address_lookback(
    engine: Engine, settings: Settings
) -> None:
    day = 86400
    _attempt(engine, "failure-in-window@x", False, 899)
    _attempt(engine, "failure-past-window@x", False, 901)
    _attempt(engine, "failure-past-window-2@x", False, 2 * day)
    _attempt(engine, "success-old-but-familiar@x", True, 29 * day)
    _attempt(engine, "success-past-lookback@x", True, 31 * day)
    assert login_attempts.prune(engine, settings, batch=1) == 3  # a batch at a time, until none is left
    assert _left(engine) == ["failure-in-window@x", "success-old-but-familiar@x"]
    assert login_attempts.prune(engine, settings) == 0


def test_each_background_round_prunes_even_when_the_recovery_before_it_fails(
    engine: Engine, settings: Settings
) -> None:
    _attempt(engine, "stale@x", False, 3600)
    calls: list[str] = []

    def failing_recovery() -> None:
        calls.append("recover")
        raise RuntimeError("chain down")

    with pytest.raises(RuntimeError, match="chain down"):  # the thread logs it and tries again next round
        login_attempts.with_pruning(failing_recovery, engine, settings)()
    assert calls == ["recover"]
    assert _left(engine) == []
