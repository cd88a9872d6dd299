"""Info sessions: operators publish them (e.g. online, 16 December 2020, 10:00-11:30, a
presentation then questions) with a link or an address and a capacity; members of the country
register until the session starts.

The reminder is written to the outbox when the member registers, in the registration's
transaction, and held back until 24 hours before the session (its messages' first attempt is
set then): the relay delivers it on the day before without any scheduler of its own. A
member who unregisters takes their pending reminder back.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec

from core import clock, db
from core.audit import services as audit
from core.config import COUNTRIES, LANGUAGES
from core.editions.services import get_edition_by_id
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.events import InfoSessionReminder
from core.groups.planning import clean_place
from core.groups.scheduling import MODES, ONLINE
from core.groups.services import DURATION_MAX, DURATION_MIN, as_local
from core.groups.tables import InfoSession, InfoSessionRegistration
from core.i18n import _, country_name
from core.members.model import CurrentMember
from core.notifications import outbox
from core.rules import Rules
from core.text import has_control_characters

ID_MAX = db.ID_MAX
TITLE_MIN, TITLE_MAX = 3, 200
DESCRIPTION_MAX = 5000
CAPACITY_MAX = 5000
REMINDER_BEFORE = timedelta(hours=24)


class InfoSessionIn(msgspec.Struct, kw_only=True):
    """A new info session. A ``starts_at`` without a time zone is the country's local time."""

    country: str
    title: str
    starts_at: datetime
    duration_minutes: int = 90
    mode: str = ONLINE
    place: str = ""
    capacity: int = 100
    language: str = ""
    description: str = ""


class InfoSessionOut(msgspec.Struct, kw_only=True):
    """An info session; ``registered`` counts its registrations and ``mine`` says whether the
    viewer is one of them."""

    id: int
    edition_id: int
    edition: str
    country: str
    title: str
    description: str
    language: str
    starts_at: datetime
    ends_at: datetime
    duration_minutes: int
    mode: str
    place: str
    capacity: int
    registered: int
    mine: bool = False

    @property
    def full(self) -> bool:
        return self.registered >= self.capacity


