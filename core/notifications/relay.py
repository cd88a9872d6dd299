"""The relay: delivers the outbox's pending messages, with retries and a dead-letter state.

A round claims a batch of due messages (on PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so
several relays share the work; SQLite's IMMEDIATE transaction serialises the claim), hands
each to its channel, and records the outcome. A claim is a lease: a relay killed mid-delivery
leaves its messages pending, and another relay claims them again once the lease has run out.
So nothing claimed is lost, and a message is delivered twice only when a relay died after
sending it and before recording it, with the same idempotency key both times.

A failed attempt waits ``backoff_seconds * 2 ** (attempts - 1)`` (at most
``backoff_max_seconds``) before the next one; after ``max_attempts`` the message is failed and
waits for an operator. Each round also closes the polls whose closing time has come (audited
as the clock's) and writes the closing reminders of polls that close within 24 hours (once per
poll).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from core import clock, db
from core.events import PollClosing
from core.members.tables import Member
from core.notifications import Delivery, Notifier, PermanentFailure, Recipient
from core.notifications.catalog import decode_event
from core.notifications.digests import DIGEST, Digest, decode_digest, gather
from core.notifications.outbox import enqueue
from core.notifications.tables import FAILED, PENDING, SENT, NotificationEvent, OutboxMessage
from core.rules import Rules

if TYPE_CHECKING:
    from core.config import Settings
    from core.plugins import PluginRegistry

log = logging.getLogger("sip.notifications")

REMINDER_BEFORE = timedelta(hours=24)
GATHER_EVERY = timedelta(minutes=1)
ERROR_MAX = 2000


@dataclass
class Round:
    """What one or more relay rounds did."""

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    reminders: int = 0
    closed_polls: int = 0
    digests: int = 0

    def add(self, other: Round) -> None:
        self.claimed += other.claimed
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        self.reminders += other.reminders
        self.closed_polls += other.closed_polls
        self.digests += other.digests


def backoff(attempts: int, base: float, ceiling: float) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: doubling from ``base``."""
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), ceiling))


