"""Proxies in an AGM poll, independent of HTTP: a shareholder (the grantor) lets another
shareholder of the same country (the holder) vote for them.

The rules:

- **Who.** Grantor and holder are two different members who may both vote in the poll (the
  ``vote_eligibility`` hook of its country) and belong to the same country. No chains: a
  shareholder who gave a proxy holds none, and a holder gives none (the holder is the one
  expected to vote).
- **How many.** A holder carries at most ``proxy_limit`` active proxies (a per-country hook;
  the core default is 1). A grantor has at most one active proxy per poll (a partial unique
  index on the proxy table decides it).
- **Until when.** Online, a shareholder gives a proxy until the poll opens (a draft poll, or
  an open one before ``opens_at``). Paper proxies are handed in at the general meeting, so an
  operator of the poll's country may record one until the poll closes. A grantor who has
  voted gives no proxy.
- **Revoking.** The grantor revokes a proxy until it has been used (until the grantor's
  participation exists) and until the poll closes; the row stays, with ``revoked_at``.
- **Voting.** The holder casts one separate, secret ballot per grantor through
  ``polls.cast`` (channel proxy, ``cast_by`` the holder). Whether the proxy is still active is
  checked inside the cast's own transaction, so a revoke racing a proxy vote has exactly one
  winner; the participation row's unique index keeps the grantor at one ballot either way.

Concurrency: every write runs in ``db.write_transaction()`` (IMMEDIATE on SQLite, which
serialises writers). On PostgreSQL a grant takes a SHARE lock on the poll row (opening waits
for grants in flight, as closing waits for casts) and a NO KEY UPDATE lock on the grantor's
and the holder's member rows, in id order: grants touching one member run one after the
other, so the holder's count cannot be exceeded, while ballots (whose foreign keys only need
KEY SHARE on those rows) are not blocked. A revoke and a proxy vote both lock the proxy row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from core import clock, db, formats
from core.audit import services as audit
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.i18n import _, country_name, ngettext
from core.members.model import CurrentMember
from core.members.services import load_member, member_by_email
from core.members.tables import Member
from core.polls import services as polls
from core.polls.room import AlreadyVoted, participation_shown
from core.polls.services import DRAFT, OPEN, PROXY, PollInfo
from core.polls.tables import Participation, Poll, Proxy
from core.rules import Rules
from core.themes.services import ID_MAX

MemberRef = CurrentMember | int | str


class ProxyInfo(msgspec.Struct, frozen=True):
    """An active proxy, as the pages show it."""

    id: int
    poll_id: int
    grantor_id: int
    grantor_name: str
    holder_id: int
    holder_name: str
    paper: bool  # recorded by an operator
    created_at: datetime
    voted: bool  # the grantor's vote is cast (by the holder, or by the grantor before)
    used: bool  # cast by the holder through this proxy


# -- rules in words ---------------------------------------------------------------------------


def _when(moment: datetime, country: str) -> str:
    """A moment in the poll country's time, the reader's way."""
    return formats.moment(moment, country)


def rules_text(rules: Rules, poll: PollInfo) -> list[str]:
    """The proxy rules of a poll in words, one paragraph per item, in the current language."""
    limit = rules.proxy_limit(poll)
    if limit < 1:
        return [_("This poll takes no proxies.")]
    country = country_name(poll.country)
    return [
        ngettext(
            "A shareholder of %(country)s may give their vote by proxy to another shareholder "
            "of %(country)s. A holder carries at most %(n)d proxy.",
            "A shareholder of %(country)s may give their vote by proxy to another shareholder "
            "of %(country)s. A holder carries at most %(n)d proxies.",
            limit,
        )
        % {"country": country, "n": limit},
        _(
            "Give your proxy online until the poll opens (%(opens)s). After that, a paper proxy "
            "can be handed to the operators until the poll closes (%(closes)s)."
        )
        % {
            "opens": _when(poll.opens_at, poll.country),
            "closes": _when(poll.closes_at, poll.country),
        },
        _(
            "You can revoke your proxy until your holder has used it. Once your holder has "
            "voted for you, the vote is cast and you cannot vote yourself; if you voted first, "
            "the proxy can no longer be used."
        ),
        _(
            "Your holder casts a separate ballot for you, as secret as any other. A shareholder "
            "who gives a proxy cannot hold proxies, and a holder cannot give their own vote."
        ),
    ]


# -- reading ----------------------------------------------------------------------------------


def _id(member: CurrentMember | int) -> int:
    return member.id if isinstance(member, CurrentMember) else int(member)


async def _listed(where: Any) -> list[ProxyInfo]:
    rows = await Proxy.select(
        Proxy.id,
        Proxy.poll,
        Proxy.grantor,
        Proxy.grantor.name.as_alias("grantor_name"),
        Proxy.holder,
        Proxy.holder.name.as_alias("holder_name"),
        Proxy.recorded_by,
        Proxy.created_at,
    ).where(where & Proxy.revoked_at.is_null())
    if not rows:
        return []
    votes = await Participation.select(
        Participation.member, Participation.channel, Participation.cast_by
    ).where(
        (Participation.poll == rows[0]["poll"])
        & Participation.member.is_in([r["grantor"] for r in rows])
    )
    by_member = {v["member"]: v for v in votes}
    listed = []
    for r in sorted(rows, key=lambda r: (r["grantor_name"], r["id"])):
        vote = by_member.get(r["grantor"])
        listed.append(
            ProxyInfo(
                id=r["id"],
                poll_id=r["poll"],
                grantor_id=r["grantor"],
                grantor_name=r["grantor_name"],
                holder_id=r["holder"],
                holder_name=r["holder_name"],
                paper=r["recorded_by"] is not None,
                created_at=r["created_at"],
                voted=vote is not None,
                used=vote is not None
                and vote["channel"] == PROXY
                and vote["cast_by"] == r["holder"],
            )
        )
    return listed


async def proxies_held(holder: CurrentMember | int, poll_id: int) -> list[ProxyInfo]:
    """The active proxies a member holds in a poll, by grantor name."""
    if not 1 <= poll_id <= ID_MAX:
        return []
    return await _listed((Proxy.poll == poll_id) & (Proxy.holder == _id(holder)))


async def proxy_given(grantor: CurrentMember | int, poll_id: int) -> ProxyInfo | None:
    """The active proxy a member has given in a poll, if any."""
    if not 1 <= poll_id <= ID_MAX:
        return None
    found = await _listed((Proxy.poll == poll_id) & (Proxy.grantor == _id(grantor)))
    return found[0] if found else None


# -- giving -----------------------------------------------------------------------------------


async def member_from_ref(ref: MemberRef) -> CurrentMember | None:
    """A member from a ``CurrentMember``, an id (an int), or a text: an email address or a
    member number, as the AGM room reads it (a text of digits is a member number, not an id)."""
    if isinstance(ref, CurrentMember):
        return ref
    if isinstance(ref, bool):
        return None
    if isinstance(ref, str):
        text = ref.strip()
        if not text:
            return None
        if "@" in text:
            return await member_by_email(text)
        row = await Member.select(Member.id).where(Member.member_number == text).first()
        return await load_member(row["id"]) if row else None
    return await load_member(ref) if 1 <= ref <= ID_MAX else None


def _label(ref: MemberRef) -> str:
    return ref.name if isinstance(ref, CurrentMember) else str(ref).strip()


async def _lock_poll(poll_id: int) -> dict[str, Any]:
    """The poll row, locked against opening and closing until the transaction ends."""
    query = Poll.select(Poll.state, Poll.opens_at, Poll.closes_at).where(Poll.id == poll_id)
    if not db.is_sqlite():
        query = query.lock_rows("SHARE")
    row = await query.first()
    if row is None:
        raise NotFound(_("There is no poll %(id)d.") % {"id": poll_id})
    return row


async def _lock_members(*member_ids: int) -> None:
    """Serialise the grants that touch these members (PostgreSQL; SQLite's IMMEDIATE
    transactions already run one at a time). Always in id order, so two grants never wait
    for each other."""
    if db.is_sqlite():
        return
    await (
        Member.select(Member.id)
        .where(Member.id.is_in(sorted(set(member_ids))))
        .order_by(Member.id)
        .lock_rows("NO KEY UPDATE")
    )


def _closed() -> Conflict:
    return Conflict(_("This poll is closed: proxies can no longer be given, recorded or revoked."))


def _check_window(row: dict[str, Any], paper: bool) -> None:
    now = clock.now()
    if row["state"] == DRAFT:
        return
    if row["state"] != OPEN or now >= row["closes_at"]:
        raise _closed()
    if not paper and now >= row["opens_at"]:
        raise Conflict(
            _(
                "The poll has opened: a proxy can no longer be given online. Hand a paper "
                "proxy to the operators at the general meeting."
            )
        )


async def _holder_count(poll_id: int, holder_id: int) -> int:
    return await Proxy.count().where(
        (Proxy.poll == poll_id) & (Proxy.holder == holder_id) & Proxy.revoked_at.is_null()
    )


async def _active_given(poll_id: int, grantor_id: int) -> dict[str, Any] | None:
    return (
        await Proxy.select(Proxy.id, Proxy.holder.name.as_alias("holder_name"))
        .where((Proxy.poll == poll_id) & (Proxy.grantor == grantor_id) & Proxy.revoked_at.is_null())
        .first()
    )


async def _give(
    rules: Rules,
    poll_id: int,
    grantor_ref: MemberRef,
    holder_ref: MemberRef,
    operator: CurrentMember | None,
) -> int:
    """The checks and the write shared by an online grant and a paper proxy."""
    paper = operator is not None
    poll = await polls.get_poll(poll_id)
    country = poll.country
    if operator is not None and not operator.is_operator(country):
        raise Forbidden(_("Only operators of %(countries)s can do this.") % {"countries": country})
    grantor = await member_from_ref(grantor_ref)
    if grantor is None or not await polls.may_vote(rules, grantor, poll):
        if not paper:
            raise Forbidden(
                _("Only shareholders of %(country)s vote in this poll, so only they give proxies.")
                % {"country": country}
            )
        raise InvalidInput(
            _("%(who)s is not a shareholder of %(country)s who votes in this poll.")
            % {"who": _label(grantor_ref), "country": country}
        )
    holder = await member_from_ref(holder_ref)
    if holder is not None and holder.id == grantor.id:
        if not paper:
            raise InvalidInput(_("You cannot give a proxy to yourself."))
        raise InvalidInput(
            _("The grantor and the holder of a proxy must be two different shareholders.")
        )
    if (
        holder is None
        or holder.country != grantor.country
        or not await polls.may_vote(rules, holder, poll)
    ):
        # One answer for unknown and ineligible members: it does not tell who is a member.
        raise InvalidInput(
            _(
                "%(who)s is not a shareholder of %(country)s who votes in this poll: a proxy "
                "can only go to one."
            )
            % {"who": _label(holder_ref), "country": country}
        )
    limit = rules.proxy_limit(poll)
    if limit < 1:
        raise Conflict(_("This poll takes no proxies."))
    names = {"name": grantor.name, "holder": holder.name}
    try:
        async with db.write_transaction():
            _check_window(await _lock_poll(poll_id), paper)
            await _lock_members(grantor.id, holder.id)
            if await polls.has_voted(poll_id, grantor.id):
                if not paper:
                    raise Conflict(
                        _("You have already voted in this poll: your vote cannot go by proxy.")
                    )
                raise AlreadyVoted(
                    _("%(name)s has already voted in this poll: their vote cannot go by proxy.")
                    % names,
                    grantor,
                )
            given = await _active_given(poll_id, grantor.id)
            if given is not None:
                names["holder"] = given["holder_name"]
                if not paper:
                    raise Conflict(
                        _(
                            "You have already given a proxy to %(holder)s in this poll; revoke "
                            "it first to give another."
                        )
                        % names
                    )
                raise Conflict(
                    _(
                        "%(name)s has already given a proxy to %(holder)s in this poll; it "
                        "must be revoked first."
                    )
                    % names
                )
            if await _holder_count(poll_id, grantor.id):
                if not paper:
                    raise Conflict(
                        _(
                            "You hold proxies of other shareholders in this poll, so you cannot "
                            "give your own vote by proxy."
                        )
                    )
                raise Conflict(
                    _(
                        "%(name)s holds proxies of other shareholders in this poll and cannot "
                        "give their own vote by proxy."
                    )
                    % names
                )
            if await _active_given(poll_id, holder.id) is not None:
                raise Conflict(
                    _(
                        "%(holder)s has given their own vote by proxy in this poll and cannot "
                        "hold proxies."
                    )
                    % names
                )
            held = await _holder_count(poll_id, holder.id)
            if held >= limit:
                raise Conflict(
                    ngettext(
                        "%(holder)s already holds %(n)d proxy in this poll, the most one "
                        "shareholder may hold.",
                        "%(holder)s already holds %(n)d proxies in this poll, the most one "
                        "shareholder may hold.",
                        held,
                    )
                    % {**names, "n": held}
                )
            rows = await Proxy.insert(
                Proxy(
                    poll=poll_id,
                    grantor=grantor.id,
                    holder=holder.id,
                    recorded_by=operator.id if operator is not None else None,
                )
            )
            if operator is not None:  # a member giving their own proxy is not audited
                await audit.record(
                    "proxy.paper",
                    actor=operator,
                    country=country,
                    object_type="poll",
                    object_id=poll_id,
                    details={
                        "proxy": int(rows[0]["id"]),
                        "grantor": grantor.id,
                        "holder": holder.id,
                    },
                )
    except Exception as exc:
        if db.is_unique_violation(exc):  # a concurrent grant by the same grantor won
            raise Conflict(
                _("A proxy of %(name)s in this poll was given at the same moment.") % names
            ) from None
        raise
    return int(rows[0]["id"])


async def grant_proxy(
    rules: Rules, grantor: CurrentMember, poll_id: int, holder_email_or_id: MemberRef
) -> int:
    """``grantor`` gives their vote in the poll by proxy to the holder (an email address or a
    member id), online, until the poll opens. Returns the proxy's id."""
    return await _give(rules, poll_id, grantor, holder_email_or_id, None)


async def record_paper_proxy(
    rules: Rules, operator: CurrentMember, poll_id: int, grantor: MemberRef, holder: MemberRef
) -> int:
    """An operator of the poll's country records a paper proxy, handed in before or at the
    general meeting: the same rules as online, but allowed until the poll closes.

    ``grantor`` and ``holder`` are members, ids, or texts (an email address or a member number).
    A refusal because the grantor has already voted tells the operator so: it is audited."""
    try:
        return await _give(rules, poll_id, grantor, holder, operator)
    except AlreadyVoted as exc:
        poll = await polls.get_poll(poll_id)
        await participation_shown(operator, poll, exc.member, "paper_proxy")
        raise


async def proxy_by_id(proxy_id: int) -> ProxyInfo | None:
    """An active proxy by its id."""
    if not 1 <= proxy_id <= ID_MAX:
        return None
    found = await _listed(Proxy.id == proxy_id)
    return found[0] if found else None


async def paper_proxies(poll_id: int) -> list[ProxyInfo]:
    """The active paper proxies recorded by operators in a poll, by grantor name."""
    if not 1 <= poll_id <= ID_MAX:
        return []
    return await _listed((Proxy.poll == poll_id) & Proxy.recorded_by.is_not_null())


# -- revoking and voting ----------------------------------------------------------------------


async def _name(member_id: int) -> str:
    row = await Member.select(Member.name).where(Member.id == member_id).first()
    return row["name"] if row else ""


def _proxy_query(poll_id: int, grantor_id: int, holder_id: int | None = None) -> Any:
    where = (Proxy.poll == poll_id) & (Proxy.grantor == grantor_id) & Proxy.revoked_at.is_null()
    if holder_id is not None:
        where &= Proxy.holder == holder_id
    query = Proxy.select(Proxy.id, Proxy.holder).where(where)
    return query if db.is_sqlite() else query.lock_rows("UPDATE")


async def revoke_proxy(rules: Rules, grantor: CurrentMember, poll_id: int) -> None:
    """The grantor takes their proxy back, unless it was used or the poll is closed."""
    await polls.get_poll(poll_id)  # NotFound for an id no row can have
    async with db.write_transaction():
        row = await _lock_poll(poll_id)
        if row["state"] not in (DRAFT, OPEN) or clock.now() >= row["closes_at"]:
            raise _closed()
        proxy = await _proxy_query(poll_id, grantor.id).first()
        if proxy is None:
            raise NotFound(_("You have given no proxy in this poll."))
        vote = (
            await Participation.select(Participation.channel, Participation.cast_by)
            .where((Participation.poll == poll_id) & (Participation.member == grantor.id))
            .first()
        )
        if vote is not None and vote["channel"] == PROXY and vote["cast_by"] == proxy["holder"]:
            raise Conflict(
                _(
                    "%(holder)s has already voted for you with this proxy; a cast vote cannot "
                    "be taken back, so the proxy can no longer be revoked."
                )
                % {"holder": await _name(proxy["holder"])}
            )
        if vote is not None:
            raise Conflict(
                _("Your vote in this poll is already cast; the proxy can no longer be revoked.")
            )
        await Proxy.update({Proxy.revoked_at: clock.now()}).where(Proxy.id == proxy["id"])


async def cast_as_proxy(
    rules: Rules, holder: CurrentMember, poll_id: int, grantor_id: int, choice: Any
) -> str:
    """The holder casts the grantor's ballot (one separate ballot per grantor) and gets its
    receipt. The proxy must still be active at the moment of the vote."""
    poll = await polls.get_poll(poll_id)
    if not await polls.may_vote(rules, holder, poll):
        raise polls.not_eligible(rules, holder, poll)
    no_proxy = Forbidden(_("You hold no active proxy of this member in this poll."))
    grantor = await member_from_ref(grantor_id) if isinstance(grantor_id, int) else None
    if grantor is None or grantor.id == holder.id:
        raise no_proxy

    async def check() -> None:
        """Inside the cast's transaction: the proxy is active now (and locked, so a revoke
        waits for this vote, then sees it and is refused)."""
        if await _proxy_query(poll_id, grantor.id, holder.id).first() is None:
            raise no_proxy
        if await polls.has_voted(poll_id, grantor.id):
            raise Conflict(_("A ballot was already cast for this member."))

    return await polls.cast(
        rules, grantor, poll_id, choice, channel=PROXY, cast_by=holder, inside=check
    )
