"""Web UI fixtures: a populated registry per module (the API tests' world, with its indexer), the app served over
real HTTP on a free port, and Debian's Chromium driven by Playwright.

Chromium comes from Debian (``make test`` installs it when missing; toolchain.md): Playwright's own browser
download needs the internet. ``REGISTRY_CHROMIUM`` names another executable.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import text

from api.app import create_app
from node.chain.client import ChainClient
from node.chain.deployment import Deployment
from node.context import NodeContext
from node.paths import PROJECT_ROOT
from node.runtime.anvil import free_port
from node.security.passwords import hash_password
from tests.api.identity.world import World
from tests.api.programmes.conftest import (
    app_client,
    files_dir,
    module_registry,
    module_settings,
    running_indexer,
    world,
)

__all__ = ["app_client", "files_dir", "module_registry", "module_settings", "running_indexer", "world"]

PASSWORD = "a long enough test passphrase"
AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
"""Screenshots the browser tests write for a person to look at (ignored by git)."""


def chromium_path() -> str:
    path = os.environ.get("REGISTRY_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Chromium is not installed: `make test` installs Debian's package (apt-get install chromium)")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per test module. Playwright's sync API runs an event loop in this thread while it is open, so a
    session-wide browser broke any later test that calls ``asyncio.run`` (as the email tests do)."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def live_url(world: World, client: ChainClient, deployment: Deployment) -> Iterator[str]:
    """The app on a real port, for the browser (the same app ``app_client`` tests through ASGI)."""
    context = NodeContext(world.settings, world.engine, client, deployment, world.registry)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(context), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="web-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the test web server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def with_password(world: World, caller: str) -> str:
    """Gives ``caller`` a known password (world users are made with none) and returns its email."""
    user_id = world.members[caller].user_id
    with world.engine.begin() as conn:
        conn.execute(text("update app.user_account set password_hash = :h, must_change_password = false "
                          "where user_id = :u"), {"h": hash_password(PASSWORD), "u": user_id})  # fmt: skip
        email: str = conn.execute(text("select email from app.user_account where user_id = :u"),
                                  {"u": user_id}).scalar_one()  # fmt: skip
    return email


def sign_in(page: Page, base: str, world: World, caller: str) -> None:
    email = with_password(world, caller)
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").last.click()
    page.wait_for_load_state()


def log_in(app_client: TestClient, world: World, caller: str) -> None:
    """The cookie session of ``caller`` on the shared test client (signing out whoever was in)."""
    app_client.cookies.clear()
    done = app_client.post("/login", data={"email": with_password(world, caller), "password": PASSWORD, "next": "/"},
                           follow_redirects=False)  # fmt: skip
    assert done.status_code == 303, done.text


def csrf_of(html: str) -> str:
    """The page's CSRF token (its ``csrf-token`` meta tag)."""
    return html.split('name="csrf-token" content="')[1].split('"')[0]


def as_caller(page: Page, base: str, world: World, caller: str) -> None:
    """The browser signed in as ``caller`` alone (the previous session's cookies cleared)."""
    page.context.clear_cookies()
    sign_in(page, base, world, caller)


def too_wide(page: Page) -> list[str]:
    """The elements reaching past the viewport's right edge, to name in a failure."""
    found: list[str] = page.evaluate(
        "() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > "
        "window.innerWidth + 1).slice(0, 8).map(e => e.tagName + '.' + e.className + '#' + e.id)"
    )
    return found


def shown_state(page: Page) -> str | None:
    """The state a detail page shows (``dd[data-state]``)."""
    return page.locator("dl.facts dd[data-state]").get_attribute("data-state")


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the page as it is (WCAG 2.1 A and AA rules)."""
    # Through the DevTools protocol, not an inline <script>: the node's CSP allows none, rightly.
    page.evaluate("() => {" + AXE.read_text() + "\n}")
    result: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', "
        "'wcag21aa']}})"
    )
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]  # fmt: skip


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
