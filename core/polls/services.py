"""Poll rules, independent of HTTP: creating a poll, its tellers and sealed ballot box, casting
sealed ballots, closing, and the tellers' count that publishes the result.

Invariants (DESIGN.md section 3) and how they hold here:

1. One member, one vote: the participation row (poll, member) is unique in the database; the
   sealed ballot is written in the same transaction, so a refused participation leaves none.
2. Secret ballot, also from whoever holds the database: a ballot is sealed in memory with the
   poll's public key before anything is written (``ballot_box``); the private key exists only
   as the tellers' shares, and in memory during the count, which opens the ballots, shuffles
   them, writes them in that order without trackers and erases the sealed copies (SQLite
   ``secure_delete`` and a WAL truncation; PostgreSQL a TRUNCATE, the other polls' rows
   written back). Nothing logs a choice.
3. Anyone can recount: the voter's receipt is the tracker of the sealed ballot, listed in the
   public ballot box; the published list holds the trackers, the shuffled clear ballots and
   the candidates' frozen texts under one digest. The candidates' texts are frozen at opening.
4. Closed is closed: casting reads the poll under a lock that closing must wait for, and is
   refused unless the poll is open; closing and counting are idempotent.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

import msgspec

from core import clock, db, formats
from core.audit import services as audit
from core.audit.tables import AuditEntry
from core.config import COUNTRIES, zone_of
from core.editions.services import AGM_VOTE, EditionInfo, get_edition_by_id, phase_label
from core.editions.tables import Edition
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.events import PollOpened, ResultsPublished
from core.i18n import N_, _
from core.members.model import CurrentMember
from core.members.services import load_member
from core.members.tables import ROLE_TELLER, Member, MemberRole
from core.polls import ballot_box
from core.polls.tables import (
    ClearBallot,
    Participation,
    Poll,
    PollCandidate,
    PollTeller,
    RollEntry,
    SealedBallot,
)
from core.rules import Rules
from core.text import has_control_characters
from core.themes.services import ACCEPTED, EXTENDED
from core.themes.tables import Theme, ThemeText
from core.tracks import track_of
from core.voting import VotingMethod, voting_method
from core.voting.base import Tally
from core.voting.files import ballot_list_digest

DRAFT, OPEN, CLOSED, PUBLISHED = "draft", "open", "closed", "published"
# A poll set aside by a later poll of the same edition and country (``create_poll`` with
# ``replace``): it stays listed, is never opened, voted in or counted, and the record ignores it.
REPLACED = "replaced"
ONLINE, PAPER, PROXY = "online", "paper", "proxy"
# The states as people read them, for extraction: pages show ``_(poll.state)``.
STATE_NAMES = (N_("draft"), N_("open"), N_("closed"), N_("published"), N_("replaced"))
# How long the reason for replacing a poll or leaving the AGM phase may be.
REASON_MIN, REASON_MAX = 3, 500


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
    public_key: str = ""  # the ballot box's public key (hex); "" until the poll opens
    tellers_needed: int = 1  # how many tellers' shares open the box
    # The electoral roll's size, frozen when the poll opened (None: not opened, or opened
    # before polls had rolls: eligibility is then the live rule).
    roll_size: int | None = None


def _tracker_of(receipt: str) -> str:
    """A receipt as typed: the tracker, without spaces, in lower case."""
    return "".join(receipt.split()).lower()


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
        public_key=row["public_key"],
        tellers_needed=row["tellers_needed"],
        roll_size=row["roll_size"],
    )


async def edition_polls(edition_id: int) -> list[dict[str, Any]]:
    """An edition's polls: id, country, state and method of each (the polls page lists them)."""
    return await Poll.select(Poll.id, Poll.country, Poll.state, Poll.method).where(
        Poll.edition == edition_id
    )


async def has_voted(poll_id: int, member_id: int) -> bool:
    """Whether the member's participation is recorded (a ballot cast by them or for them)."""
    return await Participation.exists().where(
        (Participation.poll == poll_id) & (Participation.member == member_id)
    )


