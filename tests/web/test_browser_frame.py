"""The frame in a real browser (Debian's Chromium through Playwright): the public home in three languages with no
serious accessibility finding, at 360 px wide, keyboard navigation from the skip link, and signing in and out."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.api.identity.world import World
from tests.web.conftest import screenshot, serious_violations, sign_in


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_the_home_page_in_each_language_passes_axe(page: Page, live_url: str, world: World, language: str) -> None:
    page.goto(f"{live_url}/language?lang={language}&next=/")
    assert page.locator("html").get_attribute("lang") == language
    assert serious_violations(page) == []
    screenshot(page, f"home-{language}")


def test_the_home_page_works_at_360_pixels_and_from_the_keyboard(page: Page, live_url: str, world: World) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"{live_url}/language?lang=en&next=/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page is {width} px wide at a 360 px viewport"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_signing_in_and_out_in_the_browser(page: Page, live_url: str, world: World) -> None:
    sign_in(page, live_url, world, "gov_admin")
    page.goto(f"{live_url}/")
    assert page.get_by_role("button", name="Sign out").is_visible()
    assert serious_violations(page) == []
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()
    assert page.get_by_role("link", name="Sign in").is_visible()
