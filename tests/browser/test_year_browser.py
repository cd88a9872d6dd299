"""A member's year on her phone, in a real browser: the home page answers "what's next for me".

The operator, through the JSON twins, opens an edition of this test's own (2050-2051: no other
test looks at it) with the Belgian AGM vote open today, board themes and a poll whose window
is now, with a teller, who collects her share. Nora (a Belgian shareholder who reads English)
signs in on her phone (390 px): her home shows the open vote, its deadline and "not voted
yet"; she votes through the ballot's review step and sees her receipt with what was cast; the
home then says she voted. She supports a proposal from the theme list of the demo's open
edition (its proposal phase is open). The operator closes the vote and the teller counts it
(the theme Nora ticked is elected: a group is for a theme that ran). The operator moves the
calendar on (registration now, working groups later) and creates a group; Nora registers; the
facilitator proposes times; Nora answers the availability poll; the facilitator confirms the
plan; Nora's home shows her next meeting.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.browser.test_groups_browser import api, propose
from tests.browser.test_themes_browser import press, sign_in, sign_out

pytestmark = pytest.mark.browser

EDITION = "2050-2051"
MEMBER = "nora.haddad@demo.smart.coop"  # BE, shareholder, reads English
OPERATOR = "operator.be@demo.smart.coop"
FACILITATOR = "facilitator@demo.smart.coop"
TELLER = "teller1.be@demo.smart.coop"
THEMES = ("L'habitat partagé", "La mobilité douce", "Le soin au travail")
PHONE = {"width": 390, "height": 844}


def window(phase: str, starts: date, ends: date) -> dict[str, str]:
    return {"phase": phase, "starts_on": starts.isoformat(), "ends_on": ends.isoformat()}


def open_vote(page: Any) -> int:
    """The operator's set-up: the edition, BE's AGM vote today, three board themes, a poll
    open now with one teller. Returns the poll's id."""
    today = datetime.now(UTC).date()
    api(page, "POST", "/api/editions", {"slug": EDITION})
    calendar = [window("agm_vote", today - timedelta(days=2), today + timedelta(days=2))]
    api(page, "PUT", f"/api/editions/{EDITION}/calendar/BE", {"phases": calendar})
    for title in THEMES:
        api(
            page,
            "POST",
            f"/api/editions/{EDITION}/board-themes",
            {"title": title, "language": "fr", "countries": ["BE"]},
        )
    now = datetime.now(UTC)
    poll = api(
        page,
        "POST",
        f"/api/editions/{EDITION}/polls",
        {
            "country": "BE",
            "method": "approval",
            "seats": 1,
            "opens_at": (now - timedelta(minutes=5)).isoformat(),
            "closes_at": (now + timedelta(hours=3)).isoformat(),
        },
    )
    api(page, "POST", f"/api/polls/{poll['id']}/tellers", {"tellers": [TELLER], "needed": 1})
    api(page, "POST", f"/api/polls/{poll['id']}/open")
    return int(poll["id"])


def demo_open_edition(page: Any) -> str:
    """The demo's edition whose Belgian proposal phase is open today."""
    for edition in page.request.get("/api/editions").json():
        for calendar in edition["calendars"]:
            if calendar["country"] == "BE" and calendar["current"] == "proposals":
                return edition["slug"]
    pytest.fail("no edition of the demo has its Belgian proposal phase open today")


