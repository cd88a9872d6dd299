"""The outbox and its relay, without HTTP: messages commit with their change, go to the right
members on the right channels, and are delivered with retries, back-off, a dead-letter state
and leases that survive a dead relay. Every test runs on SQLite and PostgreSQL; time moves only
through the relay's injected clock.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from msgspec.structs import replace

from core import clock, db, hookimpl
from core.audit import services as audit
from core.audit.tables import AuditEntry
from core.errors import Conflict
from core.events import ThemeAccepted
from core.notifications import Notifier, PermanentFailure
from core.notifications import services as notifications
from core.notifications.outbox import enqueue
from core.notifications.relay import Relay, backoff
from core.notifications.tables import (
    FAILED,
    PENDING,
    SENT,
    Notification,
    NotificationEvent,
    OutboxMessage,
)
from core.polls import services as polls
from core.polls.tables import Poll
from core.themes import services as themes
from core.themes.tables import Theme
from tests.notify_support import (
    BOXES,
    OPEN_DAY,
    Clock,
    accepted_proposal,
    configured,
    edition,
    member,
    open_poll,
    rules_for,
    submitted,
)
from tests.poll_support import voters_added_after_opening  # noqa: F401 (the fixture)


class Recorder(Notifier):
    """A channel that records what it delivers and fails while ``failures`` lasts."""

    label = "Recorder"

    def __init__(self, name: str = "recorder", failures: int = 0, per_member: bool = True):
        self.name = name
        self.per_member = per_member
        self.failures = failures
        self.delivered: list[tuple[str, int | None]] = []

    async def deliver(self, delivery):
        if self.failures:
            self.failures -= 1
            raise ConnectionError("receiver unreachable")
        self.delivered.append((delivery.key, delivery.member.id if delivery.member else None))


class ChannelPlugin:
    def __init__(self, *channels: Notifier) -> None:
        self.channels = list(channels)

    @hookimpl
    def register_notifiers(self, settings):
        return self.channels


async def messages(**where) -> list[dict]:
    query = OutboxMessage.select().order_by(OutboxMessage.id)
    for column, value in where.items():
        query = query.where(getattr(OutboxMessage, column) == value)
    return await query


# -- written with the change ---------------------------------------------------------------------


async def test_accepting_a_proposal_writes_its_messages_with_the_change(database):
    rules = rules_for(configured(database, be=("notify_email",)))
    proposer = await member("BE")
    theme_id = await accepted_proposal(rules, proposer)

    event = await NotificationEvent.select().first()
    assert (event["key"], event["event_type"], event["country"]) == (
        f"theme_accepted:{theme_id}",
        "theme_accepted",
        "BE",
    )
    rows = await messages()
    assert {(r["channel"], r["member"]) for r in rows} == {
        ("email", proposer.id),
        ("in_app", proposer.id),
    }
    assert {r["idempotency_key"] for r in rows} == {
        f"theme_accepted:{theme_id}/email/{proposer.id}",
        f"theme_accepted:{theme_id}/in_app/{proposer.id}",
    }
    assert all(r["state"] == PENDING and r["attempts"] == 0 for r in rows)


async def test_a_change_that_rolls_back_leaves_no_message(database):
    rules = rules_for(database)
    proposer = await member("BE")
    event = ThemeAccepted(
        country="BE",
        theme_id=1,
        edition="2021-2022",
        title="T",
        actor_id=1,
        proposer_id=proposer.id,
    )
    with pytest.raises(RuntimeError, match="after the outbox write"):
        async with db.write_transaction():
            assert await rules.notify(event) is None
            assert await OutboxMessage.count() == 1  # written, inside the transaction
            raise RuntimeError("the change fails after the outbox write")
    assert await NotificationEvent.count() == 0
    assert await OutboxMessage.count() == 0


async def test_when_the_outbox_write_fails_the_decision_is_not_made_either(database, monkeypatch):
    rules = rules_for(database)
    proposer = await member("BE")
    operator = await member("BE", operator_of=("BE",))
    theme_id = await submitted(rules, proposer, await edition(), "Cheaper bikes")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("core.rules.Rules.notifiers", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        await themes.accept(rules, operator, theme_id)
    row = await Theme.select(Theme.status).where(Theme.id == theme_id).first()
    assert row["status"] == themes.SUBMITTED  # the accept rolled back with the outbox
    assert await NotificationEvent.count() == 0
    assert await OutboxMessage.count() == 0


async def test_a_refused_decision_writes_nothing_more(database):
    rules = rules_for(database)
    proposer = await member("BE")
    theme_id = await accepted_proposal(rules, proposer)
    operator = await member("BE", operator_of=("BE",))
    before = await OutboxMessage.count()
    with pytest.raises(Conflict):
        await themes.accept(rules, operator, theme_id)
    assert await OutboxMessage.count() == before


async def test_enqueue_outside_a_transaction_is_refused(database):
    rules = rules_for(database)
    event = ThemeAccepted(
        country="BE", theme_id=1, edition="e", title="T", actor_id=1, proposer_id=None
    )
    with pytest.raises(RuntimeError, match="inside the change's db.write_transaction"):
        await enqueue(event, rules)


async def test_enqueueing_the_same_event_twice_notifies_once(database):
    rules = rules_for(database)
    proposer = await member("BE")
    event = ThemeAccepted(
        country="BE", theme_id=7, edition="e", title="T", actor_id=1, proposer_id=proposer.id
    )
    for expected in (1, 0):
        async with db.write_transaction():
            assert await enqueue(event, rules) == expected
    assert await OutboxMessage.count() == 1


# -- who gets what ---------------------------------------------------------------------------------


async def test_threshold_reached_goes_to_the_proposer_and_the_countrys_operators(database):
    settings = configured(database)
    settings = replace(
        settings,
        countries={
            code: replace(country, support_threshold=1)
            for code, country in settings.countries.items()
        },
    )
    rules = rules_for(settings)
    proposer = await member("BE")
    be_operator = await member("BE", operator_of=("BE",))
    fr_operator = await member("FR", operator_of=("FR",))
    supporter = await member("BE")
    theme_id = await submitted(rules, proposer, await edition(), "Cheaper bikes")
    await themes.support(rules, supporter, theme_id, OPEN_DAY)

    rows = await messages(event_type="threshold_reached")
    assert {r["member"] for r in rows} == {proposer.id, be_operator.id}
    assert fr_operator.id not in {r["member"] for r in rows}


async def test_a_poll_opening_notifies_its_countrys_shareholders_only(database):
    rules = rules_for(configured(database, be=("notify_email",)))
    be_holder = await member("BE")
    be_member = await member("BE", shareholder=False)
    fr_holder = await member("FR")
    poll_id = await open_poll(rules, "BE", closes_in=timedelta(days=7))

    rows = await messages(event_type="poll_opened")
    recipients = {r["member"] for r in rows}
    assert be_holder.id in recipients
    assert be_member.id not in recipients and fr_holder.id not in recipients
    # A vote opening is news for everyone: on the site; email only for what is one's own.
    assert {r["channel"] for r in rows} == {"in_app"}
    assert (await NotificationEvent.select().first())["key"] == f"poll_opened:{poll_id}"


async def test_publishing_twice_notifies_once(database):
    rules = rules_for(database)
    holder = await member("BE")
    poll_id = await open_poll(rules, "BE", closes_in=timedelta(days=7))
    operator = await member("BE", operator_of=("BE",), shareholder=False)
    await polls.close_poll(rules, operator, poll_id)
    await BOXES[poll_id].count()  # the tellers' count publishes the result
    await BOXES[poll_id].count()  # counting again changes nothing
    rows = await messages(event_type="results_published")
    assert [r["member"] for r in rows] == [holder.id]
    assert rows[0]["idempotency_key"] == f"results_published:{poll_id}/in_app/{holder.id}"


async def test_preferences_decide_the_channels(database):
    rules = rules_for(configured(database, be=("notify_email",)))
    quiet, default = await member("BE"), await member("BE")
    await notifications.set_preferences(
        rules.registry, rules.settings, quiet, {"theme_accepted": {"email": False}}
    )
    await accepted_proposal(rules, quiet)
    await accepted_proposal(rules, default)
    rows = await messages(event_type="theme_accepted")
    assert {(r["member"], r["channel"]) for r in rows} == {
        (quiet.id, "in_app"),
        (default.id, "in_app"),
        (default.id, "email"),
    }


async def test_a_channel_enabled_only_for_be_has_no_effect_on_fr(database):
    recorder = Recorder()
    settings = configured(database, be=("recorder",))
    rules = rules_for(settings, {"recorder": ChannelPlugin(recorder)})
    be, fr = await member("BE"), await member("FR", language="fr")
    await accepted_proposal(rules, be)
    await accepted_proposal(rules, fr)

    assert {r["channel"] for r in await messages(country="FR")} == {"in_app"}
    assert {r["channel"] for r in await messages(country="BE")} == {"in_app", "recorder"}
    done = await Relay(rules.registry, settings).drain()
    assert done.sent == 3
    assert [member_id for _key, member_id in recorder.delivered] == [be.id]


async def test_a_message_for_a_channel_since_disabled_fails_without_reaching_it(database):
    recorder = Recorder()
    enabled = configured(database, fr=("recorder",))
    rules = rules_for(enabled, {"recorder": ChannelPlugin(recorder)})
    await accepted_proposal(rules, await member("FR"))
    disabled = configured(database)
    relay = Relay(rules_for(disabled, {"recorder": ChannelPlugin(recorder)}).registry, disabled)
    await relay.drain()
    row = (await messages(channel="recorder"))[0]
    assert row["state"] == FAILED
    assert row["last_error"] == "the channel recorder is not enabled for FR"
    assert recorder.delivered == []


# -- the relay -----------------------------------------------------------------------------------


async def test_a_failing_channel_is_retried_with_exponential_back_off(database):
    flaky = Recorder(failures=2)
    settings = configured(database, be=("flaky",), backoff_seconds=30, max_attempts=5)
    rules = rules_for(settings, {"flaky": ChannelPlugin(flaky)})
    await accepted_proposal(rules, await member("BE"))
    now = Clock()
    relay = Relay(rules.registry, settings, now=now)

    await relay.run_once()
    row = (await messages(channel="recorder"))[0]
    assert (row["state"], row["attempts"]) == (PENDING, 1)
    assert row["next_attempt_at"] == now() + timedelta(seconds=30)
    assert "ConnectionError: receiver unreachable" in row["last_error"]

    now.advance(seconds=29)
    assert (await relay.run_once()).claimed == 0  # not due yet
    now.advance(seconds=1)
    await relay.run_once()
    row = (await messages(channel="recorder"))[0]
    assert (row["state"], row["attempts"]) == (PENDING, 2)
    assert row["next_attempt_at"] == now() + timedelta(seconds=60)  # doubled

    now.advance(seconds=60)
    await relay.run_once()
    row = (await messages(channel="recorder"))[0]
    assert (row["state"], row["attempts"], row["last_error"]) == (SENT, 3, "")
    assert row["sent_at"] == now()
    assert len(flaky.delivered) == 1


def test_back_off_doubles_up_to_its_ceiling():
    assert [backoff(n, 30, 200).total_seconds() for n in (1, 2, 3, 4, 5)] == [
        30,
        60,
        120,
        200,
        200,
    ]


async def test_after_max_attempts_a_message_is_failed_until_an_operator_retries_it(database):
    broken = Recorder(failures=10**6)
    settings = configured(database, be=("broken",), backoff_seconds=1, max_attempts=3)
    rules = rules_for(settings, {"broken": ChannelPlugin(broken)})
    await accepted_proposal(rules, await member("BE"))
    now = Clock()
    relay = Relay(rules.registry, settings, now=now)
    for _attempt in range(3):
        await relay.run_once()
        now.advance(hours=1)
    row = (await messages(channel="recorder"))[0]
    assert (row["state"], row["attempts"]) == (FAILED, 3)
    assert (await relay.run_once()).claimed == 0  # dead letters are not retried by themselves

    operator = await member("BE", operator_of=("BE",))
    retried = await notifications.retry(operator, row["id"])
    assert (retried.state, retried.attempts) == (PENDING, 0)
    broken.failures = 0
    await relay.drain()
    assert (await messages(channel="recorder"))[0]["state"] == SENT


async def test_a_permanent_failure_is_failed_at_once(database):
    class NoAddress(Recorder):
        async def deliver(self, delivery):
            raise PermanentFailure("the member has no email address")

    settings = configured(database, be=("bad",))
    rules = rules_for(settings, {"bad": ChannelPlugin(NoAddress())})
    await accepted_proposal(rules, await member("BE"))
    await Relay(rules.registry, settings).drain()
    row = (await messages(channel="recorder"))[0]
    assert (row["state"], row["attempts"], row["last_error"]) == (
        FAILED,
        1,
        "the member has no email address",
    )


async def test_a_message_claimed_by_a_relay_that_died_is_delivered_after_its_lease(database):
    recorder = Recorder()
    settings = configured(database, be=("recorder",), lease_seconds=120)
    rules = rules_for(settings, {"recorder": ChannelPlugin(recorder)})
    await accepted_proposal(rules, await member("BE"))
    now = Clock()
    dead = Relay(rules.registry, settings, now=now, owner="dead")
    claimed = await dead.claim()  # ... and the process is killed before delivering
    assert len(claimed) == 2

    other = Relay(rules.registry, settings, now=now, owner="other")
    assert (await other.run_once()).claimed == 0  # leased: not taken while its relay may live
    now.advance(seconds=120)
    done = await other.run_once()
    assert (done.claimed, done.sent) == (2, 2)
    assert [key for key, _member in recorder.delivered] == [
        r["idempotency_key"] for r in await messages(channel="recorder")
    ]
    # The dead relay's late report (had it lived) changes nothing.
    await dead._record_failure(claimed[0], "late", permanent=False)
    assert {r["state"] for r in await messages()} == {SENT}


async def test_two_relays_at_once_deliver_each_message_once(pooled):
    recorder = Recorder()
    settings = configured(pooled, be=("recorder",), batch_size=5)
    rules = rules_for(settings, {"recorder": ChannelPlugin(recorder)})
    for _n in range(6):
        await accepted_proposal(rules, await member("BE"))
    relays = [Relay(rules.registry, settings, owner=f"relay-{n}") for n in range(2)]
    await asyncio.gather(*(relay.drain() for relay in relays))
    keys = [key for key, _member in recorder.delivered]
    assert len(keys) == len(set(keys)) == 6
    assert {r["state"] for r in await messages()} == {SENT}


async def test_in_app_delivery_twice_gives_one_notification(database):
    rules = rules_for(database)
    proposer = await member("BE")
    await accepted_proposal(rules, proposer)
    relay = Relay(rules.registry, database)
    await relay.drain()
    await OutboxMessage.update({OutboxMessage.state: PENDING}).where(OutboxMessage.id > 0)
    await relay.drain()  # as if a relay died after delivering, before recording it
    assert await Notification.count().where(Notification.member == proposer.id) == 1


# -- closing reminders ---------------------------------------------------------------------------


async def test_a_poll_closing_within_24_hours_reminds_those_who_have_not_voted_once(database):
    rules = rules_for(configured(database, be=("notify_email",)))
    voter = await member("BE")
    late = await member("BE")
    fr_holder = await member("FR")
    poll_id = await open_poll(rules, "BE", closes_in=timedelta(days=2))
    await polls.cast(rules, voter, poll_id, [1])
    now = Clock()
    relay = Relay(rules.registry, rules.settings, now=now)

    assert (await relay.run_once()).reminders == 0  # two days before: not yet
    now.advance(hours=25)
    assert (await relay.run_once()).reminders == 2  # in-app and email for `late`
    rows = await messages(event_type="poll_closing")
    assert {r["member"] for r in rows} == {late.id}
    assert {r["idempotency_key"] for r in rows} == {
        f"poll_closing:{poll_id}/in_app/{late.id}",
        f"poll_closing:{poll_id}/email/{late.id}",
    }
    assert fr_holder.id not in {r["member"] for r in rows}

    # Once per poll: another round, another relay, write nothing more.
    now.advance(hours=1)
    assert (await relay.run_once()).reminders == 0
    assert (await Relay(rules.registry, rules.settings, now=now).run_once()).reminders == 0
    assert (
        await NotificationEvent.count().where(NotificationEvent.event_type == "poll_closing") == 1
    )


async def test_a_closed_poll_gets_no_reminder(database):
    rules = rules_for(database)
    await member("BE")
    poll_id = await open_poll(rules, "BE", closes_in=timedelta(hours=3))
    await Poll.update({Poll.state: polls.CLOSED}).where(Poll.id == poll_id)
    assert (await Relay(rules.registry, database).run_once()).reminders == 0


async def test_the_relay_closes_a_poll_when_its_closing_time_comes_and_the_log_says_so(database):
    rules = rules_for(database)
    voter = await member("BE")
    poll_id = await open_poll(rules, "BE", closes_in=timedelta(hours=3))
    await polls.cast(rules, voter, poll_id, [1])
    now = Clock()
    relay = Relay(rules.registry, rules.settings, now=now)

    assert (await relay.run_once()).closed_polls == 0  # three hours before: still open
    assert (await polls.get_poll(poll_id)).state == polls.OPEN
    now.advance(hours=3)
    assert (await relay.run_once()).closed_polls == 1
    assert (await polls.get_poll(poll_id)).state == polls.CLOSED
    assert (await relay.run_once()).closed_polls == 0  # closed once
    closings = await AuditEntry.select().where(AuditEntry.action == "poll.close")
    assert [(e["role"], e["actor"], e["actor_name"], e["object_id"]) for e in closings] == [
        ("clock", None, "clock", str(poll_id))
    ]
    assert (await audit.verify()).intact


async def test_the_clock_is_the_relays_own(database):
    """Messages become due by the relay's clock, not the wall clock (no sleeps in tests)."""
    rules = rules_for(database)
    await accepted_proposal(rules, await member("BE"))
    past = Clock(clock.now() - timedelta(hours=1))
    assert (await Relay(rules.registry, database, now=past).run_once()).claimed == 0