async def ballots_digest(poll_id: int) -> str:
    """The SHA-256 of a counted poll's published ballot list ("" before the count)."""
    row = await Poll.select(Poll.ballots_digest).where(Poll.id == poll_id).first()
    return (row or {}).get("ballots_digest") or ""


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


def _reason(reason: str, what: str) -> str:
    """A reason the operator typed, trimmed; refused when too short, too long or garbled."""
    reason = reason.strip()
    if not REASON_MIN <= len(reason) <= REASON_MAX or has_control_characters(reason):
        raise InvalidInput(
            _("Give a reason for %(what)s (%(min)d to %(max)d characters).")
            % {"what": what, "min": REASON_MIN, "max": REASON_MAX}
        )
    return reason


def agm_window_problem(
    edition: EditionInfo, country: str, opens_at: datetime, closes_at: datetime
) -> str | None:
    """Why the voting window is not inside the country's AGM vote phase, or None when it is.

    The phase's days are whole days in the country's time zone (operators type the poll's
    times in it): the poll may open from 00:00 on its first day and must close by 24:00 on its
    last. A country with a calendar but no AGM vote phase in it is refused, as the other
    phase-bound actions are (``require_phase``); a country without any calendar in the edition
    is not checked: the edition is not planned on the platform (an archive, a poll run by
    hand)."""
    calendar = edition.calendar(country)
    if calendar is None or not calendar.phases:
        return None
    window = calendar.window(AGM_VOTE)
    if window is None:
        return _(
            "%(phase)s of %(edition)s has no dates for %(country)s yet: set them in the "
            "calendar first, or give a reason to hold the poll without them."
        ) % {"phase": phase_label(AGM_VOTE), "edition": edition.slug, "country": country}
    zone = zone_of(country)
    starts = datetime.combine(window.starts_on, time(0), tzinfo=zone)
    ends = datetime.combine(window.ends_on + timedelta(days=1), time(0), tzinfo=zone)
    if starts <= formats.from_local(opens_at, country) and (
        formats.from_local(closes_at, country) <= ends
    ):
        return None
    return _(
        "The poll must open and close within %(phase)s of %(edition)s for %(country)s, "
        "from %(start)s to %(end)s (%(zone)s). Change its dates, or give a reason to hold it "
        "outside the phase."
    ) % {
        "phase": phase_label(AGM_VOTE),
        "edition": edition.slug,
        "country": country,
        "start": formats.day(window.starts_on),
        "end": formats.day(window.ends_on),
        "zone": formats.zone_name(country),
    }


async def _valid_polls(edition_id: int, country: str) -> list[dict[str, Any]]:
    """The edition's polls of the country that are not replaced (one, or none, normally)."""
    return await (
        Poll.select(Poll.id, Poll.state)
        .where((Poll.edition == edition_id) & (Poll.country == country) & (Poll.state != REPLACED))
        .order_by(Poll.id)
    )


def _already(edition: EditionInfo, country: str, earlier: dict[str, Any]) -> Conflict:
    return Conflict(
        _(
            "%(country)s already has an AGM poll in %(edition)s (poll %(id)d, %(state)s): "
            "one poll per edition and country. To replace it, tick “replace” and give a reason."
        )
        % {
            "country": country,
            "edition": edition.slug,
            "id": earlier["id"],
            "state": _(earlier["state"]),
        }
    )


def _not_replaceable(poll_id: int) -> Conflict:
    return Conflict(
        _(
            "Poll %(id)d has ballots or a published result: it cannot be replaced. "
            "Only a poll without ballots can be."
        )
        % {"id": poll_id}
    )


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
    *,
    replace: bool = False,
    replace_reason: str = "",
    window_reason: str = "",
) -> int:
    """A poll on the themes accepted for the country's ballot (extended themes are not voted
    on), in a candidate order drawn at random: that order breaks ties. A method left empty
    or seats left None are the country's usual ones (``poll_defaults``).

    One AGM poll per edition and country: a second one is refused, unless ``replace`` with a
    ``replace_reason``; then the earlier poll (which must have no ballot and no result) is
    marked replaced. The voting window lies inside the country's AGM vote phase, unless a
    ``window_reason`` is given. Both reasons go to the audit log with the poll's creation.

    ``opens_at`` and ``closes_at`` without a time zone are the country's local time (what an
    operator types in the form); with an offset they keep it. They are stored in UTC.
    """
    if country not in COUNTRIES:
        raise InvalidInput(_("Unknown country %(code)s.") % {"code": country})
    opens_at = formats.from_local(opens_at, country).astimezone(UTC)
    closes_at = formats.from_local(closes_at, country).astimezone(UTC)
    require_operator(actor, country)
    defaults = poll_defaults(rules, country)
    method = method or defaults.method
    seats = defaults.seats if seats is None else seats
    _method(rules, method)
    if closes_at <= opens_at:
        raise InvalidInput(_("The poll must close after it opens."))
    if quorum is not None and quorum < 1:
        raise InvalidInput(_("A quorum is a number of voters, at least 1."))
    if replace:
        replace_reason = _reason(replace_reason, _("replacing the earlier poll"))
    elif replace_reason.strip():
        raise InvalidInput(
            _("Tick “replace” to replace the earlier poll, or leave its reason empty.")
        )
    if window_reason.strip():
        window_reason = _reason(window_reason, _("holding the poll outside the AGM vote phase"))
    edition = await get_edition_by_id(edition_id)
    outside = agm_window_problem(edition, country, opens_at, closes_at)
    if outside is not None and not window_reason:
        raise InvalidInput(outside)
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
        if not db.is_sqlite():
            # Two creations for one edition at once: the second waits here for the first
            # (SQLite's IMMEDIATE transaction already lets one writer in at a time).
            await (
                Edition.select(Edition.id)
                .where(Edition.id == edition_id)
                .lock_rows("NO KEY UPDATE")
            )
        earlier = await _valid_polls(edition_id, country)
        if earlier and not replace:
            raise _already(edition, country, earlier[0])
        if replace and not earlier:
            raise InvalidInput(
                _("There is no poll of %(country)s in %(edition)s to replace.")
                % {"country": country, "edition": edition.slug}
            )
        for row in earlier:
            if row["state"] == PUBLISHED:
                raise _not_replaceable(row["id"])
            # The update takes the poll's lock first: a ballot being cast finishes before it,
            # and a later one finds the poll replaced. Then the poll must still have none.
            await Poll.update({Poll.state: REPLACED}).where(
                (Poll.id == row["id"]) & (Poll.state == row["state"])
            )
            if await Participation.exists().where(Participation.poll == row["id"]):
                raise _not_replaceable(row["id"])
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
        details: dict[str, Any] = {
            "edition": edition_id,
            "method": method,
            "seats": seats,
            "opens_at": opens_at.isoformat(),
            "closes_at": closes_at.isoformat(),
            "quorum": quorum,
        }
        if earlier:
            details["replaces"] = [row["id"] for row in earlier]
            details["replace_reason"] = replace_reason
        if outside is not None:
            details["outside_agm_phase"] = window_reason
        await audit.record(
            "poll.create",
            actor=actor,
            country=country,
            object_type="poll",
            object_id=poll_id,
            details=details,
        )
    return poll_id


class TellerInfo(msgspec.Struct, frozen=True):
    member_id: int
    name: str
    collected: bool  # the teller was shown their share (once)
    waiting: bool  # the share waits for its teller in this server's memory


async def tellers_of(poll: PollInfo) -> list[TellerInfo]:
    """The poll's tellers, by name, and where each one's share is."""
    rows = await PollTeller.select(
        PollTeller.member,
        PollTeller.member.name.as_alias("name"),
        PollTeller.collected_at,
    ).where(PollTeller.poll == poll.id)
    return [
        TellerInfo(
            member_id=r["member"],
            name=r["name"],
            collected=r["collected_at"] is not None,
            waiting=bool(poll.public_key) and ballot_box.DESK.holds(poll.public_key, r["member"]),
        )
        for r in sorted(rows, key=lambda r: (r["name"], r["member"]))
    ]


