"""Demo data of the working groups: the 2020-2021 groups in Belgium and France, with their
registrations and waiting lists, the availability polls, the plans chosen from them, the
meetings between November 2020 and April 2021 with their attendance, and the online info
sessions of 16 December 2020 (10:00-11:30, a presentation then questions).

Seeded once (marker: any working group exists) by ``plugins.demo.seed_demo``, through the
services as the people of each moment, with the clock frozen on it (``frozen.py``): the French
facilitator's role through the members service; the groups by the country's operator
(``create_group``) and the registrations by the members (``register``: the first come get
the places, the others the waiting list); the candidate slots by the facilitator
(``add_slot``) and the participants' answers (``answer_slots``); the plan by the facilitator
(``confirm_plan``, which picks it from the answers and sets the group's ``scheduled_at``);
attendance by the facilitator when each meeting ends (``record_attendance``); the info
sessions by the operator (``create_info_session``) and their registrations by the members
(``register``). Written by hand afterwards is only what no service takes: the creation times
of groups, slots, sessions and session registrations (their columns default to the real time).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from core import db
from core.config import Settings
from core.editions.services import WORKING_GROUPS
from core.editions.tables import Edition
from core.errors import Conflict, DomainError
from core.groups import info_sessions, planning, scheduling
from core.groups import services as groups
from core.groups.info_sessions import InfoSessionIn
from core.groups.planning import SlotIn
from core.groups.scheduling import IN_PERSON, ONLINE
from core.groups.services import GroupCreate, zone_of
from core.groups.tables import (
    InfoSession,
    InfoSessionRegistration,
    Meeting,
    MeetingSlot,
    WorkingGroup,
)
from core.members.model import CurrentMember
from core.members.services import grant_role, load_member
from core.members.tables import ROLE_FACILITATOR, Member
from core.plugins import build_registry
from core.rules import Rules
from core.themes.tables import Theme, ThemeText
from plugins.demo import frozen
from plugins.demo.calendars import past_calendar
from plugins.demo.people import OPERATOR_OF, demo_member

EDITION = "2020-2021"
FACILITATOR_BE = "D-0004"  # Sofie Janssens, a demo account with the facilitator role
FACILITATOR_FR = "D-2030"  # an extra French member, who gets the facilitator role here
FACILITATOR_OF = {"BE": FACILITATOR_BE, "FR": FACILITATOR_FR}
REGISTRATION_OPENS = {"BE": date(2020, 9, 2), "FR": date(2020, 9, 7)}
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


def _candidate_days(country: str, weekday: int, rng: random.Random) -> list[date]:
    """About one candidate day every two to three weeks from November to April, inside the
    country's working-group phase of 2020-2021 (a slot outside it is refused)."""
    phase = next(w for w in past_calendar(2020, country) if w.phase == WORKING_GROUPS)
    day = max(date(2020, 11, 2), phase.starts_on)
    day += timedelta(days=(weekday - day.weekday()) % 7)
    days = []
    while day <= min(date(2021, 4, 23), phase.ends_on):
        days.append(day)
        day += timedelta(days=rng.choice((14, 14, 21)))
    return days


async def seed_groups(settings: Settings) -> bool:
    """Seed the 2020-2021 working groups and info sessions; False when they exist already."""
    rules = Rules(build_registry(settings), settings)
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
        facilitator_fr = await demo_member(FACILITATOR_FR)
        if facilitator_fr is not None:
            await grant_role(facilitator_fr.email, ROLE_FACILITATOR)
        operators = {c: await demo_member(number) for c, number in OPERATOR_OF.items()}
        for n, spec in enumerate(GROUPS):
            facilitator = facilitators[spec.country]
            operator = operators[spec.country]
            if spec.theme in themes and facilitator is not None and operator is not None:
                await _seed_group(
                    rules, operator, edition_id, themes[spec.theme], spec, members, facilitator, n
                )
        for country, spec in INFO_SESSIONS.items():
            operator = operators[country]
            if operator is not None:
                await _seed_info_session(rules, operator, edition_id, country, spec, members)
    return True


