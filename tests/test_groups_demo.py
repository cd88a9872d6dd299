"""The demo's 2020-2021 working groups keep the rules the services enforce."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from core.editions.services import get_edition
from core.groups import planning
from core.groups import services as groups
from core.groups.info_sessions import list_info_sessions
from core.groups.tables import Attendance, GroupRegistration, Meeting
from core.plugins import build_registry
from core.rules import Rules
from core.themes.tables import Theme
from plugins.demo import seed_demo
from tests.groups_support import counts

pytestmark = pytest.mark.usefixtures("database")


async def test_the_2020_2021_groups_follow_the_rules(database):
    assert await seed_demo(database) is True
    rules = Rules(build_registry(database), database)
    edition = await get_edition("2020-2021")
    listed = await groups.list_groups(edition.id, "en")
    assert {g.country for g in listed} == {"BE", "FR"}
    assert len(listed) == 6
    # Sharing economy was extended in France only: only France has a group on it.
    sharing = [g for g in listed if g.title.startswith("Sharing economy")]
    assert [g.country for g in sharing] == ["FR"]
    flagged = 0
    for group in listed:
        assert group.confirmed <= group.capacity
        assert group.waiting == 0 or group.confirmed == group.capacity
        assert group.facilitators
        theme = await Theme.select(Theme.edition).where(Theme.id == group.theme_id).first()
        assert theme["edition"] == edition.id
        # The meetings are the plan chosen from the answers, November to April, 2 weeks apart.
        availability = await planning.availability(group, None)
        meetings = await planning.meetings_of(group.id)
        assert group.scheduled_at is not None and len(meetings) == 5
        slots = {s.id: s for s in availability.slots}
        assert [slots[i].starts_at for i in availability.plan.slot_ids] == [
            m.starts_at for m in meetings
        ]
        days = [groups.local(m.starts_at, group.country).date() for m in meetings]
        assert days[0] >= datetime(2020, 11, 1).date() and days[-1] <= datetime(2021, 4, 30).date()
        assert all(b - a >= timedelta(days=14) for a, b in zip(days, days[1:], strict=False))
        # Attendance is recorded for every meeting and every participant, and only for them.
        attendance = await planning.group_attendance(rules, group)
        participants = {p.id for p in await groups.participants(group.id)}
        assert all(m.recorded == len(participants) for m in meetings)
        assert {p.member_id for p in attendance.participants} == participants
        flagged += sum(p.flagged for p in attendance.participants)
    assert flagged >= 1  # someone drifted away: the facilitators see it
    assert any(g.waiting for g in listed)  # a full group with its waiting list

    active = [
        r["member"]
        for r in await GroupRegistration.select(GroupRegistration.member).where(
            (GroupRegistration.edition == edition.id) & (GroupRegistration.status != "withdrawn")
        )
    ]
    assert len(active) == len(set(active))  # one group per member and edition
    assert await Attendance.count() > 0 and await Meeting.count() == 30

    figures = {f.country: f for f in await planning.edition_figures(edition.id)}
    assert figures["BE"].rate is not None and 0.5 < figures["BE"].rate < 1

    sessions = await list_info_sessions(edition.id)
    assert {s.country for s in sessions} == {"BE", "FR"}
    for session in sessions:
        local = groups.local(session.starts_at, session.country)
        assert (local.date().isoformat(), local.strftime("%H:%M")) == ("2020-12-16", "10:00")
        assert groups.local(session.ends_at, session.country).strftime("%H:%M") == "11:30"
        assert session.mode == "online" and session.registered > 0

    seeded = await counts()
    assert await seed_demo(database) is False
    assert await counts() == seeded


async def test_demo_pages_show_the_groups_and_their_attendance(client):
    await seed_demo(client.app.state.settings)
    page = await client.get("/editions/2020-2021/groups")
    assert page.status_code == 200 and "Ghent" in page.text
    edition = await client.get("/editions/2020-2021")
    assert 'class="attendance-rate"' in edition.text
    listed = (await client.get("/api/editions/2020-2021/groups")).json()
    for group in listed:
        response = await client.get(f"/groups/{group['id']}")
        assert response.status_code == 200
        assert 'id="meetings"' in response.text
    sessions = (await client.get("/api/editions/2020-2021/info-sessions")).json()
    assert (await client.get(f"/info-sessions/{sessions[0]['id']}")).status_code == 200
