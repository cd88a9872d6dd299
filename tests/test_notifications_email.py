"""The notify_email channel against a real SMTP server (aiosmtpd on localhost).

Messages go out as text and HTML in the member's language with a Message-ID derived from the
idempotency key; the server down for a while delays them (back-off) and loses none; a member
who turned email off gets none; sign-in links are emailed too.
"""

from __future__ import annotations

import io
import logging
from datetime import timedelta

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.support import Translations
from litestar.testing import AsyncTestClient

from core import db, i18n
from core.app import create_app
from core.auth.services import link_status
from core.notifications import services as notifications
from core.notifications.relay import Relay
from core.notifications.tables import PENDING, SENT, Notification, OutboxMessage
from plugins.notify_email import message_id
from tests.conftest import csrf_token
from tests.notify_support import (
    Clock,
    SmtpSink,
    accepted_proposal,
    configured,
    member,
    open_poll,
    rules_for,
)
from tests.poll_support import voters_added_after_opening  # noqa: F401 (the fixture)


@pytest.fixture
def smtp():
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


def french_catalog(monkeypatch, messages: dict[str, str]) -> None:
    """Give French a catalog with these translations (the lead translates the real ones)."""
    catalog = Catalog(locale="fr")
    for source, translated in messages.items():
        catalog.add(source, translated)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    french = Translations(fp=buffer)
    original = i18n.translations
    monkeypatch.setattr(
        i18n, "translations", lambda lang: french if lang == "fr" else original(lang)
    )


def parts(message) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in message.iter_parts()}


async def test_an_email_goes_out_in_the_members_language_as_text_and_html(
    database, smtp, monkeypatch
):
    french_catalog(
        monkeypatch,
        {"Your proposal “%(title)s” is on the ballot": "Votre proposition « %(title)s » retenue"},
    )
    settings = configured(database, fr=("notify_email",), smtp=smtp)
    rules = rules_for(settings)
    proposer = await member("FR", language="fr")
    await accepted_proposal(rules, proposer, title="Vélos moins chers")

    done = await Relay(rules.registry, settings).drain()
    assert done.sent == 2  # email and in-app

    [message] = smtp.received()
    assert message["To"].addresses[0].addr_spec == proposer.email
    assert message["From"].addresses[0].addr_spec == "sip-test@example.org"
    assert message["Subject"] == "Votre proposition « Vélos moins chers » retenue"
    assert message["Content-Language"] == "fr"
    assert message.get_content_type() == "multipart/alternative"
    bodies = parts(message)
    assert set(bodies) == {"text/plain", "text/html"}
    assert "Votre proposition « Vélos moins chers » retenue" in bodies["text/plain"]
    assert '<html lang="fr">' in bodies["text/html"]
    assert "Vélos moins chers" in bodies["text/html"]
    assert "http://127.0.0.1:8000/themes/" in bodies["text/plain"]

    row = await OutboxMessage.select().where(OutboxMessage.channel == "email").first()
    assert row["state"] == SENT
    assert message["Message-ID"] == message_id(row["idempotency_key"], settings)
    assert message["X-SIP-Notification"] == row["idempotency_key"]


async def test_html_escapes_what_members_wrote(database, smtp):
    settings = configured(database, be=("notify_email",), smtp=smtp)
    rules = rules_for(settings)
    await accepted_proposal(rules, await member("BE"), title="<script>alert(1)</script> bikes")
    await Relay(rules.registry, settings).drain()
    html = parts(smtp.received()[0])["text/html"]
    assert "<script>" not in html and "&lt;script&gt;" in html


async def test_dates_are_written_the_members_way(database, smtp):
    settings = configured(database, be=("notify_email",), smtp=smtp)
    rules = rules_for(settings)
    late = await member("BE", language="nl")
    await open_poll(rules, "BE", closes_in=timedelta(hours=30))
    now = Clock()
    now.advance(hours=7)
    relay = Relay(rules.registry, settings, now=now)
    await relay.drain()
    reminders = [m for m in smtp.received() if m["To"].addresses[0].addr_spec == late.email]
    assert len(reminders) == 1  # the closing reminder; the opening is on the site only
    text = parts(reminders[0])["text/plain"]
    months = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus")
    months += ("september", "oktober", "november", "december")
    assert any(month in text for month in months)  # babel's Dutch month name


