"""The AGM room on a phone, without JavaScript: the French operator checks members in, records
a paper proxy (a typo first: the form comes back with the message and what was typed), and
checks a member out; the page never scrolls sideways at 390 px.

It uses the demo's French poll, opened now by its operator (``agm_poll``; the AGM browser
test uses the Belgian one). Selectors are ids and form actions: the operator reads the
platform in French.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.test_agm_browser import open_poll_of
from tests.browser.test_themes_browser import press, sign_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def no_sideways_scroll(page: Any) -> None:
    scroll, client = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert scroll <= client, f"{page.url} is {scroll} px wide in a {client} px window"


def test_the_room_works_on_a_phone_without_javascript(new_context: Any, agm_poll: Any) -> None:
    page = new_context(viewport=PHONE, java_script_enabled=False).new_page()
    sign_in(page, "operator.fr@demo.smart.coop")
    poll_id = open_poll_of(agm_poll, "FR")["id"]
    page.goto(f"/polls/{poll_id}/room")
    no_sideways_scroll(page)

    for number in ("D-0201", "D-0206"):
        page.locator("#member").fill(number)
        press(page, f"form[action='/polls/{poll_id}/room/check-in'] button")
    listed = page.locator("#present-heading + table").inner_text()
    assert "D-0201" in listed and "D-0206" in listed

    page.locator("#grantor").fill("D-0206")
    page.locator("#holder").fill("nobody@example.org")
    press(page, f"form[action='/polls/{poll_id}/room/proxy'] button")
    assert page.locator("#room-error[role=alert]").is_visible()
    assert page.locator("#grantor").input_value() == "D-0206"
    page.locator("#holder").fill("D-0201")
    press(page, f"form[action='/polls/{poll_id}/room/proxy'] button")
    assert page.locator("#room-error").count() == 0
    assert page.locator("#paper-proxies li").count() == 1
    no_sideways_scroll(page)

    leaving = page.locator(f"form[action='/polls/{poll_id}/room/check-out']").first
    with page.expect_navigation():
        leaving.locator("button").click()
    assert page.locator(f"form[action='/polls/{poll_id}/room/check-out']").count() == 1
    assert "?" not in page.url  # no member in the address
    no_sideways_scroll(page)
