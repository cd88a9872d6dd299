"""Poll rules, independent of HTTP: creating a poll, casting secret ballots, closing, publishing.

Invariants (DESIGN.md section 3) and how they hold here:

1. One member, one vote: the participation row (poll, member) is unique in the database; the
   ballot is written in the same transaction, so a refused participation leaves no ballot.
2. Secret ballot: the ballot row holds a random key, the choice, the hash of the receipt and
   the paper flag; who voted is only in participation. Nothing logs a choice.
3. Anyone can recount: after publication every ballot is listed under its receipt hash (sorted
   by hash, so the list's order says nothing about when a ballot came in).
4. Closed is closed: casting reads the poll under a lock that closing must wait for, and is
   refused unless the poll is open; closing and publishing are idempotent.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import msgspec

from core import clock, db
from core.audit import services as audit
from core.config import COUNTRIES
from core.editions.services import get_edition_by_id
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.events import PollOpened, ResultsPublished
from core.i18n import N_, _
from core.members.model import CurrentMember
from core.polls.tables import Ballot, Participation, Poll, PollCandidate
from core.themes.services import ACCEPTED, EXTENDED, Rules
from core.themes.tables import Theme
from core.tracks import track_of
from core.voting import VotingMethod, voting_method
from core.voting.base import Tally

DRAFT, OPEN, CLOSED, PUBLISHED = "draft", "open", "closed", "published"
ONLINE, PAPER, PROXY = "online", "paper", "proxy"
# The states as people read them, for extraction: pages show ``_(poll.state)``.
STATE_NAMES = (N_("draft"), N_("open"), N_("closed"), N_("published"))


class PollInfo(msgspec.Struct, frozen=True):
    id: int
    edition_id: int
    country: str
    method: str
    seats: int
    opens_at: datetime
    closes_at: datetime
    quorum: int | None
    state: str
    candidates: list[tuple[int, int]]  # (number, theme id), in list order


def receipt_hash(receipt: str) -> str:
    return hashlib.sha256(receipt.strip().encode()).hexdigest()


def _method(rules: Rules, name: str) -> VotingMethod:
    try:
        return voting_method(rules.registry, name)
    except KeyError:
        raise InvalidInput(_("Unknown voting method %(name)s.") % {"name": name}) from None


def _freeze(value: Any) -> Any:
    """JSON lists back into the tuples the voting methods count."""
    return tuple(_freeze(v) for v in value) if isinstance(value, list) else value


async def get_poll(poll_id: int) -> PollInfo:
    found = 1 <= poll_id <= db.ID_MAX
    row = await Poll.select().where(Poll.id == poll_id).first() if found else None
    if row is None:
        raise NotFound(_("There is no poll %(id)d.") % {"id": poll_id})
    candidates = await (
        PollCandidate.select(PollCandidate.number, PollCandidate.theme)
        .where(PollCandidate.poll == poll_id)
        .order_by(PollCandidate.number)
    )
    return PollInfo(
        id=row["id"],
        edition_id=row["edition"],
        country=row["country"],
        method=row["method"],
        seats=row["seats"],
        opens_at=row["opens_at"],
        closes_at=row["closes_at"],
        quorum=row["quorum"],
        state=row["state"],
        candidates=[(c["number"], c["theme"]) for c in candidates],
    )


_open_polls: tuple[Any, dict[int, PollInfo]] = (None, {})  # (database engine, polls)


async def poll_for_ballot(poll_id: int) -> PollInfo:
    """:func:`get_poll` for casting, without asking the database again for an open poll.

    Once a poll opens its country, method, seats and candidates never change, so each process
    keeps them (per database); whether it is still open is checked in the cast's transaction.
    """
    global _open_polls
    engine, known = _open_polls
    if engine is not db.engine():
        _open_polls = (db.engine(), {})
        engine, known = _open_polls
    poll = known.get(poll_id)
    if poll is None:
        poll = await get_poll(poll_id)
        if poll.state == OPEN:
            known[poll_id] = poll
    return poll


def require_operator(actor: CurrentMember, country: str) -> None:
    if not actor.is_operator(country):
        raise Forbidden(_("Only operators of %(countries)s can do this.") % {"countries": country})


class PollDefaults(msgspec.Struct, frozen=True):
    """How a country's general meeting usually votes: where the poll form starts."""

    country: str
    method: str
    seats: int
    month: int  # the month the AGM is usually held in


def poll_defaults(rules: Rules, country: str) -> PollDefaults:
    """The AGM habits of the country's track (``register_tracks``), else the core's."""
    agm = track_of(rules.registry, rules.settings, country).agm
    return PollDefaults(country=country, method=agm.method, seats=agm.seats, month=agm.month)