async def eligible_tellers(country: str) -> list[dict[str, Any]]:
    """Members with the teller role of ``country``, by name."""
    rows = await MemberRole.select(
        MemberRole.member,
        MemberRole.member.name.as_alias("name"),
        MemberRole.member.member_number.as_alias("member_number"),
    ).where((MemberRole.role == ROLE_TELLER) & (MemberRole.country == country))
    return sorted(rows, key=lambda r: (r["name"], r["member"]))


async def set_tellers(
    rules: Rules, actor: CurrentMember, poll_id: int, member_ids: Sequence[int], needed: int
) -> None:
    """Name a draft poll's tellers (members with the teller role of its country) and how many
    of them must give their share to count. 1 of 1 is allowed for small meetings: that one
    teller alone can then open the ballot box."""
    poll = await get_poll(poll_id)
    require_operator(actor, poll.country)
    if poll.state != DRAFT:
        raise Conflict(_("The tellers are named while the poll is a draft."))
    chosen = list(dict.fromkeys(member_ids))
    if not chosen:
        raise InvalidInput(_("Name at least one teller."))
    for member_id in chosen:
        member = await load_member(member_id) if 1 <= member_id <= db.ID_MAX else None
        if member is None or not member.is_teller(poll.country):
            raise InvalidInput(
                _("Only members with the teller role of %(country)s can be this poll's tellers.")
                % {"country": poll.country}
            )
    if not 1 <= needed <= len(chosen):
        raise InvalidInput(
            _("Between 1 and %(n)d tellers must count together.") % {"n": len(chosen)}
        )
    async with db.write_transaction():
        row = await locked_poll(poll_id)
        if row["state"] != DRAFT:
            raise Conflict(_("The tellers are named while the poll is a draft."))
        await PollTeller.delete().where(PollTeller.poll == poll_id)
        await PollTeller.insert(*[PollTeller(poll=poll_id, member=m) for m in chosen])
        await Poll.update({Poll.tellers_needed: needed}).where(Poll.id == poll_id)
        await audit.record(
            "poll.tellers",
            actor=actor,
            country=poll.country,
            object_type="poll",
            object_id=poll_id,
            details={"tellers": chosen, "needed": needed},
        )


async def _frozen_texts(theme_ids: list[int]) -> dict[int, str]:
    """Each theme's titles in every language now, as the JSON a candidate keeps."""
    rows = await ThemeText.select(ThemeText.theme, ThemeText.language, ThemeText.title).where(
        ThemeText.theme.is_in(theme_ids)
    )
    originals = await Theme.select(Theme.id, Theme.original_language).where(
        Theme.id.is_in(theme_ids)
    )
    titles: dict[int, dict[str, str]] = {theme: {} for theme in theme_ids}
    for row in rows:
        titles[row["theme"]][row["language"]] = row["title"]
    original = {r["id"]: r["original_language"] for r in originals}
    return {
        theme: msgspec.json.encode(
            {"original": original.get(theme, ""), "titles": titles[theme]}, order="sorted"
        ).decode()
        for theme in theme_ids
    }


class CandidateTexts(msgspec.Struct, frozen=True):
    original: str
    titles: dict[str, str]

    def title(self, language: str) -> str:
        return (
            self.titles.get(language)
            or self.titles.get(self.original)
            or next(iter(self.titles.values()), "")
        )


async def candidate_texts(poll: PollInfo) -> dict[int, CandidateTexts]:
    """Each candidate's titles by number: the copy frozen when the poll opened (a draft's
    candidates still follow their themes)."""
    rows = await PollCandidate.select(
        PollCandidate.number, PollCandidate.theme, PollCandidate.texts
    ).where(PollCandidate.poll == poll.id)
    live = [r["theme"] for r in rows if not r["texts"]]
    current = await _frozen_texts(live) if live else {}
    return {
        r["number"]: msgspec.json.decode(r["texts"] or current[r["theme"]], type=CandidateTexts)
        for r in rows
    }


