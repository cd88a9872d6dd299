"""Digests: a member who chose a daily or weekly digest for a kind of news gets one email per
period, in their language, listing the period's events with their links; the relay sends a
batch over one SMTP connection. Through a real SMTP server (aiosmtpd); the clock is injected."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from core import clock, db
from core.app import create_app
from core.config import Settings
from core.events import ThemeAccepted
from core.notifications.digests import DAILY, DIGEST, WEEKLY, gather
from core.notifications.outbox import enqueue
from core.notifications.relay import Relay
from core.notifications.tables import (
    SENT,
    DigestItem,
    Notification,
    NotificationEvent,
    NotificationPreference,
    OutboxMessage,
)
from tests.conftest import csrf_token, sign_in
from tests.notify_support import Clock, SmtpSink, configured, member, rules_for

# Monday 10 March 2031, in Brussels (UTC+1 in March).
MONDAY = datetime(2031, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def smtp():
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


async def choose(member_ids: list[int], frequency: str, event_type: str = "theme_accepted"):
    await NotificationPreference.insert(
        *(
            NotificationPreference(
                member=m, event_type=event_type, channel="email", enabled=True, frequency=frequency
            )
            for m in member_ids
        )
    )


async def accepted(rules, at: datetime, theme_id: int, title: str, recipients: list[int]):
    event = ThemeAccepted(
        country="BE",
        theme_id=theme_id,
        edition="2030-2031",
        title=title,
        actor_id=recipients[0],
    )
    with clock.frozen_at(at):
        async with db.write_transaction():
            await enqueue(event, rules, recipients=recipients)


def text_of(message) -> str:
    return next(
        p.get_content() for p in message.iter_parts() if p.get_content_type() == "text/plain"
    )


async def test_a_day_of_events_makes_one_email_per_member_in_their_language(database, smtp):
    settings = configured(database, be=("notify_email",), smtp=smtp)
    rules = rules_for(settings)
    people = [await member("BE", language=("fr" if n % 2 else "en")) for n in range(200)]
    ids = [p.id for p in people]
    await choose(ids, DAILY)
    titles = ["Cheaper bikes", "Shared tools", "Solar roofs"]
    for n, title in enumerate(titles):
        await accepted(rules, MONDAY + timedelta(hours=n), 100 + n, title, ids)
    # The in-app centre stays immediate; email waits for the digest.
    assert await DigestItem.count() == 200 * 3
    now = Clock(datetime(2031, 3, 10, 22, 30, tzinfo=UTC))  # 23:30 in Brussels
    relay = Relay(rules.registry, settings, now=now)
    before_midnight = await relay.drain()
    assert before_midnight.digests == 0 and smtp.received() == []
    assert await Notification.count() == 200 * 3

    now.advance(hours=1)  # 00:30 on Tuesday in Brussels: Monday is over
    done = await relay.drain()

    assert done.digests == 200 and done.failed == 0
    received = smtp.received()
    assert len(received) == 200
    assert Counter(address for _f, rcpt in smtp.envelopes for address in rcpt) == Counter(
        {p.email: 1 for p in people}
    )
    by_address = {m["To"].addresses[0].addr_spec: m for m in received}
    for person in people:
        message = by_address[person.email]
        text = text_of(message)
        assert message["Content-Language"] == person.language
        for n, title in enumerate(titles):
            assert f"http://127.0.0.1:8000/themes/{100 + n}" in text
            assert title in text
        if person.language == "fr":
            assert "10 mars 2031" in message["Subject"]
            assert "Votre proposition « Cheaper bikes » est soumise au vote" in text
        else:
            assert "10 March 2031" in message["Subject"]
            assert "Your proposal “Cheaper bikes” is on the ballot" in text
    assert await DigestItem.count().where(DigestItem.digest_key.is_null()) == 0
    # A second relay, later, writes no second digest.
    again = await Relay(
        rules.registry, settings, now=Clock(now.moment + timedelta(hours=1))
    ).drain()
    assert again.digests == 0 and len(smtp.received()) == 200


async def test_two_relays_gathering_at_once_write_one_digest(database, smtp):
    settings = configured(database, be=("notify_email",), smtp=smtp)
    rules = rules_for(settings)
    someone = await member("BE")
    await choose([someone.id], DAILY)
    await accepted(rules, MONDAY, 7, "Cheaper bikes", [someone.id])
    after = datetime(2031, 3, 11, 0, 30, tzinfo=UTC)
    assert await gather(after) == 1
    assert await gather(after) == 0
    assert await NotificationEvent.count().where(NotificationEvent.event_type == DIGEST) == 1
    key = (
        await NotificationEvent.select(NotificationEvent.key)
        .where(NotificationEvent.event_type == DIGEST)
        .first()
    )["key"]
    assert key == f"digest:{someone.id}:email:daily:2031-03-10"


async def test_a_weekly_digest_gathers_monday_to_sunday(database, smtp):
    settings = configured(database, be=("notify_email",), smtp=smtp)
    rules = rules_for(settings)
    someone = await member("BE", language="en")
    await choose([someone.id], WEEKLY)
    await accepted(rules, MONDAY, 1, "Cheaper bikes", [someone.id])
    await accepted(rules, MONDAY + timedelta(days=3), 2, "Shared tools", [someone.id])
    await accepted(rules, MONDAY + timedelta(days=7, hours=2), 3, "Solar roofs", [someone.id])
    sunday_night = Clock(datetime(2031, 3, 16, 22, 0, tzinfo=UTC))  # 23:00 Sunday, Brussels
    relay = Relay(rules.registry, settings, now=sunday_night)
    assert (await relay.drain()).digests == 0

    sunday_night.advance(hours=2)  # Monday 17 March, 01:00 in Brussels
    done = await relay.drain()

    assert done.digests == 1 and done.sent >= 1
    [message] = smtp.received()
    text = text_of(message)
    assert "Cheaper bikes" in text and "Shared tools" in text
    assert "Solar roofs" not in text  # next week's
    assert "10 March 2031 – 16 March 2031" in message["Subject"]


async def test_immediate_email_is_unchanged_and_a_batch_shares_one_connection(
    database, smtp, monkeypatch
):
    connections: list[str] = []

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        connections.append(hostname)
        session.host_name = hostname
        return responses

    monkeypatch.setattr(SmtpSink, "handle_EHLO", handle_EHLO, raising=False)
    settings = configured(database, be=("notify_email",), smtp=smtp, concurrency=1)
    rules = rules_for(settings)
    people = [await member("BE") for _n in range(12)]
    await accepted(rules, MONDAY, 1, "Cheaper bikes", [p.id for p in people])
    assert await DigestItem.count() == 0
    done = await Relay(rules.registry, settings, now=Clock(MONDAY)).drain()
    assert done.failed == 0
    assert len(smtp.received()) == 12
    assert len(connections) == 1  # twelve emails, one SMTP connection
    assert await OutboxMessage.count().where(OutboxMessage.state == SENT) == 24  # + in-app


async def test_a_refused_address_in_a_batch_fails_alone(database, smtp, monkeypatch):
    settings = configured(database, be=("notify_email",), smtp=smtp)
    rules = rules_for(settings)
    people = [await member("BE") for _n in range(5)]
    refused = people[2].email
    original = SmtpSink.handle_DATA

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        if address == refused:
            return "550 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    monkeypatch.setattr(SmtpSink, "handle_RCPT", handle_RCPT, raising=False)
    monkeypatch.setattr(SmtpSink, "handle_DATA", original)
    await accepted(rules, MONDAY, 1, "Cheaper bikes", [p.id for p in people])
    done = await Relay(rules.registry, settings, now=Clock(MONDAY)).drain()
    delivered = {a for _f, rcpt in smtp.envelopes for a in rcpt}
    assert delivered == {p.email for p in people} - {refused}
    assert done.failed == 1
    failed = await OutboxMessage.select(OutboxMessage.member, OutboxMessage.last_error).where(
        OutboxMessage.state == "failed"
    )
    assert [row["member"] for row in failed] == [people[2].id]
    assert "refused" in failed[0]["last_error"]


# -- the preferences form ------------------------------------------------------------------


@pytest.fixture
async def email_client(database: Settings) -> Any:
    settings = configured(database, be=("notify_email",))
    app = create_app(settings, engine=db.engine())
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
        yield client


async def stored(member_id: int) -> dict[tuple[str, str], tuple[bool, str]]:
    pref = NotificationPreference
    rows = await pref.select(pref.event_type, pref.channel, pref.enabled, pref.frequency).where(
        pref.member == member_id
    )
    return {(r["event_type"], r["channel"]): (r["enabled"], r["frequency"]) for r in rows}


async def test_the_form_sets_a_daily_digest_for_email(email_client):
    someone = await member("BE")
    await sign_in(email_client, someone.id)
    page = await email_client.get("/notifications/preferences")
    assert 'name="frequency:theme_accepted:email"' in page.text
    assert 'name="frequency:theme_accepted:in_app"' not in page.text  # in-app stays immediate

    response = await email_client.post(
        "/notifications/preferences",
        data={
            "_csrf_token": await csrf_token(email_client),
            "choice": ["theme_accepted:email", "theme_accepted:in_app"],
            "frequency:theme_accepted:email": "daily",
        },
    )

    assert response.status_code == 200
    assert (await stored(someone.id))[("theme_accepted", "email")] == (True, "daily")
    assert '<option value="daily" selected>' in response.text
    twin = (await email_client.get("/api/notifications/preferences")).json()
    accepted_row = next(e for e in twin["events"] if e["type"] == "theme_accepted")
    assert accepted_row["frequencies"] == {"email": "daily"}


async def test_a_bad_frequency_reshows_the_form_with_a_message_and_changes_nothing(email_client):
    someone = await member("BE")
    await sign_in(email_client, someone.id)
    before = await stored(someone.id)

    response = await email_client.post(
        "/notifications/preferences",
        data={
            "_csrf_token": await csrf_token(email_client),
            "choice": ["theme_accepted:in_app"],  # would turn email off, were it valid
            "frequency:theme_accepted:email": "hourly",
        },
    )

    assert response.status_code == 400
    assert "Unknown frequency hourly" in response.text
    assert 'name="frequency:theme_accepted:email"' in response.text  # the form again
    assert await stored(someone.id) == before

    token = await csrf_token(email_client)
    for frequencies in (
        {"theme_accepted": {"email": "yearly"}},
        {"theme_accepted": {"in_app": "daily"}},
    ):
        api = await email_client.put(
            "/api/notifications/preferences",
            json={"frequencies": frequencies},
            headers={"x-csrftoken": token},
        )
        assert api.status_code == 400, api.text
        assert api.json()["detail"]
    assert await stored(someone.id) == before


async def test_a_notice_taken_back_leaves_no_digest_item(database, smtp):
    from core.notifications.outbox import take_back

    settings = configured(database, be=("notify_email",), smtp=smtp)
    rules = rules_for(settings)
    someone = await member("BE")
    await choose([someone.id], DAILY)
    event = ThemeAccepted(
        country="BE", theme_id=5, edition="2030-2031", title="Bikes", actor_id=someone.id
    )
    with clock.frozen_at(MONDAY):
        async with db.write_transaction():
            await enqueue(event, rules, key="taken-back", recipients=[someone.id])
    assert await DigestItem.count() == 1
    async with db.write_transaction():
        await take_back("taken-back")
    assert await DigestItem.count() == 0
    assert await gather(MONDAY + timedelta(days=2)) == 0
