"""The whole AGM vote of the demo's open Belgian poll, in a real browser.

A shareholder ranks the themes and keeps the receipt; the proxy holder casts her own ballot and
the one of the member who gave her a proxy; the operator checks a member in at the room, enters
that member's paper ballot, closes the poll and publishes the count; the first receipt is then
found in the published list, and the results page shows the pairwise matrix as a picture.

The selectors use form actions and element ids rather than wording: the demo members read the
platform in their own languages (an.claes and emma.willems in Dutch, julie.lambert in French).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from core.polls.services import receipt_hash
from tests.browser.test_themes_browser import press, sign_in, sign_out

pytestmark = pytest.mark.browser

EDITION = "2021-2022"  # the demo edition with an open poll per country


def open_poll_of(page: Any, country: str) -> dict[str, Any]:
    polls = page.request.get(f"/api/editions/{EDITION}/polls").json()
    (poll,) = [p for p in polls if p["country"] == country and p["state"] == "open"]
    return poll


def rank(page: Any, form: Any, order: list[int]) -> None:
    """Fill a ranked ballot form: the candidate numbered order[0] first, and so on."""
    for position, number in enumerate(order, start=1):
        form.locator(f"select[name='rank_{number}']").select_option(str(position))


def receipt_on(page: Any) -> str:
    code = page.locator("code.receipt").inner_text().strip()
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,}", code), code
    return code


def test_an_agm_vote_from_ballots_to_published_results(new_context: Any, tmp_path: Path) -> None:
    page = new_context().new_page()

    # A shareholder ranks the themes and sees her receipt once.
    sign_in(page, "julie.lambert@demo.smart.coop")
    poll = open_poll_of(page, "BE")
    poll_id = poll["id"]
    numbers = [number for number, _theme in poll["candidates"]]
    assert len(numbers) >= 3
    page.goto(f"/polls/{poll_id}")
    vote_form = page.locator(f"form[action='/polls/{poll_id}/vote']")
    rank(page, vote_form, [numbers[1], numbers[0], numbers[2]])
    press(page, f"form[action='/polls/{poll_id}/vote'] button[type=submit]")
    receipt = receipt_on(page)
    page.goto(f"/polls/{poll_id}")
    assert page.locator(f"form[action='/polls/{poll_id}/vote']").count() == 0  # voted once
    sign_out(page)

    # The proxy holder votes for herself, then for the member who gave her a proxy.
    sign_in(page, "emma.willems@demo.smart.coop")
    page.goto(f"/polls/{poll_id}")
    rank(page, page.locator(f"form[action='/polls/{poll_id}/vote']"), [numbers[0], numbers[2]])
    press(page, f"form[action='/polls/{poll_id}/vote'] button[type=submit]")
    own_receipt = receipt_on(page)
    page.goto(f"/polls/{poll_id}/proxy")
    proxy_form = page.locator(f"form[action^='/polls/{poll_id}/proxy/vote/']")
    assert proxy_form.count() == 1
    rank(page, proxy_form, [numbers[2], numbers[1]])
    press(page, f"form[action^='/polls/{poll_id}/proxy/vote/'] button[type=submit]")
    proxy_receipt = receipt_on(page)
    assert proxy_receipt != own_receipt
    page.goto(f"/polls/{poll_id}/proxy")
    assert page.locator(f"form[action^='/polls/{poll_id}/proxy/vote/']").count() == 0
    sign_out(page)

    # The operator checks a member in at the room and enters her paper ballot.
    sign_in(page, "operator.be@demo.smart.coop")
    page.goto(f"/polls/{poll_id}/room")
    page.locator("#member").fill("nora.haddad@demo.smart.coop")
    press(page, f"form[action='/polls/{poll_id}/room/check-in'] button")
    assert "D-0106" in page.locator("#present-heading + table").inner_text()
    press(page, f"form[action='/polls/{poll_id}/room'] button")
    paper_form = page.locator(f"form[action^='/polls/{poll_id}/room/paper/']")
    rank(page, paper_form, [numbers[1], numbers[2], numbers[0]])
    press(page, f"form[action^='/polls/{poll_id}/room/paper/'] button[type=submit]")
    paper_receipt = receipt_on(page)
    page.goto(f"/polls/{poll_id}/room")
    # Ballots 4 (online 2, paper 1, proxy 1); present 1; represented 1; counted 4.
    _eligible, cast, present, represented, counted = page.locator("#turnout dd").all_inner_texts()
    assert re.fullmatch(r"4 \(\D*2, \D*1, \D*1\)", cast), cast
    assert (present, represented, counted) == ("1", "1", "4")

    # It closes and publishes the count.
    page.goto(f"/polls/{poll_id}")
    press(page, f"form[action='/polls/{poll_id}/close'] button")
    press(page, f"form[action='/polls/{poll_id}/publish'] button")
    sign_out(page)

    # Anyone (a new visitor, English browser) finds the first receipt in the published list,
    # on the page and in the download.
    page = new_context().new_page()
    page.goto(f"/polls/{poll_id}/results")
    page.locator("#receipt").fill(receipt)
    press(page, f"form[action='/polls/{poll_id}/check'] button")
    assert page.locator("p.notice[role=status]").count() == 1
    assert page.locator("p.error[role=status]").count() == 0
    published = page.request.get(f"/polls/{poll_id}/ballots.json").json()
    hashes = [b["receipt_hash"] for b in published["ballots"]]
    assert len(hashes) == 4
    for code in (receipt, own_receipt, proxy_receipt, paper_receipt):
        assert receipt_hash(code) in hashes
    assert sum(1 for b in published["ballots"] if b["paper"]) == 1

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
