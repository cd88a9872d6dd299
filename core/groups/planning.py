"""Working groups' meetings: candidate slots and the members' availability, the confirmed
plan, attendance and the figures per country (creating groups and registrations are in
``services``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import msgspec

from core import clock, db
from core.editions.services import PhaseWindow
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.events import MeetingsScheduled
from core.groups import scheduling
from core.groups.audience import ACTIVE
from core.groups.scheduling import IN_PERSON, MODES, ONLINE, Plan, SlotChoice
from core.groups.services import (
    DURATION_MAX,
    DURATION_MIN,
    ID_MAX,
    PLACE_MAX,
    PLACE_MIN,
    GroupInfo,
    Person,
    as_local,
    audit_group,
    check_meeting_time,
    get_group,
    group_event_fields,
    groups_where,
    is_participant,
    local,
    local_time,
    lock_group,
    may_manage,
    participants,
    require_manager,
    require_meeting_phase,
    title_in_group_language,
)
from core.groups.tables import (
    Attendance,
    GroupFacilitator,
    GroupRegistration,
    Meeting,
    MeetingSlot,
    SlotAnswer,
    WorkingGroup,
)
from core.i18n import _, ngettext
from core.members.model import CurrentMember
from core.rules import Rules
from core.text import has_control_characters

# -- candidate slots and availability --------------------------------------------------------


class SlotIn(msgspec.Struct, kw_only=True):
    """A candidate slot. A ``starts_at`` without a time zone is the group's local time."""

    starts_at: datetime
    duration_minutes: int = 180
    mode: str = IN_PERSON
    place: str = ""


class SlotOut(msgspec.Struct, kw_only=True):
    """A candidate slot with its answers so far (participants with a place only);
    ``expected`` is its expected attendance (yes 1, if need be 1/2)."""

    id: int
    starts_at: datetime
    ends_at: datetime
    duration_minutes: int
    mode: str
    place: str
    yes: int = 0
    maybe: int = 0
    no: int = 0
    expected: float = 0.0


def clean_place(place: str, mode: str) -> str:
    if has_control_characters(place):
        raise InvalidInput(_("The place contains control characters; type it again."))
    cleaned = " ".join(place.split())
    if mode == ONLINE:
        if not cleaned.startswith(("https://", "http://")) or len(cleaned) > PLACE_MAX:
            raise InvalidInput(_("Give the link of the online meeting (https://...)."))
    elif not PLACE_MIN <= len(cleaned) <= PLACE_MAX:
        raise InvalidInput(
            _("Give the address of the meeting place (%(min)d to %(max)d characters).")
            % {"min": PLACE_MIN, "max": PLACE_MAX}
        )
    return cleaned


