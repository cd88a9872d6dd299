"""Working-group and info-session pages and their JSON twins: the happy paths, the calendar
feed, and bad input, which gets its form again with the message (HTML) or a problem body (JSON),
always a 4xx, and changes nothing in any table."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from icalendar import Calendar

from core import clock
from core.groups import planning
from core.groups import services as groups
from core.groups.tables import GroupRegistration, InfoSessionRegistration, Meeting, MeetingSlot
from core.notifications.relay import Relay
from core.notifications.tables import Notification, OutboxMessage
from tests.conftest import csrf_token, sign_in
from tests.groups_support import AFTER_MEETINGS, PLANNING_DAY, build_cycle, calendar, counts, member

PLEDGE = "I will take part in the whole cycle"


@pytest.fixture
async def cycle(client):
    with clock.frozen_at(PLANNING_DAY):
        yield await build_cycle(client.app.state.settings, registry=client.app.state.registry)


async def form(client, path: str, **fields):
    return await client.post(path, data={"_csrf_token": await csrf_token(client), **fields})


async def api(client, method: str, path: str, body=None):
    return await client.request(
        method, path, json=body, headers={"x-csrftoken": await csrf_token(client)}
    )


def problem(response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert words in response.json()["detail"]


# -- pages and twins ---------------------------------------------------------------------------


async def test_members_see_the_groups_register_with_the_pledge_and_withdraw(client, cycle):
    group_id = await cycle.group(capacity=1)
    listing = await client.get("/editions/2020-2021/groups")
    assert listing.status_code == 200
    assert "Accompaniment" in listing.text and "Registration is open." in listing.text
    assert (await client.get("/api/editions/2020-2021/groups")).json()[0]["id"] == group_id

    alice = await member(1)
    await sign_in(client, alice.id)
    page = await client.get(f"/groups/{group_id}")
    assert PLEDGE in page.text and 'id="register-form"' in page.text
    done = await form(client, f"/groups/{group_id}/register", pledge="yes")
    assert done.status_code == 200 and 'id="my-status"' in done.text
    assert "You have a place in this group." in done.text
    view = (await client.get(f"/api/groups/{group_id}")).json()
    assert view["registration"]["status"] == "confirmed" and view["registration_open"]
    mine = (await client.get("/api/me/groups")).json()
    assert [(g["group"]["id"], g["part"]) for g in mine] == [(group_id, "confirmed")]

    # The group is full: the next member is offered the waiting list, through the JSON twin.
    bob = await member(2)
    await sign_in(client, bob.id)
    assert "Join the waiting list" in (await client.get(f"/groups/{group_id}")).text
    full = await api(client, "POST", f"/api/groups/{group_id}/registration", {"pledge": True})
    problem(full, 409, "waiting list")
    waiting = await api(
        client,
        "POST",
        f"/api/groups/{group_id}/registration",
        {"pledge": True, "waiting_list": True},
    )
    assert waiting.status_code == 201 and waiting.json()["position"] == 1

    # Alice withdraws: Bob gets the place and an in-app notification.
    await sign_in(client, alice.id)
    assert (await form(client, f"/groups/{group_id}/withdraw")).status_code == 200
    await Relay(client.app.state.registry, client.app.state.settings).drain()
    await sign_in(client, bob.id)
    notes = (await client.get("/api/notifications")).json()["items"]
    assert [n["type"] for n in notes] == ["promoted_from_waiting_list"]
    assert notes[0]["url"] == f"/groups/{group_id}"
    assert "You have a place in this group." in (await client.get(f"/groups/{group_id}")).text


async def test_bad_registrations_show_the_form_again_and_change_nothing(client, cycle):
    be_group = await cycle.group()
    fr_group = await cycle.group("FR")
    alice = await member(1)
    await sign_in(client, alice.id)
    before = await counts()

    no_pledge = await form(client, f"/groups/{be_group}/register")
    assert no_pledge.status_code == 400
    assert 'id="group-error"' in no_pledge.text and "accept the commitment" in no_pledge.text
    assert 'id="register-form"' in no_pledge.text
    problem(
        await api(client, "POST", f"/api/groups/{be_group}/registration", {}),
        400,
        "accept the commitment",
    )

    other_country = await form(client, f"/groups/{fr_group}/register", pledge="yes")
    assert other_country.status_code == 403 and "members in France" in other_country.text
    problem(
        await api(client, "POST", f"/api/groups/{fr_group}/registration", {"pledge": True}),
        403,
        "members in France",
    )
    assert await counts() == before

    assert (await form(client, f"/groups/{be_group}/register", pledge="yes")).status_code == 200
    before = await counts()
    twice = await form(client, f"/groups/{be_group}/register", pledge="yes")
    assert twice.status_code == 409 and "already registered" in twice.text
    problem(
        await api(client, "POST", f"/api/groups/{be_group}/registration", {"pledge": True}),
        409,
        "already registered",
    )
    problem(await api(client, "POST", "/api/groups/999999/registration", {"pledge": True}), 404, "")
    malformed = await api(client, "POST", f"/api/groups/{be_group}/registration", {"pledge": 3})
    assert malformed.status_code == 400
    assert await counts() == before


async def test_registering_outside_the_phase_shows_when_it_opens(client, cycle):
    group_id = await cycle.group()
    await calendar(cycle.edition_id, registration_open=False)
    alice = await member(1)
    await sign_in(client, alice.id)
    before = await counts()
    page = await form(client, f"/groups/{group_id}/register", pledge="yes")
    assert page.status_code == 403 and "opens on" in page.text
    assert "Registration for this group is not open." in page.text
    problem(
        await api(client, "POST", f"/api/groups/{group_id}/registration", {"pledge": True}),
        403,
        "opens on",
    )
    assert await counts() == before


async def test_bad_slots_show_the_form_again_and_change_nothing(client, cycle):
    group_id = await cycle.group()
    await sign_in(client, cycle.facilitator.id)
    good = {"day": "2020-11-17", "start": "19:00", "duration": "180", "mode": "in_person"}
    added = await form(client, f"/groups/{group_id}/slots", place="Rue Coenraets 72", **good)
    assert added.status_code == 200 and "Rue Coenraets 72" in added.text
    before = await counts()

    outside = await form(
        client, f"/groups/{group_id}/slots", **{**good, "day": "2021-06-01"}, place="Rue X 1"
    )
    assert outside.status_code == 400 and "from 1 November 2020 to 30 April 2021" in outside.text
    assert 'id="slot-form"' in outside.text and 'value="2021-06-01"' in outside.text
    overlapping = await form(
        client, f"/groups/{group_id}/slots", **{**good, "start": "20:30"}, place="Rue X 1"
    )
    assert overlapping.status_code == 409 and "overlaps" in overlapping.text
    garbled = await form(client, f"/groups/{group_id}/slots", **{**good, "day": "17/11"})
    assert garbled.status_code == 400 and "day and the start time" in garbled.text

    slot = {"duration_minutes": 180, "mode": "in_person", "place": "Rue X 1"}
    problem(
        await api(
            client,
            "POST",
            f"/api/groups/{group_id}/slots",
            {**slot, "starts_at": "2021-05-04T19:00:00"},
        ),
        400,
        "from 1 November 2020 to 30 April 2021",
    )
    problem(
        await api(
            client,
            "POST",
            f"/api/groups/{group_id}/slots",
            {**slot, "starts_at": "2020-11-17T21:00:00"},
        ),
        409,
        "overlaps",
    )
    bad_date = await api(
        client, "POST", f"/api/groups/{group_id}/slots", {**slot, "starts_at": "soon"}
    )
    assert bad_date.status_code == 400
    assert await counts() == before
    # A member who does not run the group may not propose slots.
    await sign_in(client, (await member(5)).id)
    refused = await form(client, f"/groups/{group_id}/slots", place="Rue X 1", **good)
    assert refused.status_code == 403
    assert await MeetingSlot.count() == 1


async def test_from_availability_to_meetings_attendance_and_the_calendar_feed(client, cycle):
    group_id = await cycle.group(capacity=2)
    alice, bob = await member(1), await member(2)
    for m in (alice, bob):
        await groups.register(cycle.rules, m, group_id, pledge=True)
    await sign_in(client, cycle.facilitator.id)
    days = ["2020-11-10", "2020-11-12", "2020-11-26", "2020-12-10", "2021-01-14", "2021-02-04"]
    for day in days:
        added = await api(
            client,
            "POST",
            f"/api/groups/{group_id}/slots",
            {"starts_at": f"{day}T19:00:00", "duration_minutes": 180, "place": "Rue Coenraets 72"},
        )
        assert added.status_code == 201, added.text
    slots = (await client.get(f"/api/groups/{group_id}/availability")).json()["slots"]
    ids = [s["id"] for s in slots]

    await sign_in(client, alice.id)
    answers = {f"slot_{i}": "yes" for i in ids} | {f"slot_{ids[0]}": "no"}
    assert (await form(client, f"/groups/{group_id}/availability", **answers)).status_code == 200
    bad = await form(client, f"/groups/{group_id}/availability", **{f"slot_{ids[0]}": "perhaps"})
    assert bad.status_code == 400 and 'id="availability-form"' in bad.text
    await sign_in(client, bob.id)
    twin = await api(
        client,
        "PUT",
        f"/api/groups/{group_id}/availability",
        {"answers": {str(i): "maybe" for i in ids}},
    )
    assert twin.status_code == 200 and twin.json()["grid"] == []  # the grid is the facilitator's

    await sign_in(client, cycle.facilitator.id)
    page = await client.get(f"/groups/{group_id}")
    assert "Expected attendance" in page.text and 'id="plan-form"' in page.text
    availability = (await client.get(f"/api/groups/{group_id}/availability")).json()
    assert availability["plan"]["slot_ids"] == ids[1:]  # 10 November: Alice cannot
    assert availability["plan"]["expected_attendance"] == 5 * 1.5
    confirmed = await form(
        client, f"/groups/{group_id}/plan", slot=[str(i) for i in availability["plan"]["slot_ids"]]
    )
    assert confirmed.status_code == 200 and 'id="meetings"' in confirmed.text
    assert await Meeting.count() == 5
    problem(await api(client, "POST", f"/api/groups/{group_id}/plan", {}), 409, "scheduled")

    # Attendance of the first meeting (in 2020: it has taken place).
    meetings = (await client.get(f"/api/groups/{group_id}/meetings")).json()
    with clock.frozen_at(AFTER_MEETINGS):
        recorded = await form(
            client,
            f"/groups/{group_id}/meetings/{meetings[0]['id']}/attendance",
            present=[str(alice.id)],
        )
        twin = await api(
            client, "PUT", f"/api/meetings/{meetings[1]['id']}/attendance", {"present": []}
        )
    assert recorded.status_code == 200 and 'id="attendance-table"' in recorded.text
    assert (twin.json()["present"], twin.json()["recorded"]) == (0, 2)
    figures = (await client.get("/api/editions/2020-2021/groups/figures")).json()
    assert (figures[0]["present"], figures[0]["recorded"]) == (1, 4)
    edition_page = await client.get("/editions/2020-2021")
    assert 'class="attendance-rate"' in edition_page.text and "25%" in edition_page.text

    # Alice's calendar feed: her five meetings, without a session.
    await sign_in(client, alice.id)
    mine = (await client.get("/api/me/calendar")).json()
    assert len(mine["entries"]) == 5
    feed = mine["feed_url"].removeprefix("http://127.0.0.1:8000")
    assert feed in (await client.get("/my/groups")).text
    client.cookies.clear()
    response = await client.get(feed)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    events = Calendar.from_ical(response.content).walk("VEVENT")
    assert len(events) == 5
    starts = sorted(e.decoded("dtstart") for e in events)
    assert [s.isoformat() for s in starts][0] == "2020-11-12T18:00:00+00:00"
    assert all(str(e.get("location")) == "Rue Coenraets 72" for e in events)
    assert (await client.get(feed.replace(".ics", "x.ics"))).status_code == 404
    assert (await client.get(feed[:-8] + "AAAAAAA.ics")).status_code == 404
    # A new address retires the old one.
    await sign_in(client, alice.id)
    renewed = (await api(client, "POST", "/api/me/calendar/feed")).json()["feed_url"]
    client.cookies.clear()
    assert (await client.get(feed)).status_code == 404
    assert (await client.get(renewed.removeprefix("http://127.0.0.1:8000"))).status_code == 200


async def test_operators_create_groups_through_the_form_and_bad_input_changes_nothing(
    client, cycle
):
    await sign_in(client, cycle.op_be.id)
    page = await client.get("/editions/2020-2021/groups")
    assert 'id="new-group-BE"' in page.text and 'id="new-group-FR"' not in page.text
    fields = {
        "country": "BE",
        "theme_id": str(cycle.theme_id),
        "locality": "Ghent",
        "language": "nl",
        "capacity": "10",
        "meeting_count": "5",
        "facilitators": cycle.facilitator.email,
    }
    before = await counts()
    for change, status, words in (
        ({"capacity": "many"}, 400, "whole number"),
        ({"locality": "Lyon"}, 400, "where the group meets"),
        ({"facilitators": "nobody@example.org"}, 400, "no member"),
        ({"country": "FR"}, 403, "Only operators of FR"),
    ):
        response = await form(client, "/editions/2020-2021/groups", **{**fields, **change})
        assert response.status_code == status, (change, response.text)
        assert words in response.text and 'id="group-error"' in response.text
    problem(
        await api(
            client,
            "POST",
            "/api/editions/2020-2021/groups",
            {**fields, "theme_id": cycle.theme_id, "capacity": 0, "facilitators": []},
        ),
        400,
        "room for",
    )
    assert await counts() == before
    created = await form(client, "/editions/2020-2021/groups", **fields)
    assert created.status_code == 200 and "Ghent" in created.text
    assert len(await groups.list_groups(cycle.edition_id)) == 1


async def test_info_sessions_registration_reminder_and_calendar(client, cycle):
    starts = (clock.now() + timedelta(days=10)).replace(second=0, microsecond=0)
    await sign_in(client, cycle.op_be.id)
    local = groups.local(starts, "BE")
    published = await form(
        client,
        "/editions/2020-2021/info-sessions",
        country="BE",
        title="Smart in Progress: how it works",
        description="A presentation, then your questions.",
        language="fr",
        day=local.date().isoformat(),
        start=local.strftime("%H:%M"),
        duration="90",
        mode="online",
        place="https://meet.example.org/sip-info",
        capacity="1",
    )
    assert published.status_code == 200, published.text
    sessions = (await client.get("/api/editions/2020-2021/info-sessions")).json()
    (session,) = sessions
    assert session["starts_at"].startswith(starts.strftime("%Y-%m-%dT%H:%M"))
    before = await counts()
    past = await api(
        client,
        "POST",
        "/api/editions/2020-2021/info-sessions",
        {"country": "BE", "title": "Too late", "starts_at": "2020-10-01T10:00:00", "place": "x"},
    )
    problem(past, 400, "before it starts")
    assert await counts() == before

    alice = await member(1)
    await sign_in(client, alice.id)
    done = await form(client, f"/info-sessions/{session['id']}/register")
    assert done.status_code == 200 and 'id="my-status"' in done.text
    (message,) = await OutboxMessage.select().where(
        OutboxMessage.event_type == "info_session_reminder"
    )
    assert message["next_attempt_at"] == starts - timedelta(hours=24)
    relay = Relay(client.app.state.registry, client.app.state.settings)
    await relay.drain()
    assert await Notification.count() == 0  # held back until the day before
    entries = (await client.get("/api/me/calendar")).json()["entries"]
    assert [e["uid"] for e in entries] == [f"info-session-{session['id']}"]

    bob = await member(2)
    await sign_in(client, bob.id)
    full = await form(client, f"/info-sessions/{session['id']}/register")
    assert full.status_code == 409 and "full" in full.text
    fr = await member(3, "FR")
    await sign_in(client, fr.id)
    problem(
        await api(client, "POST", f"/api/info-sessions/{session['id']}/registration"),
        403,
        "members in Belgium",
    )
    assert await InfoSessionRegistration.count() == 1

    later = Relay(
        client.app.state.registry,
        client.app.state.settings,
        now=lambda: starts - timedelta(hours=23),
    )
    await later.drain()
    assert await Notification.count() == 1
    await sign_in(client, alice.id)
    gone = await api(client, "DELETE", f"/api/info-sessions/{session['id']}/registration")
    assert gone.status_code == 200 and gone.json()["mine"] is False
    assert (
        await InfoSessionRegistration.count().where(InfoSessionRegistration.cancelled_at.is_null())
        == 0
    )


async def test_unregistering_takes_the_pending_reminder_back(client, cycle):
    starts = clock.now() + timedelta(days=3)
    await sign_in(client, cycle.op_be.id)
    created = await api(
        client,
        "POST",
        "/api/editions/2020-2021/info-sessions",
        {
            "country": "BE",
            "title": "Info session",
            "starts_at": starts.isoformat(),
            "place": "https://meet.example.org/x",
        },
    )
    assert created.status_code == 201, created.text
    session_id = created.json()["id"]
    alice = await member(1)
    await sign_in(client, alice.id)
    assert (
        await api(client, "POST", f"/api/info-sessions/{session_id}/registration")
    ).status_code == 201
    assert await OutboxMessage.count() == 1
    assert (await form(client, f"/info-sessions/{session_id}/unregister")).status_code == 200
    assert await OutboxMessage.count() == 0
    # Registering again writes a new reminder.
    assert (await form(client, f"/info-sessions/{session_id}/register")).status_code == 200
    assert await OutboxMessage.count() == 1
    assert await GroupRegistration.count() == 0


async def test_the_json_twins_are_in_the_schema_and_online_links_stay_in_the_group(client, cycle):
    paths = set((await client.get("/schema/openapi.json")).json()["paths"])
    for path in (
        "/api/editions/{slug}/groups",
        "/api/editions/{slug}/groups/figures",
        "/api/groups/{group_id}",
        "/api/groups/{group_id}/registration",
        "/api/groups/{group_id}/withdrawal",
        "/api/groups/{group_id}/availability",
        "/api/groups/{group_id}/slots",
        "/api/groups/{group_id}/plan",
        "/api/groups/{group_id}/meetings",
        "/api/groups/{group_id}/attendance",
        "/api/meetings/{meeting_id}/attendance",
        "/api/me/groups",
        "/api/me/calendar",
        "/api/editions/{slug}/info-sessions",
        "/api/info-sessions/{session_id}",
        "/api/info-sessions/{session_id}/registration",
    ):
        assert path in paths, path
    assert not any(p.startswith(("/groups", "/calendar", "/my/")) for p in paths)

    group_id = await cycle.group(locality="online", meeting_count=1)
    link = "https://meet.example.org/sip-online"
    await planning.add_slot(
        cycle.facilitator,
        group_id,
        planning.SlotIn(
            starts_at=datetime(2020, 11, 17, 19),
            mode="online",
            place=link,
        ),
    )
    anonymous = (await client.get(f"/api/groups/{group_id}/availability")).json()
    assert anonymous["slots"][0]["place"] == ""
    alice = await member(1)
    await groups.register(cycle.rules, alice, group_id, pledge=True)
    await sign_in(client, alice.id)
    assert (await client.get(f"/api/groups/{group_id}/availability")).json()["slots"][0][
        "place"
    ] == link
    await planning.confirm_plan(cycle.rules, cycle.facilitator, group_id)
    assert (await client.get(f"/api/groups/{group_id}/meetings")).json()[0]["place"] == link
    client.cookies.clear()
    assert (await client.get(f"/api/groups/{group_id}")).json()["meetings"][0]["place"] == ""
    assert link not in (await client.get(f"/groups/{group_id}")).text


async def test_extreme_input_gets_a_4xx_never_a_500(client, cycle):
    group_id = await cycle.group()
    await sign_in(client, cycle.facilitator.id)
    big = 99_999_999_999
    before = await counts()
    for method, path, body in (
        ("POST", f"/api/groups/{group_id}/slots", {"starts_at": "0001-01-01T00:00:00"}),
        ("POST", f"/api/groups/{group_id}/slots", {"starts_at": "9999-12-31T23:59:59+14:00"}),
        (
            "POST",
            f"/api/groups/{group_id}/slots",
            {"starts_at": "2020-11-17T19:00:00", "duration_minutes": big},
        ),
        ("PUT", f"/api/groups/{group_id}/availability", {"answers": {str(big): "yes"}}),
        ("POST", f"/api/groups/{group_id}/plan", {"slot_ids": [big]}),
        ("PUT", f"/api/meetings/{big}/attendance", {"present": [big]}),
        ("DELETE", f"/api/groups/{group_id}/slots/{big}", None),
        ("GET", f"/api/groups/{big}", None),
        ("GET", f"/api/info-sessions/{big}", None),
        (
            "POST",
            "/api/editions/2020-2021/groups",
            {
                "theme_id": big,
                "country": "BE",
                "locality": "x",
                "language": "fr",
                "capacity": big,
                "facilitators": [],
            },
        ),
        (
            "POST",
            "/api/editions/2020-2021/info-sessions",
            {
                "country": "BE",
                "title": "Far",
                "starts_at": "0001-01-01T00:00:00",
                "place": "x",
                "capacity": big,
            },
        ),
    ):
        response = await api(client, method, path, body)
        assert 400 <= response.status_code < 500, (path, body, response.text)
    for path, fields in (
        (f"/groups/{group_id}/slots", {"day": "0001-01-01", "start": "00:00", "duration": "180"}),
        (f"/groups/{group_id}/availability", {f"slot_{big}": "yes", "slot_x": "no"}),
        (f"/groups/{group_id}/plan", {"slot": str(big)}),
        (f"/groups/{group_id}/meetings/{big}/attendance", {"present": "1"}),
        (f"/groups/{group_id}/slots/{big}/remove", {}),
    ):
        response = await form(client, path, **fields)
        assert 400 <= response.status_code < 500, (path, response.text)
    feeds = ("/calendar/99999999999-" + "A" * 32 + ".ics", "/calendar/x.ics", "/calendar/1-..ics")
    for feed in feeds:
        assert (await client.get(feed)).status_code == 404
    assert await counts() == before
