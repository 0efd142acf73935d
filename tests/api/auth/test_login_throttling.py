"""Password-guess throttling (ADR 0009): atomic under parallel guesses, per account *and* address so nobody can lock
an owner out, per address against spraying, a slowing (never blocking) ceiling per account, the old password of
``POST /auth/password`` counted like a login, and ``X-Forwarded-For`` trusted only from configured proxies."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from starlette.types import ASGIApp

from api.auth import rate_limit
from node.config import Settings
from node.identity.bootstrap import setup
from node.runtime.anvil import free_port
from node.security.passwords import hash_password
from tests.api.conftest import make_settings

ROOT = "root@registry.local"
RIGHT = "the right passphrase"
OWNER = "198.51.100.10"
ATTACKER = "203.0.113.66"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Smaller limits than the defaults: every allowed guess costs an Argon2 check, and the rules do not depend on
    the numbers (the tests read them from here)."""
    return make_settings(tmp_path / "data", login_max_failures_per_account=3, login_max_failures_per_address=7)


@pytest.fixture
def root(api: TestClient, settings: Settings, engine: Engine) -> None:
    """Root with a known password and no forced change; no attempts recorded yet."""
    setup(engine, settings)
    with engine.begin() as conn:
        conn.execute(text("update app.user_account set password_hash = :h, must_change_password = false"),
                     {"h": hash_password(RIGHT)})  # fmt: skip
        conn.execute(text("truncate app.login_attempt"))


def _at(api: TestClient, address: str) -> TestClient:
    """The same app, as seen from another client address."""
    return TestClient(api.app, client=(address, 50000))


def _login(client: TestClient, password: str, email: str = ROOT) -> httpx.Response:
    response: httpx.Response = client.post("/auth/login", json={"email": email, "password": password})
    return response


def _earlier(engine: Engine, seconds: float) -> None:
    """Moves every recorded attempt into the past, as if time had passed."""
    with engine.begin() as conn:
        conn.execute(text("update app.login_attempt set at = at - make_interval(secs => :s)"), {"s": seconds})


def _attempts(engine: Engine) -> list[tuple[str, str, bool]]:
    with engine.connect() as conn:
        rows = conn.execute(text("select email, address, succeeded from app.login_attempt order by attempt_id"))
        return [(r.email, r.address, r.succeeded) for r in rows]


@contextmanager
def _served(app: ASGIApp, settings: Settings) -> Iterator[str]:
    """The app behind a real uvicorn on 127.0.0.1, configured the way ``registry up`` configures it."""
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning",
                            proxy_headers=bool(settings.forwarded_allow_ips),
                            forwarded_allow_ips=settings.forwarded_allow_ips)  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(10)


