"""The AGM room: checking members in, paper ballots, turnout and quorum. No HTTP here.

Invariants (DESIGN.md section 3) and how they hold here:

1. One member, one vote: a paper ballot goes through ``services.cast`` like any other, so the
   unique participation row (poll, member) decides; a member who already voted online, by
   proxy or on paper gets a refusal that says how, and nothing is written.
2. Secret ballot: a paper ballot is sealed like any other (``services.cast``) and nothing
   marks it in the published list; who voted and who entered it (``cast_by``, the operator)
   live in participation. ``turnout`` gives counts
   only, never a choice or a partial result. What the room tells an operator about a member's
   participation is audited: each view of the attendance list (which shows who has voted, as a
   count in the entry, not the members) and each refusal that says a named member has already
   voted (``AlreadyVoted``: the member in the entry, never a choice).
4. Closed is closed: presence is checked inside the cast's transaction, after the poll is
   locked and found open, so a ballot is accepted only if it commits before the close. The
   attendance list is frozen once the poll is closed.
6. Countries are separate: only an operator of the poll's country checks in, checks out or
   enters a paper ballot.
"""

from __future__ import annotations

from typing import Any

import msgspec

from core import db
from core.audit import services as audit
from core.errors import Conflict, Forbidden, NotFound
from core.i18n import N_, _
from core.members.model import CurrentMember
from core.members.tables import Member
from core.polls.services import (
    DRAFT,
    ONLINE,
    OPEN,
    PAPER,
    PROXY,
    PollInfo,
    cast,
    get_poll,
    locked_poll,
    require_operator,
)
from core.polls.tables import Participation, Poll, Presence, Proxy
from core.rules import Rules

# The attendance list may change while the poll is a draft (members arrive before the vote
# opens) or open; once it is closed it stays as the poll was closed.
ROOM_STATES = (DRAFT, OPEN)


class PresentMember(msgspec.Struct):
    """A member checked in at the room, as the operators' list shows them."""

    id: int
    name: str
    member_number: str
    voted: bool  # by any channel; the list that shows it is audited (``list_shown``)


class AlreadyVoted(Conflict):
    """A refusal that tells the operator that ``member`` has already voted in the poll.

    Raised inside a write transaction that then rolls back; the service that called it records
    the disclosure (``participation_shown``) afterwards, in a transaction of its own.
    """

    def __init__(self, message: str, member: CurrentMember) -> None:
        super().__init__(message)
        self.member = member


class Turnout(msgspec.Struct, frozen=True, kw_only=True):
    """How many took part in a poll, as numbers only: never a choice or a partial result.

    - ``eligible``: shareholders of the poll's country (see ``turnout`` for the caveat).
    - ``online``, ``paper``, ``proxy``: ballots cast through each channel; ``voted`` is their
      sum (every ballot has exactly one participation).
    - ``present``: members checked in at the room.
    - ``represented``: grantors with an active (not revoked) proxy for this poll, whether or
      not the holder has used it yet.
    - ``counted``: the members the quorum counts, each once: present, represented, or who
      voted (by any channel). A present member who also voted online counts once.
    - ``quorum``: the poll's quorum (None: no quorum); ``quorum_reached`` is True when
      ``counted`` reaches it, and always True without a quorum.
    """

    eligible: int
    online: int
    paper: int
    proxy: int
    voted: int
    present: int
    represented: int
    counted: int
    quorum: int | None
    quorum_reached: bool


async def _room_poll(poll_id: int, *, for_update: bool = False) -> dict[str, Any]:
    """The poll's row, locked against a concurrent close, and refused once it is closed."""
    if for_update and not db.is_sqlite():
        row = await Poll.select().where(Poll.id == poll_id).lock_rows("UPDATE").first()
        if row is None:
            raise NotFound(_("There is no poll %(id)d.") % {"id": poll_id})
    else:
        row = await locked_poll(poll_id)
    if row["state"] not in ROOM_STATES:
        raise Conflict(_("This poll is closed: its attendance list can no longer change."))
    return row


async def _presence_of(poll_id: int, member_id: int) -> bool:
    return await Presence.exists().where(
        (Presence.poll == poll_id) & (Presence.member == member_id)
    )


async def _channel_of(poll_id: int, member_id: int) -> str | None:
    row = await (
        Participation.select(Participation.channel)
        .where((Participation.poll == poll_id) & (Participation.member == member_id))
        .first()
    )
    return row["channel"] if row else None


