"""The notification pages and their JSON twins: the in-app centre with its unread count in the
header, the preferences form (no JavaScript needed, CSRF like every form), and the operators'
outbox with retries. Bad input gets a clear 4xx and changes nothing.
"""

from __future__ import annotations

import asyncio
import re
from contextlib import asynccontextmanager

import pytest
from litestar.testing import AsyncTestClient

from core import db, hookimpl
from core.app import create_app
from core.notifications import Notifier
from core.notifications.relay import Relay
from core.notifications.tables import (
    FAILED,
    PENDING,
    SENT,
    Notification,
    NotificationPreference,
    OutboxMessage,
)
from tests.conftest import csrf_token, sign_in
from tests.notify_support import (
    Clock,
    accepted_proposal,
    configured,
    member,
    rules_for,
)


class Broken(Notifier):
    name = "broken"
    label = "Broken"

    async def deliver(self, delivery):
        raise ConnectionError("nobody listens")


class BrokenPlugin:
    @hookimpl
    def register_notifiers(self):
        return [Broken()]


@asynccontextmanager
async def client_for(settings, extra=None, relay=False):
    rules = rules_for(settings, extra)
    app = create_app(settings, registry=rules.registry, engine=db.engine(), relay=relay)
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
        yield client, rules


def header_link(page: str) -> str:
    match = re.search(r'<a href="/notifications"[^>]*>(.*?)</a>', page, re.S)
    assert match, "no Notifications link in the header"
    return match.group(1)


# -- the in-app centre ---------------------------------------------------------------------------


async def test_a_member_reads_notifications_with_the_unread_count_in_the_header(database):
    async with client_for(database) as (client, rules):
        proposer = await member("BE")
        theme_id = await accepted_proposal(rules, proposer, title="Cheaper bikes")
        await Relay(rules.registry, database).drain()
        await sign_in(client, proposer.id)

        home = (await client.get("/")).text
        assert "(1 unread)" in header_link(home)
        page = (await client.get("/notifications")).text
        assert "Your proposal “Cheaper bikes” is on the ballot" in page
        assert f'href="/themes/{theme_id}"' in page

        api = (await client.get("/api/notifications")).json()
        assert api["unread"] == 1
        [item] = api["items"]
        assert (item["type"], item["read"], item["url"]) == (
            "theme_accepted",
            False,
            f"/themes/{theme_id}",
        )

        csrf = await csrf_token(client)
        r = await client.post(
            f"/notifications/{item['id']}/read",
            data={"_csrf_token": csrf},
            follow_redirects=False,
        )
        assert (r.status_code, r.headers["location"]) == (303, "/notifications")
        assert "unread" not in header_link((await client.get("/")).text)
        assert (await client.get("/api/notifications")).json()["unread"] == 0


async def test_notifications_follow_the_language_the_member_reads_in(database):
    async with client_for(database) as (client, rules):
        proposer = await member("BE", language="nl")
        await accepted_proposal(rules, proposer, title="Goedkopere fietsen")
        await Relay(rules.registry, database).drain()
        await sign_in(client, proposer.id)
        page = (await client.get("/notifications")).text
        assert '<html lang="nl">' in page
        assert "Goedkopere fietsen" in page


async def test_marking_read_bad_input_is_a_clear_4xx_and_changes_nothing(database):
    async with client_for(database) as (client, rules):
        owner, other = await member("BE"), await member("BE")
        await accepted_proposal(rules, owner)
        await Relay(rules.registry, database).drain()
        [mine] = await Notification.select().where(Notification.member == owner.id)
        await sign_in(client, other.id)
        csrf = await csrf_token(client)

        for notification_id in (mine["id"], 999_999, 2**40):
            r = await client.post(
                f"/api/notifications/{notification_id}/read", headers={"x-csrftoken": csrf}
            )
            assert r.status_code == 404, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            assert "There is no notification" in r.json()["detail"]
        page = await client.post(f"/notifications/{mine['id']}/read", data={"_csrf_token": csrf})
        assert page.status_code == 404
        assert "There is no notification" in page.text
        no_csrf = await client.post("/notifications/read-all")
        assert no_csrf.status_code == 403
        assert (await Notification.select().where(Notification.id == mine["id"]).first())[
            "read_at"
        ] is None


async def test_signed_out_visitors_are_asked_to_sign_in(database):
    async with client_for(database) as (client, _rules):
        assert (await client.get("/api/notifications")).status_code == 401
        assert (await client.get("/notifications")).status_code == 401
        assert (await client.get("/notifications/preferences")).status_code == 401


async def test_the_servers_relay_delivers_in_the_background(database):
    async with client_for(database, relay=True) as (client, rules):
        proposer = await member("BE")
        await accepted_proposal(rules, proposer)
        await sign_in(client, proposer.id)

        async def unread() -> int:
            return (await client.get("/api/notifications")).json()["unread"]

        for _poll in range(2400):  # waiting for a condition, with a bound; not a timing check
            if await unread() == 1:
                break
            await asyncio.sleep(0.05)
        assert await unread() == 1


