"""Daily digests: 5,000 members, a day of events, one email each through a real SMTP server.

    .venv/bin/python bench/digests.py [--members 5000] [--events 20] [--postgres]

Every member chose a daily email digest for accepted proposals (and no in-app copy, so the
relay's work is the email). A day's ``--events`` events each reach every member; after
midnight in Brussels the relay gathers them into one digest per member and sends them to a
local aiosmtpd server. Checked, not timed: exactly one message arrived per member, listing the
day's events. Timed in the same run: sending the digests in batches over one SMTP connection
each (the plugin's ``deliver_batch``), then the same messages again with one connection per
message (the messages put back in the queue), and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiosmtpd.controller import Controller  # noqa: E402

from bench.common import free_port, machine, platform_in_tmp, sip  # noqa: E402

DAY = datetime(2031, 3, 10, 7, 0, tzinfo=UTC)  # a Monday, 08:00 in Brussels
AFTER_MIDNIGHT = datetime(2031, 3, 10, 23, 30, tzinfo=UTC)  # 00:30 on Tuesday in Brussels


class Sink:
    """aiosmtpd's handler, in a process of its own (not sharing the relay's GIL): writes each
    message's recipients, one line each, and keeps the first message to look at."""

    def __init__(self, folder: Path) -> None:
        self.log = (folder / "received.txt").open("a", buffering=1)
        self.sample = folder / "sample.eml"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        for address in envelope.rcpt_tos:
            self.log.write(address + "\n")
        if not self.sample.exists():
            self.sample.write_bytes(envelope.content)
        return "250 Message accepted for delivery"


def run_sink(port: int, folder: Path) -> None:
    controller = Controller(Sink(folder), hostname="127.0.0.1", port=port)
    controller.start()
    threading.Event().wait()


@contextlib.contextmanager
def sink_process(folder: Path) -> Iterator[int]:
    """The SMTP server on a free port, until the block ends."""
    port = free_port()
    process = subprocess.Popen([sys.executable, __file__, "--sink", str(port), str(folder)])
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the SMTP server did not start") from None
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait()


def received(folder: Path) -> Counter[str]:
    path = folder / "received.txt"
    return Counter(path.read_text().split()) if path.exists() else Counter()


def forget(folder: Path) -> None:
    """Start counting again (truncated, not removed: the server appends to the open file)."""
    (folder / "received.txt").write_text("")
    (folder / "sample.eml").unlink(missing_ok=True)


async def prepare(members: int, events: int) -> list[str]:
    """The members, their choices and a day of events; answers the members' addresses."""
    from core import clock, db
    from core.config import load_settings
    from core.events import ThemeAccepted
    from core.notifications.outbox import enqueue
    from core.plugins import build_registry
    from core.rules import Rules

    settings = load_settings()
    rules = Rules(build_registry(settings), settings)
    addresses = [f"member{n}@example.org" for n in range(members)]
    now = clock.now()
    async with db.write_transaction():
        await db.insert_many(
            "member",
            ("member_number", "email", "name", "country", "language", "shareholder", "created_at"),
            [
                (
                    f"M{n:06d}",
                    addresses[n],
                    f"Member {n}",
                    "BE",
                    ("nl", "fr", "en")[n % 3],
                    True,
                    now,
                )
                for n in range(members)
            ],
        )
    from core.members.tables import Member

    ids = [r["id"] for r in await Member.select(Member.id).order_by(Member.id)]
    async with db.write_transaction():
        await db.insert_many(
            "notification_preference",
            ("member", "event_type", "channel", "enabled", "frequency"),
            [(m, "theme_accepted", "email", True, "daily") for m in ids]
            + [(m, "theme_accepted", "in_app", False, "immediate") for m in ids],
        )
    for n in range(events):
        event = ThemeAccepted(
            country="BE",
            theme_id=1000 + n,
            edition="2031-2032",
            title=f"Proposal number {n + 1}",
            actor_id=ids[0],
        )
        with clock.frozen_at(DAY + timedelta(minutes=30 * n)):
            async with db.write_transaction():
                await enqueue(event, rules, recipients=ids)
    return addresses


