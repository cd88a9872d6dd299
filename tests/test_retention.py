"""Retention: what the [retention] periods no longer keep is pruned, by the server and by
``sip maintenance prune``; and a member who left the cooperative or was erased gets no more
notifications. Time is an injected ``now``: nothing sleeps."""

from __future__ import annotations

import secrets
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from msgspec.structs import replace

from core import db
from core.app import _start_pruner, create_app
from core.auth.tables import SignInFailure, SignInLinkRequest, SignInToken, WebSession
from core.config import Settings
from core.maintenance import prune
from core.members.tables import Member
from core.notifications.inapp import list_notifications
from core.notifications.relay import Relay
from core.notifications.tables import (
    FAILED,
    SENT,
    Notification,
    NotificationEvent,
    OutboxMessage,
)
from tests.notify_support import Clock, accepted_proposal, configured, member, rules_for
from tests.test_cli import Site, ok, site  # noqa: F401 - the ``site`` fixture

NOW = datetime(2031, 3, 10, 12, 0, tzinfo=UTC)


def days(n: float) -> datetime:
    return NOW - timedelta(days=n)


async def _token(member_id: int, *, expires: datetime, used: datetime | None = None) -> int:
    rows = await SignInToken.insert(
        SignInToken(
            token_hash=secrets.token_hex(32),
            member=member_id,
            created_at=expires - timedelta(minutes=30),
            expires_at=expires,
            used_at=used,
        )
    )
    return rows[0]["id"]


async def _session(member_id: int, *, expires: datetime) -> int:
    rows = await WebSession.insert(
        WebSession(token_hash=secrets.token_hex(32), member=member_id, expires_at=expires)
    )
    return rows[0]["id"]


async def _ids(table) -> set[int]:
    return {r["id"] for r in await table.select(table.id)}


async def test_sign_in_traces_and_ended_sessions_go_after_their_periods(database: Settings):
    someone = (await member()).id
    used_long_ago = await _token(someone, expires=days(30), used=days(30))
    expired_long_ago = await _token(someone, expires=days(8))
    used_recently = await _token(someone, expires=days(1), used=days(2))
    still_valid = await _token(someone, expires=NOW + timedelta(minutes=10))
    await SignInFailure.insert(
        SignInFailure(key="old", at=days(31)), SignInFailure(key="new", at=days(29))
    )
    await SignInLinkRequest.insert(
        SignInLinkRequest(key="old", at=days(31)), SignInLinkRequest(key="new", at=days(1))
    )
    await _session(someone, expires=days(31))  # ended long ago
    ended_recently = await _session(someone, expires=days(29))
    active = await _session(someone, expires=NOW + timedelta(days=10))

    report = await prune(database, NOW)

    assert await _ids(SignInToken) == {used_recently, still_valid}
    assert {r["key"] for r in await SignInFailure.select(SignInFailure.key)} == {"new"}
    assert {r["key"] for r in await SignInLinkRequest.select(SignInLinkRequest.key)} == {"new"}
    assert await _ids(WebSession) == {ended_recently, active}
    assert (report.sign_in_tokens, report.sign_in_failures) == (2, 1)
    assert (report.sign_in_link_requests, report.ended_sessions) == (1, 1)
    assert used_long_ago not in await _ids(SignInToken)
    assert expired_long_ago not in await _ids(SignInToken)

    # Shorter periods in config.toml prune more, the same way.
    shorter = replace(database, retention=replace(database.retention, ended_sessions_days=10))
    assert (await prune(shorter, NOW)).ended_sessions == 1
    assert await _ids(WebSession) == {active}


async def test_old_outbox_rows_go_and_the_in_app_centre_keeps_working(database: Settings):
    settings = configured(database)
    rules = rules_for(settings)
    proposer = await member()
    await accepted_proposal(rules, proposer, title="Cheaper bikes")
    clock = Clock(NOW - timedelta(days=100))
    await Relay(rules.registry, settings, now=clock).drain()
    assert await OutboxMessage.count().where(OutboxMessage.state == SENT) >= 1
    # A message given up on long ago, and one recently, of an event that nothing else uses.
    old_event = (
        await NotificationEvent.insert(
            NotificationEvent(
                key="old-event",
                event_type="theme_accepted",
                country="BE",
                payload="{}",
                created_at=days(200),
            )
        )
    )[0]["id"]
    for key, created in (("dead-old", days(181)), ("dead-new", days(179))):
        await OutboxMessage.insert(
            OutboxMessage(
                event=old_event,
                idempotency_key=key,
                event_type="theme_accepted",
                country="BE",
                channel="webhook",
                state=FAILED,
                created_at=created,
            )
        )
    # The delivered messages were sent 100 days before NOW: past outbox_sent_days (90).
    await OutboxMessage.update({OutboxMessage.sent_at: days(100)}).where(
        OutboxMessage.state == SENT
    )
    sent_before = await OutboxMessage.count().where(OutboxMessage.state == SENT)
    await NotificationEvent.update({NotificationEvent.created_at: days(100)}).where(
        NotificationEvent.key != "old-event"
    )

    report = await prune(database, NOW)

    assert report.outbox_sent == sent_before
    assert report.outbox_failed == 1
    remaining = await OutboxMessage.select(OutboxMessage.idempotency_key)
    assert [r["idempotency_key"] for r in remaining] == ["dead-new"]
    # The event the recent dead message needs stays; the proposal's event stays too, because
    # the proposer's in-app notification refers to it, and the centre still shows it.
    assert await NotificationEvent.exists().where(NotificationEvent.id == old_event)
    listing = await list_notifications(proposer.id, "en")
    assert any("Cheaper bikes" in item.subject for item in listing.items)

    # Once the last message of the old event is pruned, the event goes too.
    later = NOW + timedelta(days=2)
    again = await prune(database, later)
    assert again.outbox_failed == 1
    assert again.notification_events == 1
    assert not await NotificationEvent.exists().where(NotificationEvent.id == old_event)
    # An event still referred to by an in-app notification is never pruned.
    assert await NotificationEvent.count() == await NotificationEvent.count().where(
        NotificationEvent.id.is_in(
            [r["event"] for r in await Notification.select(Notification.event)]
        )
    )


