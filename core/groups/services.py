"""Working-group rules, independent of HTTP: groups, registrations and the waiting list,
candidate slots and availability, the plan of meetings, attendance and its figures.

How the invariants hold:

* **A group is never overfilled.** Registering, withdrawing and promoting run in one write
  transaction that first locks the group's row (IMMEDIATE on SQLite, ``FOR NO KEY UPDATE`` on
  PostgreSQL), then counts its places; so they take turns per group, and the count they see
  is the committed one. A withdrawal frees a place and gives it to the first on the waiting
  list in the same transaction.
* **One active registration per member and group** is a partial unique index; the
  per-edition limit (``registrations_allowed`` hook, default 1) is counted under a lock on
  the member's row, so two registrations of one member racing each other cannot both pass.
* **Notifications** (place confirmed, promotion, meetings scheduled) are written to the
  outbox inside the same transaction (``Rules.notify``); events go to plugins after commit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
from babel.dates import format_date, format_datetime

from core import clock, db
from core.audit import services as audit
from core.config import COUNTRIES, zone_of
from core.editions.services import (
    REGISTRATION,
    SLUG,
    EditionInfo,
    get_edition_by_id,
    require_phase,
)
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.events import Event, MeetingsScheduled, PromotedFromWaitingList, RegistrationConfirmed
from core.groups import scheduling
from core.groups.scheduling import IN_PERSON, MODES, ONLINE, Plan, SlotChoice
from core.groups.tables import (
    Attendance,
    GroupFacilitator,
    GroupRegistration,
    Meeting,
    MeetingSlot,
    SlotAnswer,
    WorkingGroup,
)
from core.i18n import _, country_name, current_language, ngettext
from core.members.model import CurrentMember
from core.members.tables import ROLE_FACILITATOR, ROLE_OPERATOR, Member, MemberRole
from core.themes.services import Rules
from core.themes.tables import Theme, ThemeText
from core.tracks import ONLINE as ONLINE_LOCALITY
from core.tracks import track_of

CONFIRMED, WAITING, WITHDRAWN = "confirmed", "waiting", "withdrawn"
ACTIVE = (CONFIRMED, WAITING)

ID_MAX = db.ID_MAX
CAPACITY_MAX = 200
MEETINGS_MAX = 12
DURATION_MIN, DURATION_MAX = 30, 8 * 60
PLACE_MIN, PLACE_MAX = 3, 300
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# -- time ------------------------------------------------------------------------------------


def local(moment: datetime, country: str) -> datetime:
    return moment.astimezone(zone_of(country))


def local_time(moment: datetime, country: str) -> str:
    """A meeting's start in the country's time zone, written the reader's way."""
    return format_datetime(
        local(moment, country), "EEEE d MMMM y, HH:mm", locale=current_language.get()
    )


def local_clock(moment: datetime, country: str) -> str:
    """The time of day only ("11:30"), in the country's time zone."""
    return local(moment, country).strftime("%H:%M")


def local_day(day: date) -> str:
    return format_date(day, "d MMMM y", locale=current_language.get())


def season(edition_slug: str) -> tuple[date, date]:
    """The months working groups meet in: 1 November of the edition's first year to 30 April
    of its second."""
    found = SLUG.match(edition_slug)
    if not found:
        raise InvalidInput(_("An edition is named after its two years, like 2021-2022."))
    return date(int(found.group(1)), 11, 1), date(int(found.group(2)), 4, 30)


def as_local(moment: datetime, country: str) -> datetime:
    """An aware time as it is; a naive one is the country's local time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone_of(country))
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):  # the first or the last days a datetime can hold
        raise InvalidInput(_("Give a date between the years 2000 and 2100.")) from None


# -- reading groups --------------------------------------------------------------------------


class Facilitator(msgspec.Struct, frozen=True):
    id: int
    name: str


class GroupInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A working group as pages and plugins see it. ``title`` is its theme's title in the
    reader's language (else the group's, else the theme's original); ``locality`` is the
    track's name of where it meets, shown translated."""

    id: int
    edition_id: int
    edition: str
    theme_id: int
    title: str
    country: str
    locality: str
    language: str
    capacity: int
    meeting_count: int
    facilitators: list[Facilitator]
    confirmed: int
    waiting: int
    scheduled_at: datetime | None

    @property
    def full(self) -> bool:
        return self.confirmed >= self.capacity

    @property
    def online(self) -> bool:
        return self.locality == ONLINE_LOCALITY


