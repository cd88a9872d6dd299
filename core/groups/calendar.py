"""Members' calendars: their meetings and info sessions, on a page and as an iCalendar feed.

Calendar apps subscribe to a feed without a session, so the feed lives at a secret address:
``/calendar/<member id>-<token>.ics``, where the token is an HMAC of the member and a per-member
salt under the platform's secret key. The database holds the salt, not the token; a new salt
(``reset_feed``) retires the old address. Changing the platform's secret key retires them all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from icalendar import Calendar, Event

from core import clock, db
from core.groups.info_sessions import sessions_of
from core.groups.planning import my_groups
from core.groups.services import CONFIRMED
from core.groups.tables import CalendarFeed, Meeting
from core.i18n import _

FEED = re.compile(r"^([1-9][0-9]{0,9})-([A-Za-z0-9_-]{32})\.ics$")
PRODID = "-//Smart in Progress//Working groups//EN"


@dataclass(frozen=True)
class Entry:
    """One event of a member's calendar."""

    uid: str
    starts_at: datetime
    ends_at: datetime
    summary: str
    location: str
    path: str  # the page on the platform


def feed_token(secret_key: str, member_id: int, salt: str) -> str:
    digest = hmac.new(
        secret_key.encode(), f"calendar-feed:{member_id}:{salt}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode()


async def _salt(member_id: int) -> str:
    row = await CalendarFeed.select(CalendarFeed.salt).where(CalendarFeed.member == member_id)
    if row:
        return row[0]["salt"]
    salt = secrets.token_hex(16)
    await CalendarFeed.insert(CalendarFeed(member=member_id, salt=salt)).on_conflict(
        target=CalendarFeed.member, action="DO NOTHING"
    )
    # Two first visits at once: the salt that was stored first is everybody's.
    row = await CalendarFeed.select(CalendarFeed.salt).where(CalendarFeed.member == member_id)
    return row[0]["salt"]


async def feed_path(secret_key: str, member_id: int) -> str:
    """The member's secret feed address (made on first use)."""
    return f"/calendar/{member_id}-{feed_token(secret_key, member_id, await _salt(member_id))}.ics"


async def reset_feed(secret_key: str, member_id: int) -> str:
    """A new feed address; the old one stops working."""
    salt = secrets.token_hex(16)
    async with db.write_transaction():
        changed = await (
            CalendarFeed.update({CalendarFeed.salt: salt, CalendarFeed.created_at: clock.now()})
            .where(CalendarFeed.member == member_id)
            .returning(CalendarFeed.id)
        )
        if not changed:
            await CalendarFeed.insert(CalendarFeed(member=member_id, salt=salt))
    return await feed_path(secret_key, member_id)


async def member_of_feed(secret_key: str, name: str) -> int | None:
    """The member whose feed ``name`` (``<id>-<token>.ics``) is, or None."""
    found = FEED.match(name)
    if not found or int(found.group(1)) > db.ID_MAX:
        return None
    member_id = int(found.group(1))
    row = await CalendarFeed.select(CalendarFeed.salt).where(CalendarFeed.member == member_id)
    if not row:
        return None
    expected = feed_token(secret_key, member_id, row[0]["salt"])
    return member_id if hmac.compare_digest(expected, found.group(2)) else None


async def entries_of(member_id: int) -> list[Entry]:
    """The member's meetings (groups they have a place in or facilitate) and the info
    sessions they registered for, in time order."""
    entries: list[Entry] = []
    for group, part in await my_groups(member_id):
        if part not in (CONFIRMED, "facilitator"):
            continue
        rows = await (
            Meeting.select().where(Meeting.working_group == group.id).order_by(Meeting.number)
        )
        for row in rows:
            entries.append(
                Entry(
                    uid=f"meeting-{row['id']}",
                    starts_at=row["starts_at"],
                    ends_at=row["starts_at"] + timedelta(minutes=row["duration_minutes"]),
                    summary=_("Working group “%(title)s”, meeting %(number)d of %(count)d")
                    % {"title": group.title, "number": row["number"], "count": len(rows)},
                    location=row["place"],
                    path=f"/groups/{group.id}",
                )
            )
    for session in await sessions_of(member_id):
        entries.append(
            Entry(
                uid=f"info-session-{session.id}",
                starts_at=session.starts_at,
                ends_at=session.ends_at,
                summary=_("Info session “%(title)s”") % {"title": session.title},
                location=session.place,
                path=f"/info-sessions/{session.id}",
            )
        )
    return sorted(entries, key=lambda e: (e.starts_at, e.uid))


def ical(entries: list[Entry], *, name: str, base_url: str) -> bytes:
    """The entries as an iCalendar (RFC 5545) document, times in UTC."""
    host = base_url.split("://", 1)[-1].split("/", 1)[0] or "localhost"
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    stamp = clock.now()
    for entry in entries:
        event = Event()
        event.add("uid", f"{entry.uid}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", entry.starts_at)
        event.add("dtend", entry.ends_at)
        event.add("summary", entry.summary)
        if entry.location:
            event.add("location", entry.location)
        url = base_url.rstrip("/") + entry.path
        event.add("url", url)
        event.add("description", url)
        calendar.add_component(event)
    return calendar.to_ical()
