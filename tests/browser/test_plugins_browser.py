"""Plugins and notifications in a real browser.

An operator sees the plugins of their own country only; a member turns off the in-app news of
one event, then receives (from the server's own outbox relay) the in-app notification of the
event they kept, and not the other.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.browser.test_themes_browser import EDITION, press, sign_in, sign_out

pytestmark = pytest.mark.browser

RELAY_TIMEOUT = 20.0  # the relay in `sip serve` looks every 2 seconds


def test_each_operator_sees_their_countrys_plugins(new_context: Any) -> None:
    page = new_context().new_page()
    sign_in(page, "operator.be@demo.smart.coop")
    page.locator("a[href='/operator/plugins']").click()
    page.wait_for_url(re.compile(r"/operator/plugins$"))
    assert page.locator("#plugins-BE").is_visible()
    assert page.locator("#plugins-FR").count() == 0
    track = page.locator("#plugin-BE-track_be")
    assert track.is_visible()
    settings = track.locator("table.plugin-settings").inner_text()
    assert "plugins.track_be" in settings
    sign_out(page)

    sign_in(page, "operator.fr@demo.smart.coop")
    page.goto("/operator/plugins")
    assert page.locator("#plugin-FR-track_fr").is_visible()
    assert page.locator("#plugins-BE").count() == 0
    sign_out(page)

    sign_in(page, "pieter.maes@demo.smart.coop")  # a member who runs nothing
    assert page.locator("a[href='/operator/plugins']").count() == 0
    answer = page.goto("/operator/plugins")
    assert answer is not None and answer.status == 403


def notifications_until(page: Any, pattern: str) -> str:
    """Reload the notifications page until its list matches ``pattern`` (the relay delivers
    in the background); fail with what the page shows after RELAY_TIMEOUT."""
    deadline = time.monotonic() + RELAY_TIMEOUT
    while True:
        page.goto("/notifications")
        text = page.locator("main").inner_text()
        if re.search(pattern, text) or time.monotonic() > deadline:
            return text
        page.wait_for_timeout(500)


def test_a_member_chooses_news_and_gets_it_in_the_app(new_context: Any) -> None:
    page = new_context().new_page()
    title = "Un guichet unique pour les démarches des freelances"

    # The member keeps in-app news of an accepted proposal, and drops "threshold reached".
    sign_in(page, "thomas.dupont@demo.smart.coop")
    page.goto("/notifications/preferences")
    threshold = page.locator("#choice-threshold_reached-in_app")
    accepted = page.locator("#choice-theme_accepted-in_app")
    threshold.uncheck()
    accepted.check()
    press(page, "form[action='/notifications/preferences'] button[type=submit]")
    assert page.locator("p.notice[role=status]").is_visible()
    assert not page.locator("#choice-threshold_reached-in_app").is_checked()
    assert page.locator("#choice-theme_accepted-in_app").is_checked()

    # The member proposes; two others take it over the threshold (2 in this server).
    page.goto(f"/editions/{EDITION}/propose")
    page.locator("#title").fill(title)
    page.locator("#description").fill("Un seul endroit pour les questions administratives.")
    page.locator("#language").select_option("fr")
    press(page, "main form button[type=submit]")
    theme_url = page.url
    press(page, "form[action$='/submit'] button")
    sign_out(page)
    for supporter in ("an.claes@demo.smart.coop", "emma.willems@demo.smart.coop"):
        sign_in(page, supporter)
        page.goto(theme_url)
        press(page, "form[action$='/support'] button")
        sign_out(page)

    # The operator accepts it.
    sign_in(page, "operator.be@demo.smart.coop")
    page.goto(theme_url)
    press(page, "form[action$='/accept'] button")
    press(page, "form[action$='/accept'] button")  # "Yes, accept it for the ballot"
    assert page.locator(".badge-ballot").is_visible()
    sign_out(page)

    # The in-app notification of the acceptance arrives; the threshold one never does.
    sign_in(page, "thomas.dupont@demo.smart.coop")
    text = notifications_until(page, re.escape(title))
    listed = page.locator("ul.notifications li")
    about_it = listed.filter(has_text=title)
    assert about_it.count() == 1, text
    assert about_it.locator(".badge").is_visible()  # unread
    assert page.locator("header a[href='/notifications'] .badge").is_visible()
    api = page.request.get("/api/notifications").json()
    types = [n["type"] for n in api["items"] if title in n["subject"] + n["body"]]
    assert types == ["theme_accepted"], api
    with page.expect_navigation():
        about_it.locator("form[action$='/read'] button").click()
    assert page.locator("ul.notifications li.unread").filter(has_text=title).count() == 0