async def present_members(poll_id: int) -> list[PresentMember]:
    """The members checked in at the room, by name, and whether each has voted (any channel).

    Whoever shows this list to an operator records it with ``list_shown``.
    """
    rows = await Presence.select(
        Presence.member,
        Presence.member.name.as_alias("name"),
        Presence.member.member_number.as_alias("member_number"),
    ).where(Presence.poll == poll_id)
    if not rows:
        return []
    voted = {
        r["member"]
        for r in await Participation.select(Participation.member).where(
            (Participation.poll == poll_id)
            & Participation.member.is_in([r["member"] for r in rows])
        )
    }
    return [
        PresentMember(r["member"], r["name"], r["member_number"], r["member"] in voted)
        for r in sorted(rows, key=lambda r: (r["name"], r["member"]))
    ]


async def list_shown(operator: CurrentMember, poll: PollInfo, shown: list[PresentMember]) -> None:
    """Audit one view of the attendance list, which tells the operator who has voted: one entry
    per view, with how many members it listed (not who). An empty list tells nothing."""
    if not shown:
        return
    await audit.record(
        "room.list",
        actor=operator,
        country=poll.country,
        object_type="poll",
        object_id=poll.id,
        details={"members": len(shown)},
    )


async def participation_shown(
    operator: CurrentMember, poll: PollInfo, member: CurrentMember, via: str
) -> None:
    """Audit a refusal that told the operator that ``member`` has already voted (``via``: the
    action refused, ``paper_ballot`` or ``paper_proxy``). The member, never a choice."""
    await audit.record(
        "room.voted_shown",
        actor=operator,
        country=poll.country,
        object_type="poll",
        object_id=poll.id,
        details={"member": member.id, "via": via},
        personal={member.id: {"member_number": member.member_number}},
    )


def _require_eligible(rules: Rules, member: CurrentMember, poll: PollInfo) -> None:
    if not rules.may_vote(member, poll):
        raise Forbidden(
            _("%(name)s may not vote in this poll, so cannot be checked in.")
            % {"name": member.name}
        )


async def check_in(
    rules: Rules, operator: CurrentMember, poll_id: int, member: CurrentMember
) -> bool:
    """An operator of the poll's country checks in ``member``, present in the room.

    Only a member who may vote in the poll is checked in (the country's ``vote_eligibility``
    rule). Idempotent: checking in a member already present changes nothing and answers False;
    a new check-in answers True. Refused once the poll is closed.
    """
    poll = await get_poll(poll_id)
    require_operator(operator, poll.country)
    _require_eligible(rules, member, poll)
    try:
        async with db.write_transaction():
            await _room_poll(poll_id)
            if await _presence_of(poll_id, member.id):
                return False
            await Presence.insert(
                Presence(poll=poll_id, member=member.id, checked_in_by=operator.id)
            )
            await audit.record(
                "room.check_in",
                actor=operator,
                country=poll.country,
                object_type="poll",
                object_id=poll_id,
                details={"member": member.id},
                personal={member.id: {"member_number": member.member_number}},
            )
    except Exception as exc:
        if db.is_unique_violation(exc):  # a concurrent check-in of the same member won
            return False
        raise
    return True


async def check_out(
    rules: Rules, operator: CurrentMember, poll_id: int, member: CurrentMember
) -> bool:
    """Take a member off the attendance list: a wrong check-in (the wrong member number was
    typed) or a member who leaves before voting. Without it a mistaken check-in would count
    towards the quorum and let a paper ballot be entered in the name of someone absent.

    Refused once a paper ballot was entered for the member (their presence is what allowed it)
    and once the poll is closed (the attendance list is then part of the record). Answers False
    when the member was not checked in.
    """
    poll = await get_poll(poll_id)
    require_operator(operator, poll.country)
    async with db.write_transaction():
        # FOR UPDATE waits for paper ballots in flight (they hold the poll's SHARE lock), so a
        # ballot cannot be entered on a presence that is being removed.
        await _room_poll(poll_id, for_update=True)
        if not await _presence_of(poll_id, member.id):
            return False
        if await _channel_of(poll_id, member.id) == PAPER:
            raise Conflict(
                _("A paper ballot was entered for %(name)s: they stay on the attendance list.")
                % {"name": member.name}
            )
        await Presence.delete().where((Presence.poll == poll_id) & (Presence.member == member.id))
        await audit.record(
            "room.check_out",
            actor=operator,
            country=poll.country,
            object_type="poll",
            object_id=poll_id,
            details={"member": member.id},
            personal={member.id: {"member_number": member.member_number}},
        )
    return True


# Why a paper ballot is refused for a member who already has a participation, by its channel.
ALREADY_VOTED = {
    ONLINE: N_("%(name)s already voted online: no paper ballot can be added."),
    PROXY: N_("%(name)s already voted through a proxy: no paper ballot can be added."),
    PAPER: N_("A paper ballot was already entered for %(name)s."),
}


