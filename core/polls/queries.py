"""Read-only questions about polls for the pages that summarise them (the home page): which
polls are open or coming, which need an operator, and whether a member took part.

Whether a member voted is their participation, recorded for the one-vote rule; never how.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec

from core.polls.tables import Participation, Poll

if TYPE_CHECKING:
    from core.polls.room import Turnout

DRAFT, OPEN = "draft", "open"


class PollBrief(msgspec.Struct, frozen=True, kw_only=True):
    """A poll as a summary shows it: where, which edition, and its voting window."""

    id: int
    edition: str  # the edition's slug
    country: str
    state: str
    opens_at: datetime
    closes_at: datetime


def _columns() -> list[Any]:
    return [
        Poll.id,
        Poll.edition.slug.as_alias("edition_slug"),
        Poll.country,
        Poll.state,
        Poll.opens_at,
        Poll.closes_at,
    ]


def _briefs(rows: list[dict[str, Any]]) -> list[PollBrief]:
    return [
        PollBrief(
            id=r["id"],
            edition=r["edition_slug"],
            country=r["country"],
            state=r["state"],
            opens_at=r["opens_at"],
            closes_at=r["closes_at"],
        )
        for r in rows
    ]


async def open_polls(countries: Iterable[str]) -> list[PollBrief]:
    """The open polls of these countries, the one closing first first."""
    wanted = sorted(set(countries))
    if not wanted:
        return []
    rows = await (
        Poll.select(*_columns())
        .where((Poll.state == OPEN) & Poll.country.is_in(wanted))
        .order_by(Poll.closes_at)
    )
    return _briefs(rows)


async def coming_polls(countries: Iterable[str], now: datetime) -> list[PollBrief]:
    """Draft polls of these countries whose voting window is still to come."""
    wanted = sorted(set(countries))
    if not wanted:
        return []
    rows = await (
        Poll.select(*_columns())
        .where((Poll.state == DRAFT) & Poll.country.is_in(wanted) & (Poll.opens_at > now))
        .order_by(Poll.opens_at)
    )
    return _briefs(rows)


async def polls_to_open(countries: Iterable[str], now: datetime) -> list[PollBrief]:
    """Draft polls whose window has started and not ended: an operator should open them."""
    wanted = sorted(set(countries))
    if not wanted:
        return []
    rows = await (
        Poll.select(*_columns())
        .where(
            (Poll.state == DRAFT)
            & Poll.country.is_in(wanted)
            & (Poll.opens_at <= now)
            & (Poll.closes_at > now)
        )
        .order_by(Poll.opens_at)
    )
    return _briefs(rows)


async def polls_to_close(countries: Iterable[str], now: datetime) -> list[PollBrief]:
    """Open polls whose window has ended: an operator should close them."""
    wanted = sorted(set(countries))
    if not wanted:
        return []
    rows = await (
        Poll.select(*_columns())
        .where((Poll.state == OPEN) & Poll.country.is_in(wanted) & (Poll.closes_at <= now))
        .order_by(Poll.closes_at)
    )
    return _briefs(rows)


async def voted_in(member_id: int, poll_ids: Iterable[int]) -> set[int]:
    """Which of these polls the member took part in (a ballot cast by them or for them)."""
    ids = sorted(set(poll_ids))
    if not ids:
        return set()
    rows = await Participation.select(Participation.poll).where(
        (Participation.member == member_id) & Participation.poll.is_in(ids)
    )
    return {r["poll"] for r in rows}


async def turnout(poll_id: int) -> Turnout:
    """The poll's turnout (``room.turnout``), against its electoral roll when it has one: the
    members who could vote when it opened, not the register as it is now."""
    from core.polls import room
    from core.polls.services import get_poll, has_roll

    counted = await room.turnout(poll_id)
    poll = await get_poll(poll_id)
    if has_roll(poll) and poll.roll_size is not None:
        return msgspec.structs.replace(counted, eligible=poll.roll_size)
    return counted