# -- preferences ---------------------------------------------------------------------------------


async def test_the_preferences_form_works_without_javascript(database):
    settings = configured(database, be=("notify_email",))
    async with client_for(settings) as (client, rules):
        me = await member("BE")
        await sign_in(client, me.id)
        form = (await client.get("/notifications/preferences")).text
        assert 'name="_csrf_token"' in form
        inputs = re.findall(r'<input type="checkbox" name="choice"[^>]*>', form)
        boxes = {re.search(r'value="([a-z_]+:[a-z_]+)"', i).group(1): i for i in inputs}
        checked = {value for value, tag in boxes.items() if "checked" in tag}
        # Defaults: on the site for everything, by email for what concerns the member directly.
        assert "theme_accepted:in_app" in checked and "theme_accepted:email" in checked
        assert "poll_opened:in_app" in checked and "poll_opened:email" not in checked
        assert "poll_opened:email" in boxes

        ticked = sorted((checked - {"theme_accepted:email"}) | {"poll_opened:email"})
        csrf = await csrf_token(client)
        r = await client.post(
            "/notifications/preferences", data={"_csrf_token": csrf, "choice": ticked}
        )
        assert r.status_code == 200
        assert "Your notification choices are saved." in r.text
        prefs = (await client.get("/api/notifications/preferences")).json()
        by_type = {e["type"]: e["channels"] for e in prefs["events"]}
        assert by_type["theme_accepted"] == {"in_app": True, "email": False}
        assert by_type["poll_opened"] == {"in_app": True, "email": True}
        assert [c["name"] for c in prefs["channels"]] == ["in_app", "email"]

        # And the outbox follows them: no email for the accepted proposal.
        await accepted_proposal(rules, me)
        channels = {r["channel"] for r in await OutboxMessage.select(OutboxMessage.channel)}
        assert channels == {"in_app"}


async def test_a_channel_not_enabled_for_the_members_country_is_not_offered(database):
    settings = configured(database, be=("notify_email",))
    async with client_for(settings) as (client, _rules):
        fr = await member("FR")
        await sign_in(client, fr.id)
        prefs = (await client.get("/api/notifications/preferences")).json()
        assert [c["name"] for c in prefs["channels"]] == ["in_app"]
        csrf = await csrf_token(client)
        r = await client.put(
            "/api/notifications/preferences",
            json={"events": {"theme_accepted": {"email": False}}},
            headers={"x-csrftoken": csrf},
        )
        assert r.status_code == 400
        assert "Unknown channel email" in r.json()["detail"]


@pytest.mark.parametrize(
    "choice", ["theme_accepted:fax", "nonsense", "members_imported:in_app", ""]
)
async def test_bad_preference_input_reshows_the_form_and_changes_nothing(database, choice):
    async with client_for(database) as (client, _rules):
        me = await member("BE")
        await sign_in(client, me.id)
        csrf = await csrf_token(client)
        r = await client.post(
            "/notifications/preferences", data={"_csrf_token": csrf, "choice": [choice]}
        )
        assert r.status_code == 400
        assert 'role="alert"' in r.text and "Unknown notification choice" in r.text
        assert 'name="choice"' in r.text  # the form again
        api = await client.put(
            "/api/notifications/preferences",
            json={"events": {"no_such_event": {"in_app": False}}},
            headers={"x-csrftoken": csrf},
        )
        assert api.status_code == 400
        assert "Unknown notification no_such_event" in api.json()["detail"]
        malformed = await client.put(
            "/api/notifications/preferences",
            json={"events": {"theme_accepted": {"in_app": "maybe"}}},
            headers={"x-csrftoken": csrf},
        )
        assert malformed.status_code == 400
        assert await NotificationPreference.count() == 0


async def test_the_preferences_form_refuses_a_post_without_csrf(database):
    async with client_for(database) as (client, _rules):
        me = await member("BE")
        await sign_in(client, me.id)
        r = await client.post("/notifications/preferences", data={"choice": []})
        assert r.status_code == 403
        assert await NotificationPreference.count() == 0


# -- the operators' outbox -----------------------------------------------------------------------


async def failed_message(database, country: str = "BE"):
    """A country's settings with a broken channel, and one failed message on it."""
    settings = configured(
        database,
        be=("broken",) if country == "BE" else (),
        fr=("broken",) if country == "FR" else (),
        max_attempts=1,
    )
    extra = {"broken": BrokenPlugin()}
    rules = rules_for(settings, extra)
    await accepted_proposal(rules, await member(country))
    await Relay(rules.registry, settings, now=Clock()).drain()
    row = await OutboxMessage.select().where(OutboxMessage.channel == "broken").first()
    assert row["state"] == FAILED
    return settings, extra, row


