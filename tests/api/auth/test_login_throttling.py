"""Password-guess throttling (ADR 0009): atomic under parallel guesses, per account *and* address so nobody can lock
an owner out, per address and IPv6 network against spraying, a ceiling per account beyond which a new address gets
one answer whatever the password and the owner an emailed sign-in link, the old password of ``POST /auth/password``
counted like a login, and ``X-Forwarded-For`` trusted only from configured proxies."""

from __future__ import annotations

import re
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

from node.config import Settings
from node.identity import login_attempts, password_links
from node.identity.bootstrap import setup
from node.identity.login_attempts import client_address
from node.runtime.anvil import free_port
from node.security.passwords import hash_password
from tests.api.conftest import make_settings

ROOT = "root@registry.local"
RIGHT = "the right passphrase"
OWNER = "198.51.100.10"
ATTACKER = "203.0.113.66"
LINK = re.compile(r"http://testserver/login-link\?token=([\w-]+)")


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


def _failures_from_elsewhere(engine: Engine, count: int, email: str = ROOT, prefix: str = "192.0.2.") -> None:
    """``count`` failed attempts on ``email``, each from its own address (a botnet, each bot within its limits)."""
    with engine.begin() as conn:
        conn.execute(text("insert into app.login_attempt (email, address, network, succeeded) "
                          "select :e, :p || i, :p || i, false from generate_series(1, :n) i"),
                     {"e": email, "p": prefix, "n": count})  # fmt: skip


def _past_the_ceiling(api: TestClient, settings: Settings, engine: Engine) -> None:
    """An attacker spends its pair limit from one address, then the rest of the account's ceiling from others."""
    bot = _at(api, "192.0.2.250")
    for _ in range(settings.login_max_failures_per_account):
        assert _login(bot, "guess").status_code == 401
    assert _login(bot, "guess").status_code == 429
    ceiling = settings.login_max_failures_per_account * login_attempts.ACCOUNT_CEILING_FACTOR
    _failures_from_elsewhere(engine, ceiling - settings.login_max_failures_per_account)


def _login_links(engine: Engine, email: str = ROOT) -> list[str]:
    """The tokens of the sign-in links queued for ``email``, oldest first (no worker runs: bodies are still there)."""
    with engine.connect() as conn:
        bodies = conn.execute(text("select body from app.email_outbox where template = 'login_link' and recipient = :e "
                                   "order by email_id"), {"e": email}).scalars().all()  # fmt: skip
    tokens = []
    for body in bodies:
        match = LINK.search(body)
        assert match, body
        tokens.append(match.group(1))
    return tokens


def _assert_neutral(response: httpx.Response) -> None:
    """The one answer past the ceiling from a new address: no word on the password, nothing to wait for."""
    assert response.status_code == 429, response.text
    assert response.json()["type"] == "/problems/login-link-required"
    assert response.json()["detail"] == login_attempts.LOGIN_LINK_DETAIL
    assert "retry-after" not in response.headers


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


def test_past_the_ceiling_a_new_address_with_the_right_password_gets_the_neutral_answer_and_a_sign_in_link(
    api: TestClient, settings: Settings, engine: Engine, root: None
) -> None:
    """The owner has never logged in (a newly invited user, or one travelling): the attack does not lock them out."""
    _past_the_ceiling(api, settings, engine)
    owner = _at(api, OWNER)
    wrong = _login(_at(api, "192.0.2.200"), "guess")
    right = _login(owner, RIGHT)
    _assert_neutral(wrong)
    _assert_neutral(right)
    assert (right.json(), dict(right.headers)) == (wrong.json(), dict(wrong.headers))
    assert _attempts(engine)[-2:] == [(ROOT, "192.0.2.200", False), (ROOT, OWNER, False)]  # both count alike

    [token] = _login_links(engine)
    with engine.connect() as conn:
        body = conn.execute(text("select body from app.email_outbox where template = 'login_link'")).scalar_one()
    assert OWNER in body  # an owner who did not sign in learns that the password is known
    session = owner.post("/auth/login-link", json={"token": token})
    assert session.status_code == 200, session.text
    assert set(session.json()) == {"access_token", "token_type", "expires_in", "must_change_password"}
    me = owner.get("/auth/me", headers={"Authorization": f"Bearer {session.json()['access_token']}"})
    assert (me.status_code, me.json()["email"]) == (200, ROOT)

    again = owner.post("/auth/login-link", json={"token": token})
    assert (again.status_code, again.json()["type"]) == (400, "/problems/invalid-password-token")
    assert _login(owner, RIGHT).status_code == 200  # the address is the owner's now: no link needed any more
    assert _login(owner, "a typo").status_code == 401
    _assert_neutral(_login(_at(api, "192.0.2.201"), RIGHT))  # while the account is still past its ceiling


