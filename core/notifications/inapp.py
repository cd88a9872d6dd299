"""The in-app notification centre: the core's own channel, always enabled in every country.

Delivering a message writes a ``notification`` row; the member reads it on /notifications,
rendered in the language they browse in. The row's unique idempotency key makes a repeated
delivery a no-op.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from core import clock, db
from core.errors import NotFound
from core.i18n import N_, _
from core.notifications import Delivery, Notifier, PermanentFailure
from core.notifications.catalog import decode_event, render
from core.notifications.tables import Notification

IN_APP = "in_app"
PAGE_SIZE = 50
ID_MAX = db.ID_MAX


class InAppNotifier(Notifier):
    name = IN_APP
    label = N_("On this site")
    per_member = True
    default_events = None  # every event

    async def deliver(self, delivery: Delivery) -> None:
        if delivery.member is None:
            raise PermanentFailure("an in-app notification needs a member")
        await Notification.insert(
            Notification(
                member=delivery.member.id,
                event=delivery.event_id,
                idempotency_key=delivery.key,
                created_at=delivery.now,
            )
        ).on_conflict(target=Notification.idempotency_key, action="DO NOTHING")


class NotificationOut(msgspec.Struct):
    id: int
    type: str
    subject: str
    body: str
    url: str
    created_at: datetime
    read: bool


class NotificationList(msgspec.Struct):
    unread: int
    items: list[NotificationOut]


async def unread_count(member_id: int) -> int:
    return await Notification.count().where(
        (Notification.member == member_id) & Notification.read_at.is_null()
    )


async def list_notifications(member_id: int, language: str) -> NotificationList:
    """The member's latest notifications, newest first, in ``language``."""
    rows = await (
        Notification.select(
            Notification.id,
            Notification.created_at,
            Notification.read_at,
            Notification.event.event_type.as_alias("event_type"),
            Notification.event.payload.as_alias("payload"),
        )
        .where(Notification.member == member_id)
        .order_by(Notification.created_at, ascending=False)
        .order_by(Notification.id, ascending=False)
        .limit(PAGE_SIZE)
    )
    items = []
    for row in rows:
        text = render(decode_event(row["payload"]), language)
        items.append(
            NotificationOut(
                id=row["id"],
                type=row["event_type"],
                subject=text.subject,
                body=text.body,
                url=text.path,
                created_at=row["created_at"],
                read=row["read_at"] is not None,
            )
        )
    return NotificationList(unread=await unread_count(member_id), items=items)


async def mark_read(member_id: int, notification_id: int | None = None) -> int:
    """Mark one of the member's notifications read (or all with None); returns how many
    changed. Another member's notification does not exist for this one."""
    where = (Notification.member == member_id) & Notification.read_at.is_null()
    if notification_id is not None:
        exists = 1 <= notification_id <= ID_MAX and await Notification.exists().where(
            (Notification.id == notification_id) & (Notification.member == member_id)
        )
        if not exists:
            raise NotFound(_("There is no notification %(id)d.") % {"id": notification_id})
        where = where & (Notification.id == notification_id)
    changed = await (
        Notification.update({Notification.read_at: clock.now()})
        .where(where)
        .returning(Notification.id)
    )
    return len(changed)