async def _titles(theme_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    ids = list(set(theme_ids))
    if not ids:
        return {}
    rows = await ThemeText.select(ThemeText.theme, ThemeText.language, ThemeText.title).where(
        ThemeText.theme.is_in(ids)
    )
    found: dict[int, dict[str, str]] = {}
    for row in rows:
        found.setdefault(row["theme"], {})[row["language"]] = row["title"]
    return found


def _pick(texts: dict[str, str], *languages: str) -> str:
    for language in languages:
        if language in texts:
            return texts[language]
    return next(iter(texts.values()), "")


async def _groups(where: Any, language: str | None) -> list[GroupInfo]:
    wg = WorkingGroup
    rows = await wg.select(*wg.all_columns(), wg.edition.slug.as_alias("edition_slug")).where(where)
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    titles = await _titles(r["theme"] for r in rows)
    originals = {
        t["id"]: t["original_language"]
        for t in await Theme.select(Theme.id, Theme.original_language).where(
            Theme.id.is_in(list({r["theme"] for r in rows}))
        )
    }
    facilitators: dict[int, list[Facilitator]] = {}
    for f in await GroupFacilitator.select(
        GroupFacilitator.working_group,
        GroupFacilitator.member,
        GroupFacilitator.member.name.as_alias("name"),
    ).where(GroupFacilitator.working_group.is_in(ids)):
        facilitators.setdefault(f["working_group"], []).append(Facilitator(f["member"], f["name"]))
    counts: dict[tuple[int, str], int] = {}
    for r in await GroupRegistration.select(
        GroupRegistration.working_group, GroupRegistration.status
    ).where(GroupRegistration.working_group.is_in(ids) & GroupRegistration.status.is_in(ACTIVE)):
        key = (r["working_group"], r["status"])
        counts[key] = counts.get(key, 0) + 1
    reader = language or current_language.get()
    return [
        GroupInfo(
            id=r["id"],
            edition_id=r["edition"],
            edition=r["edition_slug"],
            theme_id=r["theme"],
            title=_pick(
                titles.get(r["theme"], {}), reader, r["language"], originals.get(r["theme"], "")
            ),
            country=r["country"],
            locality=r["locality"],
            language=r["language"],
            capacity=r["capacity"],
            meeting_count=r["meeting_count"],
            facilitators=sorted(facilitators.get(r["id"], []), key=lambda f: f.name),
            confirmed=counts.get((r["id"], CONFIRMED), 0),
            waiting=counts.get((r["id"], WAITING), 0),
            scheduled_at=r["scheduled_at"],
        )
        for r in rows
    ]


async def get_group(group_id: int, language: str | None = None) -> GroupInfo:
    found = await _groups(WorkingGroup.id == group_id, language) if 1 <= group_id <= ID_MAX else []
    if not found:
        raise NotFound(_("There is no working group %(id)d.") % {"id": group_id})
    return found[0]


async def list_groups(
    edition_id: int, language: str | None = None, country: str | None = None
) -> list[GroupInfo]:
    where = WorkingGroup.edition == edition_id
    if country:
        where = where & (WorkingGroup.country == country)
    groups = await _groups(where, language)
    return sorted(groups, key=lambda g: (g.country, g.title, g.locality != ONLINE_LOCALITY, g.id))


def may_manage(actor: CurrentMember | None, group: GroupInfo) -> bool:
    """Facilitators of the group and operators of its country run its scheduling and
    attendance."""
    if actor is None:
        return False
    return actor.is_operator(group.country) or any(f.id == actor.id for f in group.facilitators)


def require_manager(actor: CurrentMember, group: GroupInfo) -> None:
    if not may_manage(actor, group):
        raise Forbidden(
            _("Only the group's facilitators and the operators of %(country)s can do this.")
            % {"country": group.country}
        )


def manager_role(actor: CurrentMember, group: GroupInfo) -> str:
    """What a manager of ``group`` acts as, for the audit log."""
    return ROLE_OPERATOR if actor.is_operator(group.country) else ROLE_FACILITATOR


async def _audit_group(
    actor: CurrentMember, group: GroupInfo, action: str, details: dict[str, Any]
) -> None:
    await audit.record(
        action,
        actor=actor,
        role=manager_role(actor, group),
        country=group.country,
        object_type="working_group",
        object_id=group.id,
        details=details,
    )


async def group_audience(group_id: int) -> list[int]:
    """Who hears about a group's meetings: its participants (with a place) and facilitators."""
    participants = await GroupRegistration.select(GroupRegistration.member).where(
        (GroupRegistration.working_group == group_id) & (GroupRegistration.status == CONFIRMED)
    )
    facilitators = await GroupFacilitator.select(GroupFacilitator.member).where(
        GroupFacilitator.working_group == group_id
    )
    return list(dict.fromkeys([r["member"] for r in participants + facilitators]))


# -- creating groups -------------------------------------------------------------------------


class GroupCreate(msgspec.Struct, kw_only=True):
    """A new working group: ``facilitators`` are members' email addresses or numbers."""

    theme_id: int
    country: str
    locality: str
    language: str
    capacity: int
    facilitators: list[str]
    meeting_count: int = scheduling.DEFAULT_MEETINGS


async def _facilitator_ids(refs: list[str]) -> list[int]:
    wanted = [r.strip() for r in refs if r.strip()]
    if not wanted:
        raise InvalidInput(_("Name at least one facilitator (an email address or member number)."))
    ids: list[int] = []
    for ref in wanted:
        column = Member.email if "@" in ref else Member.member_number
        value = ref.lower() if "@" in ref else ref
        row = await Member.select(Member.id, Member.name).where(column == value).first()
        if row is None:
            raise InvalidInput(_("There is no member %(who)s.") % {"who": ref})
        has_role = await MemberRole.exists().where(
            (MemberRole.member == row["id"]) & (MemberRole.role == ROLE_FACILITATOR)
        )
        if not has_role:
            raise InvalidInput(
                _("%(name)s is not a facilitator: give them the facilitator role first.")
                % {"name": row["name"]}
            )
        ids.append(row["id"])
    return list(dict.fromkeys(ids))


async def create_group(
    rules: Rules, actor: CurrentMember, edition_id: int, data: GroupCreate
) -> int:
    """A working group of a theme that runs in the country this edition (elected by its AGM,
    extended, or accepted where no AGM vote was recorded), where the country's track says
    groups can meet, in one of its languages. Operators of the country create them."""
    from core.themes.extensions import ran_in

    if data.country not in COUNTRIES:
        raise InvalidInput(_("Unknown country %(code)s.") % {"code": data.country})
    if not actor.is_operator(data.country):
        raise Forbidden(
            _("Only operators of %(countries)s can do this.") % {"countries": data.country}
        )
    edition = await get_edition_by_id(edition_id)
    theme = (
        await Theme.select().where(Theme.id == data.theme_id).first()
        if 1 <= data.theme_id <= ID_MAX
        else None
    )
    if theme is None or theme["edition"] != edition_id or data.country not in await ran_in(theme):
        raise InvalidInput(
            _("Choose a theme of %(edition)s that runs in %(country)s.")
            % {"edition": edition.slug, "country": country_name(data.country)}
        )
    track = track_of(rules.registry, rules.settings, data.country)
    if data.locality not in track.localities:
        raise InvalidInput(
            _("Choose where the group meets: one of the places of %(country)s, or online.")
            % {"country": country_name(data.country)}
        )
    if data.language not in track.languages:
        raise InvalidInput(
            _("Choose one of the languages of %(country)s: %(list)s.")
            % {"country": country_name(data.country), "list": ", ".join(track.languages)}
        )
    if not 1 <= data.capacity <= CAPACITY_MAX:
        raise InvalidInput(_("A group has room for 1 to %(n)d participants.") % {"n": CAPACITY_MAX})
    if not 1 <= data.meeting_count <= MEETINGS_MAX:
        raise InvalidInput(_("A group meets between 1 and %(n)d times.") % {"n": MEETINGS_MAX})
    facilitators = await _facilitator_ids(data.facilitators)
    async with db.write_transaction():
        rows = await WorkingGroup.insert(
            WorkingGroup(
                edition=edition_id,
                theme=data.theme_id,
                country=data.country,
                locality=data.locality,
                language=data.language,
                capacity=data.capacity,
                meeting_count=data.meeting_count,
            )
        )
        group_id = int(rows[0]["id"])
        await GroupFacilitator.insert(
            *[GroupFacilitator(working_group=group_id, member=m) for m in facilitators]
        )
        await audit.record(
            "group.create",
            actor=actor,
            country=data.country,
            object_type="working_group",
            object_id=group_id,
            details={
                "edition": edition_id,
                "theme": data.theme_id,
                "locality": data.locality,
                "language": data.language,
                "capacity": data.capacity,
                "meeting_count": data.meeting_count,
                "facilitators": facilitators,
            },
        )
    return group_id


async def group_themes(edition_id: int, country: str, language: str) -> list[tuple[int, str]]:
    """(id, title) of the themes of the edition that run in ``country``: what groups can be
    created for."""
    from core.themes.extensions import ran_in

    rows = await Theme.select().where(
        (Theme.edition == edition_id) & Theme.scope.like(f"%{country}%")
    )
    titles = await _titles(r["id"] for r in rows)
    found = []
    for row in rows:
        if country in await ran_in(row):
            found.append((row["id"], _pick(titles.get(row["id"], {}), language, "en", "fr")))
    return sorted(found, key=lambda t: t[1])


# -- registrations ---------------------------------------------------------------------------


class RegistrationOut(msgspec.Struct):
    """A member's registration: ``position`` is their place on the waiting list (1 is next)."""

    id: int
    group_id: int
    member_id: int
    status: str
    position: int | None
    created_at: datetime


def registrations_allowed(
    rules: Rules, edition: EditionInfo, country: str, member: CurrentMember
) -> int:
    """The ``registrations_allowed`` hook of the group's country (core default: 1)."""
    answer = rules.registry.for_country(country).registrations_allowed(
        edition=edition, country=country, member=member, settings=rules.settings
    )
    return int(answer)


def commitment_absences_allowed(rules: Rules, group: GroupInfo) -> int:
    """The ``commitment_absences_allowed`` hook of the group's country (core default: 2)."""
    answer = rules.registry.for_country(group.country).commitment_absences_allowed(
        group=group, country=group.country, settings=rules.settings
    )
    return int(answer)


async def _lock_group(group_id: int) -> dict[str, Any]:
    """The group's row, locked until the transaction ends: registrations, withdrawals and
    promotions of one group take turns (SQLite's IMMEDIATE transactions already do)."""
    query = WorkingGroup.select().where(WorkingGroup.id == group_id)
    if not db.is_sqlite():
        query = query.lock_rows("NO KEY UPDATE")
    row = await query.first()
    if row is None:
        raise NotFound(_("There is no working group %(id)d.") % {"id": group_id})
    return row


async def _lock_member(member_id: int) -> None:
    """Serialise one member's registrations (PostgreSQL; SQLite's transactions take turns)."""
    if not db.is_sqlite():
        await Member.select(Member.id).where(Member.id == member_id).lock_rows("NO KEY UPDATE")


def _group_event_fields(group: GroupInfo, title: str) -> dict[str, Any]:
    return {
        "country": group.country,
        "group_id": group.id,
        "edition": group.edition,
        "title": title,
        "locality": group.locality,
    }


async def _title_in_group_language(group: GroupInfo) -> str:
    return (await get_group(group.id, group.language)).title


async def registration_of(member_id: int, group_id: int) -> RegistrationOut | None:
    """The member's active registration for the group, with their waiting-list position."""
    r = GroupRegistration
    row = await (
        r.select(r.id, r.status, r.created_at)
        .where((r.working_group == group_id) & (r.member == member_id) & r.status.is_in(ACTIVE))
        .first()
    )
    if row is None:
        return None
    position = None
    if row["status"] == WAITING:
        ahead = await r.select(r.id, r.created_at).where(
            (r.working_group == group_id) & (r.status == WAITING)
        )
        position = 1 + sum(
            1 for a in ahead if (a["created_at"], a["id"]) < (row["created_at"], row["id"])
        )
    return RegistrationOut(
        row["id"], group_id, member_id, row["status"], position, row["created_at"]
    )


async def register(
    rules: Rules,
    member: CurrentMember,
    group_id: int,
    *,
    pledge: bool,
    waiting_list: bool = False,
) -> RegistrationOut:
    """Register ``member`` for a group during its country's registration phase.

    The member must accept the commitment (``pledge``). A full group takes them on its waiting
    list only when they asked for it (``waiting_list``): the form of a full group offers it.
    """
    group = await get_group(group_id)
    if not pledge:
        raise InvalidInput(
            _(
                "To register, accept the commitment: you will take part in the whole cycle, "
                "about five meetings of three hours between November and April."
            )
        )
    if member.country != group.country:
        raise Forbidden(
            _("This working group is for members in %(country)s: choose a group of your country.")
            % {"country": country_name(group.country)}
        )
    edition = await get_edition_by_id(group.edition_id)
    require_phase(edition, group.country, REGISTRATION)
    allowed = registrations_allowed(rules, edition, group.country, member)
    title = await _title_in_group_language(group)
    now = clock.now()
    events: list[Event] = []
    try:
        async with db.write_transaction():
            row = await _lock_group(group_id)
            await _lock_member(member.id)
            r = GroupRegistration
            mine = await r.select(r.working_group, r.status).where(
                (r.edition == group.edition_id) & (r.member == member.id) & r.status.is_in(ACTIVE)
            )
            here = next((m for m in mine if m["working_group"] == group_id), None)
            if here is not None:
                raise Conflict(_already(here["status"]))
            if len(mine) >= allowed:
                raise Conflict(
                    ngettext(
                        "You already hold %(num)d registration for a working group of "
                        "%(edition)s, as many as a member may hold. Withdraw from it first.",
                        "You already hold %(num)d registrations for working groups of "
                        "%(edition)s, as many as a member may hold. Withdraw from one first.",
                        len(mine),
                    )
                    % {"num": len(mine), "edition": edition.slug}
                )
            confirmed = await r.count().where(
                (r.working_group == group_id) & (r.status == CONFIRMED)
            )
            status = CONFIRMED if confirmed < row["capacity"] else WAITING
            if status == WAITING and not waiting_list:
                raise Conflict(
                    _(
                        "This working group is full. You can join its waiting list: the first "
                        "on the list gets the next place that opens up."
                    )
                )
            inserted = await r.insert(
                r(
                    working_group=group_id,
                    edition=group.edition_id,
                    member=member.id,
                    status=status,
                    pledged_at=now,
                    created_at=now,
                    confirmed_at=now if status == CONFIRMED else None,
                )
            )
            registration_id = int(inserted[0]["id"])
            if status == CONFIRMED:
                events.append(
                    RegistrationConfirmed(
                        **_group_event_fields(group, title),
                        registration_id=registration_id,
                        member_id=member.id,
                    )
                )
                await rules.notify(*events)
    except Exception as exc:
        if db.is_unique_violation(exc):  # the same member's second submit, a moment later
            raise Conflict(_already(CONFIRMED)) from None
        raise
    rules.emit(*events)
    found = await registration_of(member.id, group_id)
    assert found is not None
    return found


def _already(status: str) -> str:
    if status == WAITING:
        return _("You are already on the waiting list of this working group.")
    return _("You are already registered for this working group.")


async def withdraw(rules: Rules, member: CurrentMember, group_id: int) -> RegistrationOut:
    """Withdraw the member's registration; a freed place goes to the first on the waiting
    list, who is notified."""
    group = await get_group(group_id)
    title = await _title_in_group_language(group)
    r = GroupRegistration
    events: list[Event] = []
    async with db.write_transaction():
        row = await _lock_group(group_id)
        mine = await (
            r.select(r.id, r.status, r.created_at)
            .where((r.working_group == group_id) & (r.member == member.id) & r.status.is_in(ACTIVE))
            .first()
        )
        if mine is None:
            raise Conflict(_("You are not registered for this working group."))
        now = clock.now()
        await r.update({r.status: WITHDRAWN, r.withdrawn_at: now}).where(r.id == mine["id"])
        events = await _fill_places(group, title, row["capacity"], now)
        await rules.notify(*events)
    rules.emit(*events)
    return RegistrationOut(mine["id"], group_id, member.id, WITHDRAWN, None, mine["created_at"])


async def _fill_places(group: GroupInfo, title: str, capacity: int, now: datetime) -> list[Event]:
    """Give the free places to the first members of the waiting list (call it with the group
    locked); returns their promotion events."""
    r = GroupRegistration
    confirmed = await r.count().where((r.working_group == group.id) & (r.status == CONFIRMED))
    free = capacity - confirmed
    if free <= 0:
        return []
    first = await (
        r.select(r.id, r.member)
        .where((r.working_group == group.id) & (r.status == WAITING))
        .order_by(r.created_at, r.id)
        .limit(free)
    )
    events: list[Event] = []
    for row in first:
        await r.update({r.status: CONFIRMED, r.confirmed_at: now, r.promoted_at: now}).where(
            r.id == row["id"]
        )
        events.append(
            PromotedFromWaitingList(
                **_group_event_fields(group, title),
                registration_id=row["id"],
                member_id=row["member"],
            )
        )
    return events


@dataclass(frozen=True)
class Person:
    id: int
    name: str


async def participants(group_id: int) -> list[Person]:
    """The members with a place in the group, by name."""
    r = GroupRegistration
    rows = await r.select(r.member, r.member.name.as_alias("name")).where(
        (r.working_group == group_id) & (r.status == CONFIRMED)
    )
    return sorted((Person(x["member"], x["name"]) for x in rows), key=lambda p: (p.name, p.id))


async def waiting_list(group_id: int) -> list[Person]:
    r = GroupRegistration
    rows = await (
        r.select(r.member, r.member.name.as_alias("name"))
        .where((r.working_group == group_id) & (r.status == WAITING))
        .order_by(r.created_at, r.id)
    )
    return [Person(x["member"], x["name"]) for x in rows]


async def is_participant(member_id: int, group_id: int) -> bool:
    r = GroupRegistration
    return await r.exists().where(
        (r.working_group == group_id) & (r.member == member_id) & (r.status == CONFIRMED)
    )


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


def _clean_place(place: str, mode: str) -> str:
    if CONTROL.search(place):
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


def check_slot(group: GroupInfo, data: SlotIn) -> tuple[datetime, int, str, str]:
    """(start in UTC, duration, mode, place) of a valid slot, or a clear refusal."""
    if data.mode not in MODES:
        raise InvalidInput(_("Choose whether the meeting is in person or online."))
    if group.online and data.mode != ONLINE:
        raise InvalidInput(_("This group meets online: its meetings are online."))
    if not DURATION_MIN <= data.duration_minutes <= DURATION_MAX:
        raise InvalidInput(
            _("A meeting lasts from %(min)d minutes to %(max)d hours; give it in minutes.")
            % {"min": DURATION_MIN, "max": DURATION_MAX // 60}
        )
    place = _clean_place(data.place, data.mode)
    starts_at = as_local(data.starts_at, group.country)
    ends_at = starts_at + timedelta(minutes=data.duration_minutes)
    first, last = season(group.edition)
    if not (
        first <= local(starts_at, group.country).date()
        and local(ends_at, group.country).date() <= last
    ):
        raise InvalidInput(
            _(
                "Working groups meet between November and April: choose a day from %(first)s "
                "to %(last)s."
            )
            % {"first": local_day(first), "last": local_day(last)}
        )
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
    """A facilitator proposes a candidate slot: between November and April, overlapping none
    of the group's other slots."""
    group = await get_group(group_id)
    require_manager(actor, group)
    starts_at, duration, mode, place = check_slot(group, data)
    ends_at = starts_at + timedelta(minutes=duration)
    async with db.write_transaction():
        _not_scheduled(await _lock_group(group_id))
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
        await _audit_group(
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
        _not_scheduled(await _lock_group(group_id))
        gone = await (
            MeetingSlot.delete()
            .where((MeetingSlot.id == slot_id) & (MeetingSlot.working_group == group_id))
            .returning(MeetingSlot.id)
        )
        if not gone:
            raise NotFound(_("This group has no slot %(id)d.") % {"id": slot_id})
        await _audit_group(actor, group, "group.slot.remove", {"slot": slot_id})


async def answer_slots(member: CurrentMember, group_id: int, answers: dict[int, str]) -> None:
    """A participant says, per slot, whether they can come: yes, if need be (maybe) or no.
    Slots left out keep their earlier answer."""
    group = await get_group(group_id)
    for value in answers.values():
        if value not in scheduling.ANSWERS:
            raise InvalidInput(_("Answer each slot with yes, if need be, or no."))
    async with db.write_transaction():
        _not_scheduled(await _lock_group(group_id))
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
    title = await _title_in_group_language(group)
    async with db.write_transaction():
        _not_scheduled(await _lock_group(group_id))
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
            **_group_event_fields(group, title),
            meetings=len(chosen),
            first_at=by_slot[chosen[0]]["starts_at"],
            last_at=by_slot[chosen[-1]]["starts_at"],
        )
        await rules.notify(scheduled)
        await _audit_group(actor, group, "group.plan", {"slots": chosen})
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
            await _audit_group(
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
    allowed = commitment_absences_allowed(rules, group)
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
    groups = await _groups(WorkingGroup.edition == edition_id, None)
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
    groups = await _groups(WorkingGroup.id.is_in(list(parts)), language)
    return [(g, parts[g.id]) for g in sorted(groups, key=lambda g: (g.edition, g.title))]