async def send(one_connection_each: bool) -> tuple[float, Any]:
    """Gather (the first time) and deliver every due message; answers the seconds spent
    delivering and the relay's counts."""
    from core.config import load_settings
    from core.notifications import Notifier
    from core.notifications.relay import Relay
    from core.plugins import build_registry

    settings = load_settings()
    relay = Relay(build_registry(settings), settings, now=lambda: AFTER_MIDNIGHT)
    if one_connection_each:
        email = relay.channels("BE")["email"]
        # The base class's batch: ``deliver`` for each message, a connection each.
        email.deliver_batch = partial(Notifier.deliver_batch, email)  # type: ignore[method-assign]
    digests = await relay.gather_digests()
    started = time.perf_counter()
    done = await relay.drain()
    done.digests += digests
    return time.perf_counter() - started, done


async def requeue() -> None:
    from core import db
    from core.notifications.tables import PENDING, SENT, OutboxMessage

    m = OutboxMessage
    async with db.write_transaction():
        await m.update(
            {m.state: PENDING, m.attempts: 0, m.sent_at: None, m.next_attempt_at: DAY}
        ).where(m.state == SENT)


async def in_process(work: Any) -> Any:
    from core import db
    from core.config import load_settings

    engine = db.make_engine(load_settings())
    db.bind(engine)
    try:
        return await work()
    finally:
        await db.close(engine)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--sink", nargs=2, help=argparse.SUPPRESS)  # the SMTP server process
    args = parser.parse_args()
    if args.sink:
        run_sink(int(args.sink[0]), Path(args.sink[1]))
        return 0
    print(f"Daily digests, {args.members:,} members, {args.events} events; {machine()}")
    with platform_in_tmp(postgres=args.postgres) as target:
        mail = target.folder / "mail"
        mail.mkdir()
        with sink_process(mail) as port:
            text = target.config.read_text().replace(
                'plugins = ["track_be", "bench_bare"]',
                'plugins = ["track_be", "bench_bare", "notify_email"]',
            )
            text += f'\n[notifications.email]\nhost = "127.0.0.1"\nport = {port}\n'
            target.config.write_text(text)
            sip(target, "db", "upgrade")
            target.use_here()
            started = time.perf_counter()
            addresses = asyncio.run(in_process(partial(prepare, args.members, args.events)))
            prepared = time.perf_counter() - started
            timings: dict[bool, float] = {}
            # The first pass gathers the digests and warms up (templates, catalogs); then the
            # same messages go again, a connection per message, then in batches.
            for one_each in (False, True, False):
                forget(mail)
                seconds, done = asyncio.run(in_process(partial(send, one_each)))
                check(mail, addresses, args.events, done, gathered=not timings)
                timings[one_each] = seconds
                asyncio.run(in_process(requeue))
    batched, each = timings[False], timings[True]
    print(f"prepare: members, choices, {args.events} events enqueued   {prepared:6.2f} s")
    print(f"send {args.members:,} digests, one SMTP connection per batch   {batched:6.2f} s")
    print(f"send {args.members:,} digests, one SMTP connection per message {each:6.2f} s")
    print(f"  batches take {batched / each:.2f}x the time of a connection per message")
    return 0


def check(folder: Path, addresses: list[str], events: int, done: Any, gathered: bool) -> None:
    """Exactly one message per member, listing the day's events (a check, not a timing)."""
    if gathered and done.digests != len(addresses):
        raise SystemExit(f"gathered {done.digests} digests for {len(addresses)} members")
    if done.failed or done.retrying:
        raise SystemExit(f"{done.failed} failed, {done.retrying} to retry")
    counted = received(folder)
    if set(counted) != set(addresses) or set(counted.values()) != {1}:
        extra = sum(counted.values()) - len(addresses)
        raise SystemExit(f"not one message per member: {len(counted)} members, {extra:+d}")
    sample = (folder / "sample.eml").read_text(errors="replace")
    if f"/themes/{1000 + events - 1}" not in sample:
        raise SystemExit("a digest does not list the day's last event")


if __name__ == "__main__":
    sys.exit(main())