async def test_operators_see_their_countrys_outbox_and_retry_a_failed_message(database):
    settings, extra, row = await failed_message(database)
    async with client_for(settings, extra) as (client, _rules):
        operator = await member("BE", operator_of=("BE",))
        await sign_in(client, operator.id)
        page = (await client.get("/outbox?country=BE")).text
        assert "nobody listens" in page  # the last error
        assert f'action="/outbox/{row["id"]}/retry"' in page
        api = (await client.get("/api/outbox/BE")).json()
        counts = {(c["channel"], c["state"]): c["count"] for c in api["counts"]}
        assert counts[("broken", "failed")] == 1 and counts[("in_app", "sent")] == 1
        [failed] = [i for i in api["items"] if i["state"] == FAILED]
        assert (failed["attempts"], failed["last_error"]) == (
            1,
            "ConnectionError: nobody listens",
        )

        csrf = await csrf_token(client)
        r = await client.post(
            f"/outbox/{row['id']}/retry",
            data={"_csrf_token": csrf, "country": "BE"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert r.headers["location"] == "/outbox?country=BE&state=failed"
        again = await OutboxMessage.select().where(OutboxMessage.id == row["id"]).first()
        assert (again["state"], again["attempts"]) == (PENDING, 0)

        # JSON twin: retrying what is not failed is a conflict.
        conflict = await client.post(
            f"/api/outbox/messages/{row['id']}/retry", headers={"x-csrftoken": csrf}
        )
        assert conflict.status_code == 409
        assert "Only a failed message can be retried" in conflict.json()["detail"]


async def test_a_member_who_is_not_an_operator_gets_403(database):
    settings, extra, row = await failed_message(database)
    async with client_for(settings, extra) as (client, _rules):
        await sign_in(client, (await member("BE")).id)
        csrf = await csrf_token(client)
        assert (await client.get("/outbox")).status_code == 403
        assert (await client.get("/api/outbox/BE")).status_code == 403
        r = await client.post(f"/outbox/{row['id']}/retry", data={"_csrf_token": csrf})
        assert r.status_code == 403
        r = await client.post(
            f"/api/outbox/messages/{row['id']}/retry", headers={"x-csrftoken": csrf}
        )
        assert r.status_code == 403
    assert (await OutboxMessage.select().where(OutboxMessage.id == row["id"]).first())[
        "state"
    ] == FAILED


async def test_another_countrys_or_an_unknown_message_is_refused_and_unchanged(database):
    settings, extra, row = await failed_message(database, "BE")
    async with client_for(settings, extra) as (client, _rules):
        fr_operator = await member("FR", operator_of=("FR",))
        await sign_in(client, fr_operator.id)
        csrf = await csrf_token(client)

        other = await client.post(
            f"/api/outbox/messages/{row['id']}/retry", headers={"x-csrftoken": csrf}
        )
        assert other.status_code == 403
        assert "Only operators of BE" in other.json()["detail"]
        page = await client.post(
            f"/outbox/{row['id']}/retry", data={"_csrf_token": csrf, "country": "FR"}
        )
        assert page.status_code == 403
        assert "Only operators of BE" in page.text and "<h1>" in page.text  # the page again
        for unknown in (999_999, 2**40):
            r = await client.post(
                f"/api/outbox/messages/{unknown}/retry", headers={"x-csrftoken": csrf}
            )
            assert r.status_code == 404
            assert "There is no outbox message" in r.json()["detail"]
        assert (await client.get("/api/outbox/BE")).status_code == 403
        assert (await client.get("/api/outbox/XX")).status_code == 400
        assert (await client.get("/api/outbox/FR?state=lost")).status_code == 400
        assert (await client.get("/outbox?country=BE")).status_code == 403
        no_csrf = await client.post(f"/api/outbox/messages/{row['id']}/retry")
        assert no_csrf.status_code == 403
    after = await OutboxMessage.select().where(OutboxMessage.id == row["id"]).first()
    assert (after["state"], after["attempts"]) == (FAILED, 1)


async def test_a_retried_message_is_delivered_by_the_relay(database):
    settings, extra, row = await failed_message(database)
    async with client_for(settings, extra) as (client, rules):
        operator = await member("BE", operator_of=("BE",))
        await sign_in(client, operator.id)
        csrf = await csrf_token(client)
        r = await client.post(
            f"/api/outbox/messages/{row['id']}/retry", headers={"x-csrftoken": csrf}
        )
        assert r.status_code == 200 and r.json()["state"] == PENDING

        class Fixed(Broken):
            async def deliver(self, delivery):
                return None

        class FixedPlugin:
            @hookimpl
            def register_notifiers(self):
                return [Fixed()]

        fixed = rules_for(settings, {"broken": FixedPlugin()})
        await Relay(fixed.registry, settings).drain()
    assert (await OutboxMessage.select().where(OutboxMessage.id == row["id"]).first())[
        "state"
    ] == SENT
