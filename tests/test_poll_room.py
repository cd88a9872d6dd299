"""The AGM room: check-in, paper ballots for members present, turnout and quorum.

Service-level tests on SQLite and PostgreSQL. Proxies are written straight into their table
(the proxy rules have their own module and tests); a proxy vote goes through ``cast``.
"""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from core import clock
from core.errors import Conflict, Forbidden
from core.members.services import load_member
from core.plugins import build_registry
from core.polls import ballot_box, room
from core.polls import services as polls
from core.polls.tables import Participation, Poll, Presence, Proxy, SealedBallot
from core.rules import Rules
from tests.conftest import add_member
from tests.poll_support import voters_added_after_opening  # noqa: F401 (the fixture)
from tests.test_polls import BOXES, count, setup_poll, shareholder


@pytest.fixture
def rules(pooled):
    return Rules(build_registry(pooled), pooled)


async def counts() -> tuple[int, int, int]:
    return await SealedBallot.count(), await Participation.count(), await Presence.count()


async def proxy(poll_id: int, grantor, holder, *, revoked: bool = False) -> None:
    await Proxy.insert(
        Proxy(
            poll=poll_id,
            grantor=grantor.id,
            holder=holder.id,
            revoked_at=clock.now() if revoked else None,
        )
    )


# -- check-in -----------------------------------------------------------------------------------


async def test_an_operator_checks_in_a_shareholder_once(rules):
    poll_id, operator = await setup_poll(rules)
    member = await shareholder(1)
    assert await room.check_in(rules, operator, poll_id, member) is True
    first = await Presence.select().first()
    assert await room.check_in(rules, operator, poll_id, member) is False  # idempotent
    assert await Presence.select() == [first]
    assert (first["member"], first["checked_in_by"]) == (member.id, operator.id)


async def test_concurrent_check_ins_of_one_member_store_one_presence(rules):
    poll_id, operator = await setup_poll(rules)
    member = await shareholder(1)
    answers = await asyncio.gather(
        *(room.check_in(rules, operator, poll_id, member) for _ in range(20))
    )
    assert answers.count(True) == 1
    assert await Presence.count() == 1


async def test_only_eligible_members_are_checked_in_by_their_countrys_operators(rules):
    poll_id, operator = await setup_poll(rules)
    not_shareholder = await load_member(await add_member("m@example.org", shareholder=False))
    french = await shareholder(1, "FR")
    for outsider in (not_shareholder, french):
        with pytest.raises(Forbidden, match="may not vote"):
            await room.check_in(rules, operator, poll_id, outsider)
    member = await shareholder(2)
    french_operator = await load_member(
        await add_member("op.fr@example.org", country="FR", roles=(("operator", "FR"),))
    )
    for not_operator in (french_operator, member):
        with pytest.raises(Forbidden):
            await room.check_in(rules, not_operator, poll_id, member)
    assert await Presence.count() == 0


async def test_the_attendance_list_opens_with_the_draft_and_freezes_at_the_close(rules):
    poll_id, operator = await setup_poll(rules)
    await Poll.update({Poll.state: "draft"}).where(Poll.id == poll_id)
    early, late = await shareholder(1), await shareholder(2)
    assert await room.check_in(rules, operator, poll_id, early)  # members arrive before the vote
    await Poll.update({Poll.state: "open"}).where(Poll.id == poll_id)
    await polls.close_poll(rules, operator, poll_id)
    with pytest.raises(Conflict, match="closed"):
        await room.check_in(rules, operator, poll_id, late)
    with pytest.raises(Conflict, match="closed"):
        await room.check_out(rules, operator, poll_id, early)
    assert await Presence.count() == 1


async def test_check_out_corrects_a_check_in_but_not_after_a_paper_ballot(rules):
    poll_id, operator = await setup_poll(rules)
    wrong, voter = await shareholder(1), await shareholder(2)
    await room.check_in(rules, operator, poll_id, wrong)
    await room.check_in(rules, operator, poll_id, voter)
    french_operator = await load_member(
        await add_member("op.fr@example.org", country="FR", roles=(("operator", "FR"),))
    )
    with pytest.raises(Forbidden):
        await room.check_out(rules, french_operator, poll_id, wrong)
    assert await room.check_out(rules, operator, poll_id, wrong) is True
    assert await room.check_out(rules, operator, poll_id, wrong) is False  # already out
    await room.enter_paper_ballot(rules, operator, poll_id, voter, [1, 2])
    with pytest.raises(Conflict, match="paper ballot was entered"):
        await room.check_out(rules, operator, poll_id, voter)
    assert await counts() == (1, 1, 1)
    with pytest.raises(Conflict, match="not checked in"):
        await room.enter_paper_ballot(rules, operator, poll_id, wrong, [1, 2])


# -- paper ballots ------------------------------------------------------------------------------


async def test_a_paper_ballot_of_a_present_member_is_sealed_and_only_who_voted_says_paper(rules):
    """A paper ballot is sealed like any other: the sealed ballot has no member and no paper
    mark (it would set paper ballots apart in the published list); the participation says
    who voted, on paper, entered by which operator."""
    poll_id, operator = await setup_poll(rules)
    member = await shareholder(1)
    await room.check_in(rules, operator, poll_id, member)
    receipt = await room.enter_paper_ballot(rules, operator, poll_id, member, [3, 1])
    ballots = await SealedBallot.select()
    assert len(ballots) == 1
    ballot = ballots[0]
    assert set(ballot) == {"id", "poll", "sealed"}  # no member, no paper mark
    sealed = bytes(ballot["sealed"])
    assert receipt == ballot_box.tracker(sealed)
    box = BOXES[poll_id]
    key = ballot_box.private_key_from(box.shares, box.public_key, 1)
    assert msgspec.json.decode(ballot_box.open_sealed(key, sealed)) == [3, 1]
    participation = await Participation.select().first()
    assert participation["tracker"] == receipt
    assert (participation["member"], participation["channel"], participation["cast_by"]) == (
        member.id,
        "paper",
        operator.id,
    )


async def test_a_paper_ballot_of_an_absent_member_is_refused(rules):
    poll_id, operator = await setup_poll(rules)
    absent = await shareholder(1)
    with pytest.raises(Conflict, match="not checked in"):
        await room.enter_paper_ballot(rules, operator, poll_id, absent, [1, 2])
    assert await counts() == (0, 0, 0)


async def test_only_the_countrys_operators_enter_paper_ballots(rules):
    poll_id, operator = await setup_poll(rules)
    member = await shareholder(1)
    await room.check_in(rules, operator, poll_id, member)
    french_operator = await load_member(
        await add_member("op.fr@example.org", country="FR", roles=(("operator", "FR"),))
    )
    for not_operator in (french_operator, member):
        with pytest.raises(Forbidden):
            await room.enter_paper_ballot(rules, not_operator, poll_id, member, [1, 2])
    assert await counts() == (0, 0, 1)


@pytest.mark.parametrize(
    "channel, message",
    [
        ("online", "already voted online"),
        ("proxy", "through a proxy"),
        ("paper", "already entered"),
    ],
)
async def test_a_member_who_already_voted_gets_no_paper_ballot(rules, channel, message):
    poll_id, operator = await setup_poll(rules)
    member, holder = await shareholder(1), await shareholder(2)
    await room.check_in(rules, operator, poll_id, member)
    if channel == "online":
        await polls.cast(rules, member, poll_id, [1, 2])
    elif channel == "proxy":
        await proxy(poll_id, member, holder)
        await polls.cast(rules, member, poll_id, [1, 2], channel="proxy", cast_by=holder)
    else:
        await room.enter_paper_ballot(rules, operator, poll_id, member, [1, 2])
    before = (await SealedBallot.select(), await Participation.select(), await counts())
    with pytest.raises(Conflict, match=message):
        await room.enter_paper_ballot(rules, operator, poll_id, member, [4, 3])
    assert (await SealedBallot.select(), await Participation.select(), await counts()) == before
    assert (await Participation.select(Participation.channel).first())["channel"] == channel


async def test_a_paper_ballot_on_a_closed_poll_is_refused(rules):
    poll_id, operator = await setup_poll(rules)
    member = await shareholder(1)
    await room.check_in(rules, operator, poll_id, member)
    await polls.close_poll(rules, operator, poll_id)
    with pytest.raises(Conflict, match="not open"):
        await room.enter_paper_ballot(rules, operator, poll_id, member, [1, 2])
    assert await counts() == (0, 0, 1)


async def test_paper_ballots_racing_the_close_count_only_if_committed_before_it(rules):
    poll_id, operator = await setup_poll(rules)
    members = [await shareholder(n) for n in range(60)]
    for member in members:
        await room.check_in(rules, operator, poll_id, member)

    async def enter(n, member):
        await asyncio.sleep(n * 0.01)  # staggered, so the close lands among them
        try:
            await room.enter_paper_ballot(rules, operator, poll_id, member, [2, 1])
            return True
        except Conflict as exc:
            assert "not open" in exc.message  # refused only because the poll closed
            return False

    async def close():
        await asyncio.sleep(30 * 0.01)
        await polls.close_poll(rules, operator, poll_id)

    results = await asyncio.gather(*(enter(n, m) for n, m in enumerate(members)), close())
    results = results[:-1]
    accepted = sum(r is True for r in results)
    # Every accepted paper ballot has its participation; a refused one left nothing behind.
    assert await SealedBallot.count() == await Participation.count() == accepted
    paper = await Participation.count().where(Participation.channel == "paper")
    assert paper == accepted
    refused = [m for m, r in zip(members, results, strict=True) if r is False]
    for member in refused:  # after the close, nobody gets in any more
        with pytest.raises(Conflict, match="not open"):
            await room.enter_paper_ballot(rules, operator, poll_id, member, [1, 2])
    assert await SealedBallot.count() == accepted
    await count(poll_id)  # the tellers' count opens exactly the accepted ballots
    assert await polls.clear_ballots_of(poll_id) == [[2, 1]] * accepted
    assert len(await polls.trackers_of(poll_id)) == accepted
    assert (await room.turnout(poll_id)).paper == accepted


async def test_a_check_out_racing_a_paper_ballot_never_leaves_a_ballot_of_someone_absent(rules):
    poll_id, operator = await setup_poll(rules)
    members = [await shareholder(n) for n in range(30)]
    for member in members:
        await room.check_in(rules, operator, poll_id, member)

    async def attempt(call):
        try:
            await call
        except Conflict:
            pass

    await asyncio.gather(
        *(
            attempt(call)
            for m in members
            for call in (
                room.enter_paper_ballot(rules, operator, poll_id, m, [1, 2]),
                room.check_out(rules, operator, poll_id, m),
            )
        )
    )
    voted = {r["member"] for r in await Participation.select(Participation.member)}
    present = {r["member"] for r in await Presence.select(Presence.member)}
    assert voted <= present  # every paper ballot's member is still on the attendance list
    assert await SealedBallot.count() == len(voted)


# -- turnout and quorum -------------------------------------------------------------------------


def test_turnout_holds_numbers_only_never_a_choice():
    assert room.Turnout.__struct_fields__ == (
        "eligible",
        "online",
        "paper",
        "proxy",
        "voted",
        "present",
        "represented",
        "counted",
        "quorum",
        "quorum_reached",
    )
    annotations = {f: room.Turnout.__annotations__[f] for f in room.Turnout.__struct_fields__}
    assert set(annotations.values()) <= {"int", "int | None", "bool"}


async def test_turnout_of_a_room_with_every_channel_matches_a_hand_count(rules):
    poll_id, operator = await setup_poll(rules)  # board and operator: 2 BE shareholders
    v = [await shareholder(n) for n in range(12)]  # 12 more BE shareholders
    await shareholder(100, "FR")  # another country's shareholder: not eligible here
    await add_member("not.shareholder@example.org", shareholder=False)
    for member in (v[0], v[1], v[2]):
        await polls.cast(rules, member, poll_id, [1, 2])  # online
    for member in (v[2], v[3], v[4], v[5], v[6], v[10]):
        await room.check_in(rules, operator, poll_id, member)  # v2 voted online, then came
    for member in (v[3], v[4]):
        await room.enter_paper_ballot(rules, operator, poll_id, member, [2, 3])
    await proxy(poll_id, v[7], v[5])  # holder present, not voted yet
    await proxy(poll_id, v[8], v[6])  # used by the holder:
    await polls.cast(rules, v[8], poll_id, [4], channel="proxy", cast_by=v[6])
    await proxy(poll_id, v[9], v[1], revoked=True)  # revoked: v9 is not represented
    await proxy(poll_id, v[10], v[0])  # v10 gave a proxy and came in person anyway
    # v11 did nothing.
    # counted = present {2,3,4,5,6,10} + represented {7,8,10} + voted {0,1,2,3,4,8}
    #         = {0,1,2,3,4,5,6,7,8,10}
    turnout = await room.turnout(poll_id)
    assert turnout == room.Turnout(
        eligible=14,
        online=3,
        paper=2,
        proxy=1,
        voted=6,
        present=6,
        represented=3,
        counted=10,
        quorum=None,
        quorum_reached=True,  # no quorum asked
    )
    for quorum, reached in ((10, True), (11, False)):
        await Poll.update({Poll.quorum: quorum}).where(Poll.id == poll_id)
        turnout = await room.turnout(poll_id)
        assert (turnout.quorum, turnout.quorum_reached) == (quorum, reached)


async def test_the_quorum_is_reached_exactly_when_distinct_members_reach_it(rules):
    poll_id, operator = await setup_poll(rules)
    await Poll.update({Poll.quorum: 4}).where(Poll.id == poll_id)
    a, b, c, d, e = [await shareholder(n) for n in range(5)]

    async def state() -> tuple[int, bool]:
        turnout = await room.turnout(poll_id)
        return turnout.counted, turnout.quorum_reached

    assert await state() == (0, False)
    await polls.cast(rules, a, poll_id, [1])  # online
    assert await state() == (1, False)
    await room.check_in(rules, operator, poll_id, a)  # the same member, now present
    assert await state() == (1, False)
    await room.check_in(rules, operator, poll_id, b)
    await room.enter_paper_ballot(rules, operator, poll_id, b, [2])  # present and on paper
    assert await state() == (2, False)
    await proxy(poll_id, c, b)  # represented by b
    assert await state() == (3, False)
    await polls.cast(rules, c, poll_id, [3], channel="proxy", cast_by=b)  # c is still one
    assert await state() == (3, False)
    await proxy(poll_id, d, a, revoked=True)  # a revoked proxy represents nobody
    assert await state() == (3, False)
    await room.check_in(rules, operator, poll_id, e)
    assert await state() == (4, True)  # the fourth distinct member reaches the quorum
    await room.check_out(rules, operator, poll_id, e)
    assert await state() == (3, False)