def check_slot(
    group: GroupInfo, data: SlotIn, window: PhaseWindow
) -> tuple[datetime, int, str, str]:
    """(start in UTC, duration, mode, place) of a valid slot, or a clear refusal: a slot lies
    in ``window``, the working-group phase of the group's country, and is still to come."""
    if data.mode not in MODES:
        raise InvalidInput(_("Choose whether the meeting is in person or online."))
    if group.online and data.mode != ONLINE:
        raise InvalidInput(_("This group meets online: its meetings are online."))
    if not DURATION_MIN <= data.duration_minutes <= DURATION_MAX:
        raise InvalidInput(
            _("A meeting lasts from %(min)d minutes to %(max)d hours; give it in minutes.")
            % {"min": DURATION_MIN, "max": DURATION_MAX // 60}
        )
    place = clean_place(data.place, data.mode)
    starts_at = as_local(data.starts_at, group.country)
    ends_at = starts_at + timedelta(minutes=data.duration_minutes)
    check_meeting_time(window, starts_at, ends_at, group.country)
    return starts_at, data.duration_minutes, data.mode, place


def _slot_out(row: dict[str, Any], answers: dict[int, str] | None = None) -> SlotOut:
    given = list((answers or {}).values())
    return SlotOut(
        id=row["id"],
        starts_at=row["starts_at"],
        ends_at=row["starts_at"] + timedelta(minutes=row["duration_minutes"]),
        duration_minutes=row["duration_minutes"],
        mode=row["mode"],
        place=row["place"],
        yes=given.count(scheduling.YES),
        maybe=given.count(scheduling.MAYBE),
        no=given.count(scheduling.NO),
        expected=scheduling.slot_halves(answers or {}) / 2,
    )


def _not_scheduled(row: dict[str, Any]) -> None:
    if row["scheduled_at"] is not None:
        raise Conflict(
            _("The meetings of this group are scheduled: the candidate slots are closed.")
        )


async def add_slot(actor: CurrentMember, group_id: int, data: SlotIn) -> SlotOut:
    """A facilitator proposes a candidate slot: in the working-group phase of the group's
    country, still to come, overlapping none of the group's other slots."""
    group = await get_group(group_id)
    require_manager(actor, group)
    window = await require_meeting_phase(group)
    starts_at, duration, mode, place = check_slot(group, data, window)
    ends_at = starts_at + timedelta(minutes=duration)
    async with db.write_transaction():
        _not_scheduled(await lock_group(group_id))
        s = MeetingSlot
        for other in await s.select(s.starts_at, s.duration_minutes).where(
            s.working_group == group_id
        ):
            other_end = other["starts_at"] + timedelta(minutes=other["duration_minutes"])
            if other["starts_at"] < ends_at and starts_at < other_end:
                raise Conflict(
                    _("This slot overlaps the one of %(when)s: choose another time.")
                    % {"when": local_time(other["starts_at"], group.country)}
                )
        rows = await s.insert(
            s(
                working_group=group_id,
                starts_at=starts_at,
                duration_minutes=duration,
                mode=mode,
                place=place,
                created_by=actor.id,
            )
        )
        slot_id = int(rows[0]["id"])
        await audit_group(
            actor,
            group,
            "group.slot.add",
            {"slot": slot_id, "starts_at": starts_at.isoformat(), "minutes": duration},
        )
    row = await MeetingSlot.select().where(MeetingSlot.id == slot_id).first()
    return _slot_out(row)


async def remove_slot(actor: CurrentMember, group_id: int, slot_id: int) -> None:
    """A facilitator takes back a candidate slot (and its answers) before the plan is set."""
    group = await get_group(group_id)
    require_manager(actor, group)
    if not 1 <= slot_id <= ID_MAX:
        raise NotFound(_("This group has no slot %(id)d.") % {"id": slot_id})
    async with db.write_transaction():
        _not_scheduled(await lock_group(group_id))
        gone = await (
            MeetingSlot.delete()
            .where((MeetingSlot.id == slot_id) & (MeetingSlot.working_group == group_id))
            .returning(MeetingSlot.id)
        )
        if not gone:
            raise NotFound(_("This group has no slot %(id)d.") % {"id": slot_id})
        await audit_group(actor, group, "group.slot.remove", {"slot": slot_id})


async def answer_slots(member: CurrentMember, group_id: int, answers: dict[int, str]) -> None:
    """A participant says, per slot, whether they can come: yes, if need be (maybe) or no.
    Slots left out keep their earlier answer."""
    group = await get_group(group_id)
    for value in answers.values():
        if value not in scheduling.ANSWERS:
            raise InvalidInput(_("Answer each slot with yes, if need be, or no."))
    async with db.write_transaction():
        _not_scheduled(await lock_group(group_id))
        if not await is_participant(member.id, group.id):
            raise Forbidden(_("Only the group's participants give their availability."))
        slots = {
            r["id"]
            for r in await MeetingSlot.select(MeetingSlot.id).where(
                MeetingSlot.working_group == group_id
            )
        }
        unknown = [slot for slot in answers if slot not in slots]
        if unknown:
            raise InvalidInput(_("This group has no slot %(id)d.") % {"id": unknown[0]})
        if answers:
            a = SlotAnswer
            now = clock.now()
            await a.insert(
                *[
                    a(slot=slot, member=member.id, answer=value, answered_at=now)
                    for slot, value in sorted(answers.items())
                ]
            ).on_conflict(
                target=(a.slot, a.member), action="DO UPDATE", values=[a.answer, a.answered_at]
            )


class PlanOut(msgspec.Struct, kw_only=True):
    """A plan of meetings: its slots in time order, its expected attendance, and the mode
    most participants can attend with how many of its meetings are in that mode."""

    slot_ids: list[int]
    expected_attendance: float
    preferred_mode: str | None
    preferred_meetings: int


def plan_out(plan: Plan) -> PlanOut:
    return PlanOut(
        slot_ids=list(plan.slot_ids),
        expected_attendance=plan.expected_attendance,
        preferred_mode=plan.preferred_mode,
        preferred_meetings=plan.preferred_meetings,
    )


class GridRow(msgspec.Struct):
    """One participant's answers: slot id -> yes, maybe or no (no key: not answered)."""

    member_id: int
    name: str
    answers: dict[int, str]


class Availability(msgspec.Struct, kw_only=True):
    """The availability poll of a group: the slots with their tallies, the proposed plan (None
    when no ``meeting_count`` slots are two weeks apart), the grid of answers (for its
    facilitators and operators; empty for others) and the viewer's own answers."""

    group_id: int
    meeting_count: int
    min_gap_days: int
    scheduled: bool
    slots: list[SlotOut]
    plan: PlanOut | None
    grid: list[GridRow]
    mine: dict[int, str]


async def _poll_data(
    group: GroupInfo,
) -> tuple[list[dict[str, Any]], dict[int, dict[int, str]], list[Person]]:
    """The group's slots, the answers of its participants (slot -> member -> answer), and
    the participants."""
    slots = await (
        MeetingSlot.select()
        .where(MeetingSlot.working_group == group.id)
        .order_by(MeetingSlot.starts_at, MeetingSlot.id)
    )
    people = await participants(group.id)
    counted = {p.id for p in people}
    answers: dict[int, dict[int, str]] = {s["id"]: {} for s in slots}
    if slots:
        for row in await SlotAnswer.select(
            SlotAnswer.slot, SlotAnswer.member, SlotAnswer.answer
        ).where(SlotAnswer.slot.is_in([s["id"] for s in slots])):
            if row["member"] in counted:  # a withdrawn member's answers no longer count
                answers[row["slot"]][row["member"]] = row["answer"]
    return slots, answers, people


def _choices(group: GroupInfo, slots: list[dict[str, Any]]) -> list[SlotChoice]:
    return [
        SlotChoice(
            id=s["id"],
            starts_at=s["starts_at"],
            day=local(s["starts_at"], group.country).date(),
            mode=s["mode"],
        )
        for s in slots
    ]


async def availability(group: GroupInfo, viewer: CurrentMember | None) -> Availability:
    slots, answers, people = await _poll_data(group)
    plan = scheduling.choose_plan(_choices(group, slots), answers, count=group.meeting_count)
    manager = may_manage(viewer, group)
    return Availability(
        group_id=group.id,
        meeting_count=group.meeting_count,
        min_gap_days=scheduling.MIN_GAP_DAYS,
        scheduled=group.scheduled_at is not None,
        slots=[_slot_out(s, answers[s["id"]]) for s in slots],
        plan=plan_out(plan) if plan else None,
        grid=[
            GridRow(
                p.id,
                p.name,
                {s["id"]: answers[s["id"]][p.id] for s in slots if p.id in answers[s["id"]]},
            )
            for p in people
        ]
        if manager
        else [],
        mine={
            s["id"]: answers[s["id"]][viewer.id]
            for s in slots
            if viewer is not None and viewer.id in answers[s["id"]]
        },
    )


# -- meetings --------------------------------------------------------------------------------


class MeetingOut(msgspec.Struct, kw_only=True):
    """A meeting; ``present`` and ``recorded`` count its attendance once recorded."""

    id: int
    group_id: int
    number: int
    starts_at: datetime
    ends_at: datetime
    duration_minutes: int
    mode: str
    place: str
    present: int = 0
    recorded: int = 0


async def meetings_of(group_id: int) -> list[MeetingOut]:
    rows = await Meeting.select().where(Meeting.working_group == group_id).order_by(Meeting.number)
    tallies: dict[int, tuple[int, int]] = {}
    if rows:
        for a in await Attendance.select(Attendance.meeting, Attendance.present).where(
            Attendance.meeting.is_in([r["id"] for r in rows])
        ):
            present, recorded = tallies.get(a["meeting"], (0, 0))
            tallies[a["meeting"]] = (present + int(bool(a["present"])), recorded + 1)
    return [
        MeetingOut(
            id=r["id"],
            group_id=group_id,
            number=r["number"],
            starts_at=r["starts_at"],
            ends_at=r["starts_at"] + timedelta(minutes=r["duration_minutes"]),
            duration_minutes=r["duration_minutes"],
            mode=r["mode"],
            place=r["place"],
            present=tallies.get(r["id"], (0, 0))[0],
            recorded=tallies.get(r["id"], (0, 0))[1],
        )
        for r in rows
    ]


async def confirm_plan(
    rules: Rules, actor: CurrentMember, group_id: int, slot_ids: list[int] | None = None
) -> list[MeetingOut]:
    """A facilitator confirms the plan: the meetings are created and the participants and
    facilitators notified. ``slot_ids`` is the plan the facilitator saw (or chose); without
    it, the platform's proposal at this moment. Confirming twice is refused."""
    group = await get_group(group_id)
    require_manager(actor, group)
    title = await title_in_group_language(group)
    async with db.write_transaction():
        _not_scheduled(await lock_group(group_id))
        slots, answers, _people = await _poll_data(group)
        choices = _choices(group, slots)
        if slot_ids is None:
            plan = scheduling.choose_plan(choices, answers, count=group.meeting_count)
            if plan is None:
                raise Conflict(_no_plan(group))
            chosen = list(plan.slot_ids)
        else:
            by_id = {c.id: c for c in choices}
            unknown = [i for i in slot_ids if i not in by_id]
            if unknown:
                raise InvalidInput(_("This group has no slot %(id)d.") % {"id": unknown[0]})
            if not scheduling.fits(
                [by_id[i] for i in slot_ids], group.meeting_count, scheduling.MIN_GAP_DAYS
            ):
                raise InvalidInput(_no_plan(group))
            chosen = [c.id for c in scheduling.ordered(by_id[i] for i in set(slot_ids))]
        by_slot = {s["id"]: s for s in slots}
        # The meetings lie in the phase, still to come (the calendar or the time may have
        # moved since the slots were proposed).
        window = await require_meeting_phase(group)
        for slot_id in chosen:
            starts_at = by_slot[slot_id]["starts_at"]
            ends_at = starts_at + timedelta(minutes=by_slot[slot_id]["duration_minutes"])
            check_meeting_time(window, starts_at, ends_at, group.country)
        await Meeting.insert(
            *[
                Meeting(
                    working_group=group_id,
                    number=number,
                    starts_at=by_slot[slot_id]["starts_at"],
                    duration_minutes=by_slot[slot_id]["duration_minutes"],
                    mode=by_slot[slot_id]["mode"],
                    place=by_slot[slot_id]["place"],
                    slot=slot_id,
                )
                for number, slot_id in enumerate(chosen, start=1)
            ]
        )
        await WorkingGroup.update({WorkingGroup.scheduled_at: clock.now()}).where(
            WorkingGroup.id == group_id
        )
        scheduled = MeetingsScheduled(
            **group_event_fields(group, title),
            meetings=len(chosen),
            first_at=by_slot[chosen[0]]["starts_at"],
            last_at=by_slot[chosen[-1]]["starts_at"],
        )
        await rules.notify(scheduled)
        await audit_group(actor, group, "group.plan", {"slots": chosen})
    rules.emit(scheduled)
    return await meetings_of(group_id)


def _no_plan(group: GroupInfo) -> str:
    return ngettext(
        "A plan has %(num)d meeting, on slots at least two weeks apart.",
        "A plan has %(num)d meetings, on slots at least two weeks apart: propose enough "
        "candidate slots.",
        group.meeting_count,
    ) % {"num": group.meeting_count}


# -- attendance ------------------------------------------------------------------------------


class ParticipantRecord(msgspec.Struct):
    """A participant's attendance so far; ``flagged`` when they missed more meetings than the
    commitment allows."""

    member_id: int
    name: str
    present: int
    absent: int
    flagged: bool


class GroupAttendance(msgspec.Struct, kw_only=True):
    group_id: int
    absences_allowed: int
    meetings: list[MeetingOut]
    participants: list[ParticipantRecord]
    present: int
    recorded: int
    rate: float | None  # present / recorded, None before anything is recorded


async def record_attendance(
    actor: CurrentMember, meeting_id: int, present: Iterable[int]
) -> MeetingOut:
    """A facilitator records who came to a meeting that has started: the participants in
    ``present`` were there, the group's other participants were not."""
    row = (
        await Meeting.select().where(Meeting.id == meeting_id).first()
        if 1 <= meeting_id <= ID_MAX
        else None
    )
    if row is None:
        raise NotFound(_("There is no meeting %(id)d.") % {"id": meeting_id})
    group = await get_group(row["working_group"])
    require_manager(actor, group)
    if row["starts_at"] > clock.now():
        raise Conflict(_("Attendance is recorded once the meeting has started."))
    people = {p.id for p in await participants(group.id)}
    came = set(present)
    if not came <= people:
        raise InvalidInput(_("Only the group's participants can be marked present."))
    now = clock.now()
    if people:
        a = Attendance
        async with db.write_transaction():
            await a.insert(
                *[
                    a(
                        meeting=meeting_id,
                        member=member_id,
                        present=member_id in came,
                        recorded_by=actor.id,
                        recorded_at=now,
                    )
                    for member_id in sorted(people)
                ]
            ).on_conflict(
                target=(a.meeting, a.member),
                action="DO UPDATE",
                values=[a.present, a.recorded_by, a.recorded_at],
            )
            await audit_group(
                actor,
                group,
                "group.attendance",
                {"meeting": meeting_id, "present": sorted(came), "absent": sorted(people - came)},
            )
    return next(m for m in await meetings_of(group.id) if m.id == meeting_id)


async def attendance_of(meeting_id: int) -> dict[int, bool]:
    """Who was recorded at a meeting: member -> present."""
    rows = await Attendance.select(Attendance.member, Attendance.present).where(
        Attendance.meeting == meeting_id
    )
    return {r["member"]: bool(r["present"]) for r in rows}


async def group_attendance(rules: Rules, group: GroupInfo) -> GroupAttendance:
    """The group's attendance figures, and who missed more meetings than the commitment
    allows (``commitment_absences_allowed``)."""
    meetings = await meetings_of(group.id)
    allowed = rules.commitment_absences_allowed(group)
    records: dict[int, list[int]] = {}
    if meetings:
        for a in await Attendance.select(Attendance.member, Attendance.present).where(
            Attendance.meeting.is_in([m.id for m in meetings])
        ):
            tally = records.setdefault(a["member"], [0, 0])
            tally[0 if a["present"] else 1] += 1
    people = await participants(group.id)
    present = sum(m.present for m in meetings)
    recorded = sum(m.recorded for m in meetings)
    return GroupAttendance(
        group_id=group.id,
        absences_allowed=allowed,
        meetings=meetings,
        participants=[
            ParticipantRecord(
                member_id=p.id,
                name=p.name,
                present=records.get(p.id, [0, 0])[0],
                absent=records.get(p.id, [0, 0])[1],
                flagged=records.get(p.id, [0, 0])[1] > allowed,
            )
            for p in people
        ],
        present=present,
        recorded=recorded,
        rate=present / recorded if recorded else None,
    )


class CountryFigures(msgspec.Struct, kw_only=True):
    """An edition's working groups in one country: places and registrations, meetings, and
    attendance (``rate``: present / recorded, None before anything is recorded)."""

    country: str
    groups: int
    places: int
    participants: int
    waiting: int
    meetings: int
    meetings_recorded: int
    present: int
    recorded: int
    rate: float | None


async def edition_figures(edition_id: int) -> list[CountryFigures]:
    groups = await groups_where(WorkingGroup.edition == edition_id, None)
    figures = []
    for country in sorted({g.country for g in groups}):
        mine = [g for g in groups if g.country == country]
        meetings = [m for g in mine for m in await meetings_of(g.id)]
        present = sum(m.present for m in meetings)
        recorded = sum(m.recorded for m in meetings)
        figures.append(
            CountryFigures(
                country=country,
                groups=len(mine),
                places=sum(g.capacity for g in mine),
                participants=sum(g.confirmed for g in mine),
                waiting=sum(g.waiting for g in mine),
                meetings=len(meetings),
                meetings_recorded=sum(1 for m in meetings if m.recorded),
                present=present,
                recorded=recorded,
                rate=present / recorded if recorded else None,
            )
        )
    return figures


async def my_groups(member_id: int, language: str | None = None) -> list[tuple[GroupInfo, str]]:
    """The groups a member is registered for (confirmed or waiting) or facilitates, with
    their part in each: confirmed, waiting or facilitator."""
    r = GroupRegistration
    parts: dict[int, str] = {
        row["working_group"]: row["status"]
        for row in await r.select(r.working_group, r.status).where(
            (r.member == member_id) & r.status.is_in(ACTIVE)
        )
    }
    for row in await GroupFacilitator.select(GroupFacilitator.working_group).where(
        GroupFacilitator.member == member_id
    ):
        parts.setdefault(row["working_group"], "facilitator")
    if not parts:
        return []
    groups = await groups_where(WorkingGroup.id.is_in(list(parts)), language)
    return [(g, parts[g.id]) for g in sorted(groups, key=lambda g: (g.edition, g.title))]
