"""A working group from registration to the member's calendar feed, in a real browser.

The operator opens an edition of this test's own (2040-2041: no other test looks at it) with
its registration phase open today, and creates a group through the page; a member registers
with the pledge; the facilitator proposes times; the member answers the availability poll; the
facilitator confirms the plan the platform proposes; the member's calendar feed, fetched
without a session as a calendar app does, holds the two meetings.

The selectors use form actions and element ids rather than wording: the demo members read the
platform in their own languages (the BE operator and the facilitator in Dutch, the member in
French).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from icalendar import Calendar

from tests.browser.test_themes_browser import press, sign_in, sign_out

pytestmark = pytest.mark.browser

EDITION = "2040-2041"
MEMBER = "julie.lambert@demo.smart.coop"
FACILITATOR = "facilitator@demo.smart.coop"
THEME = "Le soin coopératif"


def api(page: Any, method: str, path: str, body: Any = None) -> Any:
    """A JSON call with the page's session and CSRF token."""
    token = page.request.get("/api/session").json()["csrf_token"]
    response = page.request.fetch(path, method=method, data=body, headers={"x-csrftoken": token})
    assert response.ok, (path, response.status, response.text())
    return response.json() if response.text() else None


def open_edition(page: Any) -> None:
    """The operator's set-up through the JSON twins: the edition, its BE calendar, a theme."""
    today = date.today()
    api(page, "POST", "/api/editions", {"slug": EDITION})
    phases = [
        {
            "phase": "registration",
            "starts_on": (today - timedelta(days=1)).isoformat(),
            "ends_on": (today + timedelta(days=30)).isoformat(),
        },
        # The meetings' days lie in this phase (the facilitator proposes November 2040).
        {"phase": "working_groups", "starts_on": "2040-11-01", "ends_on": "2041-04-30"},
    ]
    api(page, "PUT", f"/api/editions/{EDITION}/calendar/BE", {"phases": phases})
    api(
        page,
        "POST",
        f"/api/editions/{EDITION}/board-themes",
        {"title": THEME, "language": "fr", "countries": ["BE"]},
    )


def propose(page: Any, day: str) -> None:
    form = page.locator("#slot-form")
    form.locator("#slot-day").fill(day)
    form.locator("#slot-start").fill("19:00")
    form.locator("#slot-duration").fill("180")
    form.locator("#slot-mode").select_option("in_person")
    form.locator("#slot-place").fill("Smart, rue Coenraets 72, 1060 Saint-Gilles")
    press(page, "#slot-form button[type=submit]")
    assert page.locator("#group-error").count() == 0, page.locator("#group-error").inner_text()


def test_register_answer_confirm_and_subscribe(new_context: Any) -> None:
    page = new_context().new_page()

    # The BE operator opens the edition and creates a group of two places, two meetings.
    sign_in(page, "operator.be@demo.smart.coop")
    open_edition(page)
    page.goto(f"/editions/{EDITION}/groups")
    form = page.locator("#new-group-BE")
    form.locator("#theme-BE").select_option(label=THEME)
    form.locator("#locality-BE").select_option("Brussels")
    form.locator("#language-BE").select_option("fr")
    form.locator("#capacity-BE").fill("2")
    form.locator("#meetings-BE").fill("2")
    form.locator("#facilitators-BE").fill(FACILITATOR)
    press(page, "#new-group-BE button[type=submit]")
    found = re.search(r"/groups/(\d+)$", page.url)
    assert found, page.url
    group_id = int(found.group(1))
    sign_out(page)

    # A member registers: not without the pledge, then with it.
    sign_in(page, MEMBER)
    page.goto(f"/groups/{group_id}")
    page.locator("#register-form button[type=submit]").click()
    assert page.locator("#pledge:invalid").count() == 1  # the browser asks for the pledge
    assert page.url.endswith(f"/groups/{group_id}")
    page.locator("#pledge").check()
    press(page, "#register-form button[type=submit]")
    assert page.locator("#my-status").is_visible()
    assert page.locator("#register-form").count() == 0
    sign_out(page)

    # The facilitator proposes three times; the second is a week after the first.
    sign_in(page, FACILITATOR)
    page.goto(f"/groups/{group_id}")
    for day in ("2040-11-13", "2040-11-20", "2040-12-04"):
        propose(page, day)
    slots = [s["id"] for s in api(page, "GET", f"/api/groups/{group_id}/availability")["slots"]]
    assert len(slots) == 3
    sign_out(page)

    # The member answers the availability poll: yes, no, if need be.
    sign_in(page, MEMBER)
    page.goto(f"/groups/{group_id}")
    for slot_id, answer in zip(slots, ("yes", "no", "maybe"), strict=True):
        page.locator(f"input[name='slot_{slot_id}'][value='{answer}']").check()
    press(page, "#availability-form button[type=submit]")
    for slot_id, answer in zip(slots, ("yes", "no", "maybe"), strict=True):
        assert page.locator(f"input[name='slot_{slot_id}'][value='{answer}']").is_checked()
    sign_out(page)

    # The facilitator sees the grid and confirms the proposed plan: 13 November and 4 December
    # (the 20th is too close to the 13th, and the member cannot come then anyway).
    sign_in(page, FACILITATOR)
    page.goto(f"/groups/{group_id}")
    assert page.locator("table.availability-grid tbody tr").count() == 1
    planned = page.locator("#plan-form input[name=slot]")
    assert [int(planned.nth(i).get_attribute("value")) for i in range(planned.count())] == [
        slots[0],
        slots[2],
    ]
    press(page, "#plan-form button[type=submit]")
    assert page.locator("#meetings tbody tr").count() == 2
    assert page.locator("#plan-form").count() == 0
    sign_out(page)

    # The member's calendar feed, fetched without a session, lists the two meetings.
    sign_in(page, MEMBER)
    page.goto("/my/groups")
    feed_url = page.locator("#feed-url").input_value()
    assert re.search(r"/calendar/\d+-[A-Za-z0-9_-]{32}\.ics$", feed_url), feed_url
    assert page.locator("#calendar-entries li").count() == 2
    anonymous = new_context()
    response = anonymous.request.get(feed_url)
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/calendar")
    events = Calendar.from_ical(response.body()).walk("VEVENT")
    starts = sorted(e.decoded("dtstart") for e in events)
    # 19:00 in Brussels in November and December is 18:00 UTC.
    assert starts == [
        datetime(2040, 11, 13, 18, tzinfo=UTC),
        datetime(2040, 12, 4, 18, tzinfo=UTC),
    ]
    assert all(THEME in str(e.get("summary")) for e in events)
    assert all("Coenraets" in str(e.get("location")) for e in events)
    # A wrong token finds nothing.
    assert anonymous.request.get(feed_url[:-8] + "AAAA.ics").status == 404