async def open_poll(rules: Rules, actor: audit.Actor, poll_id: int) -> None:
    """Open a draft poll: make its ballot box's key pair, split the private key among the
    tellers (each share waits in this process's memory until its teller collects it), freeze
    the candidates' texts, and notify the country's shareholders (outbox, same transaction).
    ``actor`` is an operator of the poll's country, or the command line (``sip poll open``)."""
    poll = await get_poll(poll_id)
    if not isinstance(actor, audit.CommandLine):
        require_operator(actor, poll.country)
    if poll.state != DRAFT:
        raise Conflict(_("Only a draft poll can be opened."))
    tellers = await tellers_of(poll)
    if not tellers:
        raise Conflict(_("Name the poll's tellers before opening it: they hold its key."))
    row = await Poll.select(Poll.tellers_needed).where(Poll.id == poll_id).first()
    keys = ballot_box.make_keys(len(tellers), row["tellers_needed"])
    texts = await _frozen_texts([theme for _number, theme in poll.candidates])
    edition = await get_edition_by_id(poll.edition_id)
    opened = PollOpened(
        country=poll.country, poll_id=poll_id, edition=edition.slug, closes_at=poll.closes_at
    )
    async with db.write_transaction():
        changed = await (
            Poll.update({Poll.state: OPEN, Poll.public_key: keys.public_key})
            .where((Poll.id == poll_id) & (Poll.state == DRAFT))
            .returning(Poll.id)
        )
        if changed:
            roll_size = await _freeze_roll(rules, poll)
            for theme, text in texts.items():
                await PollCandidate.update({PollCandidate.texts: text}).where(
                    (PollCandidate.poll == poll_id) & (PollCandidate.theme == theme)
                )
            await rules.notify(opened)
            await audit.record(
                "poll.open",
                actor=actor,
                country=poll.country,
                object_type="poll",
                object_id=poll_id,
                details={
                    "public_key": keys.public_key,
                    "tellers_needed": row["tellers_needed"],
                    "roll_size": roll_size,
                },
            )
    if not changed:
        raise Conflict(_("Only a draft poll can be opened."))
    for teller, share in zip(tellers, keys.shares, strict=True):
        ballot_box.DESK.put(keys.public_key, teller.member_id, share)
    rules.emit(opened)


# Rows of the electoral roll per statement batch.
ROLL_CHUNK = 5000


async def eligible_now(rules: Rules, country: str, poll: PollInfo) -> list[int]:
    """The members who may vote in ``poll`` as the register stands: the country's members who
    have not left (nor been erased) and whom the country's ``vote_eligibility`` rule accepts.
    Read in two statements (members, then their roles), whatever the register's size."""
    rows = await Member.raw(
        "SELECT id, member_number, email, name, country, language, shareholder FROM member "
        "WHERE country = {} AND left_at IS NULL AND erased_at IS NULL ORDER BY id",
        country,
    )
    role_rows = await MemberRole.raw(
        "SELECT r.member, r.role, r.country FROM member_role r JOIN member m ON m.id = r.member "
        "WHERE m.country = {} AND m.left_at IS NULL AND m.erased_at IS NULL",
        country,
    )
    roles: dict[int, list[tuple[str, str]]] = {}
    for r in role_rows:
        roles.setdefault(r["member"], []).append((r["role"], r["country"]))
    eligible = []
    for r in rows:
        member = CurrentMember(
            id=r["id"],
            member_number=r["member_number"],
            email=r["email"],
            name=r["name"],
            country=r["country"],
            language=r["language"],
            shareholder=bool(r["shareholder"]),
            roles=tuple(sorted(roles.get(r["id"], ()))),
        )
        if rules.may_vote(member, poll):
            eligible.append(member.id)
    return eligible


async def _freeze_roll(rules: Rules, poll: PollInfo) -> int:
    """Write the poll's electoral roll (inside the opening's transaction) and its size: who
    may vote, never how or whether they did. Answers the roll's size."""
    members = await eligible_now(rules, poll.country, poll)
    for start in range(0, len(members), ROLL_CHUNK):
        await db.insert_many(
            "poll_roll",
            ("poll", "member"),
            [(poll.id, member_id) for member_id in members[start : start + ROLL_CHUNK]],
        )
    await Poll.update({Poll.roll_size: len(members)}).where(Poll.id == poll.id)
    return len(members)


