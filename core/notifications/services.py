"""Members' notification preferences and the operators' view of the outbox, without HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec
from piccolo.query.methods.select import Count

from core import clock, db
from core.audit import services as audit
from core.config import COUNTRIES
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.i18n import _
from core.members.model import CurrentMember
from core.notifications import Notifier
from core.notifications.catalog import KINDS, PRIVATE_RECIPIENTS
from core.notifications.digests import DIGEST, FREQUENCIES, IMMEDIATE
from core.notifications.inapp import IN_APP
from core.notifications.outbox import frequencies, preferences
from core.notifications.tables import FAILED, PENDING, STATES, NotificationPreference, OutboxMessage
from core.rules import Rules

if TYPE_CHECKING:
    from core.config import Settings
    from core.plugins import PluginRegistry

ID_MAX = db.ID_MAX
OUTBOX_PAGE = 200


# -- preferences -----------------------------------------------------------------------------


class ChannelOut(msgspec.Struct):
    name: str
    label: str
    # The channel can gather news in a daily or weekly digest (email; not the in-app centre).
    digests: bool = False


class EventPreference(msgspec.Struct):
    type: str
    label: str
    channels: dict[str, bool]
    # Channel -> "immediate", "daily" or "weekly", for the channels with digests.
    frequencies: dict[str, str] = {}


class Preferences(msgspec.Struct):
    channels: list[ChannelOut]
    events: list[EventPreference]


def member_channels(registry: PluginRegistry, settings: Settings, country: str) -> list[Notifier]:
    """The channels a member of ``country`` can choose: in-app first, then by name."""
    found = [c for c in Rules(registry, settings).notifiers(country).values() if c.per_member]
    return sorted(found, key=lambda c: (c.name != IN_APP, c.name))


async def get_preferences(
    registry: PluginRegistry, settings: Settings, member: CurrentMember
) -> Preferences:
    channels = member_channels(registry, settings, member.country)
    chosen = await preferences([member.id])
    often = await frequencies([member.id])
    return Preferences(
        channels=[ChannelOut(c.name, _(c.label), c.digests) for c in channels],
        events=[
            EventPreference(
                type=kind.type,
                label=_(kind.label),
                channels={
                    c.name: chosen.get((member.id, kind.type, c.name), c.default_for(kind.type))
                    for c in channels
                },
                frequencies={
                    c.name: often.get((member.id, kind.type, c.name), IMMEDIATE)
                    for c in channels
                    if c.digests
                },
            )
            for kind in KINDS.values()
            if not kind.mandatory
        ],
    )


async def set_preferences(
    registry: PluginRegistry,
    settings: Settings,
    member: CurrentMember,
    choices: dict[str, dict[str, bool]],
    how_often: dict[str, dict[str, str]] | None = None,
) -> Preferences:
    """Record the member's choices (event type -> channel -> on/off) and how often they want
    the news on a channel with digests (event type -> channel -> "immediate", "daily" or
    "weekly"); the ones not named keep what they were. Anything unknown changes nothing."""
    how_often = how_often or {}
    channels = {c.name: c for c in member_channels(registry, settings, member.country)}
    for event_type in [*choices, *how_often]:
        if event_type not in KINDS or KINDS[event_type].mandatory:
            raise InvalidInput(_("Unknown notification %(name)s.") % {"name": event_type})
    for named in [*choices.values(), *how_often.values()]:
        for channel in named:
            if channel not in channels:
                raise InvalidInput(_("Unknown channel %(name)s.") % {"name": channel})
    for per_channel in how_often.values():
        for channel, frequency in per_channel.items():
            if not channels[channel].digests and frequency != IMMEDIATE:
                raise InvalidInput(
                    _("%(channel)s sends each piece of news at once; it has no digest.")
                    % {"channel": _(channels[channel].label)}
                )
            if frequency not in FREQUENCIES:
                raise InvalidInput(
                    _("Unknown frequency %(name)s; choose immediately, daily or weekly.")
                    % {"name": frequency}
                )
    pref = NotificationPreference
    current = await get_preferences(registry, settings, member)
    enabled_now = {(e.type, c): on for e in current.events for c, on in e.channels.items()}
    rows = [
        pref(member=member.id, event_type=event_type, channel=channel, enabled=enabled)
        for event_type, named in choices.items()
        for channel, enabled in named.items()
    ]
    # A frequency on a row not written yet keeps the channel's on/off as it is now.
    timed = [
        pref(
            member=member.id,
            event_type=event_type,
            channel=channel,
            enabled=choices.get(event_type, {}).get(
                channel, enabled_now.get((event_type, channel), True)
            ),
            frequency=frequency,
        )
        for event_type, named in how_often.items()
        for channel, frequency in named.items()
    ]
    async with db.write_transaction():
        # Upserts on the (member, event_type, channel) unique index: two saves racing each
        # other both succeed, the later one wins.
        if rows:
            await pref.insert(*rows).on_conflict(
                target=(pref.member, pref.event_type, pref.channel),
                action="DO UPDATE",
                values=[pref.enabled],
            )
        if timed:
            await pref.insert(*timed).on_conflict(
                target=(pref.member, pref.event_type, pref.channel),
                action="DO UPDATE",
                values=[pref.frequency],
            )
    return await get_preferences(registry, settings, member)


def choices_from_form(
    registry: PluginRegistry, settings: Settings, member: CurrentMember, ticked: list[str]
) -> dict[str, dict[str, bool]]:
    """The form's ticked boxes ("event_type:channel") as a full set of choices: every box
    shown that is not ticked is off."""
    names = [c.name for c in member_channels(registry, settings, member.country)]
    shown = {f"{t}:{c}" for t, k in KINDS.items() if not k.mandatory for c in names}
    unknown = [value for value in ticked if value not in shown]
    if unknown:
        raise InvalidInput(_("Unknown notification choice %(name)s.") % {"name": unknown[0]})
    return {
        t: {c: f"{t}:{c}" in ticked for c in names} for t, k in KINDS.items() if not k.mandatory
    }


def frequencies_from_form(
    registry: PluginRegistry, settings: Settings, member: CurrentMember, form: dict[str, str]
) -> dict[str, dict[str, str]]:
    """The form's frequency fields ("frequency:event_type:channel" -> value), for the channels
    with digests; a field the form did not send keeps its value."""
    digests = [c.name for c in member_channels(registry, settings, member.country) if c.digests]
    found: dict[str, dict[str, str]] = {}
    for t, kind in KINDS.items():
        if kind.mandatory:
            continue
        for channel in digests:
            value = form.get(f"frequency:{t}:{channel}")
            if value is not None:
                found.setdefault(t, {})[channel] = value
    return found


# -- the operators' outbox view --------------------------------------------------------------


class OutboxCount(msgspec.Struct):
    channel: str
    state: str
    count: int


class OutboxItem(msgspec.Struct):
    id: int
    event_type: str
    channel: str
    country: str
    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str
    created_at: datetime
    sent_at: datetime | None
    member_name: str | None
    member_email: str | None


class UnlistedCount(msgspec.Struct):
    """Messages of a kind whose recipients stay private, counted per channel and state."""

    event_type: str
    channel: str
    state: str
    count: int


class OutboxView(msgspec.Struct):
    country: str
    state: str | None
    channel: str | None
    counts: list[OutboxCount]  # every message, the unlisted kinds included
    items: list[OutboxItem]  # never a message of an unlisted kind
    # The kinds whose recipients would tell something private (the closing reminder goes to
    # those who have not voted): counted, never listed; retried all at once (retry_failed).
    unlisted: list[UnlistedCount]


class Retried(msgspec.Struct):
    retried: int


def require_country_operator(actor: CurrentMember, country: str) -> None:
    if country not in COUNTRIES:
        raise InvalidInput(_("Unknown country %(code)s.") % {"code": country})
    if not actor.is_operator(country):
        raise Forbidden(_("Only operators of %(countries)s can do this.") % {"countries": country})


async def outbox_view(
    actor: CurrentMember, country: str, state: str | None = None, channel: str | None = None
) -> OutboxView:
    """A country's outbox: counts per channel and state, and the latest messages (failed ones
    first by default, with their attempts and last error).

    The messages of a kind with private recipients (``PRIVATE_RECIPIENTS``: the closing
    reminder, sent only to members who have not voted) are never listed, neither their
    recipient nor their last error (which may quote an address): ``unlisted`` counts them per
    channel and state instead."""
    require_country_operator(actor, country)
    if state is not None and state not in STATES:
        raise InvalidInput(
            _("Unknown state %(name)s; choose one of %(list)s.")
            % {"name": state, "list": ", ".join(STATES)}
        )
    m = OutboxMessage
    counted = await (
        m.select(m.channel, m.state, Count(m.id, alias="count"))
        .where(m.country == country)
        .group_by(m.channel, m.state)
    )
    counts = sorted(
        (OutboxCount(r["channel"], r["state"], r["count"]) for r in counted),
        key=lambda c: (c.channel, STATES.index(c.state) if c.state in STATES else 9),
    )
    private = sorted(PRIVATE_RECIPIENTS)
    unlisted = await (
        m.select(m.event_type, m.channel, m.state, Count(m.id, alias="count"))
        .where((m.country == country) & m.event_type.is_in(private))
        .group_by(m.event_type, m.channel, m.state)
    )
    where = (m.country == country) & m.event_type.not_in(private)
    if state is not None:
        where = where & (m.state == state)
    if channel:
        where = where & (m.channel == channel)
    rows = await (
        m.select(*_item_columns()).where(where).order_by(m.id, ascending=False).limit(OUTBOX_PAGE)
    )
    return OutboxView(
        country=country,
        state=state,
        channel=channel or None,
        counts=counts,
        items=[OutboxItem(**row) for row in rows],
        unlisted=sorted(
            (
                UnlistedCount(r["event_type"], r["channel"], r["state"], r["count"])
                for r in unlisted
            ),
            key=lambda c: (
                c.event_type,
                c.channel,
                STATES.index(c.state) if c.state in STATES else 9,
            ),
        ),
    )


async def retry(actor: CurrentMember, message_id: int) -> OutboxItem:
    """Put a failed message back in the queue with a fresh count of attempts."""
    m = OutboxMessage
    row = None
    if 1 <= message_id <= ID_MAX:
        row = await m.select(m.id, m.country, m.state).where(m.id == message_id).first()
    if row is None:
        raise NotFound(_("There is no outbox message %(id)d.") % {"id": message_id})
    require_country_operator(actor, row["country"])
    async with db.write_transaction():
        changed = await (
            m.update(
                {
                    m.state: PENDING,
                    m.attempts: 0,
                    m.next_attempt_at: clock.now(),
                    m.lease_owner: None,
                    m.lease_until: None,
                }
            )
            .where((m.id == message_id) & (m.state == FAILED))
            .returning(m.id)
        )
        if changed:
            await audit.record(
                "outbox.retry",
                actor=actor,
                country=row["country"],
                object_type="outbox_message",
                object_id=message_id,
            )
    if not changed:
        raise Conflict(
            _("Only a failed message can be retried; this one is %(state)s.")
            % {"state": _(row["state"])}
        )
    return await _item(message_id)


async def retry_failed(
    actor: CurrentMember, country: str, event_type: str, channel: str | None = None
) -> int:
    """Put every failed message of one kind (and channel, if given) of ``country`` back in the
    queue; answers how many. This is how the unlisted kinds are retried: without naming, or
    even counting per person, who they go to."""
    require_country_operator(actor, country)
    if event_type not in KINDS and event_type != DIGEST:
        raise InvalidInput(_("Unknown notification %(name)s.") % {"name": event_type})
    m = OutboxMessage
    where = (m.country == country) & (m.event_type == event_type) & (m.state == FAILED)
    if channel:
        where = where & (m.channel == channel)
    async with db.write_transaction():
        changed = await (
            m.update(
                {
                    m.state: PENDING,
                    m.attempts: 0,
                    m.next_attempt_at: clock.now(),
                    m.lease_owner: None,
                    m.lease_until: None,
                }
            )
            .where(where)
            .returning(m.id)
        )
        if changed:
            await audit.record(
                "outbox.retry_failed",
                actor=actor,
                country=country,
                details={
                    "event_type": event_type,
                    "channel": channel or "",
                    "messages": len(changed),
                },
            )
    if not changed:
        raise Conflict(_("There is no failed message of this kind to retry."))
    return len(changed)


def _item_columns() -> list[Any]:
    m = OutboxMessage
    return [
        m.id,
        m.event_type,
        m.channel,
        m.country,
        m.state,
        m.attempts,
        m.next_attempt_at,
        m.last_error,
        m.created_at,
        m.sent_at,
        m.member.name.as_alias("member_name"),
        m.member.email.as_alias("member_email"),
    ]


async def _item(message_id: int) -> OutboxItem:
    m = OutboxMessage
    row = await m.select(*_item_columns()).where(m.id == message_id).first()
    item = OutboxItem(**row)
    if item.event_type in PRIVATE_RECIPIENTS:  # retried by id: still no recipient shown
        item.member_name = item.member_email = None
        item.last_error = ""
    return item


async def failed_count(countries: list[str]) -> int:
    """Messages of these countries whose delivery failed (the outbox's failed state)."""
    if not countries:
        return 0
    m = OutboxMessage
    return await m.count().where(m.country.is_in(sorted(set(countries))) & (m.state == FAILED))