class Relay:
    """Delivers the outbox. ``now`` is the clock (tests move it to expire leases and back-offs)."""

    def __init__(
        self,
        registry: PluginRegistry,
        settings: Settings,
        *,
        now: Callable[[], datetime] = clock.now,
        owner: str | None = None,
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.config = settings.notifications
        self.now = now
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._channels: dict[str, dict[str, Notifier]] = {}
        self._gathered_at: datetime | None = None

    def channels(self, country: str) -> dict[str, Notifier]:
        if country not in self._channels:
            self._channels[country] = Rules(self.registry, self.settings).notifiers(country)
        return self._channels[country]

    # -- the loop ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Run rounds until ``stop`` is set; a round's failure is logged, not fatal."""
        log.info("notification relay %s started", self.owner)
        while not stop.is_set():
            try:
                done = await self.run_once()
            except Exception:
                log.exception("notification relay round failed; trying again")
                done = Round()
            if done.claimed >= self.config.batch_size:
                continue  # more is waiting
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.config.poll_seconds)
            except TimeoutError:
                pass
        log.info("notification relay %s stopped", self.owner)

    async def drain(self, max_rounds: int = 10_000) -> Round:
        """Run rounds until nothing is due now (for ``sip notify run --once`` and tests)."""
        total = Round()
        for _round in range(max_rounds):
            done = await self.run_once()
            total.add(done)
            if done.claimed == 0:
                break
        return total

    async def run_once(self) -> Round:
        done = Round(closed_polls=await self.close_due_polls())
        done.reminders = await self.write_reminders()
        done.digests = await self.gather_digests()
        claimed = await self.claim()
        done.claimed = len(claimed)
        if not claimed:
            return done
        events = await self._events({row["event"] for row in claimed})
        members = await self._recipients({row["member"] for row in claimed if row["member"]})
        limit = asyncio.Semaphore(self.config.concurrency)

        # Channels that send a batch at once (one SMTP connection) get theirs in up to
        # ``concurrency`` parts; the others get one message at a time.
        singles: list[dict[str, Any]] = []
        batched: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for row in claimed:
            channel = self.channels(row["country"]).get(row["channel"])
            if channel is not None and channel.batches:
                batched.setdefault((row["country"], row["channel"]), []).append(row)
            else:
                singles.append(row)

        async def one(row: dict[str, Any]) -> list[str]:
            async with limit:
                return [await self.deliver(row, events, members)]

        async def batch(channel: Notifier, rows: list[dict[str, Any]]) -> list[str]:
            async with limit:
                return await self.deliver_batch(channel, rows, events, members)

        work = [one(row) for row in singles]
        for (country, name), rows in batched.items():
            channel = self.channels(country)[name]
            parts = max(1, min(self.config.concurrency, len(rows)))
            size = -(-len(rows) // parts)
            work += [batch(channel, rows[i : i + size]) for i in range(0, len(rows), size)]
        for outcomes in await asyncio.gather(*work):
            for outcome in outcomes:
                if outcome == SENT:
                    done.sent += 1
                elif outcome == FAILED:
                    done.failed += 1
                else:
                    done.retrying += 1
        return done

    async def gather_digests(self) -> int:
        """Write the digests of the periods that ended (at most once a minute)."""
        now = self.now()
        if self._gathered_at is not None and now - self._gathered_at < GATHER_EVERY:
            return 0
        self._gathered_at = now
        return await gather(now)

    # -- claiming and recording -------------------------------------------------------------

    async def claim(self) -> list[dict[str, Any]]:
        """Lease a batch of due messages to this relay (attempts counted now: a message whose
        delivery kills its relay every time still reaches the dead-letter state)."""
        now = self.now()
        m = OutboxMessage
        async with db.write_transaction():
            query = (
                m.select(m.id)
                .where(
                    (m.state == PENDING)
                    & (m.next_attempt_at <= now)
                    & (m.lease_until.is_null() | (m.lease_until <= now))
                )
                .order_by(m.next_attempt_at, m.id)
                .limit(self.config.batch_size)
            )
            if not db.is_sqlite():
                query = query.lock_rows("UPDATE", skip_locked=True)
            ids = [row["id"] for row in await query]
            if not ids:
                return []
            return await (
                m.update(
                    {
                        m.lease_owner: self.owner,
                        m.lease_until: now + timedelta(seconds=self.config.lease_seconds),
                        m.attempts: m.attempts + 1,
                    }
                )
                .where(m.id.is_in(ids))
                .returning(
                    m.id,
                    m.event,
                    m.idempotency_key,
                    m.event_type,
                    m.country,
                    m.channel,
                    m.member,
                    m.attempts,
                )
            )

    async def _events(self, ids: set[int]) -> dict[int, Any]:
        """The claimed messages' events, decoded; a digest's events come along with it."""
        rows = await NotificationEvent.select(
            NotificationEvent.id, NotificationEvent.event_type, NotificationEvent.payload
        ).where(NotificationEvent.id.is_in(list(ids)))
        found: dict[int, Any] = {}
        wanted: set[int] = set()
        for r in rows:
            if r["event_type"] == DIGEST:
                digest = decode_digest(r["payload"])
                wanted.update(digest.events)
                found[r["id"]] = digest
            else:
                found[r["id"]] = r["payload"]
        if wanted:
            listed = sorted(wanted)
            for start in range(0, len(listed), 5000):
                more = await NotificationEvent.select(
                    NotificationEvent.id, NotificationEvent.payload
                ).where(NotificationEvent.id.is_in(listed[start : start + 5000]))
                found.update({r["id"]: r["payload"] for r in more})
        return found

    async def _recipients(self, ids: set[int]) -> dict[int, Recipient | None]:
        """The members the messages are for, as they are now; None for one who left the
        cooperative or whose data was erased (they get nothing more)."""
        if not ids:
            return {}
        rows = await Member.select(
            Member.id,
            Member.email,
            Member.name,
            Member.language,
            Member.country,
            Member.left_at,
            Member.erased_at,
        ).where(Member.id.is_in(list(ids)))
        found: dict[int, Recipient | None] = {}
        for r in rows:
            left, erased = r.pop("left_at"), r.pop("erased_at")
            found[r["id"]] = None if left is not None or erased is not None else Recipient(**r)
        return found

    def _delivery(
        self, row: dict[str, Any], events: dict[int, Any], members: dict[int, Recipient | None]
    ) -> tuple[Notifier, Delivery]:
        """The channel and what to hand it for one claimed message (raises when it cannot go)."""
        channel = self.channels(row["country"]).get(row["channel"])
        if channel is None:
            raise PermanentFailure(
                f"the channel {row['channel']} is not enabled for {row['country']}"
            )
        member = members.get(row["member"]) if row["member"] else None
        if row["member"] and row["member"] not in members:
            raise PermanentFailure("the member no longer exists")
        if row["member"] and member is None:
            raise PermanentFailure("the member left the cooperative or was erased")
        found = events[row["event"]]
        items: tuple[Any, ...] = ()
        if isinstance(found, Digest):
            event: Any = found
            items = tuple(decode_event(events[i]) for i in found.events if i in events)
        else:
            event = decode_event(found)
        delivery = Delivery(
            key=row["idempotency_key"],
            channel=row["channel"],
            event_id=row["event"],
            event=event,
            event_type=row["event_type"],
            member=member,
            attempt=row["attempts"],
            now=self.now(),
            settings=self.settings,
            items=items,
        )
        return channel, delivery

    async def deliver(
        self, row: dict[str, Any], events: dict[int, Any], members: dict[int, Recipient | None]
    ) -> str:
        """Hand one claimed message to its channel and record the outcome."""
        try:
            channel, delivery = self._delivery(row, events, members)
            # Finish (or give up) well within the lease, so no other relay takes it meanwhile.
            await asyncio.wait_for(channel.deliver(delivery), self.config.lease_seconds / 2)
        except Exception as exc:
            permanent = isinstance(exc, PermanentFailure)
            return await self._record_failure(row, _describe(exc), permanent)
        await self._record_sent(row)
        return SENT

    async def deliver_batch(
        self,
        channel: Notifier,
        rows: list[dict[str, Any]],
        events: dict[int, Any],
        members: dict[int, Recipient | None],
    ) -> list[str]:
        """Hand claimed messages of one channel to it at once (one connection); each
        message's outcome is its own: the sent ones are recorded together, each failure with
        its error and back-off, as ``deliver`` does."""
        outcomes: list[str] = []
        ready: list[tuple[dict[str, Any], Delivery]] = []
        for row in rows:
            try:
                ready.append((row, self._delivery(row, events, members)[1]))
            except Exception as exc:
                permanent = isinstance(exc, PermanentFailure)
                outcomes.append(await self._record_failure(row, _describe(exc), permanent))
        if not ready:
            return outcomes
        try:
            results: list[BaseException | None] = await asyncio.wait_for(
                channel.deliver_batch([delivery for _row, delivery in ready]),
                self.config.lease_seconds / 2,
            )
            if len(results) != len(ready):
                raise RuntimeError(f"{channel.name} answered {len(results)} of {len(ready)}")
        except Exception as exc:
            results = [exc] * len(ready)
        pairs = list(zip(ready, results, strict=True))
        sent = [row for (row, _delivery), result in pairs if result is None]
        await self._record_sent_many(sent)
        outcomes += [SENT] * len(sent)
        for (row, _delivery), result in pairs:
            if result is not None:
                permanent = isinstance(result, PermanentFailure)
                outcomes.append(await self._record_failure(row, _describe(result), permanent))
        return outcomes

    async def _record_sent(self, row: dict[str, Any]) -> None:
        m = OutboxMessage
        await m.update(
            {
                m.state: SENT,
                m.sent_at: self.now(),
                m.lease_owner: None,
                m.lease_until: None,
                m.last_error: "",
            }
        ).where((m.id == row["id"]) & (m.state == PENDING))

    async def _record_sent_many(self, rows: list[dict[str, Any]]) -> None:
        """Record a batch's sent messages with one statement."""
        if not rows:
            return
        m = OutboxMessage
        await m.update(
            {
                m.state: SENT,
                m.sent_at: self.now(),
                m.lease_owner: None,
                m.lease_until: None,
                m.last_error: "",
            }
        ).where(m.id.is_in([row["id"] for row in rows]) & (m.state == PENDING))

    async def _record_failure(self, row: dict[str, Any], error: str, permanent: bool) -> str:
        m = OutboxMessage
        attempts = row["attempts"]
        dead = permanent or attempts >= self.config.max_attempts
        changes: dict[Any, Any] = {
            m.last_error: error,
            m.lease_owner: None,
            m.lease_until: None,
        }
        if dead:
            changes[m.state] = FAILED
        else:
            wait = backoff(attempts, self.config.backoff_seconds, self.config.backoff_max_seconds)
            changes[m.next_attempt_at] = self.now() + wait
        # Only while this relay still holds it: one that took over after our lease ran out
        # (or delivered it meanwhile) decides instead.
        await m.update(changes).where(
            (m.id == row["id"]) & (m.state == PENDING) & (m.lease_owner == self.owner)
        )
        log.warning(
            "notification %s on %s, attempt %d: %s%s",
            row["idempotency_key"],
            row["channel"],
            attempts,
            error,
            " (failed: no more attempts)" if dead else "",
        )
        return FAILED if dead else PENDING

    # -- the clock's duties --------------------------------------------------------------------

    async def close_due_polls(self) -> int:
        """Close every open poll whose closing time has come (no ballot is taken after it
        anyway), so its tellers can count; each closing is audited with the role "clock"."""
        from core.polls import services as polls
        from core.polls.tables import Poll

        due = await Poll.select(Poll.id).where(
            (Poll.state == "open") & (Poll.closes_at <= self.now())
        )
        rules = Rules(self.registry, self.settings)
        for poll in due:
            await polls.close_poll(rules, None, poll["id"])
        return len(due)

    # -- closing reminders ------------------------------------------------------------------

    async def write_reminders(self) -> int:
        """Enqueue the closing reminder of every open poll that closes within 24 hours and has
        none yet; the event key (one per poll) keeps two relays from writing it twice."""
        from core.editions.tables import Edition
        from core.polls.tables import Poll

        now = self.now()
        polls = await Poll.select(Poll.id, Poll.country, Poll.closes_at, Poll.edition).where(
            (Poll.state == "open")
            & (Poll.opens_at <= now)
            & (Poll.closes_at > now)
            & (Poll.closes_at <= now + REMINDER_BEFORE)
        )
        if not polls:
            return 0
        keys = {f"poll_closing:{p['id']}" for p in polls}
        done = {
            r["key"]
            for r in await NotificationEvent.select(NotificationEvent.key).where(
                NotificationEvent.key.is_in(list(keys))
            )
        }
        written = 0
        for poll in polls:
            if f"poll_closing:{poll['id']}" in done:
                continue
            edition = (
                await Edition.select(Edition.slug).where(Edition.id == poll["edition"]).first()
            )
            event = PollClosing(
                country=poll["country"],
                poll_id=poll["id"],
                edition=edition["slug"] if edition else "",
                closes_at=poll["closes_at"],
            )
            async with db.write_transaction():
                written += await enqueue(event, Rules(self.registry, self.settings))
        return written


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, TimeoutError):
        text = "timed out"
    elif not isinstance(exc, PermanentFailure):
        text = f"{type(exc).__name__}: {text}"
    return text[:ERROR_MAX]


class RelayTask:
    """The relay as a background task of the web server (``sip serve``)."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.stopping = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self.relay.run(self.stopping))

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Let the round in flight finish (up to ``grace_seconds``), then cancel it: messages it
        held stay pending and are delivered again once their lease runs out."""
        if self.task is None:
            return
        self.stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(self.task), grace_seconds)
        except TimeoutError:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass
