"""The site's menu on a phone and on a desktop: on a phone the operator's many links fold
behind a "Menu" button (a <details>, no script), so the page starts near the top of the
screen; on a desktop they are always shown."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.test_themes_browser import sign_in

pytestmark = pytest.mark.browser

OPERATOR = "operator.be@demo.smart.coop"
MODERATION = "header nav a[href='/moderation']"


def test_on_a_phone_the_menu_folds_and_opens_with_one_press(new_context: Any) -> None:
    page = new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False).new_page()
    sign_in(page, OPERATOR)
    header = page.locator("header.site-header")
    folded = header.bounding_box()["height"]
    # Folded, the operator's links are out of sight and the header is a few rows only.
    assert not page.locator(MODERATION).is_visible()
    assert folded < 200, folded
    page.locator("header .menu > summary").click()
    assert page.locator(MODERATION).is_visible()
    assert header.bounding_box()["height"] > folded
    # A link of the opened menu works like any link.
    page.locator(MODERATION).click()
    page.wait_for_url("**/moderation")


def test_on_a_desktop_every_link_is_shown_without_a_menu_button(new_context: Any) -> None:
    page = new_context(
        viewport={"width": 1280, "height": 800}, java_script_enabled=False
    ).new_page()
    sign_in(page, OPERATOR)
    assert page.locator(MODERATION).is_visible()
    assert not page.locator("header .menu > summary").is_visible()
