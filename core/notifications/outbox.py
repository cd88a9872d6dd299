"""Writing to the outbox: inside the transaction of the change that causes the notification.

A service calls ``await rules.notify(event)`` (``enqueue(event, rules)``) within its
``db.write_transaction()``: the event and its messages (one per recipient and channel, as the
members' preferences and the country's enabled channels say) commit or roll back with the
change. Nothing is sent here; the relay delivers after the commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec

from core import clock, db
from core.events import Event, event_type
from core.notifications.catalog import KINDS
from core.notifications.digests import IMMEDIATE, gone_members
from core.notifications.tables import (
    MESSAGE_COLUMNS,
    PENDING,
    DigestItem,
    NotificationEvent,
    NotificationPreference,
    OutboxMessage,
    message_key,
)

if TYPE_CHECKING:
    from core.rules import Rules

INSERT_CHUNK = 5000  # rows per executemany: one prepared statement, a bounded list in memory
DIGEST_ITEM_COLUMNS = ("member", "channel", "frequency", "event", "created_at")


async def frequencies(
    member_ids: Iterable[int], event_type: str | None = None
) -> dict[tuple[int, str, str], str]:
    """How often members want their news: (member, event type, channel) -> "immediate",
    "daily" or "weekly" (only the choices made; no row is immediate)."""
    wanted = set(member_ids)
    pref = NotificationPreference
    query = pref.select(pref.member, pref.event_type, pref.channel, pref.frequency).where(
        pref.frequency != IMMEDIATE
    )
    if event_type is not None:
        query = query.where(pref.event_type == event_type)
    rows = await query
    return {
        (r["member"], r["event_type"], r["channel"]): r["frequency"]
        for r in rows
        if r["member"] in wanted
    }


def _in_transaction() -> bool:
    return bool(db.engine().transaction_exists())


async def preferences(
    member_ids: Iterable[int], event_type: str | None = None
) -> dict[tuple[int, str, str], bool]:
    """The choices members made: (member, event type, channel) -> on or off."""
    wanted = set(member_ids)
    query = NotificationPreference.select(
        NotificationPreference.member,
        NotificationPreference.event_type,
        NotificationPreference.channel,
        NotificationPreference.enabled,
    )
    if event_type is not None:
        query = query.where(NotificationPreference.event_type == event_type)
    rows = await query
    return {
        (r["member"], r["event_type"], r["channel"]): bool(r["enabled"])
        for r in rows
        if r["member"] in wanted
    }


async def enqueue(
    event: Event,
    rules: Rules,
    *,
    key: str | None = None,
    recipients: list[int] | None = None,
) -> int:
    """Write ``event`` and its messages to the outbox; returns how many messages (and digest
    items) were written.

    Must run inside the caller's write transaction, so the messages exist exactly when the
    change does. An event whose key is already in the outbox is skipped (0): enqueueing is
    idempotent. ``recipients`` overrides the event type's own audience. Members who left the
    cooperative or whose data was erased get nothing. A member who chose a daily or weekly
    digest for the kind on a channel gets a digest item there instead of a message (the relay
    gathers them); security notices are always sent at once.
    """
    if not _in_transaction():
        raise RuntimeError("outbox.enqueue must run inside the change's db.write_transaction()")
    kind = KINDS[event_type(event)]
    key = key or kind.key(event)
    now = clock.now()
    written = await (
        NotificationEvent.insert(
            NotificationEvent(
                key=key,
                event_type=kind.type,
                country=event.country,
                payload=msgspec.json.encode(event).decode(),
                created_at=now,
            )
        )
        .on_conflict(target=NotificationEvent.key, action="DO NOTHING")
        .returning(NotificationEvent.id)
    )
    if not written:
        return 0
    event_id = written[0]["id"]
    channels = rules.notifiers(event.country)
    members = recipients if recipients is not None else await kind.recipients(event)
    members = list(dict.fromkeys(members))
    if members:
        gone = await gone_members()
        members = [m for m in members if m not in gone]
    chosen = await preferences(members, kind.type) if members else {}
    digested = await frequencies(members, kind.type) if members and not kind.mandatory else {}
    held: list[tuple[Any, ...]] = []

    # Rows as plain tuples, written with one prepared statement: a results notice goes to
    # every shareholder (40,000 rows), and building ORM objects for each costs seconds.
    rows: list[tuple[Any, ...]] = []

    def add(channel: str, member_id: int | None) -> None:
        rows.append(
            (
                event_id,
                message_key(key, channel, member_id),
                kind.type,
                event.country,
                channel,
                member_id,
                PENDING,
                0,
                now,
                "",
                now,
            )
        )

    for name, channel in sorted(channels.items()):
        if not channel.per_member:
            if channel.wants(kind.type):
                add(name, None)
            continue
        default = channel.default_for(kind.type)
        for member_id in members:
            if (kind.mandatory and default) or chosen.get((member_id, kind.type, name), default):
                frequency = digested.get((member_id, kind.type, name), IMMEDIATE)
                if channel.digests and frequency != IMMEDIATE:
                    held.append((member_id, name, frequency, event_id, now))
                else:
                    add(name, member_id)
    for start in range(0, len(rows), INSERT_CHUNK):
        await db.insert_many("outbox_message", MESSAGE_COLUMNS, rows[start : start + INSERT_CHUNK])
    for start in range(0, len(held), INSERT_CHUNK):
        await db.insert_many("digest_item", DIGEST_ITEM_COLUMNS, held[start : start + INSERT_CHUNK])
    return len(rows) + len(held)


async def hold_back(event: Event, until: datetime) -> None:
    """Delay the first delivery of an enqueued event's messages until ``until`` (a reminder
    written when a member registers, sent a day before the session). Inside the transaction
    that enqueued it."""
    key = KINDS[event_type(event)].key(event)
    found = await NotificationEvent.select(NotificationEvent.id).where(NotificationEvent.key == key)
    if found:
        await OutboxMessage.update({OutboxMessage.next_attempt_at: until}).where(
            OutboxMessage.event == found[0]["id"]
        )
        # A digest takes it in the period of ``until``, not of today.
        await DigestItem.update({DigestItem.created_at: until}).where(
            (DigestItem.event == found[0]["id"]) & DigestItem.digest_key.is_null()
        )


async def take_back(key: str) -> None:
    """Drop the messages not sent yet of an event that should no longer be sent (a reminder of
    a registration that was cancelled); the event's key is ``kind.key(event)``."""
    found = await NotificationEvent.select(NotificationEvent.id).where(NotificationEvent.key == key)
    if found:
        await OutboxMessage.delete().where(
            (OutboxMessage.event == found[0]["id"]) & (OutboxMessage.state == PENDING)
        )
        await DigestItem.delete().where(
            (DigestItem.event == found[0]["id"]) & DigestItem.digest_key.is_null()
        )


def payload_of(event: Event) -> dict[str, Any]:
    """The event as plain JSON data (what a webhook receives under ``data``)."""
    return msgspec.to_builtins(event)
