"""Digests: a member's daily or weekly message gathering a period's events on one channel.

When an event is enqueued for a member who chose a daily or weekly digest for its kind on a
channel, the outbox writes a ``digest_item`` instead of a message (``outbox.enqueue``). The
relay's ``gather`` takes the items of every period that ended (daily: the member's previous
local day, in their country's time zone, once midnight passed there; weekly: the previous
Monday to Sunday) and writes, per (member, channel, frequency, period), one event of type
"digest" and one outbox message, and marks the items with the digest's key, in one
transaction. The key is unique: two relays gathering at once write one digest.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import msgspec

from core import db
from core.config import COUNTRIES, zone_of
from core.events import Event
from core.members.tables import Member
from core.notifications.tables import (
    MESSAGE_COLUMNS,
    PENDING,
    DigestItem,
    NotificationEvent,
    message_key,
)

IMMEDIATE = "immediate"
DAILY = "daily"
WEEKLY = "weekly"
FREQUENCIES = (IMMEDIATE, DAILY, WEEKLY)
DIGEST = "digest"
GROUPS_PER_TRANSACTION = 200


class Digest(Event, frozen=True, tag="digest"):
    """The events of one period for one member on one channel (``events``: their ids, in the
    order they happened). ``period_start`` to ``period_end`` are local days, both included."""

    member_id: int
    channel: str
    frequency: str
    period_start: date
    period_end: date
    events: list[int]


def decode_digest(payload: str | bytes) -> Digest:
    return msgspec.json.decode(payload, type=Digest)


def period_of(moment: datetime, country: str, frequency: str) -> tuple[date, date]:
    """The local days (first, last) of the digest period ``moment`` falls in."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    day = moment.astimezone(zone_of(country)).date()
    if frequency == WEEKLY:
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=6)
    return day, day


def is_due(period_end: date, country: str, now: datetime) -> bool:
    """A period is due once its last local day is over in the member's country."""
    return now.astimezone(zone_of(country)).date() > period_end


def digest_key(member_id: int, channel: str, frequency: str, start: date) -> str:
    return f"{DIGEST}:{member_id}:{channel}:{frequency}:{start.isoformat()}"


def _latest_start_of(now: datetime, weekly: bool) -> datetime:
    """The latest moment a period could have ended in any country: items written after it
    cannot be due yet (so the relay's frequent look reads only what may be due)."""
    latest = datetime.min.replace(tzinfo=UTC)
    for country in (*COUNTRIES, ""):
        zone = zone_of(country)
        day = now.astimezone(zone).date()
        if weekly:
            day -= timedelta(days=day.weekday())
        latest = max(latest, datetime.combine(day, time(), tzinfo=zone).astimezone(UTC))
    return latest


async def gather(now: datetime) -> int:
    """Write the digests of every period that ended; returns how many were written."""
    d = DigestItem
    rows = await (
        d.select(
            d.id,
            d.member,
            d.channel,
            d.frequency,
            d.event,
            d.created_at,
            d.member.country.as_alias("country"),
            d.member.left_at.as_alias("left_at"),
            d.member.erased_at.as_alias("erased_at"),
        )
        .where(
            d.digest_key.is_null()
            & (
                ((d.frequency == DAILY) & (d.created_at < _latest_start_of(now, weekly=False)))
                | ((d.frequency == WEEKLY) & (d.created_at < _latest_start_of(now, weekly=True)))
            )
        )
        .order_by(d.created_at)
        .order_by(d.id)
    )
    gone: list[int] = []
    groups: dict[tuple[int, str, str, date], list[dict[str, Any]]] = defaultdict(list)
    periods: dict[tuple[int, str, str, date], date] = {}
    for row in rows:
        if row["left_at"] is not None or row["erased_at"] is not None:
            gone.append(row["id"])  # a member who left or was erased gets nothing
            continue
        start, end = period_of(row["created_at"], row["country"], row["frequency"])
        if not is_due(end, row["country"], now):
            continue
        group = (row["member"], row["channel"], row["frequency"], start)
        groups[group].append(row)
        periods[group] = end
    for chunk in range(0, len(gone), 5000):
        async with db.write_transaction():
            await d.delete().where(d.id.is_in(gone[chunk : chunk + 5000]))

    written = 0
    ordered = sorted(groups)
    for first in range(0, len(ordered), GROUPS_PER_TRANSACTION):
        messages: list[tuple[Any, ...]] = []
        async with db.write_transaction():
            for group in ordered[first : first + GROUPS_PER_TRANSACTION]:
                member_id, channel, frequency, start = group
                items = groups[group]
                key = digest_key(member_id, channel, frequency, start)
                event_id = await _write_digest(key, items, group, periods[group], now)
                if event_id is None:
                    # Another relay wrote this period's digest: items that came in after it
                    # (a change committed just after midnight) make a digest of their own.
                    left = await d.select(d.id).where(
                        d.id.is_in([i["id"] for i in items]) & d.digest_key.is_null()
                    )
                    remaining = {r["id"] for r in left}
                    if not remaining:
                        continue
                    items = [i for i in items if i["id"] in remaining]
                    key = f"{key}+{min(remaining)}"
                    event_id = await _write_digest(key, items, group, periods[group], now)
                    if event_id is None:
                        continue
                await d.update({d.digest_key: key}).where(
                    d.id.is_in([i["id"] for i in items]) & d.digest_key.is_null()
                )
                messages.append(
                    (
                        event_id,
                        message_key(key, channel, member_id),
                        DIGEST,
                        items[0]["country"],
                        channel,
                        member_id,
                        PENDING,
                        0,
                        now,
                        "",
                        now,
                    )
                )
            if messages:
                await db.insert_many("outbox_message", MESSAGE_COLUMNS, messages)
        written += len(messages)
    return written


async def _write_digest(
    key: str,
    items: list[dict[str, Any]],
    group: tuple[int, str, str, date],
    end: date,
    now: datetime,
) -> int | None:
    member_id, channel, frequency, start = group
    country = items[0]["country"]
    digest = Digest(
        country=country,
        member_id=member_id,
        channel=channel,
        frequency=frequency,
        period_start=start,
        period_end=end,
        events=list(dict.fromkeys(i["event"] for i in items)),
    )
    written = await (
        NotificationEvent.insert(
            NotificationEvent(
                key=key,
                event_type=DIGEST,
                country=country,
                payload=msgspec.json.encode(digest).decode(),
                created_at=now,
            )
        )
        .on_conflict(target=NotificationEvent.key, action="DO NOTHING")
        .returning(NotificationEvent.id)
    )
    return written[0]["id"] if written else None


async def gone_members() -> set[int]:
    """Members who left the cooperative or whose data was erased: they get no notification.
    (Few, next to an audience of thousands: one query, filtered in Python.)"""
    rows = await Member.select(Member.id).where(
        Member.left_at.is_not_null() | Member.erased_at.is_not_null()
    )
    return {r["id"] for r in rows}
