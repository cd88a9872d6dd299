"""Working groups, without HTTP: creating groups, registering with the commitment, the waiting
list (also under concurrent withdrawals and registrations), candidate slots, the plan of
meetings, attendance and the commitment flag, and the notifications each step writes.

Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, date, datetime, timedelta

import pytest

from core import clock
from core.editions import services as editions
from core.errors import Conflict, Forbidden, InvalidInput
from core.groups import planning
from core.groups import services as groups
from core.groups.planning import SlotIn
from core.groups.tables import (
    Attendance,
    GroupRegistration,
    Meeting,
    MeetingSlot,
    SlotAnswer,
    WorkingGroup,
)
from core.notifications.tables import NotificationEvent, OutboxMessage
from core.themes import services as themes
from tests.groups_support import AFTER_MEETINGS, PLANNING_DAY, build_cycle, calendar, counts, member


@pytest.fixture
async def cycle(pooled):
    with clock.frozen_at(PLANNING_DAY):
        yield await build_cycle(pooled)


async def outbox(event_type: str) -> list[tuple[int, str]]:
    rows = await OutboxMessage.select(OutboxMessage.member, OutboxMessage.channel).where(
        OutboxMessage.event_type == event_type
    )
    return sorted((r["member"], r["channel"]) for r in rows)


def slot_at(day: str, hour: int = 19, mode: str = "in_person", place: str = "Rue Coenraets 72"):
    return SlotIn(
        starts_at=datetime.fromisoformat(f"{day}T{hour:02d}:00"),
        duration_minutes=180,
        mode=mode,
        place=place,
    )


# -- groups ------------------------------------------------------------------------------------


async def test_an_operator_creates_a_group_of_a_theme_that_runs_in_the_country(cycle):
    group_id = await cycle.group(capacity=12)
    group = await groups.get_group(group_id, "fr")
    assert (group.title, group.country, group.locality, group.capacity) == (
        "Accompagnement",
        "BE",
        "Brussels",
        12,
    )
    assert [f.name for f in group.facilitators] == ["A Member"]
    assert group.meeting_count == 5 and (group.confirmed, group.waiting) == (0, 0)


async def test_group_creation_refuses_what_the_track_and_roles_do_not_allow(cycle):
    def make(**changes):
        fields = dict(
            theme_id=cycle.theme_id,
            country="BE",
            locality="Brussels",
            language="nl",
            capacity=10,
            facilitators=[cycle.facilitator.email],
        )
        fields.update(changes)
        return groups.GroupCreate(**fields)

    plain = await member(1)
    before = await counts()
    for actor, data, error in (
        (cycle.op_fr, make(), Forbidden),  # another country's operator
        (plain, make(), Forbidden),
        (cycle.op_be, make(locality="Paris"), InvalidInput),  # not a BE locality
        (cycle.op_be, make(language="en"), InvalidInput),  # BE groups meet in nl or fr
        (cycle.op_be, make(capacity=0), InvalidInput),
        (cycle.op_be, make(meeting_count=40), InvalidInput),
        (cycle.op_be, make(facilitators=[]), InvalidInput),
        (cycle.op_be, make(facilitators=[plain.email]), InvalidInput),  # not a facilitator
        (cycle.op_be, make(theme_id=999_999), InvalidInput),
        (cycle.op_be, make(country="XX"), InvalidInput),
    ):
        with pytest.raises(error):
            await groups.create_group(cycle.rules, actor, cycle.edition_id, data)
    assert await counts() == before


# -- registrations -----------------------------------------------------------------------------


async def test_registering_needs_the_pledge_and_is_confirmed_and_notified(cycle):
    group_id = await cycle.group()
    alice = await member(1)
    with pytest.raises(InvalidInput, match="commitment"):
        await groups.register(cycle.rules, alice, group_id, pledge=False)
    assert await GroupRegistration.count() == 0
    registration = await groups.register(cycle.rules, alice, group_id, pledge=True)
    assert (registration.status, registration.position) == ("confirmed", None)
    row = await GroupRegistration.select().first()
    assert row["pledged_at"] is not None and row["confirmed_at"] is not None
    assert await outbox("registration_confirmed") == [(alice.id, "in_app")]


async def test_bad_registrations_are_refused_and_change_nothing(cycle):
    be_group = await cycle.group()
    fr_group = await cycle.group("FR")
    alice = await member(1)
    await groups.register(cycle.rules, alice, be_group, pledge=True)
    before = await counts()
    with pytest.raises(Conflict, match="already registered"):
        await groups.register(cycle.rules, alice, be_group, pledge=True)
    with pytest.raises(Forbidden, match="members in France"):
        await groups.register(cycle.rules, alice, fr_group, pledge=True)
    other_be = await cycle.group(locality="online")
    with pytest.raises(Conflict, match="as many as a member may hold"):
        await groups.register(cycle.rules, alice, other_be, pledge=True)
    assert await counts() == {
        **before,
        "working_group": before["working_group"] + 1,
        "group_facilitator": before["group_facilitator"] + 1,
        "audit_entry": before["audit_entry"] + 1,  # the group's creation
        "audit_personal": before["audit_personal"] + 1,  # its actor's label, kept apart
    }


async def test_a_facilitator_is_not_offered_a_place_in_their_own_group(cycle):
    group_id = await cycle.group()
    before = await counts()
    with pytest.raises(Conflict, match="You facilitate this working group"):
        await groups.register(cycle.rules, cycle.facilitator, group_id, pledge=True)
    with pytest.raises(Conflict, match="You facilitate this working group"):
        await groups.register(
            cycle.rules, cycle.facilitator, group_id, pledge=True, waiting_list=True
        )
    assert await counts() == before


async def test_registering_outside_the_registration_phase_is_refused(cycle):
    group_id = await cycle.group()
    await calendar(cycle.edition_id, registration_open=False)
    late = await member(1)
    before = await counts()
    with pytest.raises(Forbidden, match="opens on"):
        await groups.register(cycle.rules, late, group_id, pledge=True)
    assert await counts() == before


async def test_a_full_group_offers_its_waiting_list_and_a_withdrawal_promotes_the_first(cycle):
    group_id = await cycle.group(capacity=2)
    a, b, c, d = [await member(n) for n in range(4)]
    for m in (a, b):
        await groups.register(cycle.rules, m, group_id, pledge=True)
    with pytest.raises(Conflict, match="waiting list"):
        await groups.register(cycle.rules, c, group_id, pledge=True)  # not asked for
    third = await groups.register(cycle.rules, c, group_id, pledge=True, waiting_list=True)
    fourth = await groups.register(cycle.rules, d, group_id, pledge=True, waiting_list=True)
    assert (third.status, third.position, fourth.position) == ("waiting", 1, 2)
    assert await outbox("registration_confirmed") == sorted([(a.id, "in_app"), (b.id, "in_app")])

    await groups.withdraw(cycle.rules, b, group_id)
    assert (await groups.registration_of(c.id, group_id)).status == "confirmed"
    assert (await groups.registration_of(d.id, group_id)).position == 1
    assert await outbox("promoted_from_waiting_list") == [(c.id, "in_app")]
    promoted = await GroupRegistration.select().where(GroupRegistration.member == c.id).first()
    assert promoted["promoted_at"] is not None

    # Leaving the waiting list frees no place and promotes nobody.
    await groups.withdraw(cycle.rules, d, group_id)
    assert await outbox("promoted_from_waiting_list") == [(c.id, "in_app")]
    with pytest.raises(Conflict, match="not registered"):
        await groups.withdraw(cycle.rules, d, group_id)
    # A member who withdrew may register again.
    again = await groups.register(cycle.rules, b, group_id, pledge=True, waiting_list=True)
    assert again.status == "waiting"


async def test_concurrent_withdrawals_and_registrations_never_overfill_a_group(cycle):
    """Many registrations and withdrawals at once, in several rounds: the group never has more
    participants than places, and never a free place while somebody waits."""
    capacity = 5
    group_id = await cycle.group(capacity=capacity)
    people = [await member(n) for n in range(60)]
    rng = random.Random(6)
    registered: set[int] = set()

    async def register(m):
        try:
            await groups.register(cycle.rules, m, group_id, pledge=True, waiting_list=True)
            return True
        except Conflict:
            return False

    async def withdraw(m):
        try:
            await groups.withdraw(cycle.rules, m, group_id)
            return True
        except Conflict:
            return False

    for _round in range(4):
        newcomers = [m for m in people if m.id not in registered]
        joining = rng.sample(newcomers, 12)
        leaving = rng.sample([m for m in people if m.id in registered], min(8, len(registered)))
        calls = [register(m) for m in joining] + [withdraw(m) for m in leaving]
        calls += [register(m) for m in joining[:4]]  # double submits
        rng.shuffle(calls)
        await asyncio.gather(*calls)
        registered = {
            r["member"]
            for r in await GroupRegistration.select(GroupRegistration.member).where(
                GroupRegistration.status.is_in(["confirmed", "waiting"])
            )
        }
        group = await groups.get_group(group_id)
        assert group.confirmed <= capacity
        assert group.confirmed == min(capacity, group.confirmed + group.waiting)
        assert group.confirmed + group.waiting == len(registered)
    rows = await GroupRegistration.select(
        GroupRegistration.member, GroupRegistration.status, GroupRegistration.promoted_at
    )
    active = [r["member"] for r in rows if r["status"] != "withdrawn"]
    assert len(active) == len(set(active))  # nobody holds two places in one group
    promotions = sum(1 for r in rows if r["promoted_at"] is not None)
    assert promotions > 0
    events = await NotificationEvent.count().where(
        NotificationEvent.event_type == "promoted_from_waiting_list"
    )
    assert events == promotions  # every promotion was notified, once


async def test_one_member_registering_for_two_groups_at_once_gets_one(cycle):
    first, second = await cycle.group(), await cycle.group(locality="online")
    alice = await member(1)

    async def register(group_id):
        try:
            return await groups.register(cycle.rules, alice, group_id, pledge=True)
        except Conflict:
            return None

    results = await asyncio.gather(*(register(g) for g in [first, second] * 10))
    assert sum(r is not None for r in results) == 1
    assert await GroupRegistration.count() == 1


# -- slots, answers and the plan ---------------------------------------------------------------


async def scheduled_group(cycle, capacity=4):
    group_id = await cycle.group(capacity=capacity)
    people = [await member(n) for n in range(capacity)]
    for m in people:
        await groups.register(cycle.rules, m, group_id, pledge=True)
    return group_id, people


async def test_slots_are_between_november_and_april_and_do_not_overlap(cycle):
    group_id = await cycle.group()
    first = await planning.add_slot(cycle.facilitator, group_id, slot_at("2020-11-17"))
    # Brussels local time: 19:00 in November is 18:00 UTC.
    assert first.starts_at == datetime(2020, 11, 17, 18, tzinfo=UTC)
    before = await counts()
    for bad, error, message in (
        (slot_at("2020-10-31"), InvalidInput, "from 1 November 2020 to 30 April 2021"),
        (slot_at("2021-05-03"), InvalidInput, "from 1 November 2020 to 30 April 2021"),
        (slot_at("2021-04-30", hour=23), InvalidInput, "from 1 November 2020 to 30 April 2021"),
        (slot_at("2020-11-17", hour=21), Conflict, "overlaps"),
        (slot_at("2020-11-17", hour=17), Conflict, "overlaps"),
        (slot_at("2020-12-01", mode="online", place="not a link"), InvalidInput, "link"),
        (slot_at("2020-12-01", mode="by pigeon"), InvalidInput, "in person or online"),
        (slot_at("2020-12-01", place="x"), InvalidInput, "address"),
    ):
        with pytest.raises(error, match=message):
            await planning.add_slot(cycle.facilitator, group_id, bad)
    long = slot_at("2020-12-01")
    long.duration_minutes = 900
    with pytest.raises(InvalidInput, match="lasts"):
        await planning.add_slot(cycle.facilitator, group_id, long)
    with pytest.raises(Forbidden):
        await planning.add_slot(cycle.op_fr, group_id, slot_at("2020-12-01"))
    assert await counts() == before
    # Right after the other one ends is fine.
    await planning.add_slot(cycle.facilitator, group_id, slot_at("2020-11-17", hour=22))
    online = await cycle.group(locality="online")
    with pytest.raises(InvalidInput, match="meets online"):
        await planning.add_slot(cycle.facilitator, online, slot_at("2020-12-01"))


async def test_participants_answer_the_slots_and_the_plan_maximises_expected_attendance(cycle):
    group_id, people = await scheduled_group(cycle)
    days = ["2020-11-10", "2020-11-12", "2020-11-26", "2020-12-10", "2021-01-14", "2021-02-04"]
    slots = [(await planning.add_slot(cycle.facilitator, group_id, slot_at(d))).id for d in days]
    days += ["2021-03-04"]
    slots.append(
        (
            await planning.add_slot(
                cycle.facilitator,
                group_id,
                slot_at(days[-1], mode="online", place="https://meet.example.org/sip"),
            )
        ).id
    )
    # 12 November suits everybody better than 10 November; 4 March online is the fifth.
    table = {
        slots[0]: "ynnn",
        slots[1]: "yyyy",
        slots[2]: "yyym",
        slots[3]: "yymn",
        slots[4]: "yyyy",
        slots[5]: "nnnn",
        slots[6]: "yyyn",
    }
    letters = {"y": "yes", "m": "maybe", "n": "no"}
    for i, person in enumerate(people):
        await planning.answer_slots(
            person, group_id, {s: letters[row[i]] for s, row in table.items()}
        )
    availability = await planning.availability(await groups.get_group(group_id), cycle.facilitator)
    assert availability.plan.slot_ids == [slots[1], slots[2], slots[3], slots[4], slots[6]]
    assert availability.plan.expected_attendance == 4 + 3.5 + 2.5 + 4 + 3
    assert [row.name for row in availability.grid] == [p.name for p in people]
    assert {s.id: s.expected for s in availability.slots}[slots[2]] == 3.5
    # A participant sees their own answers, not the grid.
    mine = await planning.availability(await groups.get_group(group_id), people[3])
    assert mine.grid == [] and mine.mine[slots[2]] == "maybe"

    outsider = await member(77)
    before = await counts()
    with pytest.raises(InvalidInput):
        await planning.answer_slots(people[0], group_id, {slots[0]: "perhaps"})
    with pytest.raises(InvalidInput):
        await planning.answer_slots(people[0], group_id, {999_999: "yes"})
    with pytest.raises(Forbidden):
        await planning.answer_slots(outsider, group_id, {slots[0]: "yes"})
    assert await counts() == before

    meetings = await planning.confirm_plan(cycle.rules, cycle.facilitator, group_id)
    assert [m.number for m in meetings] == [1, 2, 3, 4, 5]
    assert [m.starts_at.date().isoformat() for m in meetings] == [
        "2020-11-12",
        "2020-11-26",
        "2020-12-10",
        "2021-01-14",
        "2021-03-04",
    ]
    assert meetings[-1].mode == "online"
    audience = sorted([p.id for p in people] + [cycle.facilitator.id])
    assert [m for m, _c in await outbox("meetings_scheduled")] == audience
    # Confirmed is confirmed: no second plan, no more slots or answers.
    with pytest.raises(Conflict):
        await planning.confirm_plan(cycle.rules, cycle.facilitator, group_id)
    with pytest.raises(Conflict):
        await planning.add_slot(cycle.facilitator, group_id, slot_at("2021-04-01"))
    with pytest.raises(Conflict):
        await planning.answer_slots(people[0], group_id, {slots[0]: "yes"})
    assert await Meeting.count() == 5


async def test_a_facilitator_may_confirm_a_plan_of_their_own_if_it_keeps_the_rules(cycle):
    group_id, _people = await scheduled_group(cycle, capacity=1)
    await WorkingGroup.update({WorkingGroup.meeting_count: 2}).where(WorkingGroup.id == group_id)
    a = (await planning.add_slot(cycle.facilitator, group_id, slot_at("2020-11-10"))).id
    b = (await planning.add_slot(cycle.facilitator, group_id, slot_at("2020-11-17"))).id
    c = (await planning.add_slot(cycle.facilitator, group_id, slot_at("2020-12-01"))).id
    before = await counts()
    for bad in ([a, b], [a], [a, 999_999]):  # a week apart, too few, not a slot of the group
        with pytest.raises(InvalidInput):
            await planning.confirm_plan(cycle.rules, cycle.facilitator, group_id, bad)
    with pytest.raises(Forbidden):
        await planning.confirm_plan(cycle.rules, cycle.op_fr, group_id, [a, c])
    assert await counts() == before
    meetings = await planning.confirm_plan(cycle.rules, cycle.op_be, group_id, [c, b])
    assert [m.starts_at.date().isoformat() for m in meetings] == ["2020-11-17", "2020-12-01"]


async def test_confirming_without_enough_slots_is_refused(cycle):
    group_id, _people = await scheduled_group(cycle, capacity=1)
    await planning.add_slot(cycle.facilitator, group_id, slot_at("2020-11-10"))
    with pytest.raises(Conflict, match="two weeks apart"):
        await planning.confirm_plan(cycle.rules, cycle.facilitator, group_id)
    assert await Meeting.count() == 0


async def test_two_facilitators_confirming_at_once_make_one_plan(cycle):
    group_id, _people = await scheduled_group(cycle, capacity=1)
    await WorkingGroup.update({WorkingGroup.meeting_count: 1}).where(WorkingGroup.id == group_id)
    await planning.add_slot(cycle.facilitator, group_id, slot_at("2020-11-10"))

    async def confirm(actor):
        try:
            return await planning.confirm_plan(cycle.rules, actor, group_id)
        except Conflict:
            return None

    results = await asyncio.gather(*(confirm(a) for a in [cycle.facilitator, cycle.op_be] * 5))
    assert sum(r is not None for r in results) == 1
    assert await Meeting.count() == 1
    assert (
        await NotificationEvent.count().where(NotificationEvent.event_type == "meetings_scheduled")
        == 1
    )


async def test_a_withdrawn_participants_answers_no_longer_count(cycle):
    group_id, people = await scheduled_group(cycle, capacity=2)
    slot = (await planning.add_slot(cycle.facilitator, group_id, slot_at("2020-11-10"))).id
    for p in people:
        await planning.answer_slots(p, group_id, {slot: "yes"})
    await groups.withdraw(cycle.rules, people[0], group_id)
    availability = await planning.availability(await groups.get_group(group_id), cycle.facilitator)
    assert availability.slots[0].yes == 1
    assert await SlotAnswer.count() == 2  # kept, not counted
    await planning.remove_slot(cycle.facilitator, group_id, slot)
    assert await MeetingSlot.count() == 0 and await SlotAnswer.count() == 0


# -- attendance ---------------------------------------------------------------------------------


async def test_attendance_figures_and_the_commitment_flag(cycle):
    group_id, people = await scheduled_group(cycle, capacity=3)
    days = ["2020-11-10", "2020-11-24", "2020-12-08", "2021-01-12", "2021-01-26"]
    for d in days:
        await planning.add_slot(cycle.facilitator, group_id, slot_at(d))
    meetings = await planning.confirm_plan(cycle.rules, cycle.facilitator, group_id)
    keen, sometimes, rarely = people
    present = {
        0: [keen, sometimes, rarely],
        1: [keen, sometimes],
        2: [keen],
        3: [keen, sometimes],
        4: [keen],
    }
    with clock.frozen_at(AFTER_MEETINGS):
        for i, meeting in enumerate(meetings):
            await planning.record_attendance(
                cycle.facilitator, meeting.id, [p.id for p in present[i]]
            )
        # Recording again replaces the record.
        await planning.record_attendance(cycle.facilitator, meetings[4].id, [keen.id])
    figures = await planning.group_attendance(cycle.rules, await groups.get_group(group_id))
    by_name = {p.member_id: (p.present, p.absent, p.flagged) for p in figures.participants}
    assert by_name == {
        keen.id: (5, 0, False),
        sometimes.id: (3, 2, False),  # two absences: what the commitment allows
        rarely.id: (1, 4, True),
    }
    assert (figures.present, figures.recorded) == (9, 15)
    assert figures.absences_allowed == 2
    (be,) = await planning.edition_figures(cycle.edition_id)
    assert (be.groups, be.participants, be.meetings, be.meetings_recorded) == (1, 3, 5, 5)
    assert be.rate == pytest.approx(9 / 15)

    before = await counts()
    with clock.frozen_at(AFTER_MEETINGS), pytest.raises(InvalidInput):
        await planning.record_attendance(cycle.facilitator, meetings[0].id, [999_999])
    with clock.frozen_at(AFTER_MEETINGS), pytest.raises(Forbidden):
        await planning.record_attendance(keen, meetings[0].id, [keen.id])
    assert await counts() == before
    assert await Attendance.count() == 15


async def test_attendance_waits_for_the_meeting(cycle):
    """An edition whose meetings are still to come: nothing can be recorded yet."""
    later = await editions.create_edition("2099-2100")
    await calendar(later, working_groups=(date(2099, 11, 1), date(2100, 4, 30)))
    theme = await themes.add_board_theme(
        cycle.rules,
        cycle.op_be,
        later,
        ["BE"],
        themes.ThemeTextIn(title="Far future", language="en"),
    )
    group_id = await groups.create_group(
        cycle.rules,
        cycle.op_be,
        later,
        groups.GroupCreate(
            theme_id=theme,
            country="BE",
            locality="Ghent",
            language="nl",
            capacity=2,
            facilitators=[cycle.facilitator.email],
            meeting_count=1,
        ),
    )
    person = await member(1)
    await groups.register(cycle.rules, person, group_id, pledge=True)
    await planning.add_slot(cycle.facilitator, group_id, slot_at("2099-11-10"))
    (meeting,) = await planning.confirm_plan(cycle.rules, cycle.facilitator, group_id)
    assert meeting.starts_at > datetime.now(UTC) + timedelta(days=365)
    with pytest.raises(Conflict, match="has started"):
        await planning.record_attendance(cycle.facilitator, meeting.id, [person.id])
    assert await Attendance.count() == 0
