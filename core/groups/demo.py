"""Demo data of the working groups: the 2020-2021 groups in Belgium and France, with their
registrations and waiting lists, the availability polls, the plans chosen from them, the
meetings between November 2020 and April 2021 with their attendance, and the online info
sessions of 16 December 2020 (10:00-11:30, a presentation then questions).

Seeded once (marker: any working group exists) by ``core.demo.seed_demo``. Rows are written
straight to the tables, since the services check phases against today's date, but they keep the
services' invariants: a group has at most its capacity of participants and a waiting list
only when full; a member holds one active registration in the edition; the meetings are the
plan ``core.groups.scheduling.choose_plan`` picks from the answers; attendance is recorded for
the participants of meetings that took place. No notification is written for the past.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from core import db
from core.editions.tables import Edition
from core.groups import scheduling
from core.groups.scheduling import IN_PERSON, ONLINE, SlotChoice
from core.groups.services import CONFIRMED, WAITING, zone_of
from core.groups.tables import (
    Attendance,
    GroupFacilitator,
    GroupRegistration,
    InfoSession,
    InfoSessionRegistration,
    Meeting,
    MeetingSlot,
    SlotAnswer,
    WorkingGroup,
)
from core.members.tables import ROLE_FACILITATOR, Member, MemberRole
from core.themes.tables import Theme, ThemeText

EDITION = "2020-2021"
FACILITATOR_BE = "D-0004"  # Sofie Janssens, a demo account with the facilitator role
FACILITATOR_FR = "D-2030"  # an extra French member, who gets the facilitator role here
REGISTRATION_OPENS = {"BE": date(2020, 9, 2), "FR": date(2020, 9, 7)}
OPERATOR_OF = {"BE": "D-0001", "FR": "D-0002"}
# Around these days the answers are best: five meetings spread from November to April.
TARGETS = (
    date(2020, 11, 17),
    date(2020, 12, 15),
    date(2021, 1, 26),
    date(2021, 3, 9),
    date(2021, 4, 20),
)


@dataclass(frozen=True)
class DemoGroup:
    country: str
    theme: str  # the theme's English title in 2020-2021
    locality: str
    language: str
    capacity: int
    members: tuple[str, ...]  # member numbers, in the order they registered
    place: str  # where it meets in person (online groups: the link)
    weekday: int  # 0 Monday: the day its candidate slots fall on
    hour: int


def _extra(country: str, first: int, count: int) -> tuple[str, ...]:
    start = {"BE": 1001, "FR": 2001}[country] + first
    return tuple(f"D-{start + i}" for i in range(count))


GROUPS: tuple[DemoGroup, ...] = (
    # Full, with two members on its waiting list.
    DemoGroup(
        "BE", "Accompaniment", "Brussels", "fr", 12, _extra("BE", 0, 14),
        "Smart, rue Coenraets 72, 1060 Saint-Gilles", 1, 19,
    ),
    DemoGroup(
        "BE", "Gender equality", "Ghent", "nl", 10, ("D-0101", *_extra("BE", 14, 7)),
        "Vooruit, Sint-Pietersnieuwstraat 23, 9000 Gent", 3, 19,
    ),
    DemoGroup(
        "BE", "New prospects after the health crisis", "online", "nl", 15, _extra("BE", 21, 6),
        "https://meet.smart.coop/sip-be-new-prospects", 5, 10,
    ),
    DemoGroup(
        "FR", "Sharing economy: a viable economic model?", "Paris", "fr", 12,
        ("D-0201", *_extra("FR", 0, 9)),
        "Smart, 18 rue de la Fontaine-au-Roi, 75011 Paris", 2, 19,
    ),
    DemoGroup(
        "FR", "Accompaniment", "Lyon", "fr", 10, _extra("FR", 9, 8),
        "La Cordée, 15 rue de la Valse, 69002 Lyon", 1, 18,
    ),
    DemoGroup(
        "FR", "Gender equality", "online", "fr", 12, _extra("FR", 17, 9),
        "https://meet.smart.coop/sip-fr-egalite", 5, 10,
    ),
)  # fmt: skip

INFO_SESSIONS = {
    "BE": (
        "nl",
        "Infosessie Smart in Progress 2020-2021",
        "Een voorstelling van de cyclus en de werkgroepen, daarna jullie vragen.",
        "https://meet.smart.coop/sip-info-be",
        ("D-0102", "D-0105", *_extra("BE", 27, 3)),
    ),
    "FR": (
        "fr",
        "Séance d'information Smart in Progress 2020-2021",
        "Une présentation du cycle et des groupes de travail, puis vos questions.",
        "https://meet.smart.coop/sip-info-fr",
        ("D-0202", "D-0205", *_extra("FR", 26, 3)),
    ),
}


def _moment(day: date, hour: int, country: str) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=zone_of(country))


def _candidate_days(weekday: int, rng: random.Random) -> list[date]:
    """About one candidate day every two to three weeks from November to April."""
    day = date(2020, 11, 2)
    day += timedelta(days=(weekday - day.weekday()) % 7)
    days = []
    while day <= date(2021, 4, 23):
        days.append(day)
        day += timedelta(days=rng.choice((14, 14, 21)))
    return days


async def seed_groups() -> bool:
    """Seed the 2020-2021 working groups and info sessions; False when they exist already."""
    async with db.write_transaction():
        if await WorkingGroup.exists():
            return False
        edition = await Edition.select(Edition.id).where(Edition.slug == EDITION).first()
        if edition is None:
            return False
        edition_id = edition["id"]
        themes = {
            t["title"]: t["theme"]
            for t in await ThemeText.select(ThemeText.theme, ThemeText.title).where(
                (ThemeText.language == "en")
                & ThemeText.theme.is_in(
                    [
                        r["id"]
                        for r in await Theme.select(Theme.id).where(Theme.edition == edition_id)
                    ]
                    or [0]
                )
            )
        }
        numbers = [n for g in GROUPS for n in g.members]
        numbers += [FACILITATOR_BE, FACILITATOR_FR, *OPERATOR_OF.values()]
        numbers += [n for *_rest, people in INFO_SESSIONS.values() for n in people]
        members = {
            r["member_number"]: r["id"]
            for r in await Member.select(Member.id, Member.member_number).where(
                Member.member_number.is_in(numbers)
            )
        }
        facilitators = {
            "BE": members.get(FACILITATOR_BE),
            "FR": members.get(FACILITATOR_FR),
        }
        if facilitators["FR"] is not None:
            await MemberRole.insert(
                MemberRole(member=facilitators["FR"], role=ROLE_FACILITATOR, country="")
            )
        for n, spec in enumerate(GROUPS):
            if spec.theme in themes and facilitators[spec.country] is not None:
                await _seed_group(
                    edition_id, themes[spec.theme], spec, members, facilitators[spec.country], n
                )
        for country, spec in INFO_SESSIONS.items():
            await _seed_info_session(edition_id, country, spec, members)
    return True


async def _seed_group(
    edition_id: int,
    theme_id: int,
    spec: DemoGroup,
    members: dict[str, int],
    facilitator: int,
    seed: int,
) -> None:
    rng = random.Random(2020 + seed)
    opens = REGISTRATION_OPENS[spec.country]
    rows = await WorkingGroup.insert(
        WorkingGroup(
            edition=edition_id,
            theme=theme_id,
            country=spec.country,
            locality=spec.locality,
            language=spec.language,
            capacity=spec.capacity,
            meeting_count=scheduling.DEFAULT_MEETINGS,
            created_at=_moment(opens - timedelta(days=5), 9, spec.country),
            scheduled_at=_moment(date(2020, 10, 28), 17, spec.country),
        )
    )
    group_id = int(rows[0]["id"])
    await GroupFacilitator.insert(GroupFacilitator(working_group=group_id, member=facilitator))

    registered = [members[n] for n in spec.members if n in members]
    participants = registered[: spec.capacity]
    registrations = []
    for i, member_id in enumerate(registered):
        at = _moment(opens + timedelta(days=i * 2 // 3), 9 + i % 10, spec.country)
        status = CONFIRMED if i < spec.capacity else WAITING
        registrations.append(
            GroupRegistration(
                working_group=group_id,
                edition=edition_id,
                member=member_id,
                status=status,
                pledged_at=at,
                created_at=at,
                confirmed_at=at if status == CONFIRMED else None,
            )
        )
    if registrations:
        await GroupRegistration.insert(*registrations)

    # The availability poll: candidate slots and everyone's answers.
    mode = ONLINE if spec.locality == "online" else IN_PERSON
    days = _candidate_days(spec.weekday, rng)
    # Most participants suit the slots about six weeks apart; the others are hit and miss.
    suits = {min(days, key=lambda d, t=target: abs((d - t).days)) for target in TARGETS}
    places: dict[int, str] = {}
    choices: list[SlotChoice] = []
    answers: dict[int, dict[int, str]] = {}
    for day in days:
        # In-person groups also try an online evening now and then (the second lockdown).
        this_mode = ONLINE if mode == ONLINE or rng.random() < 0.25 else IN_PERSON
        place = spec.place if this_mode == mode else "https://meet.smart.coop/sip-" + str(group_id)
        starts = _moment(day, spec.hour, spec.country)
        inserted = await MeetingSlot.insert(
            MeetingSlot(
                working_group=group_id,
                starts_at=starts,
                duration_minutes=180,
                mode=this_mode,
                place=place,
                created_by=facilitator,
                created_at=_moment(date(2020, 10, 19), 10, spec.country),
            )
        )
        slot_id = int(inserted[0]["id"])
        places[slot_id] = place
        choices.append(SlotChoice(slot_id, starts, day, this_mode))
        weights = (8, 1, 1) if day in suits else (4, 2, 4)
        answers[slot_id] = {
            member_id: rng.choices(["yes", "maybe", "no"], weights=weights)[0]
            for member_id in participants
        }
    await SlotAnswer.insert(
        *[
            SlotAnswer(
                slot=slot_id,
                member=member_id,
                answer=answer,
                answered_at=_moment(date(2020, 10, 21), 20, spec.country),
            )
            for slot_id, given in answers.items()
            for member_id, answer in given.items()
        ]
    )

    plan = scheduling.choose_plan(choices, answers)
    if plan is None:
        return
    by_id = {c.id: c for c in choices}
    meeting_ids = []
    for number, slot_id in enumerate(plan.slot_ids, start=1):
        inserted = await Meeting.insert(
            Meeting(
                working_group=group_id,
                number=number,
                starts_at=by_id[slot_id].starts_at,
                duration_minutes=180,
                mode=by_id[slot_id].mode,
                place=places[slot_id],
                slot=slot_id,
            )
        )
        meeting_ids.append((int(inserted[0]["id"]), slot_id))

    # Attendance: those who said yes mostly came; one participant per group drifted away.
    drifter = participants[-1] if len(participants) > 3 else None
    rows_attendance = []
    for meeting_id, slot_id in meeting_ids:
        for member_id in participants:
            said = answers[slot_id].get(member_id, "no")
            came = rng.random() < {"yes": 0.92, "maybe": 0.6, "no": 0.1}[said]
            if member_id == drifter and meeting_id != meeting_ids[0][0]:
                came = False
            rows_attendance.append(
                Attendance(
                    meeting=meeting_id,
                    member=member_id,
                    present=came,
                    recorded_by=facilitator,
                    recorded_at=by_id[slot_id].starts_at + timedelta(hours=3),
                )
            )
    if rows_attendance:
        await Attendance.insert(*rows_attendance)


async def _seed_info_session(
    edition_id: int,
    country: str,
    spec: tuple[str, str, str, str, tuple[str, ...]],
    members: dict[str, int],
) -> None:
    language, title, description, link, people = spec
    starts = _moment(date(2020, 12, 16), 10, country)
    rows = await InfoSession.insert(
        InfoSession(
            edition=edition_id,
            country=country,
            title=title,
            description=description,
            language=language,
            starts_at=starts,
            duration_minutes=90,
            mode=ONLINE,
            place=link,
            capacity=100,
            created_by=members.get(OPERATOR_OF[country]),
            created_at=_moment(date(2020, 11, 20), 11, country),
        )
    )
    session_id = int(rows[0]["id"])
    registrations = [
        InfoSessionRegistration(
            info_session=session_id,
            member=members[n],
            created_at=_moment(date(2020, 12, 1 + i), 12, country),
        )
        for i, n in enumerate(people)
        if n in members
    ]
    if registrations:
        await InfoSessionRegistration.insert(*registrations)