def test_a_members_year_from_the_vote_to_the_next_meeting(new_context: Any) -> None:
    page = new_context().new_page()  # the operator's and facilitator's desk
    phone = new_context(viewport=PHONE).new_page()  # the member's phone

    sign_in(page, OPERATOR)
    poll_id = open_vote(page)
    sign_out(page)
    sign_in(page, TELLER)  # the teller collects her share of the ballot box's key
    share = api(page, "POST", f"/api/polls/{poll_id}/share")["share"]
    sign_out(page)

    # Nora's home shows the open vote, its deadline, and that she has not voted yet. She reads
    # English (another test may have left her account in Dutch: she presses EN).
    sign_in(phone, MEMBER)
    press(phone, "form.language-switch button[value='en']")
    assert phone.evaluate("document.documentElement.lang") == "en"
    vote = phone.locator(f"#vote-{poll_id}")
    assert vote.is_visible()
    assert "open until" in vote.inner_text()
    assert vote.locator(".not-voted").is_visible()
    assert vote.locator(".voted").count() == 0
    closes = datetime.fromisoformat(vote.get_attribute("data-closes"))
    local = closes.astimezone(ZoneInfo("Europe/Brussels"))
    assert f"{local:%H:%M}" in vote.inner_text() and str(local.day) in vote.inner_text()

    # She votes: tick a theme, check the ballot, cast it, keep the receipt.
    with phone.expect_navigation():
        vote.locator(f"a[href='/polls/{poll_id}']").click()
    form = phone.locator(f"form[action='/polls/{poll_id}/vote']")
    first = form.locator("input[name=choice]").first
    ticked = first.locator("xpath=..").inner_text().strip()
    first.check()
    press(phone, f"form[action='/polls/{poll_id}/vote'] button[type=submit]")
    assert phone.locator(".ballot-readout li").all_inner_texts() == [ticked]
    assert phone.locator("code.receipt").count() == 0  # nothing is cast yet
    press(phone, f"form[action='/polls/{poll_id}/vote'] button[name=confirm]")
    receipt = phone.locator("code.receipt").inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", receipt), receipt
    assert phone.locator("#cast-choices li").all_inner_texts() == [ticked]

    # Back home: voted (never how).
    with phone.expect_navigation():
        phone.locator("header a[href='/']").first.click()
    vote = phone.locator(f"#vote-{poll_id}")
    assert vote.locator(".voted").is_visible()
    assert vote.locator(".not-voted").count() == 0
    assert ticked not in phone.locator("main").inner_text()

    # She supports a proposal from the list of the demo's open edition.
    slug = demo_open_edition(phone)
    listing = f"/editions/{slug}/themes?country=BE&status=submitted"
    phone.goto(listing)
    card = phone.locator(".theme-card", has=phone.locator("form[action$='/support']")).first
    title = card.locator("h2 a").inner_text()
    counted = re.search(r"(\d+) supports?\b", card.inner_text())
    assert counted, card.inner_text()
    before = int(counted.group(1))
    with phone.expect_navigation():
        card.locator("form[action$='/support'] button").click()
    assert phone.url.endswith(listing)
    card = phone.locator(".theme-card", has_text=title)
    assert card.locator("form[action$='/unsupport']").is_visible()
    assert card.locator(".supported").is_visible()
    assert f"{before + 1} support" in card.inner_text()
    sign_out(phone)

    # The operator closes the vote and the teller counts it: the theme Nora ticked won.
    sign_in(page, OPERATOR)
    api(page, "POST", f"/api/polls/{poll_id}/close")
    sign_out(page)
    sign_in(page, TELLER)
    api(page, "POST", f"/api/polls/{poll_id}/count", {"shares": [share]})
    sign_out(page)

    # The operator moves the calendar on and creates a group for the elected theme.
    today = datetime.now(UTC).date()
    meets_from, meets_to = today + timedelta(days=3), today + timedelta(days=150)
    sign_in(page, OPERATOR)
    calendar = [
        window("registration", today - timedelta(days=1), today + timedelta(days=2)),
        window("working_groups", meets_from, meets_to),
    ]
    api(page, "PUT", f"/api/editions/{EDITION}/calendar/BE", {"phases": calendar})
    page.goto(f"/editions/{EDITION}/groups")
    form = page.locator("#new-group-BE")
    form.locator("#theme-BE").select_option(label=ticked)
    form.locator("#locality-BE").select_option("Brussels")
    form.locator("#language-BE").select_option("fr")
    form.locator("#capacity-BE").fill("5")
    form.locator("#meetings-BE").fill("2")
    form.locator("#facilitators-BE").fill(FACILITATOR)
    press(page, "#new-group-BE button[type=submit]")
    found = re.search(r"/groups/(\d+)$", page.url)
    assert found, page.url
    group_id = int(found.group(1))
    sign_out(page)

    # Nora registers with the pledge.
    sign_in(phone, MEMBER)
    phone.goto(f"/groups/{group_id}")
    phone.locator("#pledge").check()
    press(phone, "#register-form button[type=submit]")
    assert phone.locator("#my-status").is_visible()
    sign_out(phone)

    # The facilitator proposes three evenings in the working-group phase.
    days = [today + timedelta(days=n) for n in (10, 17, 31)]
    sign_in(page, FACILITATOR)
    page.goto(f"/groups/{group_id}")
    for day in days:
        propose(page, day.isoformat())
    slots = [s["id"] for s in api(page, "GET", f"/api/groups/{group_id}/availability")["slots"]]
    assert len(slots) == 3
    sign_out(page)

    # Nora answers the availability poll on her phone.
    sign_in(phone, MEMBER)
    phone.goto(f"/groups/{group_id}")
    for slot_id, answer in zip(slots, ("yes", "no", "maybe"), strict=True):
        phone.locator(f"input[name='slot_{slot_id}'][value='{answer}']").check()
    press(phone, "#availability-form button[type=submit]")
    assert phone.locator(f"input[name='slot_{slots[0]}'][value='yes']").is_checked()
    sign_out(phone)

    # The facilitator confirms the plan the platform proposes.
    sign_in(page, FACILITATOR)
    page.goto(f"/groups/{group_id}")
    press(page, "#plan-form button[type=submit]")
    assert page.locator("#meetings tbody tr").count() == 2
    sign_out(page)

    # Nora's home shows her next meeting: the first evening, 19:00 in Brussels.
    sign_in(phone, MEMBER)
    group = phone.locator(f"#my-group-{group_id}")
    assert group.is_visible()
    meeting = group.locator("time.next-meeting")
    starts = datetime.combine(days[0], time(19), tzinfo=ZoneInfo("Europe/Brussels"))
    assert datetime.fromisoformat(meeting.get_attribute("datetime")) == starts
    shown = meeting.inner_text()
    assert "19:00" in shown and str(days[0].day) in shown and f"{days[0]:%B}" in shown
    assert "Coenraets" in group.inner_text()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the home page scrolls sideways: {width} px"