async def _seed_group(
    rules: Rules,
    operator: CurrentMember,
    edition_id: int,
    theme_id: int,
    spec: DemoGroup,
    members: dict[str, int],
    facilitator: int,
    seed: int,
) -> None:
    rng = random.Random(2020 + seed)
    opens = REGISTRATION_OPENS[spec.country]
    created_at = _moment(opens - timedelta(days=5), 9, spec.country)
    data = GroupCreate(
        theme_id=theme_id,
        country=spec.country,
        locality=spec.locality,
        language=spec.language,
        capacity=spec.capacity,
        facilitators=[FACILITATOR_OF[spec.country]],
        meeting_count=scheduling.DEFAULT_MEETINGS,
    )
    try:
        with frozen.at(created_at):
            group_id = await groups.create_group(rules, operator, edition_id, data)
    except DomainError:
        return  # the operator's tracks do not hold this group (another place or language)
    # The service does not take a creation time (the plan's is set by ``confirm_plan``).
    await WorkingGroup.update({WorkingGroup.created_at: created_at}).where(
        WorkingGroup.id == group_id
    )

    # The registrations, through the service in the registration phase: the first come get
    # the places, the others the waiting list they asked for.
    registered = [members[n] for n in spec.members if n in members]
    participants = registered[: spec.capacity]
    for i, member_id in enumerate(registered):
        member = await load_member(member_id)
        assert member is not None
        with frozen.at(_moment(opens + timedelta(days=i * 2 // 3), 9 + i % 10, spec.country)):
            await groups.register(rules, member, group_id, pledge=True, waiting_list=True)

    # The availability poll: the facilitator proposes the candidate slots (on 19 October;
    # the service stamps their creation with the real time, set back below), the
    # participants answer them on 21 October.
    manager = await load_member(facilitator)
    assert manager is not None
    mode = ONLINE if spec.locality == "online" else IN_PERSON
    days = _candidate_days(spec.country, spec.weekday, rng)
    # Most participants suit the slots about six weeks apart; the others are hit and miss.
    suits = {min(days, key=lambda d, t=target: abs((d - t).days)) for target in TARGETS}
    proposed_at = _moment(date(2020, 10, 19), 10, spec.country)
    answers: dict[int, dict[int, str]] = {}
    for day in days:
        # In-person groups also try an online evening now and then (the second lockdown).
        this_mode = ONLINE if mode == ONLINE or rng.random() < 0.25 else IN_PERSON
        place = spec.place if this_mode == mode else "https://meet.smart.coop/sip-" + str(group_id)
        with frozen.at(proposed_at):
            slot = await planning.add_slot(
                manager,
                group_id,
                SlotIn(
                    starts_at=_moment(day, spec.hour, spec.country),
                    duration_minutes=180,
                    mode=this_mode,
                    place=place,
                ),
            )
        weights = (8, 1, 1) if day in suits else (4, 2, 4)
        answers[slot.id] = {
            member_id: rng.choices(["yes", "maybe", "no"], weights=weights)[0]
            for member_id in participants
        }
    await MeetingSlot.update({MeetingSlot.created_at: proposed_at}).where(
        MeetingSlot.working_group == group_id
    )
    with frozen.at(_moment(date(2020, 10, 21), 20, spec.country)):
        for member_id in participants:
            member = await load_member(member_id)
            assert member is not None
            await planning.answer_slots(
                member, group_id, {slot_id: given[member_id] for slot_id, given in answers.items()}
            )

    # The plan: on 28 October the facilitator confirms the one the platform proposes.
    try:
        with frozen.at(_moment(date(2020, 10, 28), 17, spec.country)):
            meetings = await planning.confirm_plan(rules, manager, group_id)
    except Conflict:
        return  # no plan fits the answers
    slot_of = {
        r["id"]: r["slot"]
        for r in await Meeting.select(Meeting.id, Meeting.slot).where(
            Meeting.working_group == group_id
        )
    }

    # Attendance, recorded when each meeting ends: those who said yes mostly came; one
    # participant per group drifted away.
    drifter = participants[-1] if len(participants) > 3 else None
    for meeting in meetings:
        given = answers[slot_of[meeting.id]]
        came = set()
        for member_id in participants:
            said = given.get(member_id, "no")
            if rng.random() < {"yes": 0.92, "maybe": 0.6, "no": 0.1}[said] and not (
                member_id == drifter and meeting.id != meetings[0].id
            ):
                came.add(member_id)
        with frozen.at(meeting.ends_at):
            await planning.record_attendance(manager, meeting.id, came)


async def _seed_info_session(
    rules: Rules,
    operator: CurrentMember,
    edition_id: int,
    country: str,
    spec: tuple[str, str, str, str, tuple[str, ...]],
    members: dict[str, int],
) -> None:
    """The country's operator publishes the session on 20 November; members register in the
    first days of December (the services stamp both with the real time: set back here)."""
    language, title, description, link, people = spec
    created_at = _moment(date(2020, 11, 20), 11, country)
    with frozen.at(created_at):
        session_id = await info_sessions.create_info_session(
            operator,
            edition_id,
            InfoSessionIn(
                country=country,
                title=title,
                description=description,
                language=language,
                starts_at=_moment(date(2020, 12, 16), 10, country),
                duration_minutes=90,
                mode=ONLINE,
                place=link,
                capacity=100,
            ),
        )
    await InfoSession.update({InfoSession.created_at: created_at}).where(
        InfoSession.id == session_id
    )
    r = InfoSessionRegistration
    for i, number in enumerate(people):
        member = await load_member(members[number]) if number in members else None
        if member is None:
            continue
        registered_at = _moment(date(2020, 12, 1 + i), 12, country)
        with frozen.at(registered_at):
            await info_sessions.register(rules, member, session_id)
        await r.update({r.created_at: registered_at}).where(
            (r.info_session == session_id) & (r.member == member.id)
        )