def has_roll(poll: PollInfo) -> bool:
    """Whether eligibility in ``poll`` is its frozen electoral roll (every poll opened since
    rolls exist), rather than the live rule (a draft, or a poll opened before)."""
    return poll.roll_size is not None and poll.state != DRAFT


async def on_roll(poll_id: int, member_id: int) -> bool:
    """Whether the member is on the poll's electoral roll: one indexed look-up."""
    rows = await RollEntry.raw(
        "SELECT 1 AS found FROM poll_roll WHERE poll = {} AND member = {}", poll_id, member_id
    )
    return bool(rows)


async def may_vote(rules: Rules, member: CurrentMember, poll: PollInfo) -> bool:
    """Whether ``member`` votes in ``poll``: on its roll once it has one (a register change
    during the vote neither adds nor removes voters), else the country's live rule."""
    if has_roll(poll):
        return await on_roll(poll.id, member.id)
    return rules.may_vote(member, poll)


def not_eligible(rules: Rules, member: CurrentMember, poll: PollInfo) -> Forbidden:
    """The refusal for a member who does not vote in ``poll``: the roll is named when the
    member would be eligible now but was not when the poll opened."""
    if has_roll(poll) and rules.may_vote(member, poll):
        return Forbidden(
            _(
                "You are not on this poll's electoral roll: only the members who could vote "
                "when it opened vote in it."
            )
        )
    return Forbidden(
        _("Only shareholders of %(country)s vote in this poll.") % {"country": poll.country}
    )


async def opened_at(poll_id: int) -> datetime | None:
    """When the poll opened (its roll was frozen then), from its audit entry."""
    row = await (
        AuditEntry.select(AuditEntry.at)
        .where(
            (AuditEntry.action == "poll.open")
            & (AuditEntry.object_type == "poll")
            & (AuditEntry.object_id == str(poll_id))
        )
        .order_by(AuditEntry.seq)
        .first()
    )
    return row["at"] if row else None


class ShareOut(msgspec.Struct, frozen=True):
    poll_id: int
    share: str
    tellers_needed: int
    tellers: int


async def collect_share(actor: CurrentMember, poll_id: int) -> ShareOut:
    """Give a teller their share of the poll's key, once: it leaves the process's memory now
    and is never shown again (on the share page, or on the terminal of ``sip poll open``)."""
    poll = await get_poll(poll_id)
    teller = (
        await PollTeller.select(PollTeller.collected_at)
        .where((PollTeller.poll == poll_id) & (PollTeller.member == actor.id))
        .first()
    )
    if teller is None:
        raise Forbidden(_("You are not a teller of this poll."))
    if teller["collected_at"] is not None:
        raise Conflict(_("You were given your share already: it is never shown again."))
    if not poll.public_key:
        raise Conflict(_("The shares are made when the poll opens."))
    async with db.write_transaction():
        marked = await (
            PollTeller.update({PollTeller.collected_at: clock.now()})
            .where(
                (PollTeller.poll == poll_id)
                & (PollTeller.member == actor.id)
                & PollTeller.collected_at.is_null()
            )
            .returning(PollTeller.id)
        )
        if not marked:  # the same teller in two tabs: the other one was shown it
            raise Conflict(_("You were given your share already: it is never shown again."))
        share = ballot_box.DESK.take(poll.public_key, actor.id)
        if share is None:  # nothing is marked: the transaction rolls back
            raise Conflict(
                _(
                    "Your share is no longer held: the server restarted since the poll "
                    "opened. Tell the operators; the ballot box can be counted if enough "
                    "other tellers have their shares."
                )
            )
    count = await PollTeller.count().where(PollTeller.poll == poll_id)
    return ShareOut(poll_id=poll_id, share=share, tellers_needed=poll.tellers_needed, tellers=count)


