"""Retention: what is no longer needed is deleted after the periods of ``[retention]``.

``prune(settings, now)`` deletes used or expired sign-in links, failed sign-in attempts and
link requests, ended sessions, delivered and given-up outbox messages (and the notification
events nothing refers to any more), and anonymises the members who left the cooperative long
enough ago. It deletes in batches (one short write transaction each), so a large table never
holds a long lock. The server runs it every ``retention.prune_every_hours`` (``PrunerTask``),
an operator with ``sip maintenance prune``; the privacy page (/privacy) lists the same periods.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from piccolo.table import Table

from core import clock, db
from core.auth.tables import SignInFailure, SignInLinkRequest, SignInToken, WebSession
from core.members.privacy import erase_left_member
from core.members.tables import Member
from core.notifications.tables import (
    FAILED,
    SENT,
    DigestItem,
    Notification,
    NotificationEvent,
    OutboxMessage,
)

if TYPE_CHECKING:
    from core.config import Settings

log = logging.getLogger("sip.maintenance")

BATCH = 5000  # rows per delete: one short transaction each
# A digest item outlives the digest it went into by a period (a week) at most.
DIGEST_ITEM_MARGIN = timedelta(days=7)


@dataclass
class PruneReport:
    """What one pruning did, per kind."""

    sign_in_tokens: int = 0
    sign_in_failures: int = 0
    sign_in_link_requests: int = 0
    ended_sessions: int = 0
    outbox_sent: int = 0
    outbox_failed: int = 0
    digest_items: int = 0
    notification_events: int = 0
    left_members_erased: int = 0
    # Members who left longer ago than ``left_members_days`` and are not erased yet: erasure
    # was not available, or it refused (an open poll still counts them).
    left_members_due: int = 0

    def counts(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


async def _delete(table: type[Table], where: Any) -> int:
    """Delete the rows ``where`` selects, ``BATCH`` at a time; how many went."""
    total = 0
    while True:
        async with db.write_transaction():
            ids = [row["id"] for row in await table.select(table.id).where(where).limit(BATCH)]
            if ids:
                await table.delete().where(table.id.is_in(ids))
        total += len(ids)
        if len(ids) < BATCH:
            return total


def _days(days: int, now: datetime) -> datetime:
    return now - timedelta(days=days)


async def prune(settings: Settings, now: datetime | None = None) -> PruneReport:
    """Delete what the retention periods no longer keep; answers the counts per kind."""
    now = now or clock.now()
    keep = settings.retention
    report = PruneReport()

    token = SignInToken
    tokens_before = _days(keep.sign_in_tokens_days, now)
    report.sign_in_tokens = await _delete(
        token, (token.used_at < tokens_before) | (token.expires_at < tokens_before)
    )
    failures_before = _days(keep.sign_in_failures_days, now)
    report.sign_in_failures = await _delete(SignInFailure, SignInFailure.at < failures_before)
    report.sign_in_link_requests = await _delete(
        SignInLinkRequest, SignInLinkRequest.at < failures_before
    )
    # Signing out deletes a session; what is left ended when it expired.
    report.ended_sessions = await _delete(
        WebSession, WebSession.expires_at < _days(keep.ended_sessions_days, now)
    )

    m = OutboxMessage
    sent_before = _days(keep.outbox_sent_days, now)
    report.outbox_sent = await _delete(
        m,
        (m.state == SENT)
        & ((m.sent_at < sent_before) | (m.sent_at.is_null() & (m.created_at < sent_before))),
    )
    report.outbox_failed = await _delete(
        m, (m.state == FAILED) & (m.created_at < _days(keep.outbox_failed_days, now))
    )
    # Items taken into a digest go once the digest's message is past keeping, sent or failed.
    items_before = (
        _days(max(keep.outbox_sent_days, keep.outbox_failed_days), now) - DIGEST_ITEM_MARGIN
    )
    d = DigestItem
    report.digest_items = await _delete(
        d, d.digest_key.is_not_null() & (d.created_at < items_before)
    )
    # An event nothing refers to any more (no message to deliver, no in-app notification, no
    # digest waiting for it); kept as long as a sent message would be, so its unique key still
    # stops the same event from being written twice meanwhile.
    e = NotificationEvent
    report.notification_events = await _delete(
        e,
        (e.created_at < sent_before)
        & e.id.not_in(m.select(m.event))
        & e.id.not_in(Notification.select(Notification.event))
        & e.id.not_in(d.select(d.event)),
    )

    left = await Member.select(Member.id).where(
        Member.left_at.is_not_null()
        & Member.erased_at.is_null()
        & (Member.left_at < _days(keep.left_members_days, now))
    )
    for row in left:
        try:
            await erase_left_member(row["id"], settings)
        except Exception as exc:  # refused (an open poll counts them): next time
            log.warning("could not erase member %s who left: %s", row["id"], exc)
            report.left_members_due += 1
        else:
            report.left_members_erased += 1
    return report


class PrunerTask:
    """Pruning as a background task of the web server: at start, then every
    ``retention.prune_every_hours``. A failed pruning is logged and tried again next time."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stopping = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        every = self.settings.retention.prune_every_hours * 3600
        while not self.stopping.is_set():
            try:
                report = await prune(self.settings)
                log.info("pruned: %s", report.counts())
            except Exception:
                log.exception("pruning failed; trying again in %s hours", every / 3600)
            try:
                await asyncio.wait_for(self.stopping.wait(), timeout=every)
            except TimeoutError:
                pass

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self.run())

    async def stop(self) -> None:
        if self.task is None:
            return
        self.stopping.set()
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass
