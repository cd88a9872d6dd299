"""The notify_webhook channel against a real HTTP receiver on localhost.

Each event goes out once (not per member) as JSON signed with the Standard Webhooks headers,
which the receiver verifies with its own implementation. A receiver down for a while gets every
message later; a relay killed in the middle of a batch (its task cancelled, or `sip notify run`
killed with SIGKILL) loses nothing: a new relay delivers the rest, and a message delivered twice
carries the same webhook-id both times.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core import clock
from core.notifications.relay import Relay
from core.notifications.tables import PENDING, SENT, OutboxMessage
from tests.conftest import POSTGRES_URL, SECRET
from tests.notify_support import (
    WEBHOOK_SECRET,
    Clock,
    WebhookReceiver,
    accepted_proposal,
    configured,
    member,
    rules_for,
    verify_standard_webhook,
    wait_until,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def receiver():
    server = WebhookReceiver()
    server.start()
    yield server
    server.stop()


async def webhook_rows() -> list[dict]:
    return await (
        OutboxMessage.select().where(OutboxMessage.channel == "webhook").order_by(OutboxMessage.id)
    )


async def test_each_event_is_posted_once_signed_and_the_receiver_verifies_it(database, receiver):
    settings = configured(database, be=("notify_webhook",), webhook=receiver)
    rules = rules_for(settings)
    proposer = await member("BE")
    theme_id = await accepted_proposal(rules, proposer, title="Cheaper bikes")
    await member("FR")

    await Relay(rules.registry, settings).drain()

    [(headers, body)] = receiver.received()
    [row] = await webhook_rows()
    assert row["member"] is None  # one message per event, not per member
    assert row["state"] == SENT
    assert (
        headers["webhook-id"]
        == row["idempotency_key"]
        == f"theme_accepted:{theme_id}/webhook/event"
    )
    assert headers["webhook-timestamp"].isdigit()
    assert headers["webhook-signature"].startswith("v1,")
    assert headers["content-type"] == "application/json"
    assert verify_standard_webhook(WEBHOOK_SECRET, headers, body)
    payload = json.loads(body)
    assert payload["type"] == "theme_accepted"
    assert payload["data"] == {
        "type": "theme_accepted",
        "country": "BE",
        "theme_id": theme_id,
        "edition": payload["data"]["edition"],
        "title": "Cheaper bikes",
        "actor_id": payload["data"]["actor_id"],
        "proposer_id": proposer.id,
    }


async def test_the_verifier_rejects_a_wrong_secret_or_a_changed_body(database, receiver):
    settings = configured(database, be=("notify_webhook",), webhook=receiver)
    rules = rules_for(settings)
    await accepted_proposal(rules, await member("BE"))
    await Relay(rules.registry, settings).drain()
    [(headers, body)] = receiver.received()
    other = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="
    assert not verify_standard_webhook(other, headers, body)
    assert not verify_standard_webhook(WEBHOOK_SECRET, headers, body.replace(b"BE", b"FR"))
    assert verify_standard_webhook(WEBHOOK_SECRET, headers, body)


async def test_the_secret_is_never_printed(database, receiver):
    settings = configured(database, be=("notify_webhook",), webhook=receiver)
    rules = rules_for(settings)
    from plugins.notify_webhook import WebhookNotifier

    assert WEBHOOK_SECRET not in repr(settings)
    assert WEBHOOK_SECRET not in repr(WebhookNotifier(settings))
    assert WEBHOOK_SECRET not in str(settings.notifications.webhook)
    assert rules  # the registry builds with the secret set


async def test_a_receiver_down_for_a_while_gets_everything_later(database, receiver):
    settings = configured(
        database, be=("notify_webhook",), webhook=receiver, backoff_seconds=10, max_attempts=6
    )
    rules = rules_for(settings)
    for _n in range(3):
        await accepted_proposal(rules, await member("BE"))
    now = Clock()
    relay = Relay(rules.registry, settings, now=now)

    receiver.stop()  # connection refused
    await relay.run_once()
    assert {(r["state"], r["attempts"]) for r in await webhook_rows()} == {(PENDING, 1)}
    now.advance(seconds=10)
    receiver.start()
    receiver.status = 503  # up, but failing
    await relay.run_once()
    rows = await webhook_rows()
    assert {(r["state"], r["attempts"]) for r in rows} == {(PENDING, 2)}
    assert all(r["last_error"] == "RuntimeError: the receiver answered HTTP 503" for r in rows)
    assert all(r["next_attempt_at"] == now() + timedelta(seconds=20) for r in rows)

    receiver.status = 200
    now.advance(seconds=20)
    await relay.run_once()
    assert {r["state"] for r in await webhook_rows()} == {SENT}
    delivered = [h["webhook-id"] for h, _b in receiver.received()]
    # The 503 round reached the receiver too: the same ids again, nothing new, nothing lost.
    assert set(delivered) == {r["idempotency_key"] for r in await webhook_rows()}
    assert Counter(delivered).most_common(1)[0][1] == 2


async def test_a_relay_cancelled_mid_batch_loses_nothing(database, receiver):
    settings = configured(
        database, be=("notify_webhook",), webhook=receiver, concurrency=1, lease_seconds=60
    )
    rules = rules_for(settings)
    for _n in range(5):
        await accepted_proposal(rules, await member("BE"))
    now = Clock()
    receiver.hold_request = 3  # the third delivery hangs: the relay is "killed" during it
    first = Relay(rules.registry, settings, now=now, owner="first")
    task = asyncio.create_task(first.run(asyncio.Event()))
    await asyncio.to_thread(receiver.holding.wait, 20)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    receiver.release.set()

    rows = await webhook_rows()
    assert [r["state"] for r in rows].count(SENT) == 2
    assert all(r["lease_owner"] == "first" for r in rows if r["state"] == PENDING)

    second = Relay(rules.registry, settings, now=now, owner="second")
    assert (await second.run_once()).claimed == 0  # the leases still hold
    now.advance(seconds=60)
    await second.drain()
    rows = await webhook_rows()
    assert {r["state"] for r in rows} == {SENT}
    ids = [h["webhook-id"] for h, _b in receiver.received()]
    assert set(ids) == {r["idempotency_key"] for r in rows}  # nothing lost
    assert sorted(Counter(ids).values()) == [1, 1, 1, 1, 2]  # the one in flight, twice, same id
    bodies = {}
    for headers, body in receiver.received():
        data = json.loads(body)["data"]
        assert bodies.setdefault(headers["webhook-id"], data) == data  # same content both times


def relay_process(
    settings, receiver, tmp_path, request, notifications: str
) -> Callable[[], subprocess.Popen[bytes]]:
    """A way to start `sip notify run` on the test's database, as its own process."""
    if settings.is_sqlite:
        url = f"sqlite:///{settings.sqlite_path}"
    else:
        url = f"{POSTGRES_URL}?schema={request.getfixturevalue('postgres_schema')}"
    config = tmp_path / "relay.toml"
    config.write_text(
        f"""
[platform]
contact_email = "sip-test@example.org"

[database]
url = "{url}"

[notifications]
{notifications}

[notifications.webhook]
url = "{receiver.url}"

[countries.BE]
plugins = ["track_be", "notify_webhook"]

[countries.FR]
plugins = ["track_fr"]
"""
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIP_")}
    env.update(SIP_SECRET_KEY=SECRET, SIP_WEBHOOK_SECRET=WEBHOOK_SECRET, PYTHONPATH=str(ROOT))

    def start(**streams: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "core.cli", "--config", str(config), "notify", "run"],
            cwd=tmp_path,
            env=env,
            **(streams or {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}),
        )

    return start


async def test_sip_notify_run_killed_with_sigkill_mid_delivery_loses_nothing(
    database, receiver, tmp_path, request
):
    settings = configured(database, be=("notify_webhook",), webhook=receiver)
    rules = rules_for(settings)
    for _n in range(4):
        await accepted_proposal(rules, await member("BE"))
    start = relay_process(
        settings, receiver, tmp_path, request, "concurrency = 1\nlease_seconds = 600"
    )
    receiver.hold_request = 2
    relay = start(stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        await asyncio.to_thread(
            wait_until,
            lambda: receiver.holding.is_set() or relay.poll() is not None,
            60,
            "the relay's second delivery",
        )
        assert relay.poll() is None, relay.stdout.read().decode()
        relay.send_signal(signal.SIGKILL)  # the server dies in the middle of a delivery
        assert relay.wait(30) == -signal.SIGKILL
    finally:
        if relay.poll() is None:
            relay.kill()
        receiver.release.set()

    rows = await webhook_rows()
    assert [r["state"] for r in rows].count(SENT) == 1
    pending = [r for r in rows if r["state"] == PENDING]
    assert len(pending) == 3 and all(r["lease_owner"] for r in pending)

    # A new relay, once the dead one's leases ran out, delivers the rest.
    now = Clock()
    now.advance(seconds=600)
    await Relay(rules.registry, settings, now=now).drain()
    rows = await webhook_rows()
    assert {r["state"] for r in rows} == {SENT}
    wait_until(lambda: len(receiver.received()) >= 5, what="the deliveries")
    ids = [h["webhook-id"] for h, _b in receiver.received()]
    assert set(ids) == {r["idempotency_key"] for r in rows}
    assert sorted(Counter(ids).values()) == [1, 1, 1, 2]
    for headers, body in receiver.received():
        assert verify_standard_webhook(WEBHOOK_SECRET, headers, body)


async def test_sip_notify_run_killed_again_and_again_loses_no_message(
    database, receiver, tmp_path, request
):
    """Three relays in turn die with SIGKILL in the middle of a delivery; a fourth, once the
    dead ones' leases ran out, delivers the rest: every message arrives, none is lost.

    The leases are long (10 minutes) and the test runs them out itself once a relay is dead,
    as the clock would: a lease never expires under a live relay because the machine is slow,
    so the verdict does not depend on the machine's speed."""
    settings = configured(database, be=("notify_webhook",), webhook=receiver)
    rules = rules_for(settings)
    for _n in range(8):
        await accepted_proposal(rules, await member("BE"))
    expected = {r["idempotency_key"] for r in await webhook_rows()}
    assert len(expected) == 8
    relay = relay_process(
        settings,
        receiver,
        tmp_path,
        request,
        "concurrency = 1\npoll_seconds = 0.1\nlease_seconds = 600",
    )

    for _kill in range(3):
        receiver.holding.clear()
        receiver.release.clear()
        receiver.hold_request = len(receiver.received()) + 2  # its second delivery hangs
        running = relay()
        try:
            await asyncio.to_thread(
                wait_until,
                lambda: receiver.holding.is_set() or running.poll() is not None,  # noqa: B023
                60,
                "a delivery in flight",
            )
            assert running.poll() is None
            running.send_signal(signal.SIGKILL)
            assert running.wait(30) == -signal.SIGKILL
        finally:
            if running.poll() is None:
                running.kill()
            receiver.release.set()
        # The dead relay's leases run out (as ten minutes later): its claims are free again.
        await OutboxMessage.update({OutboxMessage.lease_until: clock.now()}).where(
            OutboxMessage.lease_until.is_not_null() & (OutboxMessage.state == PENDING)
        )
    assert {r["state"] for r in await webhook_rows()} != {SENT}  # work was left behind

    last = relay()
    try:
        for _ in range(600):
            if {r["state"] for r in await webhook_rows()} == {SENT}:
                break
            await asyncio.sleep(0.1)
    finally:
        last.terminate()
        last.wait(30)
    assert {r["state"] for r in await webhook_rows()} == {SENT}
    ids = Counter(h["webhook-id"] for h, _b in receiver.received())
    assert set(ids) == expected  # every message arrived
    assert sum(ids.values()) - len(expected) <= 3  # at most the three cut off came twice


async def test_sip_notify_run_once_drains_and_exits(database, receiver, tmp_path, request):
    settings = configured(database, be=("notify_webhook",), webhook=receiver)
    rules = rules_for(settings)
    await accepted_proposal(rules, await member("BE"))
    if settings.is_sqlite:
        url = f"sqlite:///{settings.sqlite_path}"
    else:
        url = f"{POSTGRES_URL}?schema={request.getfixturevalue('postgres_schema')}"
    config = tmp_path / "relay.toml"
    config.write_text(
        f'[database]\nurl = "{url}"\n[notifications.webhook]\nurl = "{receiver.url}"\n'
        '[countries.BE]\nplugins = ["notify_webhook"]\n[countries.FR]\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIP_")}
    env.update(SIP_SECRET_KEY=SECRET, SIP_WEBHOOK_SECRET=WEBHOOK_SECRET, PYTHONPATH=str(ROOT))
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "core.cli", "--config", str(config), "notify", "run", "--once"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Outbox: 2 sent, 0 to retry later, 0 failed" in done.stdout  # webhook and in-app
    assert len(receiver.received()) == 1
    assert WEBHOOK_SECRET not in done.stdout + done.stderr


def test_a_webhook_enabled_without_url_or_secret_stops_the_start(tmp_path, monkeypatch):
    from core.config import ConfigError, load_settings

    path = tmp_path / "config.toml"
    path.write_text('[countries.BE]\nplugins = ["notify_webhook"]\n')
    monkeypatch.delenv("SIP_WEBHOOK_SECRET", raising=False)
    with pytest.raises(ConfigError, match="SIP_WEBHOOK_SECRET"):
        load_settings(path)


def test_a_malformed_webhook_secret_is_refused_without_echoing_it(tmp_path, monkeypatch):
    from core.config import ConfigError, load_settings

    path = tmp_path / "config.toml"
    path.write_text(
        '[notifications.webhook]\nurl = "http://127.0.0.1:1/x"\n'
        '[countries.BE]\nplugins = ["notify_webhook"]\n'
    )
    monkeypatch.setenv("SIP_SECRET_KEY", SECRET)
    monkeypatch.setenv("SIP_WEBHOOK_SECRET", "not-a-secret-value")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert "not-a-secret-value" not in str(info.value)
    monkeypatch.setenv("SIP_WEBHOOK_SECRET", WEBHOOK_SECRET)
    secret_in_file = tmp_path / "secret.toml"
    secret_in_file.write_text(
        '[notifications.webhook]\nsecret = "whsec_x"\n[countries.BE]\nplugins = []\n'
    )
    with pytest.raises(ConfigError, match="use SIP_WEBHOOK_SECRET"):
        load_settings(secret_in_file)
