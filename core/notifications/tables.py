"""Notification tables: the events that notify, the outbox, the in-app centre, preferences.

An event that notifies is written (``notification_event``) with one outbox message per
recipient and channel, in the transaction of the change that caused it. The relay delivers
the messages; the in-app channel's delivery is a ``notification`` row a member reads.
"""

from __future__ import annotations

from piccolo.columns import Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.members.tables import Member

# Outbox message states
PENDING = "pending"
SENT = "sent"
FAILED = "failed"
STATES = (PENDING, SENT, FAILED)


class NotificationEvent(Table, tablename="notification_event"):
    """One event that notifies. ``key`` is unique: an event written twice (a poll's closing
    reminder found by two relays) notifies once. ``payload`` is the event as JSON."""

    key = Varchar(length=200, unique=True)
    event_type = Varchar(length=40)
    country = Varchar(length=2)
    payload = Text()
    created_at = Timestamptz(default=TimestamptzNow())


class OutboxMessage(Table, tablename="outbox_message"):
    """One message to deliver: an event for one recipient (a member, or none for channels
    that send once per event) on one channel.

    ``idempotency_key`` is unique and travels with every delivery attempt (the webhook id, the
    email's Message-ID), so a message delivered twice is recognisable as the same. ``state``
    is pending, sent or failed (after ``attempts`` reached the maximum). A relay claims a
    pending message by setting ``lease_owner`` and ``lease_until``; a message whose lease ran
    out (its relay died) is claimed again.
    """

    event = ForeignKey(references=NotificationEvent, on_delete=OnDelete.cascade)
    idempotency_key = Varchar(length=300, unique=True)
    event_type = Varchar(length=40)
    country = Varchar(length=2)
    channel = Varchar(length=40)
    member = ForeignKey(references=Member, null=True, on_delete=OnDelete.cascade)
    state = Varchar(length=10, default=PENDING)
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(default=TimestamptzNow())
    lease_owner = Varchar(length=64, null=True, default=None)
    lease_until = Timestamptz(null=True, default=None)
    last_error = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    sent_at = Timestamptz(null=True, default=None)


class Notification(Table, tablename="notification"):
    """A message in a member's in-app notification centre; shown in the reader's language
    from the event. ``idempotency_key`` (the outbox message's) keeps re-deliveries out."""

    member = ForeignKey(references=Member, on_delete=OnDelete.cascade)
    event = ForeignKey(references=NotificationEvent, on_delete=OnDelete.cascade)
    idempotency_key = Varchar(length=300, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    read_at = Timestamptz(null=True, default=None)


class NotificationPreference(Table, tablename="notification_preference"):
    """A member's choice for one event type on one channel; (member, event_type, channel) is
    unique. Without a row the channel's default applies."""

    member = ForeignKey(references=Member, on_delete=OnDelete.cascade)
    event_type = Varchar(length=40)
    channel = Varchar(length=40)
    enabled = Boolean(default=True)
    # "immediate", "daily" or "weekly": a digest gathers the period's events in one message.
    frequency = Varchar(length=10, default="immediate")


class DigestItem(Table, tablename="digest_item"):
    """An event held for a member's daily or weekly digest on one channel. ``digest_key`` is
    set when a digest message took it (the digest's event key), so an item is sent once."""

    member = ForeignKey(references=Member, on_delete=OnDelete.cascade)
    channel = Varchar(length=40)
    frequency = Varchar(length=10)
    event = ForeignKey(references=NotificationEvent, on_delete=OnDelete.cascade)
    created_at = Timestamptz(default=TimestamptzNow())
    digest_key = Varchar(length=200, null=True, default=None)


# The columns of an outbox row as ``db.insert_many`` writes them (outbox and digests).
MESSAGE_COLUMNS = (
    "event",
    "idempotency_key",
    "event_type",
    "country",
    "channel",
    "member",
    "state",
    "attempts",
    "next_attempt_at",
    "last_error",
    "created_at",
)


def message_key(event_key: str, channel: str, member_id: int | None) -> str:
    return f"{event_key}/{channel}/{member_id if member_id is not None else 'event'}"