async def enter_paper_ballot(
    rules: Rules, operator: CurrentMember, poll_id: int, member: CurrentMember, choice: Any
) -> str:
    """An operator of the poll's country enters the paper ballot of ``member``, checked in at
    the room, as an individual secret ballot; answers its receipt (to hand to the member).

    The presence and any earlier vote are checked inside the cast's transaction, after the
    poll is locked and found open; the unique participation row still decides a race.
    A member who gave a proxy that was not used yet and comes in person votes here; the
    holder's proxy vote for them is then refused (one member, one vote).

    A refusal because the member has already voted says how (online, by proxy, on paper); it is
    audited once the refused transaction has rolled back.
    """
    poll = await get_poll(poll_id)
    require_operator(operator, poll.country)

    async def present_and_not_voted() -> None:
        channel = await _channel_of(poll_id, member.id)
        if channel is not None:
            message = ALREADY_VOTED.get(channel, N_("A ballot was already cast for %(name)s."))
            raise AlreadyVoted(_(message) % {"name": member.name}, member)
        if not await _presence_of(poll_id, member.id):
            raise Conflict(
                _("%(name)s is not checked in: check them in before entering their paper ballot.")
                % {"name": member.name}
            )
        # That a paper ballot was entered for the member, by whom: never what it says.
        await audit.record(
            "ballot.paper",
            actor=operator,
            country=poll.country,
            object_type="poll",
            object_id=poll_id,
            details={"member": member.id},
            personal={member.id: {"member_number": member.member_number}},
        )

    try:
        return await cast(
            rules,
            member,
            poll_id,
            choice,
            channel=PAPER,
            cast_by=operator,
            inside=present_and_not_voted,
        )
    except AlreadyVoted as exc:
        await participation_shown(operator, poll, exc.member, "paper_ballot")
        raise


def _table(table: type[Any]) -> str:
    return f'"{table._meta.tablename}"'


async def turnout(poll_id: int) -> Turnout:
    """The poll's turnout and quorum, counted by the database in one statement (so the numbers
    agree with each other), without loading any rows.

    ``eligible`` counts the shareholders of the poll's country, the default
    ``vote_eligibility`` rule; a plugin that changes who may vote is not reflected in this
    number (the hook answers member by member and cannot be counted in SQL).
    """
    poll = await get_poll(poll_id)
    member, participation, presence, proxy = map(_table, (Member, Participation, Presence, Proxy))
    channel_count = f"(SELECT COUNT(*) FROM {participation} WHERE poll = {{}} AND channel = {{}})"
    rows = await Poll.raw(
        f"""
        SELECT
            (SELECT COUNT(*) FROM {member} WHERE shareholder = {{}} AND country = {{}})
                AS eligible,
            {channel_count} AS online,
            {channel_count} AS paper,
            {channel_count} AS proxy,
            (SELECT COUNT(*) FROM {presence} WHERE poll = {{}}) AS present,
            (SELECT COUNT(DISTINCT grantor) FROM {proxy}
                WHERE poll = {{}} AND revoked_at IS NULL) AS represented,
            -- everyone who voted, was present, or is represented by an active proxy, once:
            -- the voters, then the present who did not vote, then the represented who did
            -- neither (index look-ups instead of a union of every voter)
            (SELECT COUNT(*) FROM {participation} WHERE poll = {{}})
            + (SELECT COUNT(DISTINCT pr.member) FROM {presence} pr WHERE pr.poll = {{}}
                AND NOT EXISTS (SELECT 1 FROM {participation} pa
                    WHERE pa.poll = pr.poll AND pa.member = pr.member))
            + (SELECT COUNT(DISTINCT px.grantor) FROM {proxy} px
                WHERE px.poll = {{}} AND px.revoked_at IS NULL
                AND NOT EXISTS (SELECT 1 FROM {participation} pa
                    WHERE pa.poll = px.poll AND pa.member = px.grantor)
                AND NOT EXISTS (SELECT 1 FROM {presence} pr
                    WHERE pr.poll = px.poll AND pr.member = px.grantor)) AS counted
        """,
        True,
        poll.country,
        poll_id,
        ONLINE,
        poll_id,
        PAPER,
        poll_id,
        PROXY,
        poll_id,
        poll_id,
        poll_id,
        poll_id,
        poll_id,
    )
    counts = {key: int(value) for key, value in rows[0].items()}
    counted = counts["counted"]
    return Turnout(
        eligible=counts["eligible"],
        online=counts["online"],
        paper=counts["paper"],
        proxy=counts["proxy"],
        voted=counts["online"] + counts["paper"] + counts["proxy"],
        present=counts["present"],
        represented=counts["represented"],
        counted=counted,
        quorum=poll.quorum,
        quorum_reached=poll.quorum is None or counted >= poll.quorum,
    )