async def close_poll(rules: Rules, actor: CurrentMember | None, poll_id: int) -> None:
    """Close an open poll (an operator, or the clock when ``actor`` is None: audited with the
    role "clock"). Idempotent: a closed or published poll stays as it is."""
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
        if closed:  # the clock's closing too: the log says when the box stopped taking votes
            await audit.record(
                "poll.close",
                actor=actor if actor is not None else audit.CLOCK,
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
    """Seal ``voter``'s ballot, store it, and return its tracker: the voter's receipt.

    The ballot is sealed here, in memory, with the poll's public key; only the sealed ballot
    and the participation (who voted, with the tracker) are written. ``cast_by`` is the proxy
    holder (channel proxy) or the operator entering a paper ballot. ``inside`` runs inside the
    transaction, after the poll is locked and found open: a check that must hold at the moment
    of the vote (the proxy still active, the member present).
    """
    poll = await poll_for_ballot(poll_id)
    if not await may_vote(rules, voter, poll):
        raise not_eligible(rules, voter, poll)
    method = _method(rules, poll.method)
    numbers = [number for number, _theme in poll.candidates]
    normalised = method.validate(choice, numbers, poll.seats)
    if poll.state == OPEN and not poll.public_key:
        raise Conflict(_("This poll has no ballot box key: it cannot take sealed ballots."))
    sealed = (
        ballot_box.seal(
            poll.public_key, msgspec.json.encode(normalised), ballot_box.padded_length(len(numbers))
        )
        if poll.public_key
        else b""
    )
    tracker = ballot_box.tracker(sealed)
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
                "INSERT INTO participation (poll, member, channel, cast_by, created_at, tracker) "
                "VALUES ({}, {}, {}, {}, {}, {})",
                poll_id,
                voter.id,
                channel,
                cast_by.id if cast_by else None,
                now,
                tracker,
            )
            await SealedBallot.raw(
                "INSERT INTO sealed_ballot (poll, sealed) VALUES ({}, {})", poll_id, sealed
            )
    except Exception as exc:
        if db.is_unique_violation(exc):
            raise Conflict(_("A ballot was already cast for this member.")) from None
        raise
    return tracker


async def trackers_of(poll_id: int) -> list[str]:
    """The public ballot box: every ballot's tracker, sorted (the order says nothing of when
    a ballot came in). Once the poll is closed, the list as it stood at closing."""
    poll = await get_poll(poll_id)
    if poll.state == DRAFT:
        return []
    rows = await Participation.select(Participation.tracker).where(
        (Participation.poll == poll_id) & Participation.tracker.is_not_null()
    )
    return sorted(r["tracker"] for r in rows)


async def tracker_is_listed(poll_id: int, receipt: str) -> bool:
    """Is this receipt's tracker in the poll's ballot box?"""
    poll = await get_poll(poll_id)
    if poll.state == DRAFT:
        raise Conflict(_("The ballot box opens with the poll."))
    tracker = _tracker_of(receipt)
    if len(tracker) != 64:
        return False
    return await Participation.exists().where(
        (Participation.poll == poll_id) & (Participation.tracker == tracker)
    )


async def clear_ballots_of(poll_id: int) -> list[Any]:
    """The published clear ballots, in their shuffled order."""
    rows = await (
        ClearBallot.select(ClearBallot.choice)
        .where(ClearBallot.poll == poll_id)
        .order_by(ClearBallot.position)
    )
    return [msgspec.json.decode(r["choice"]) for r in rows]


def may_count(actor: CurrentMember, poll: PollInfo, tellers: Sequence[TellerInfo]) -> bool:
    return actor.is_operator(poll.country) or any(t.member_id == actor.id for t in tellers)


def _tampered() -> Conflict:
    return Conflict(
        _(
            "The ballot box does not add up: a sealed ballot does not open with this poll's "
            "key, or sealed ballots and participations differ in number. Nothing was counted."
        )
    )


