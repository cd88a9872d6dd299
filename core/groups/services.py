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

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import msgspec

from core import clock, db, formats
from core.audit import services as audit
from core.config import COUNTRIES, zone_of
from core.editions.services import (
    REGISTRATION,
    WORKING_GROUPS,
    EditionInfo,
    PhaseWindow,
    get_edition_by_id,
    require_phase,
)
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.events import Event, PromotedFromWaitingList, RegistrationConfirmed
from core.groups import scheduling
from core.groups.audience import ACTIVE, CONFIRMED, WAITING, WITHDRAWN
from core.groups.tables import (
    GroupFacilitator,
    GroupRegistration,
    WorkingGroup,
)
from core.i18n import _, country_name, current_language, ngettext
from core.members.model import CurrentMember
from core.members.tables import ROLE_FACILITATOR, ROLE_OPERATOR, Member, MemberRole
from core.rules import Rules
from core.themes.tables import Theme, ThemeText
from core.tracks import ONLINE as ONLINE_LOCALITY
from core.tracks import track_of

ID_MAX = db.ID_MAX
CAPACITY_MAX = 200
MEETINGS_MAX = 12
DURATION_MIN, DURATION_MAX = 30, 8 * 60
PLACE_MIN, PLACE_MAX = 3, 300


# -- time ------------------------------------------------------------------------------------


def local(moment: datetime, country: str) -> datetime:
    return moment.astimezone(zone_of(country))


def local_time(moment: datetime, country: str) -> str:
    """A meeting's start in the country's time zone, written the reader's way."""
    return formats.moment(moment, country)


def local_clock(moment: datetime, country: str) -> str:
    """The time of day only ("11:30"), in the country's time zone."""
    return formats.clock(moment, country)


def local_day(day: date) -> str:
    return formats.day(day)


def meeting_phase(edition: EditionInfo, country: str) -> PhaseWindow | None:
    """The working-group phase of ``country`` in the edition's calendar: the days its groups
    meet on (None when the calendar has no such phase)."""
    calendar = edition.calendar(country)
    return calendar.window(WORKING_GROUPS) if calendar else None


async def require_meeting_phase(group: GroupInfo) -> PhaseWindow:
    """The working-group phase of the group's country; refused, like any action whose phase
    has no dates (``require_phase``), when the calendar has none."""
    edition = await get_edition_by_id(group.edition_id)
    window = meeting_phase(edition, group.country)
    if window is None:
        raise Forbidden(
            _(
                "The calendar of %(edition)s for %(country)s must have a working-group phase "
                "before meetings are planned: its meetings fall in that phase."
            )
            % {"edition": edition.slug, "country": country_name(group.country)}
        )
    return window


def check_meeting_time(
    window: PhaseWindow, starts_at: datetime, ends_at: datetime, country: str
) -> None:
    """A meeting (or a candidate slot) lies inside the working-group phase, in the country's
    local days, and starts after now."""
    if not (
        window.starts_on <= local(starts_at, country).date()
        and local(ends_at, country).date() <= window.ends_on
    ):
        raise InvalidInput(
            _(
                "Working groups meet during their phase of the calendar: choose a day from "
                "%(first)s to %(last)s."
            )
            % {"first": local_day(window.starts_on), "last": local_day(window.ends_on)}
        )
    if starts_at <= clock.now():
        raise InvalidInput(
            _("This time has passed: choose one still to come, by %(last)s at the latest.")
            % {"last": local_day(window.ends_on)}
        )


def meeting_days(edition: EditionInfo, country: str) -> tuple[date, date] | None:
    """The first and last days a meeting can still be proposed on in ``country``: the
    working-group phase from today on (None without a phase, or once it is over)."""
    window = meeting_phase(edition, country)
    if window is None:
        return None
    first = max(window.starts_on, clock.now().astimezone(zone_of(country)).date())
    return (first, window.ends_on) if first <= window.ends_on else None


def as_local(moment: datetime, country: str) -> datetime:
    """An aware time as it is; a naive one is the country's local time."""
    try:
        return formats.from_local(moment, country).astimezone(UTC)
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


async def groups_where(where: Any, language: str | None) -> list[GroupInfo]:
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
    found = (
        await groups_where(WorkingGroup.id == group_id, language) if 1 <= group_id <= ID_MAX else []
    )
    if not found:
        raise NotFound(_("There is no working group %(id)d.") % {"id": group_id})
    return found[0]


async def list_groups(
    edition_id: int, language: str | None = None, country: str | None = None
) -> list[GroupInfo]:
    where = WorkingGroup.edition == edition_id
    if country:
        where = where & (WorkingGroup.country == country)
    groups = await groups_where(where, language)
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


async def audit_group(
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


async def lock_group(group_id: int) -> dict[str, Any]:
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


def group_event_fields(group: GroupInfo, title: str) -> dict[str, Any]:
    return {
        "country": group.country,
        "group_id": group.id,
        "edition": group.edition,
        "title": title,
        "locality": group.locality,
    }


async def title_in_group_language(group: GroupInfo) -> str:
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
    if any(f.id == member.id for f in group.facilitators):
        raise Conflict(
            _(
                "You facilitate this working group: you take part as its facilitator, without "
                "registering or joining its waiting list."
            )
        )
    edition = await get_edition_by_id(group.edition_id)
    require_phase(edition, group.country, REGISTRATION)
    allowed = rules.registrations_allowed(edition, group.country, member)
    title = await title_in_group_language(group)
    now = clock.now()
    events: list[Event] = []
    try:
        async with db.write_transaction():
            row = await lock_group(group_id)
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
                        **group_event_fields(group, title),
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
    title = await title_in_group_language(group)
    r = GroupRegistration
    events: list[Event] = []
    async with db.write_transaction():
        row = await lock_group(group_id)
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
                **group_event_fields(group, title),
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


async def waiting_count(countries: list[str]) -> int:
    """Registrations on a waiting list in the groups of these countries (operators follow
    them: a place freed by a withdrawal goes to the first)."""
    if not countries:
        return 0
    r = GroupRegistration
    return await r.count().where(
        (r.status == WAITING) & r.working_group.country.is_in(sorted(set(countries)))
    )
