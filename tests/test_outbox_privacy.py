"""The operators' outbox never names who gets a poll's closing reminder (it goes only to the
members who have not voted): those messages are counted per channel and state, never listed,
and their failures are retried all at once. Other kinds stay listed with their recipient."""

from __future__ import annotations

import json
from datetime import timedelta

from core.audit.tables import AuditEntry
from core.members.services import load_member
from core.notifications.relay import Relay
from core.notifications.tables import FAILED, PENDING, OutboxMessage
from core.polls import services as polls
from tests.conftest import add_member, csrf_token, sign_in
from tests.notify_support import (
    Clock,
    accepted_proposal,
    configured,
    member,
    open_poll,
    rules_for,
)
from tests.poll_support import voters_added_after_opening  # noqa: F401 (the fixture)
from tests.test_notifications_pages import BrokenPlugin, client_for

LATE_NAME, LATE_EMAIL = "Lena Late", "lena.late@example.org"


async def closing_reminders(database):
    """A BE poll closing in two hours, a member who voted and one who has not (created after
    the poll opened, so only the closing reminder goes to her), a proposer whose acceptance is
    notified, and a broken channel: every message on it fails at once."""
    settings = configured(database, be=("broken",), max_attempts=1)
    extra = {"broken": BrokenPlugin()}
    rules = rules_for(settings, extra)
    poll_id = await open_poll(rules, "BE", closes_in=timedelta(hours=2))
    voter = await member("BE")
    late = await load_member(await add_member(LATE_EMAIL, name=LATE_NAME))
    await polls.cast(rules, voter, poll_id, [1])
    proposer = await load_member(await add_member("paul.proposer@example.org", name="Paul Prop"))
    await accepted_proposal(rules, proposer)
    relay = Relay(rules.registry, settings, now=Clock())
    assert (await relay.run_once()).reminders > 0
    await Relay(rules.registry, settings).drain()  # now due: every message delivered or failed
    reminders = await OutboxMessage.select().where(OutboxMessage.event_type == "poll_closing")
    recipients = {r["member"] for r in reminders}
    assert late.id in recipients and voter.id not in recipients
    assert sorted((r["channel"], r["state"]) for r in reminders) == sorted(
        [("broken", FAILED), ("in_app", "sent")] * len(recipients)
    )
    return settings, extra, late, len(recipients)


async def test_the_outbox_counts_closing_reminders_but_never_names_their_recipients(database):
    settings, extra, late, n = await closing_reminders(database)
    async with client_for(settings, extra) as (client, _rules):
        operator = await member("BE", operator_of=("BE",))
        await sign_in(client, operator.id)
        for state in ("", "failed", "pending", "sent"):
            page = await client.get("/outbox", params={"country": "BE", "state": state})
            assert page.status_code == 200
            assert LATE_NAME not in page.text and LATE_EMAIL not in page.text, state
            api = await client.get("/api/outbox/BE", params={"state": state} if state else {})
            assert api.status_code == 200
            assert LATE_NAME not in api.text and LATE_EMAIL not in api.text, state
            assert all(i["event_type"] != "poll_closing" for i in api.json()["items"])
        for channel in ("broken", "in_app"):
            page = await client.get("/outbox", params={"country": "BE", "channel": channel})
            assert LATE_NAME not in page.text and LATE_EMAIL not in page.text

        page = (await client.get("/outbox?country=BE")).text
        assert 'id="unlisted"' in page and "poll_closing" in page
        assert "Paul Prop" in page  # another kind is listed with its recipient, as before
        unlisted = (await client.get("/api/outbox/BE")).json()["unlisted"]
        assert unlisted == [
            {"event_type": "poll_closing", "channel": "broken", "state": "failed", "count": n},
            {"event_type": "poll_closing", "channel": "in_app", "state": "sent", "count": n},
        ]
        assert 'action="/outbox/retry-failed"' in page
        assert 'name="event_type" value="poll_closing"' in page