async def _open_box(poll: PollInfo, shares: Sequence[str], numbers: list[int], method: Any) -> Any:
    """The poll's ballots, opened with the tellers' shares and shuffled: the key exists in
    memory only for this."""
    private = ballot_box.private_key_from(shares, poll.public_key, poll.tellers_needed)
    rows = await SealedBallot.select(SealedBallot.sealed).where(SealedBallot.poll == poll.id)
    participations = await Participation.count().where(Participation.poll == poll.id)
    if len(rows) != participations:
        raise _tampered()

    def open_all() -> list[Any]:
        opened = []
        for row in rows:
            try:
                choice = msgspec.json.decode(ballot_box.open_sealed(private, bytes(row["sealed"])))
                method.validate(choice, numbers, poll.seats)
            except (ballot_box.BoxTampered, msgspec.DecodeError, InvalidInput):
                raise _tampered() from None
            opened.append(choice)
        secrets.SystemRandom().shuffle(opened)
        return opened

    # 40,000 ballots are about a second of work: off the event loop. The key object goes
    # with this call; Python cannot promise to wipe its bytes from memory.
    return await asyncio.to_thread(open_all)


async def count_poll(
    rules: Rules, actor: CurrentMember | None, poll_id: int, shares: Sequence[str]
) -> Tally:
    """The tellers' count of a closed poll, which publishes its result. Idempotent.

    The tellers' shares give the private key, in memory; every sealed ballot is opened, the
    ballots are shuffled and written as the clear list in that order in one transaction with
    the result, and the sealed ballots are erased from the database's pages and log. Too few
    shares, a mistyped one, one of another poll, or a box that does not add up are refused
    with a clear message, and nothing changes. ``actor`` None is the command line.
    """
    poll = await get_poll(poll_id)
    if actor is not None and not may_count(actor, poll, await tellers_of(poll)):
        raise Forbidden(_("Only this poll's tellers and its country's operators count it."))
    if poll.state == PUBLISHED:
        return await result_of(poll_id)
    if poll.state == REPLACED:
        raise Conflict(_("This poll was replaced by a later one: it is not counted."))
    if poll.state != CLOSED:
        raise Conflict(_("Close the poll before counting its ballots."))
    method = _method(rules, poll.method)
    numbers = [n for n, _t in poll.candidates]
    sealed = bool(poll.public_key)
    if sealed:
        ballots = await _open_box(poll, shares, numbers, method)
    else:  # a poll opened before the sealed ballot box: its ballots were kept in clear
        ballots = await clear_ballots_of(poll_id)
    tally = method.tally([_freeze(b) for b in ballots], numbers, poll.seats)
    texts = await candidate_texts(poll)
    trackers = await trackers_of(poll_id)
    digest = ballot_list_digest([(n, texts[n].titles) for n in numbers], trackers, ballots)
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
                    Poll.ballots_digest: digest,
                }
            )
            .where((Poll.id == poll_id) & (Poll.state == CLOSED))
            .returning(Poll.id)
        )
        if changed:  # only the count that happened writes (counting is idempotent)
            if sealed:
                await db.insert_many(
                    "clear_ballot",
                    ("poll", "position", "choice"),
                    [
                        (poll_id, place, msgspec.json.encode(ballot).decode())
                        for place, ballot in enumerate(ballots, start=1)
                    ],
                )
                await SealedBallot.delete().where(SealedBallot.poll == poll_id)
            await rules.notify(published)
            # The digest and counts of what the poll publishes anyway; never a ballot.
            counted_as = None  # an operator, or the command line: as usual
            if actor is not None and not actor.is_operator(poll.country):
                counted_as = ROLE_TELLER
            await audit.record(
                "poll.count",
                role=counted_as,
                actor=actor if actor is not None else audit.CLI,
                country=poll.country,
                object_type="poll",
                object_id=poll_id,
                details={
                    "ballot_count": len(ballots),
                    "tracker_count": len(trackers),
                    "ballots_digest": digest,
                },
            )
    if changed:
        if sealed:
            await db.scrub("sealed_ballot")
        rules.emit(published)
    return await result_of(poll_id)


async def result_of(poll_id: int) -> Tally:
    if not 1 <= poll_id <= db.ID_MAX:
        raise NotFound(_("The result of this poll is not published."))
    row = await Poll.select(Poll.state, Poll.result).where(Poll.id == poll_id).first()
    if row is None or row["state"] != PUBLISHED:
        raise NotFound(_("The result of this poll is not published."))
    return msgspec.json.decode(row["result"], type=Tally)