async def test_a_redelivered_message_keeps_its_message_id(database, smtp):
    settings = configured(database, be=("notify_email",), smtp=smtp)
    rules = rules_for(settings)
    await accepted_proposal(rules, await member("BE"))
    relay = Relay(rules.registry, settings)
    await relay.drain()
    # A relay that died after sending and before recording: the message goes out again ...
    await OutboxMessage.update({OutboxMessage.state: PENDING}).where(
        OutboxMessage.channel == "email"
    )
    await relay.drain()
    first, second = smtp.received()
    assert first["Message-ID"] == second["Message-ID"]  # ... as the same message


async def test_the_mail_server_down_for_a_while_delays_messages_and_loses_none(database, smtp):
    settings = configured(
        database, be=("notify_email",), smtp=smtp, backoff_seconds=60, max_attempts=5
    )
    rules = rules_for(settings)
    proposer = await member("BE")
    await accepted_proposal(rules, proposer)
    now = Clock()
    relay = Relay(rules.registry, settings, now=now)
    smtp.stop()

    await relay.run_once()
    row = await OutboxMessage.select().where(OutboxMessage.channel == "email").first()
    assert (row["state"], row["attempts"]) == (PENDING, 1)
    assert row["last_error"]  # the connection error, for the operators' page
    now.advance(seconds=60)
    await relay.run_once()  # still down
    row = await OutboxMessage.select().where(OutboxMessage.channel == "email").first()
    assert (row["state"], row["attempts"]) == (PENDING, 2)
    assert row["next_attempt_at"] == now() + timedelta(seconds=120)

    smtp.start()
    now.advance(seconds=119)
    assert (await relay.run_once()).claimed == 0  # still backing off
    now.advance(seconds=1)
    await relay.run_once()
    row = await OutboxMessage.select().where(OutboxMessage.channel == "email").first()
    assert (row["state"], row["attempts"]) == (SENT, 3)
    assert [m["To"].addresses[0].addr_spec for m in smtp.received()] == [proposer.email]


async def test_a_member_who_turns_email_off_gets_no_email_for_it(database, smtp):
    settings = configured(database, be=("notify_email",), smtp=smtp)
    rules = rules_for(settings)
    quiet = await member("BE")
    await notifications.set_preferences(
        rules.registry, settings, quiet, {"theme_accepted": {"email": False}}
    )
    await accepted_proposal(rules, quiet)
    await Relay(rules.registry, settings).drain()
    assert smtp.received() == []
    assert await Notification.count().where(Notification.member == quiet.id) == 1  # in-app


async def test_the_sign_in_link_is_emailed(database, smtp, caplog):
    settings = configured(database, be=("notify_email",), smtp=smtp)
    app = create_app(settings, registry=rules_for(settings).registry, engine=db.engine())
    be = await member("BE", language="nl")
    fr = await member("FR")  # FR has no email channel: its link goes to the log
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
        csrf = await csrf_token(client)
        with caplog.at_level(logging.WARNING, logger="sip.sign_in"):
            for who in (be, fr):
                r = await client.post(
                    "/api/sign-in/link", json={"email": who.email}, headers={"x-csrftoken": csrf}
                )
                assert r.status_code == 202
    [message] = smtp.received()
    assert message["To"].addresses[0].addr_spec == be.email
    assert message["Content-Language"] == "nl"
    text = parts(message)["text/plain"]
    token = text.split("/sign-in/link/")[1].split()[0]
    assert await link_status(token) == "valid"
    assert token not in caplog.text  # the BE link went by email only
    assert fr.email in caplog.text
    assert await OutboxMessage.count() == 0  # a secret: not stored, not queued


async def test_a_sign_in_link_the_mail_server_refuses_is_logged_without_the_link(
    database, smtp, caplog
):
    settings = configured(database, be=("notify_email",), smtp=smtp)
    app = create_app(settings, registry=rules_for(settings).registry, engine=db.engine())
    be = await member("BE")
    smtp.stop()
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
        csrf = await csrf_token(client)
        with caplog.at_level(logging.INFO):
            r = await client.post(
                "/api/sign-in/link", json={"email": be.email}, headers={"x-csrftoken": csrf}
            )
    assert r.status_code == 202  # the form never reveals who is a member, nor a mail failure
    assert f"could not email a sign-in link to member {be.id}" in caplog.text
    assert "/sign-in/link/" not in caplog.text
