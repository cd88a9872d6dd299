"""Notifications: a durable outbox, a relay that delivers it, and channels that are plugins.

A channel is a ``Notifier`` returned by the ``register_notifiers`` hook. The outbox writes one
message per recipient and channel inside the transaction of the change that caused it
(``core.notifications.outbox.enqueue``); the relay (``core.notifications.relay``) hands each
message to its channel's ``deliver``, retries with exponential back-off, and marks a message
failed after ``notifications.max_attempts`` attempts.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.config import Settings
    from core.events import Event


class PermanentFailure(Exception):
    """A delivery that no retry can fix (no address, channel gone): failed at once."""


@dataclass(frozen=True)
class Recipient:
    """The member a message is for, as they are at delivery time."""

    id: int
    email: str
    name: str
    language: str
    country: str


@dataclass(frozen=True)
class Delivery:
    """One attempt to deliver one outbox message.

    ``key`` is the message's idempotency key: the same on every attempt, so a receiver that
    sees it twice knows it is the same message. ``member`` is None for channels that send one
    message per event (``Notifier.per_member`` false).
    """

    key: str
    channel: str
    event_id: int
    event: Event
    event_type: str
    member: Recipient | None
    attempt: int
    now: datetime
    settings: Settings
    # A digest's events (``event`` is a ``core.notifications.digests.Digest``), in order.
    items: tuple[Event, ...] = ()


class Notifier:
    """A notification channel. Subclass it and return an instance from ``register_notifiers``.

    ``name`` identifies the channel in the outbox and in members' preferences; ``label`` (a
    text marked with ``N_``) names it on the preferences form. A ``per_member`` channel gets one
    message per recipient, as the member's preferences allow; ``default_events`` are the event
    types it is on for when a member chose nothing (None: every type). A channel that is not
    ``per_member`` gets one message per event (integrations), for the types ``wants`` accepts.

    ``deliver`` sends one message; it returns normally when the message was handed over and
    raises otherwise (``PermanentFailure`` when retrying cannot help). It may be called more
    than once for the same ``Delivery.key`` (a relay killed after sending, before recording
    it): make that harmless for the receiver (email Message-ID, webhook id, unique key).

    A channel with ``digests`` renders a digest (``Delivery.items``): its members may choose
    daily or weekly digests instead of a message per event. A channel with ``batches`` sends
    several messages at once (one connection for a batch): the relay calls ``deliver_batch``,
    which answers one outcome per delivery, None for sent or the exception that stopped it.
    """

    name: str = ""
    label: str = ""
    per_member: bool = True
    default_events: AbstractSet[str] | None = None
    digests: bool = False
    batches: bool = False

    def default_for(self, event_type: str) -> bool:
        return self.default_events is None or event_type in self.default_events

    def wants(self, event_type: str) -> bool:
        return True

    async def deliver(self, delivery: Delivery) -> None:
        raise NotImplementedError

    async def deliver_batch(self, deliveries: Sequence[Delivery]) -> list[BaseException | None]:
        """Deliver each message; one outcome per delivery (None: sent), in order."""
        outcomes: list[BaseException | None] = []
        for delivery in deliveries:
            try:
                await self.deliver(delivery)
            except Exception as exc:
                outcomes.append(exc)
            else:
                outcomes.append(None)
        return outcomes


__all__ = ["Delivery", "Notifier", "PermanentFailure", "Recipient"]