async def test_failed_closing_reminders_are_retried_all_at_once_without_a_name(database):
    settings, extra, late, n = await closing_reminders(database)
    broken = (OutboxMessage.event_type == "poll_closing") & (OutboxMessage.channel == "broken")
    async with client_for(settings, extra) as (client, rules):
        operator = await member("BE", operator_of=("BE",))
        await sign_in(client, operator.id)
        csrf = await csrf_token(client)
        page = await client.post(
            "/outbox/retry-failed",
            data={"_csrf_token": csrf, "country": "BE", "event_type": "poll_closing"},
        )
        assert page.status_code == 200, page.text
        assert f"{n} failed messages are back in the queue." in page.text
        assert LATE_NAME not in page.text and LATE_EMAIL not in page.text
        rows = await OutboxMessage.select().where(broken)
        assert {(r["state"], r["attempts"]) for r in rows} == {(PENDING, 0)}
        [row] = [r for r in rows if r["member"] == late.id]
        [entry] = await AuditEntry.select().where(AuditEntry.action == "outbox.retry_failed")
        assert json.loads(entry["details"]) == {
            "channel": "",
            "event_type": "poll_closing",
            "messages": n,
        }

        # Nothing failed any more: a clear 409, on the page and in JSON.
        again = await client.post(
            "/outbox/retry-failed",
            data={"_csrf_token": csrf, "country": "BE", "event_type": "poll_closing"},
        )
        assert again.status_code == 409 and 'role="alert"' in again.text
        assert "There is no failed message of this kind to retry." in again.text

        # It fails again; the JSON twin retries it.
        await Relay(rules.registry, settings).drain()
        assert {r["state"] for r in await OutboxMessage.select().where(broken)} == {FAILED}
        headers = {"x-csrftoken": csrf}
        api = await client.post(
            "/api/outbox/BE/retry-failed",
            json={"event_type": "poll_closing", "channel": "broken"},
            headers=headers,
        )
        assert api.status_code == 200 and api.json() == {"retried": n}

        # Retried by its id (not listed, but ids can be guessed): still no recipient.
        await Relay(rules.registry, settings).drain()
        one = await client.post(f"/api/outbox/messages/{row['id']}/retry", headers=headers)
        assert one.status_code == 200
        body = one.json()
        assert (body["member_name"], body["member_email"], body["last_error"]) == (None, None, "")
        assert LATE_NAME not in one.text and LATE_EMAIL not in one.text

        bad = await client.post(
            "/api/outbox/BE/retry-failed", json={"event_type": "nonsense"}, headers=headers
        )
        assert bad.status_code == 400 and "Unknown notification nonsense" in bad.text
        bad_page = await client.post(
            "/outbox/retry-failed",
            data={"_csrf_token": csrf, "country": "BE", "event_type": "nonsense"},
        )
        assert bad_page.status_code == 400 and "Unknown notification nonsense" in bad_page.text
        assert "<h1>" in bad_page.text


async def test_only_the_countrys_operators_retry_all_failed_messages(database):
    settings, extra, _late, n = await closing_reminders(database)
    async with client_for(settings, extra) as (client, _rules):
        for who in (await member("FR", operator_of=("FR",)), await member("BE")):
            await sign_in(client, who.id)
            csrf = await csrf_token(client)
            page = await client.post(
                "/outbox/retry-failed",
                data={"_csrf_token": csrf, "country": "BE", "event_type": "poll_closing"},
            )
            api = await client.post(
                "/api/outbox/BE/retry-failed",
                json={"event_type": "poll_closing"},
                headers={"x-csrftoken": csrf},
            )
            assert (page.status_code, api.status_code) == (403, 403)
    failed = await OutboxMessage.select().where(
        (OutboxMessage.event_type == "poll_closing") & (OutboxMessage.channel == "broken")
    )
    assert [r["state"] for r in failed] == [FAILED] * n
    assert await AuditEntry.count().where(AuditEntry.action == "outbox.retry_failed") == 0