async def create_poll(
    rules: Rules,
    actor: CurrentMember,
    edition_id: int,
    country: str,
    method: str | None,
    seats: int | None,
    opens_at: datetime,
    closes_at: datetime,
    quorum: int | None = None,
) -> int:
    """A poll on the themes accepted for the country's ballot (extended themes are not voted
    on), in a candidate order drawn at random: that order breaks ties. A method left empty
    or seats left None are the country's usual ones (``poll_defaults``)."""
    if country not in COUNTRIES:
        raise InvalidInput(_("Unknown country %(code)s.") % {"code": country})
    require_operator(actor, country)
    defaults = poll_defaults(rules, country)
    method = method or defaults.method
    seats = defaults.seats if seats is None else seats
    _method(rules, method)
    if closes_at <= opens_at:
        raise InvalidInput(_("The poll must close after it opens."))
    if quorum is not None and quorum < 1:
        raise InvalidInput(_("A quorum is a number of voters, at least 1."))
    themes = await Theme.select(Theme.id).where(
        (Theme.edition == edition_id)
        & (Theme.status == ACCEPTED)
        & (Theme.origin != EXTENDED)
        & Theme.scope.like(f"%{country}%")
    )
    if not 1 <= seats < len(themes):
        raise InvalidInput(
            _("Choose between 1 and %(n)d themes to elect: the ballot has %(m)d candidates.")
            % {"n": max(len(themes) - 1, 1), "m": len(themes)}
        )
    order = [t["id"] for t in themes]
    secrets.SystemRandom().shuffle(order)
    async with db.write_transaction():
        rows = await Poll.insert(
            Poll(
                edition=edition_id,
                country=country,
                method=method,
                seats=seats,
                opens_at=opens_at,
                closes_at=closes_at,
                quorum=quorum,
                state=DRAFT,
            )
        )
        poll_id = int(rows[0]["id"])
        await PollCandidate.insert(
            *[
                PollCandidate(poll=poll_id, theme=theme_id, number=number)
                for number, theme_id in enumerate(order, start=1)
            ]
        )
        await audit.record(
            "poll.create",
            actor=actor,
            country=country,
            object_type="poll",
            object_id=poll_id,
            details={
                "edition": edition_id,
                "method": method,
                "seats": seats,
                "opens_at": opens_at.isoformat(),
                "closes_at": closes_at.isoformat(),
                "quorum": quorum,
            },
        )
    return poll_id


async def open_poll(rules: Rules, actor: CurrentMember, poll_id: int) -> None:
    """Open a draft poll; its country's shareholders are notified (outbox, same transaction)."""
    poll = await get_poll(poll_id)
    require_operator(actor, poll.country)
    edition = await get_edition_by_id(poll.edition_id)
    opened = PollOpened(
        country=poll.country, poll_id=poll_id, edition=edition.slug, closes_at=poll.closes_at
    )
    async with db.write_transaction():
        changed = await (
            Poll.update({Poll.state: OPEN})
            .where((Poll.id == poll_id) & (Poll.state == DRAFT))
            .returning(Poll.id)
        )
        if changed:
            await rules.notify(opened)
            await audit.record(
                "poll.open",
                actor=actor,
                country=poll.country,
                object_type="poll",
                object_id=poll_id,
            )
    if not changed:
        raise Conflict(_("Only a draft poll can be opened."))
    rules.emit(opened)


async def close_poll(rules: Rules, actor: CurrentMember | None, poll_id: int) -> None:
    """Close an open poll (an operator, or the clock when ``actor`` is None). Idempotent: a
    closed or published poll stays as it is."""
    poll = await get_poll(poll_id)
    if actor is not None:
        require_operator(actor, poll.country)
    async with db.write_transaction():
        # The UPDATE takes the poll row's lock: casts in flight finish first, later ones see it.
        closed = await (
            Poll.update({Poll.state: CLOSED, Poll.closed_at: clock.now()})
            .where((Poll.id == poll_id) & Poll.state.is_in([DRAFT, OPEN]))
            .returning(Poll.id)
        )
        if closed and actor is not None:  # the clock's closing is no one's action
            await audit.record(
                "poll.close",
                actor=actor,
                country=poll.country,
                object_type="poll",
                object_id=poll_id,
            )


async def locked_poll(poll_id: int) -> dict[str, Any]:
    """The poll's state and voting window, read under a share lock on PostgreSQL (many casts
    at once; closing waits for them). Plain SQL: every ballot cast asks."""
    lock = "" if db.is_sqlite() else " FOR SHARE"
    rows = await Poll.raw(
        "SELECT id, state, opens_at, closes_at FROM poll WHERE id = {}" + lock, poll_id
    )
    if not rows:
        raise NotFound(_("There is no poll %(id)d.") % {"id": poll_id})
    return rows[0]


def may_vote(rules: Rules, member: CurrentMember, poll: PollInfo) -> bool:
    """The ``vote_eligibility`` hook of the poll's country (default: its shareholders)."""
    answer = rules.registry.for_country(poll.country).vote_eligibility(
        member=member, poll=poll, settings=rules.settings
    )
    return bool(answer)