async def test_members_who_left_long_ago_are_due_for_anonymisation(database: Settings):
    long_gone = (await member()).id
    recently_gone = (await member()).id
    staying = (await member()).id
    await Member.update({Member.left_at: days(731)}).where(Member.id == long_gone)
    await Member.update({Member.left_at: days(10)}).where(Member.id == recently_gone)

    report = await prune(database, NOW)

    assert (report.left_members_erased, report.left_members_due) == (1, 0)
    row = await Member.select(Member.erased_at, Member.email).where(Member.id == long_gone).first()
    assert row["erased_at"] is not None and row["email"].endswith(".invalid")
    for untouched in (recently_gone, staying):
        row = await Member.select(Member.erased_at).where(Member.id == untouched).first()
        assert row["erased_at"] is None


@pytest.mark.parametrize("gone", ["left_at", "erased_at"])
async def test_a_member_who_left_or_was_erased_gets_no_notification(database: Settings, gone):
    settings = configured(database)
    rules = rules_for(settings)
    proposer = await member()
    left = await member()
    await Member.update({getattr(Member, gone): NOW}).where(Member.id == left.id)
    # The event's audience names them: still nothing is written for them.
    from core.db import write_transaction
    from core.events import ThemeAccepted
    from core.notifications.outbox import enqueue

    event = ThemeAccepted(
        country="BE", theme_id=1, edition="2030-2031", title="Bikes", actor_id=left.id
    )
    async with write_transaction():
        await enqueue(event, rules, key="direct", recipients=[proposer.id, left.id])
    members = {r["member"] for r in await OutboxMessage.select(OutboxMessage.member)}
    assert members == {proposer.id}

    # A member who leaves after the message was written does not get it either.
    await Member.update({getattr(Member, gone): NOW}).where(Member.id == proposer.id)
    done = await Relay(rules.registry, settings).drain()
    assert done.sent == 0 and done.failed == 1
    assert await Notification.count() == 0
    row = await OutboxMessage.select(OutboxMessage.last_error).first()
    assert "left the cooperative" in row["last_error"]


async def test_only_a_server_that_owns_its_database_prunes(database: Settings):
    handed_an_engine = create_app(database, engine=db.engine())
    assert _start_pruner not in handed_an_engine.on_startup


def test_sip_maintenance_prune_prints_the_counts(site: Site):  # noqa: F811
    ok(site.sip("db", "upgrade"))
    with sqlite3.connect(site.database) as conn:
        conn.execute(
            "INSERT INTO member (member_number, email, name, country, language, shareholder, "
            "created_at) VALUES ('C1', 'anna@example.org', 'Anna', 'BE', 'nl', 1, ?)",
            (datetime.now(UTC).isoformat(),),
        )
        # A sign-in link that expired a year ago.
        conn.execute(
            "INSERT INTO sign_in_token (token_hash, member, created_at, expires_at) "
            "VALUES ('ab12', 1, ?, ?)",
            (
                (datetime.now(UTC) - timedelta(days=366)).isoformat(),
                (datetime.now(UTC) - timedelta(days=365)).isoformat(),
            ),
        )

    result = ok(site.sip("maintenance", "prune"))

    line = next(line for line in result.stdout.splitlines() if "sign in tokens" in line)
    assert line.rstrip(" │").split()[-1] == "1"
    assert site.query("SELECT count(*) FROM sign_in_token") == [(0,)]
    again = ok(site.sip("maintenance", "prune"))
    line = next(line for line in again.stdout.splitlines() if "sign in tokens" in line)
    assert line.rstrip(" │").split()[-1] == "0"