def test_thirty_parallel_wrong_logins_check_the_password_at_most_limit_times(
    api: TestClient, settings: Settings, engine: Engine, root: None
) -> None:
    limit = settings.login_max_failures_per_account
    start = threading.Barrier(30)
    statuses: list[int] = []

    def guess(i: int) -> None:
        start.wait()
        response = httpx.post(f"{url}/auth/login", json={"email": ROOT, "password": f"guess {i}"}, timeout=60)
        statuses.append(response.status_code)

    with _served(api.app, settings) as url:
        threads = [threading.Thread(target=guess, args=(i,)) for i in range(30)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert Counter(statuses) == {401: limit, 429: 30 - limit}
    assert _attempts(engine) == [(ROOT, "127.0.0.1", False)] * limit


def test_the_account_and_address_limit_refuses_even_the_right_password_until_the_window_passes(
    api: TestClient, settings: Settings, engine: Engine, root: None
) -> None:
    for _ in range(settings.login_max_failures_per_account):
        assert _login(api, "guess").status_code == 401
    limited = _login(api, RIGHT)
    assert (limited.status_code, limited.json()["type"]) == (429, "/problems/too-many-login-attempts")
    assert 0 < int(limited.headers["retry-after"]) <= settings.login_window_seconds

    _earlier(engine, settings.login_window_seconds)
    assert _login(api, RIGHT).status_code == 200


def test_failures_from_another_address_do_not_lock_the_owner_out(
    api: TestClient, settings: Settings, engine: Engine, root: None
) -> None:
    attacker, owner = _at(api, ATTACKER), _at(api, OWNER)
    for _ in range(settings.login_max_failures_per_account):
        assert _login(attacker, "guess").status_code == 401
    assert _login(attacker, RIGHT).status_code == 429

    assert _login(owner, "a typo").status_code == 401  # the owner's own count is separate
    assert _login(owner, RIGHT).status_code == 200
    assert _login(attacker, "guess").status_code == 429  # and the owner's success frees nobody else


def test_a_success_resets_the_count_of_its_own_address(
    api: TestClient, settings: Settings, engine: Engine, root: None
) -> None:
    for _ in range(settings.login_max_failures_per_account - 1):
        assert _login(api, "a typo").status_code == 401
    assert _login(api, RIGHT).status_code == 200
    for _ in range(settings.login_max_failures_per_account):
        assert _login(api, "a typo").status_code == 401
    assert _login(api, RIGHT).status_code == 429


def test_one_address_cannot_spray_many_accounts(api: TestClient, settings: Settings, engine: Engine,
                                                root: None) -> None:  # fmt: skip
    sprayer = _at(api, ATTACKER)
    for i in range(settings.login_max_failures_per_address):
        assert _login(sprayer, "Password1!", email=f"user{i}@example.org").status_code == 401
    assert _login(sprayer, "Password1!", email="someone.else@example.org").status_code == 429
    assert _login(sprayer, RIGHT).status_code == 429
    assert _login(_at(api, OWNER), RIGHT).status_code == 200


def test_a_distributed_attack_on_one_account_is_slowed_down_not_blocked_and_never_slows_the_owner(
    api: TestClient, settings: Settings, engine: Engine, root: None
) -> None:
    owner = _at(api, OWNER)
    assert _login(owner, RIGHT).status_code == 200  # the owner's usual address
    bot = _at(api, "192.0.2.1")
    for _ in range(settings.login_max_failures_per_account):
        assert _login(bot, "guess").status_code == 401
    assert _login(bot, "guess").status_code == 429
    ceiling = settings.login_max_failures_per_account * rate_limit.ACCOUNT_CEILING_FACTOR
    botnet = ("insert into app.login_attempt (email, address, succeeded) "
              "select :e, '192.0.2.' || (i + 1), false from generate_series(1, :n) i")  # fmt: skip
    with engine.begin() as conn:  # more bots, up to the ceiling (each within its own limit)
        conn.execute(text(botnet), {"e": ROOT, "n": ceiling - settings.login_max_failures_per_account})

    newcomer = _at(api, "192.0.2.200")
    delays = []
    for _ in range(settings.login_max_failures_per_account - 1):  # its own limit still applies on top
        slowed = _login(newcomer, "guess")
        assert slowed.status_code == 429
        delays.append(int(slowed.headers["retry-after"]))
        _earlier(engine, delays[-1])
        assert _login(newcomer, "guess").status_code == 401
        with engine.begin() as conn:  # as if made now: the delay counts from the attempt, not its Argon2 check
            conn.execute(text("update app.login_attempt set at = clock_timestamp() "
                              "where attempt_id = (select max(attempt_id) from app.login_attempt)"))  # fmt: skip
    assert delays == [2**i for i in range(settings.login_max_failures_per_account - 1)]  # 1 s, doubling
    assert _login(owner, RIGHT).status_code == 200  # never slowed at its own address

    long_attack = ("insert into app.login_attempt (email, address, succeeded) "
                   "select :e, '198.18.0.' || i, false from generate_series(1, 200) i")  # fmt: skip
    with engine.begin() as conn:  # the delay stops growing well short of the window
        conn.execute(text(long_attack), {"e": ROOT})
    capped = _login(_at(api, "192.0.2.201"), RIGHT)
    assert (capped.status_code, int(capped.headers["retry-after"])) == (429, rate_limit.MAX_DELAY_SECONDS)
    assert settings.login_window_seconds > rate_limit.MAX_DELAY_SECONDS
    assert _login(owner, RIGHT).status_code == 200


def test_wrong_old_passwords_count_towards_the_same_throttle(
    api: TestClient, settings: Settings, engine: Engine, root: None
) -> None:
    token = _login(api, RIGHT).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    def change(old: str) -> httpx.Response:
        body = {"old_password": old, "new_password": "n" * 16}
        response: httpx.Response = api.post("/auth/password", headers=headers, json=body)
        return response

    for _ in range(settings.login_max_failures_per_account):
        assert change("guess").status_code == 401
    limited = change(RIGHT)
    assert (limited.status_code, limited.json()["type"]) == (429, "/problems/too-many-login-attempts")
    assert 0 < int(limited.headers["retry-after"]) <= settings.login_window_seconds
    assert _login(api, RIGHT).status_code == 429  # the same count as logins from this address
    assert _attempts(engine)[-1] == (ROOT, "testclient", False)

    _earlier(engine, settings.login_window_seconds)
    assert change(RIGHT).status_code == 200
    assert _attempts(engine)[-1] == (ROOT, "testclient", True)


def test_an_ipv6_client_counts_by_its_64_and_cannot_rotate_through_it(
    api: TestClient, settings: Settings, engine: Engine, root: None
) -> None:
    assert rate_limit.address_key("2001:db8:1:2::1") == rate_limit.address_key("2001:db8:1:2:ffff::9")
    assert rate_limit.address_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert rate_limit.address_key("2001:db8:1:3::1") != "2001:db8:1:2::/64"
    assert rate_limit.address_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert (rate_limit.address_key(None), rate_limit.address_key("testclient")) == ("unknown", "testclient")

    for i in range(settings.login_max_failures_per_account):
        assert _login(_at(api, f"2001:db8:1:2::{i + 1:x}"), "guess").status_code == 401
    assert _login(_at(api, "2001:db8:1:2::abcd"), RIGHT).status_code == 429
    assert _login(_at(api, "2001:db8:1:3::1"), RIGHT).status_code == 200


def test_x_forwarded_for_is_ignored_unless_a_proxy_is_configured(
    api: TestClient, settings: Settings, engine: Engine, root: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    default = Settings(_env_file=None).forwarded_allow_ips
    assert default == ""  # trusts no proxy
    limit = settings.login_max_failures_per_account
    with _served(api.app, settings.model_copy(update={"forwarded_allow_ips": default})) as url:
        for i in range(limit):  # a local client naming a new address each time still counts as itself
            forged = {"X-Forwarded-For": f"198.51.100.{i + 1}"}
            response = httpx.post(f"{url}/auth/login", json={"email": ROOT, "password": "guess"}, headers=forged)
            assert response.status_code == 401
        response = httpx.post(f"{url}/auth/login", json={"email": ROOT, "password": RIGHT},
                              headers={"X-Forwarded-For": "198.51.100.99"})  # fmt: skip
        assert response.status_code == 429
    assert {address for _, address, _ in _attempts(engine)} == {"127.0.0.1"}

    behind_proxy = settings.model_copy(update={"forwarded_allow_ips": "127.0.0.1"})
    with _served(api.app, behind_proxy) as url:
        response = httpx.post(f"{url}/auth/login", json={"email": ROOT, "password": RIGHT},
                              headers={"X-Forwarded-For": "203.0.113.5, 198.51.100.7"})  # fmt: skip
        assert response.status_code == 200  # the proxy's own count does not apply to the client it names
    assert _attempts(engine)[-1] == (ROOT, "198.51.100.7", True)