def test_past_the_ceiling_a_wrong_password_from_a_new_address_gets_the_same_answer_and_sends_no_email(
    api: TestClient, settings: Settings, engine: Engine, root: None
) -> None:
    _past_the_ceiling(api, settings, engine)
    for address in ("192.0.2.200", "192.0.2.201", OWNER):
        _assert_neutral(_login(_at(api, address), "guess"))
    ceiling = settings.login_max_failures_per_account * login_attempts.ACCOUNT_CEILING_FACTOR
    _failures_from_elsewhere(engine, ceiling, email="nobody@example.org", prefix="192.0.3.")
    _assert_neutral(_login(_at(api, "192.0.2.202"), "a password", email="nobody@example.org"))  # unknown: alike
    assert _login_links(engine) == []
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from app.email_outbox")).scalar_one() == 0


def test_past_the_ceiling_a_new_address_still_has_its_own_limit_and_gets_no_oracle_from_it(
    api: TestClient, settings: Settings, engine: Engine, root: None
) -> None:
    """The right password stays a counted failure, so the pair limit arrives after as many attempts either way."""
    _past_the_ceiling(api, settings, engine)
    for address, password in (("192.0.2.200", "guess"), ("192.0.2.201", RIGHT)):
        client = _at(api, address)
        for _ in range(settings.login_max_failures_per_account):
            _assert_neutral(_login(client, password))
        limited = _login(client, password)
        assert (limited.status_code, limited.json()["type"]) == (429, "/problems/too-many-login-attempts")
        assert int(limited.headers["retry-after"]) > 0


def test_the_owner_at_a_familiar_address_is_not_affected_by_the_ceiling(
    api: TestClient, settings: Settings, engine: Engine, root: None
) -> None:
    owner = _at(api, OWNER)
    assert _login(owner, RIGHT).status_code == 200  # the owner's usual address
    _past_the_ceiling(api, settings, engine)
    _failures_from_elsewhere(engine, 200, prefix="198.18.0.")  # a long attack changes nothing for the owner
    assert _login(owner, "a typo").status_code == 401
    assert _login(owner, RIGHT).status_code == 200
    assert _login_links(engine) == []


def test_sign_in_links_are_few_per_hour_single_use_and_die_with_a_password_change(
    api: TestClient, settings: Settings, engine: Engine, root: None
) -> None:
    home = _at(api, OWNER)
    token = _login(home, RIGHT).json()["access_token"]
    _past_the_ceiling(api, settings, engine)
    for i in range(password_links.LOGIN_LINKS_PER_HOUR + 2):  # travelling: right password from new addresses
        _assert_neutral(_login(_at(api, f"198.51.100.{100 + i}"), RIGHT))
    tokens = _login_links(engine)
    assert len(tokens) == password_links.LOGIN_LINKS_PER_HOUR  # the mailbox cannot be flooded
    with engine.connect() as conn:  # each link replaced the previous one
        unused = conn.execute(text("select count(*) from app.password_token where purpose = 'login' "
                                   "and used_at is null")).scalar_one()  # fmt: skip
    assert unused == 1
    assert _at(api, "198.51.100.100").post("/auth/login-link", json={"token": tokens[0]}).status_code == 400

    changed = home.post("/auth/password", headers={"Authorization": f"Bearer {token}"},
                        json={"old_password": RIGHT, "new_password": "a brand new passphrase"})  # fmt: skip
    assert changed.status_code == 200, changed.text
    void = _at(api, "198.51.100.104").post("/auth/login-link", json={"token": tokens[-1]})
    assert (void.status_code, void.json()["type"]) == (400, "/problems/invalid-password-token")


def test_a_sign_in_link_sets_no_password_and_a_reset_link_opens_no_session(
    api: TestClient, settings: Settings, engine: Engine, root: None
) -> None:
    _past_the_ceiling(api, settings, engine)
    _assert_neutral(_login(_at(api, OWNER), RIGHT))
    [login_token] = _login_links(engine)
    assert api.post("/auth/forgot-password", json={"email": ROOT}).status_code == 202
    with engine.connect() as conn:
        body = conn.execute(text("select body from app.email_outbox where template = 'reset_password'")).scalar_one()
    reset_token = body.split("reset-password?token=")[1].split()[0]

    as_reset = api.post("/auth/reset-password", json={"token": login_token, "new_password": "a brand new passphrase"})
    assert (as_reset.status_code, as_reset.json()["type"]) == (400, "/problems/invalid-password-token")
    assert api.get(f"/reset-password?token={login_token}").status_code == 400
    as_login = api.post("/auth/login-link", json={"token": reset_token})
    assert (as_login.status_code, as_login.json()["type"]) == (400, "/problems/invalid-password-token")
    assert api.get(f"/login-link?token={reset_token}").status_code == 400
    assert _at(api, OWNER).post("/auth/login-link", json={"token": login_token}).status_code == 200