async def cast(
    rules: Rules,
    voter: CurrentMember,
    poll_id: int,
    choice: Any,
    *,
    channel: str = ONLINE,
    cast_by: CurrentMember | None = None,
    inside: Callable[[], Awaitable[None]] | None = None,
) -> str:
    """Record ``voter``'s ballot and return its receipt (shown once, stored only as a hash).

    ``cast_by`` is the proxy holder (channel proxy) or the operator entering a paper ballot.
    ``inside`` runs inside the transaction, after the poll is locked and found open: a check
    that must hold at the moment of the vote (the proxy still active, the member present).
    """
    poll = await poll_for_ballot(poll_id)
    if not may_vote(rules, voter, poll):
        raise Forbidden(
            _("Only shareholders of %(country)s vote in this poll.") % {"country": poll.country}
        )
    method = _method(rules, poll.method)
    numbers = [number for number, _theme in poll.candidates]
    normalised = method.validate(choice, numbers, poll.seats)
    receipt = secrets.token_urlsafe(16)
    now = clock.now()
    try:
        async with db.write_transaction():
            row = await locked_poll(poll_id)
            if row["state"] != OPEN or not row["opens_at"] <= now < row["closes_at"]:
                raise Conflict(_("This poll is not open: no ballot can be cast."))
            if inside is not None:
                await inside()
            # Plain SQL for the two rows every vote writes (the ORM's row objects cost more
            # than the database here); the tables' columns are listed in full.
            await Participation.raw(
                "INSERT INTO participation (poll, member, channel, cast_by, created_at) "
                "VALUES ({}, {}, {}, {}, {})",
                poll_id,
                voter.id,
                channel,
                cast_by.id if cast_by else None,
                now,
            )
            await Ballot.raw(
                "INSERT INTO ballot (id, poll, choice, receipt_hash, paper) "
                "VALUES ({}, {}, {}, {}, {})",
                uuid.uuid4(),
                poll_id,
                msgspec.json.encode(normalised).decode(),
                receipt_hash(receipt),
                channel == PAPER,
            )
    except Exception as exc:
        if db.is_unique_violation(exc):
            raise Conflict(_("A ballot was already cast for this member.")) from None
        raise
    return receipt


class PublishedBallot(msgspec.Struct):
    receipt_hash: str
    ballot: Any
    paper: bool


async def ballots_of(poll_id: int) -> list[PublishedBallot]:
    rows = await Ballot.select(Ballot.receipt_hash, Ballot.choice, Ballot.paper).where(
        Ballot.poll == poll_id
    )
    listed = [
        PublishedBallot(r["receipt_hash"], msgspec.json.decode(r["choice"]), bool(r["paper"]))
        for r in rows
    ]
    return sorted(listed, key=lambda b: b.receipt_hash)


async def publish(rules: Rules, actor: CurrentMember, poll_id: int) -> Tally:
    """Count a closed poll and publish the result with every ballot. Idempotent."""
    poll = await get_poll(poll_id)
    require_operator(actor, poll.country)
    if poll.state == PUBLISHED:
        return await result_of(poll_id)
    if poll.state != CLOSED:
        raise Conflict(_("Close the poll before publishing its result."))
    method = _method(rules, poll.method)
    ballots = await ballots_of(poll_id)
    tally = method.tally(
        [_freeze(b.ballot) for b in ballots], [n for n, _t in poll.candidates], poll.seats
    )
    digest = hashlib.sha256(msgspec.json.encode([[b.receipt_hash, b.ballot] for b in ballots]))
    edition = await get_edition_by_id(poll.edition_id)
    published = ResultsPublished(
        country=poll.country, poll_id=poll_id, edition=edition.slug, closes_at=poll.closes_at
    )
    async with db.write_transaction():
        changed = await (
            Poll.update(
                {
                    Poll.state: PUBLISHED,
                    Poll.published_at: clock.now(),
                    Poll.result: msgspec.json.encode(tally).decode(),
                    Poll.ballots_digest: digest.hexdigest(),
                }
            )
            .where((Poll.id == poll_id) & (Poll.state == CLOSED))
            .returning(Poll.id)
        )
        if changed:  # only the publication that happened notifies (publishing is idempotent)
            await rules.notify(published)
            # The digest and count of the ballots the poll publishes anyway; never a ballot.
            await audit.record(
                "poll.publish",
                actor=actor,
                country=poll.country,
                object_type="poll",
                object_id=poll_id,
                details={"ballot_count": len(ballots), "ballots_digest": digest.hexdigest()},
            )
    if changed:
        rules.emit(published)
    return await result_of(poll_id)


async def result_of(poll_id: int) -> Tally:
    if not 1 <= poll_id <= db.ID_MAX:
        raise NotFound(_("The result of this poll is not published."))
    row = await Poll.select(Poll.state, Poll.result).where(Poll.id == poll_id).first()
    if row is None or row["state"] != PUBLISHED:
        raise NotFound(_("The result of this poll is not published."))
    return msgspec.json.decode(row["result"], type=Tally)


async def receipt_is_listed(poll_id: int, receipt: str) -> bool:
    """Does the published list hold the ballot of this receipt?"""
    if (await get_poll(poll_id)).state != PUBLISHED:
        raise Conflict(_("The ballots are listed once the result is published."))
    return await Ballot.exists().where(
        (Ballot.poll == poll_id) & (Ballot.receipt_hash == receipt_hash(receipt))
    )
