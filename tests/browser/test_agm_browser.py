"""The whole AGM vote of the demo's Belgian poll, in a real browser, once its operator has
moved the AGM vote phase to today and opened the poll (the ``agm_poll`` fixture).

The poll's three tellers collect their shares of the ballot box's key on their phones (390 px,
once each); a shareholder ranks the themes and keeps her receipt (the tracker of her sealed
ballot); the proxy holder casts her own ballot and the one of the member who gave her a proxy;
the operator checks a member in at the room, enters that member's paper ballot and closes the
poll; two of the tellers count on one phone in the room, which publishes the result; the voter
finds her tracker in the public ballot box, the published list pairs no tracker with a choice,
and the results page shows the pairwise matrix as a picture. axe-core checks each ballot-box
page at phone width, and none scrolls sideways.

The selectors use form actions and element ids rather than wording: the demo members read the
platform in their own languages (an.claes and emma.willems in Dutch, julie.lambert in French).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.test_themes_browser import press, sign_in, sign_out

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
TELLERS = ("teller1.be@demo.smart.coop", "teller2.be@demo.smart.coop", "teller3.be@demo.smart.coop")


def as_people_see_it(page: Any) -> None:
    """No sideways scrolling at the page's width, and no axe-core violation."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} scrolls sideways: {width} px"
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def open_poll_of(agm_poll: Any, country: str) -> dict[str, Any]:
    """The demo's poll of ``country`` in its open edition, open now: its operator moved the
    AGM vote phase to today and opened a poll inside it (the ``agm_poll`` fixture; the demo
    keeps its polls as drafts until their AGM vote phase)."""
    poll = agm_poll(country)
    assert poll["state"] == "open" and poll["country"] == country, poll
    return poll


def rank(page: Any, form: Any, order: list[int]) -> None:
    """Fill a ranked ballot form: the candidate numbered order[0] first, and so on."""
    for position, number in enumerate(order, start=1):
        form.locator(f"select[name='rank_{number}']").select_option(str(position))


def check_and_cast(page: Any, action: str, lines: int) -> None:
    """Press the ballot's button, find "Check your ballot" with ``lines`` ranked lines and
    nothing cast yet, then cast it."""
    press(page, f"form[action='{action}'] button[type=submit]")
    assert page.locator("ol.ballot-readout li").count() == lines
    assert page.locator("code.receipt").count() == 0
    press(page, f"form[action='{action}'] button[name=confirm]")


def receipt_on(page: Any) -> str:
    code = page.locator("code.receipt").inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", code), code
    return code


def collect_share(page: Any, email: str, poll_id: int) -> str:
    sign_in(page, email)
    page.goto(f"/polls/{poll_id}/share")
    as_people_see_it(page)
    press(page, f"form[action='/polls/{poll_id}/share'] button")
    words = page.locator("ol.share-words li").all_inner_texts()
    assert len(words) == 33, words
    as_people_see_it(page)
    page.goto(f"/polls/{poll_id}/share")  # shown once: never again
    assert page.locator(f"form[action='/polls/{poll_id}/share']").count() == 1
    press(page, f"form[action='/polls/{poll_id}/share'] button")
    assert page.locator("ol.share-words").count() == 0
    assert page.locator("p.error[role=alert]").count() == 1
    sign_out(page)
    return " ".join(words)


def test_an_agm_vote_from_ballots_to_published_results(
    new_context: Any, tmp_path: Path, agm_poll: Any
) -> None:
    phone = new_context(viewport=PHONE).new_page()
    page = new_context().new_page()
    poll = open_poll_of(agm_poll, "BE")
    poll_id = poll["id"]
    numbers = [number for number, _theme in poll["candidates"]]
    assert len(numbers) >= 3

    # The three tellers collect their shares on their phones, each once.
    shares = [collect_share(phone, email, poll_id) for email in TELLERS]
    assert len(set(shares)) == 3

    # A shareholder ranks the themes and sees her receipt once.
    sign_in(page, "julie.lambert@demo.smart.coop")
    page.goto(f"/polls/{poll_id}")
    vote_form = page.locator(f"form[action='/polls/{poll_id}/vote']")
    rank(page, vote_form, [numbers[1], numbers[0], numbers[2]])
    # "Check your ballot" first: the ranking as the count reads it; "Change" goes back to the
    # ballot as she left it.
    press(page, f"form[action='/polls/{poll_id}/vote'] button[type=submit]")
    assert page.locator("ol.ballot-readout li").count() == 3
    as_people_see_it(page)
    press(page, f"form[action='/polls/{poll_id}/vote'] button[name=change]")
    assert vote_form.locator(f"select[name='rank_{numbers[1]}']").input_value() == "1"
    assert vote_form.locator(f"select[name='rank_{numbers[2]}']").input_value() == "3"
    check_and_cast(page, f"/polls/{poll_id}/vote", 3)
    receipt = receipt_on(page)
    assert page.locator("#cast-choices li").count() == 3  # what was cast, shown this once
    as_people_see_it(page)
    page.goto(f"/polls/{poll_id}")
    assert page.locator(f"form[action='/polls/{poll_id}/vote']").count() == 0  # voted once
    sign_out(page)

    # The proxy holder votes for herself, then for the member who gave her a proxy.
    sign_in(page, "emma.willems@demo.smart.coop")
    page.goto(f"/polls/{poll_id}")
    rank(page, page.locator(f"form[action='/polls/{poll_id}/vote']"), [numbers[0], numbers[2]])
    check_and_cast(page, f"/polls/{poll_id}/vote", 2)
    own_receipt = receipt_on(page)
    page.goto(f"/polls/{poll_id}/proxy")
    proxy_form = page.locator(f"form[action='/polls/{poll_id}/proxy/vote']")
    assert proxy_form.count() == 1
    rank(page, proxy_form, [numbers[2], numbers[1]])
    check_and_cast(page, f"/polls/{poll_id}/proxy/vote", 2)
    proxy_receipt = receipt_on(page)
    assert proxy_receipt != own_receipt
    page.goto(f"/polls/{poll_id}/proxy")
    assert page.locator(f"form[action='/polls/{poll_id}/proxy/vote']").count() == 0
    sign_out(page)

    # The operator checks a member in at the room and enters her paper ballot.
    sign_in(page, "operator.be@demo.smart.coop")
    page.goto(f"/polls/{poll_id}/room")
    page.locator("#member").fill("nora.haddad@demo.smart.coop")
    press(page, f"form[action='/polls/{poll_id}/room/check-in'] button")
    assert "D-0106" in page.locator("#present-heading + table").inner_text()
    press(page, f"form[action='/polls/{poll_id}/room/paper-for'] button")
    assert page.url.endswith(f"/polls/{poll_id}/room/paper-for")  # no member in the address
    paper_form = page.locator(f"form[action='/polls/{poll_id}/room/paper']")
    rank(page, paper_form, [numbers[1], numbers[2], numbers[0]])
    press(page, f"form[action='/polls/{poll_id}/room/paper'] button[type=submit]")
    paper_receipt = receipt_on(page)
    page.goto(f"/polls/{poll_id}/room")
    # Ballots 4 (2 online, 1 on paper, 1 by a proxy holder); present 1; represented 1; counted 4.
    _eligible, cast, present, represented, counted = page.locator("#turnout dd").all_inner_texts()
    assert re.fullmatch(r"4 \(2 \D+, 1 \D+, 1 \D+\)", cast), cast
    assert (present, represented, counted) == ("1", "1", "4")

    # It closes the poll.
    page.goto(f"/polls/{poll_id}")
    press(page, f"form[action='/polls/{poll_id}/close'] button")
    assert page.locator("#consequences").count() == 1  # what closing now does, to confirm
    as_people_see_it(page)
    press(page, f"form[action='/polls/{poll_id}/close'] button")
    assert page.locator(f"form[action='/polls/{poll_id}/publish']").count() == 0
    sign_out(page)

    # Two of the three tellers count in the room, on one phone, each typing their own share.
    sign_in(phone, TELLERS[2])
    phone.goto(f"/polls/{poll_id}")
    press(phone, f"a[href='/polls/{poll_id}/count']")
    as_people_see_it(phone)
    phone.locator("#share-1").fill(shares[2])
    phone.locator("#share-2").fill(shares[2])  # the same share twice is refused
    press(phone, f"form[action='/polls/{poll_id}/count'] button")
    assert phone.locator("#count-error").count() == 1
    as_people_see_it(phone)
    phone.locator("#share-1").fill(shares[2])
    phone.locator("#share-2").fill(shares[0])
    press(phone, f"form[action='/polls/{poll_id}/count'] button")
    assert phone.locator("#consequences").count() == 1  # opening the box, to confirm
    as_people_see_it(phone)
    press(phone, f"form[action='/polls/{poll_id}/count'] button")
    assert phone.url.endswith(f"/polls/{poll_id}/results")
    as_people_see_it(phone)
    sign_out(phone)

    # The voter (and anyone) finds her tracker in the public ballot box.
    page = new_context().new_page()
    sign_in(page, "julie.lambert@demo.smart.coop")
    page.goto(f"/polls/{poll_id}/box")
    page.locator("#receipt").fill(receipt)
    press(page, f"form[action='/polls/{poll_id}/box'] button")
    assert page.locator("p.notice[role=status]").count() == 1
    assert page.locator("p.error[role=status]").count() == 0
    phone.goto(f"/polls/{poll_id}/box")
    as_people_see_it(phone)
    published = page.request.get(f"/polls/{poll_id}/ballots.json").json()
    assert sorted(published["trackers"]) == published["trackers"]
    for code in (receipt, own_receipt, proxy_receipt, paper_receipt):
        assert code in published["trackers"]
    assert published["counts"] == {"participations": 4, "trackers": 4, "ballots": 4}
    # The clear ballots are plain rankings: no tracker, no paper flag, nothing to pair.
    assert all(isinstance(b, list) for b in published["ballots"])
    assert receipt not in str(published["ballots"])
    page = new_context().new_page()  # a visitor with an English browser
    page.goto(f"/polls/{poll_id}/results")

    # The results page draws the pairwise matrix, with the same numbers in words.
    matrix = page.locator("svg.matrix-picture")
    assert matrix.is_visible()
    box = matrix.bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 100
    assert page.locator("svg.matrix-picture rect.cell-beats").count() >= 1
    assert "4 ballots counted" in page.locator("#winners-heading + ol + p").inner_text()
    described = page.locator("svg.matrix-picture desc").text_content() or ""
    assert described.count(" against ") == len(numbers) * (len(numbers) - 1) // 2
    page.screenshot(path=str(tmp_path / "results.png"), full_page=True)