def test_the_sign_in_page_confirms_the_browsers_address_only_when_submitted(
    api: TestClient, settings: Settings, engine: Engine, root: None
) -> None:
    """The emailed link opens a page; opening it (or a mail scanner following it) spends nothing."""
    _past_the_ceiling(api, settings, engine)
    owner = _at(api, OWNER)
    _assert_neutral(_login(owner, RIGHT))
    [token] = _login_links(engine)
    for _ in range(2):
        page = owner.get(f"/login-link?token={token}")
        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-store"
        assert 'name="token"' in page.text
        assert "Confirm your sign-in" in page.text
    _assert_neutral(_login(owner, "a typo"))  # not confirmed yet (a typo: the right password would replace the link)

    confirmed = owner.post("/login-link", data={"token": token})
    assert confirmed.status_code == 200
    assert "now recognised" in confirmed.text
    assert _login(owner, RIGHT).status_code == 200
    assert owner.post("/login-link", data={"token": token}).status_code == 400


def test_a_password_change_past_the_ceiling_from_a_new_address_waits_for_a_sign_in_link(
    api: TestClient, settings: Settings, engine: Engine, root: None
) -> None:
    """A stolen session must not guess the old password from many addresses once the account is under attack."""
    _past_the_ceiling(api, settings, engine)
    hotel = _at(api, OWNER)
    _assert_neutral(_login(hotel, RIGHT))
    [link] = _login_links(engine)
    token = hotel.post("/auth/login-link", json={"token": link}).json()["access_token"]
    body = {"old_password": RIGHT, "new_password": "a brand new passphrase"}

    elsewhere = _at(api, "192.0.2.210").post("/auth/password", headers={"Authorization": f"Bearer {token}"},
                                             json=body)  # fmt: skip
    assert (elsewhere.status_code, elsewhere.json()["type"]) == (429, "/problems/too-many-login-attempts")
    assert 0 < int(elsewhere.headers["retry-after"]) <= settings.login_window_seconds
    assert _attempts(engine)[-1][1] != "192.0.2.210"  # refused before anything was recorded
    changed = hotel.post("/auth/password", headers={"Authorization": f"Bearer {token}"}, json=body)
    assert changed.status_code == 200, changed.text


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
    assert client_address("2001:db8:1:2::1") == client_address("2001:db8:1:2:ffff::9")
    assert client_address("2001:db8:1:2::1").address == "2001:db8:1:2::/64"
    assert client_address("2001:db8:1:2::1").network == "2001:db8:1::/48"
    assert client_address("2001:db8:1:3::1").address != "2001:db8:1:2::/64"
    assert client_address("::ffff:192.0.2.1") == login_attempts.ClientAddress("192.0.2.1", "192.0.2.1")
    assert client_address(None).address == "unknown"
    assert client_address("testclient") == login_attempts.ClientAddress("testclient", "testclient")

    for i in range(settings.login_max_failures_per_account):
        assert _login(_at(api, f"2001:db8:1:2::{i + 1:x}"), "guess").status_code == 401
    assert _login(_at(api, "2001:db8:1:2::abcd"), RIGHT).status_code == 429
    assert _login(_at(api, "2001:db8:1:3::1"), RIGHT).status_code == 200


def test_an_ipv6_site_cannot_spray_from_every_64_of_its_48(
    api: TestClient, settings: Settings, engine: Engine, root: None
) -> None:
    """Each /64 within its own limit, the /48 still has one: NETWORK_LIMIT_FACTOR address limits."""
    network_limit = settings.login_max_failures_per_address * login_attempts.NETWORK_LIMIT_FACTOR
    spray = ("insert into app.login_attempt (email, address, network, succeeded) "
             "select 'user' || i || '@example.org', '2001:db8:7:' || to_hex(i) || '::/64', '2001:db8:7::/48', false "
             "from generate_series(1, :n) i")  # fmt: skip
    with engine.begin() as conn:
        conn.execute(text(spray), {"n": network_limit - 1})
    assert _login(_at(api, "2001:db8:7:ffff::1"), "Password1!", email="one.more@example.org").status_code == 401
    limited = _login(_at(api, "2001:db8:7:fffe::1"), RIGHT)  # a fresh /64, with its own count still at zero
    assert (limited.status_code, limited.json()["type"]) == (429, "/problems/too-many-login-attempts")
    assert 0 < int(limited.headers["retry-after"]) <= settings.login_window_seconds
    assert _login(_at(api, "2001:db8:8::1"), RIGHT).status_code == 200  # the next /48 is another site


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
