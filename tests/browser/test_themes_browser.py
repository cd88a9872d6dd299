"""A member's proposal from draft to the AGM ballot, in a real browser.

The selectors use form actions and landmarks rather than wording: the demo members read the
platform in their own languages.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from plugins.demo import DEMO_PASSWORD
from tests.demo_helpers import open_slug

pytestmark = pytest.mark.browser

EDITION = open_slug()  # the demo's open edition, named after this year: proposals are open


def sign_in(page: Any, email: str) -> None:
    page.goto("/sign-in")
    form = page.locator("form[action='/sign-in/password']")
    form.locator("#pw-email").fill(email)
    form.locator("#pw-password").fill(DEMO_PASSWORD)
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))


def press(page: Any, selector: str) -> None:
    """Click a form's button and wait for the page the server answers with."""
    with page.expect_navigation():
        page.locator(selector).click()


def sign_out(page: Any) -> None:
    page.locator("form[action='/sign-out'] button").click()
    page.wait_for_url(re.compile(r"/$"))


def test_a_proposal_goes_from_draft_to_the_ballot(new_context: Any) -> None:
    page = new_context().new_page()
    title = "Un revenu garanti pour les artistes"

    # A BE member drafts and submits a proposal.
    sign_in(page, "thomas.dupont@demo.smart.coop")
    page.goto(f"/editions/{EDITION}/propose")
    page.locator("#title").fill(title)
    page.locator("#description").fill("Comment garantir un revenu entre deux contrats ?")
    page.locator("#language").select_option("fr")
    press(page, "main form button[type=submit]")
    assert re.search(r"/themes/\d+$", page.url)
    theme_url = page.url
    assert page.locator(".badge-draft").is_visible()
    press(page, "form[action$='/submit'] button")
    assert page.locator(".support-count").inner_text() == "0"
    assert page.locator("form[action$='/support']").count() == 0  # not for one's own proposal
    sign_out(page)

    # Two other BE members support it; BE's threshold in this server is 2.
    for supporter in ("julie.lambert@demo.smart.coop", "pieter.maes@demo.smart.coop"):
        sign_in(page, supporter)
        page.goto(theme_url)
        before = int(page.locator(".support-count").inner_text())
        press(page, "form[action$='/support'] button")
        assert int(page.locator(".support-count").inner_text()) == before + 1
        assert page.locator("form[action$='/unsupport']").is_visible()
        sign_out(page)

    # The BE operator finds it waiting in the queue and accepts it for the ballot.
    sign_in(page, "operator.be@demo.smart.coop")
    page.goto("/moderation?country=BE")
    waiting = page.locator("section[aria-labelledby='over-heading']")
    waiting.get_by_role("link", name=title).click()
    page.wait_for_url(theme_url)
    assert page.locator(".badge-waiting").is_visible()
    press(page, "form[action$='/accept'] button")
    # A confirmation page names the theme; nothing changes until "Yes".
    assert title in page.locator("h1").inner_text()
    press(page, "form[action$='/accept'] button")
    assert page.url == theme_url
    assert page.locator(".badge-ballot").is_visible()

    # It is listed among the themes on the ballot, for everyone.
    sign_out(page)
    page.goto(f"/editions/{EDITION}/themes?country=BE&status=accepted")
    card = page.locator(".theme-card", has_text=title)
    assert card.locator(".badge-ballot").is_visible()