def _check(data: InfoSessionIn, default_language: str) -> InfoSessionIn:
    if data.country not in COUNTRIES:
        raise InvalidInput(_("Unknown country %(code)s.") % {"code": data.country})
    if has_control_characters(data.title, data.description):
        raise InvalidInput(_("The text contains control characters; type it again."))
    title = " ".join(data.title.split())
    if not TITLE_MIN <= len(title) <= TITLE_MAX:
        raise InvalidInput(
            _("Give the session a title of %(min)d to %(max)d characters.")
            % {"min": TITLE_MIN, "max": TITLE_MAX}
        )
    description = data.description.strip()
    if len(description) > DESCRIPTION_MAX:
        raise InvalidInput(
            _("The description may have at most %(n)d characters.") % {"n": DESCRIPTION_MAX}
        )
    language = data.language or default_language
    if language not in LANGUAGES:
        raise InvalidInput(_("Unknown language %(code)s.") % {"code": language})
    if data.mode not in MODES:
        raise InvalidInput(_("Choose whether the meeting is in person or online."))
    if not DURATION_MIN <= data.duration_minutes <= DURATION_MAX:
        raise InvalidInput(
            _("A meeting lasts from %(min)d minutes to %(max)d hours; give it in minutes.")
            % {"min": DURATION_MIN, "max": DURATION_MAX // 60}
        )
    if not 1 <= data.capacity <= CAPACITY_MAX:
        raise InvalidInput(
            _("A session has room for 1 to %(n)d participants.") % {"n": CAPACITY_MAX}
        )
    starts_at = as_local(data.starts_at, data.country)
    if starts_at <= clock.now():
        raise InvalidInput(_("An info session is published before it starts."))
    return InfoSessionIn(
        country=data.country,
        title=title,
        starts_at=starts_at,
        duration_minutes=data.duration_minutes,
        mode=data.mode,
        place=clean_place(data.place, data.mode),
        capacity=data.capacity,
        language=language,
        description=description,
    )


async def create_info_session(actor: CurrentMember, edition_id: int, data: InfoSessionIn) -> int:
    """Operators of the session's country publish it."""
    if data.country in COUNTRIES and not actor.is_operator(data.country):
        raise Forbidden(
            _("Only operators of %(countries)s can do this.") % {"countries": data.country}
        )
    checked = _check(data, actor.language)
    await get_edition_by_id(edition_id)
    async with db.write_transaction():
        rows = await InfoSession.insert(
            InfoSession(
                edition=edition_id,
                country=checked.country,
                title=checked.title,
                description=checked.description,
                language=checked.language,
                starts_at=checked.starts_at,
                duration_minutes=checked.duration_minutes,
                mode=checked.mode,
                place=checked.place,
                capacity=checked.capacity,
                created_by=actor.id,
            )
        )
        session_id = int(rows[0]["id"])
        await audit.record(
            "info_session.create",
            actor=actor,
            country=checked.country,
            object_type="info_session",
            object_id=session_id,
            details={"title": checked.title, "starts_at": checked.starts_at.isoformat()},
        )
    return session_id


async def _sessions(where: Any, viewer_id: int | None) -> list[InfoSessionOut]:
    s = InfoSession
    rows = await (
        s.select(*s.all_columns(), s.edition.slug.as_alias("edition_slug"))
        .where(where)
        .order_by(s.starts_at, s.id)
    )
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    counts: dict[int, int] = {}
    mine: set[int] = set()
    for reg in await InfoSessionRegistration.select(
        InfoSessionRegistration.info_session, InfoSessionRegistration.member
    ).where(
        InfoSessionRegistration.info_session.is_in(ids)
        & InfoSessionRegistration.cancelled_at.is_null()
    ):
        counts[reg["info_session"]] = counts.get(reg["info_session"], 0) + 1
        if reg["member"] == viewer_id:
            mine.add(reg["info_session"])
    return [
        InfoSessionOut(
            id=r["id"],
            edition_id=r["edition"],
            edition=r["edition_slug"],
            country=r["country"],
            title=r["title"],
            description=r["description"],
            language=r["language"],
            starts_at=r["starts_at"],
            ends_at=r["starts_at"] + timedelta(minutes=r["duration_minutes"]),
            duration_minutes=r["duration_minutes"],
            mode=r["mode"],
            place=r["place"],
            capacity=r["capacity"],
            registered=counts.get(r["id"], 0),
            mine=r["id"] in mine,
        )
        for r in rows
    ]


async def get_info_session(session_id: int, viewer: CurrentMember | None = None) -> InfoSessionOut:
    found = (
        await _sessions(InfoSession.id == session_id, viewer.id if viewer else None)
        if 1 <= session_id <= ID_MAX
        else []
    )
    if not found:
        raise NotFound(_("There is no info session %(id)d.") % {"id": session_id})
    return found[0]


async def list_info_sessions(
    edition_id: int, viewer: CurrentMember | None = None
) -> list[InfoSessionOut]:
    return await _sessions(InfoSession.edition == edition_id, viewer.id if viewer else None)


async def _lock(session_id: int) -> dict[str, Any]:
    query = InfoSession.select().where(InfoSession.id == session_id)
    if not db.is_sqlite():
        query = query.lock_rows("NO KEY UPDATE")
    row = await query.first()
    if row is None:
        raise NotFound(_("There is no info session %(id)d.") % {"id": session_id})
    return row


async def register(rules: Rules, member: CurrentMember, session_id: int) -> InfoSessionOut:
    """Register a member of the session's country before it starts, within its capacity; the
    reminder is written now and delivered 24 hours before the start."""
    session = await get_info_session(session_id)
    if member.country != session.country:
        raise Forbidden(
            _("This info session is for members in %(country)s.")
            % {"country": country_name(session.country)}
        )
    r = InfoSessionRegistration
    try:
        async with db.write_transaction():
            row = await _lock(session_id)
            if row["starts_at"] <= clock.now():
                raise Conflict(_("This info session has started: registration is closed."))
            active = (r.info_session == session_id) & r.cancelled_at.is_null()
            if await r.exists().where(active & (r.member == member.id)):
                raise Conflict(_("You are already registered for this info session."))
            if await r.count().where(active) >= row["capacity"]:
                raise Conflict(_("This info session is full."))
            inserted = await r.insert(r(info_session=session_id, member=member.id))
            reminder = InfoSessionReminder(
                country=session.country,
                info_session_id=session_id,
                edition=session.edition,
                title=session.title,
                starts_at=session.starts_at,
                registration_id=int(inserted[0]["id"]),
                member_id=member.id,
            )
            await rules.notify(reminder)
            await outbox.hold_back(reminder, max(clock.now(), session.starts_at - REMINDER_BEFORE))
    except Exception as exc:
        if db.is_unique_violation(exc):
            raise Conflict(_("You are already registered for this info session.")) from None
        raise
    return await get_info_session(session_id, member)


async def unregister(member: CurrentMember, session_id: int) -> InfoSessionOut:
    """Cancel a registration before the session starts, and its pending reminder."""
    r = InfoSessionRegistration
    async with db.write_transaction():
        row = await _lock(session_id) if 1 <= session_id <= ID_MAX else None
        if row is None:
            raise NotFound(_("There is no info session %(id)d.") % {"id": session_id})
        if row["starts_at"] <= clock.now():
            raise Conflict(_("This info session has started: registrations are final."))
        gone = await (
            r.update({r.cancelled_at: clock.now()})
            .where(
                (r.info_session == session_id) & (r.member == member.id) & r.cancelled_at.is_null()
            )
            .returning(r.id)
        )
        if not gone:
            raise Conflict(_("You are not registered for this info session."))
        await outbox.take_back(f"info_session_reminder:{gone[0]['id']}")
    return await get_info_session(session_id, member)


async def sessions_of(member_id: int) -> list[InfoSessionOut]:
    """The info sessions a member registered for, in time order."""
    ids = [
        r["info_session"]
        for r in await InfoSessionRegistration.select(InfoSessionRegistration.info_session).where(
            (InfoSessionRegistration.member == member_id)
            & InfoSessionRegistration.cancelled_at.is_null()
        )
    ]
    if not ids:
        return []
    return await _sessions(InfoSession.id.is_in(ids), member_id)


async def registrants(session_id: int) -> list[tuple[int, str]]:
    """(id, name) of a session's registrants, for its operators."""
    r = InfoSessionRegistration
    rows = await r.select(r.member, r.member.name.as_alias("name")).where(
        (r.info_session == session_id) & r.cancelled_at.is_null()
    )
    return sorted(((x["member"], x["name"]) for x in rows), key=lambda p: p[1])
