"""Proxies: a shareholder gives their vote to another shareholder of the same country.

These run on SQLite and PostgreSQL. The races (grants to one holder, a revoke against a proxy
vote) are fired at once on one event loop, so the database's locks and unique indexes decide.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from msgspec.structs import replace

from core import clock, hookimpl
from core.config import Country
from core.editions import services as editions
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.i18n import current_language
from core.members.services import load_member
from core.plugins import build_registry
from core.polls import ballot_box, proxies
from core.polls import services as polls
from core.polls.tables import Participation, Poll, Proxy, SealedBallot
from core.rules import Rules
from core.themes import services as themes
from tests.conftest import add_member, make_settings
from tests.poll_support import (
    name_tellers,
    voters_added_after_opening,  # noqa: F401 (the fixture)
)


@pytest.fixture
def rules(pooled):
    return Rules(build_registry(pooled), pooled)


def rules_with_limit(settings, limit: int) -> Rules:
    class Limit:
        @hookimpl
        def proxy_limit(self, poll, country):
            return limit

    settings = replace(
        settings,
        countries={
            "BE": Country(name="Belgium", plugins=["limit"]),
            "FR": Country(name="France", plugins=[]),
        },
    )
    return Rules(build_registry(settings, extra={"limit": Limit()}), settings)


async def make_poll(rules, country: str = "BE", opens_in: timedelta = timedelta(hours=1)):
    """A draft poll of ``country`` that opens in ``opens_in`` and closes two hours later."""
    edition_id = await editions.create_edition("2020-2021")
    board = await load_member(await add_member("board@example.org", roles=(("board", ""),)))
    for title in ("Accompaniment", "New prospects", "Gender equality"):
        await themes.add_board_theme(
            rules, board, edition_id, ["BE", "FR"], themes.ThemeTextIn(title=title, language="en")
        )
    operator = await load_member(
        await add_member(
            f"op@{country.lower()}.example.org", country=country, roles=(("operator", country),)
        )
    )
    now = clock.now()
    poll_id = await polls.create_poll(
        rules,
        operator,
        edition_id,
        country,
        "approval",
        2,
        now + opens_in,
        now + opens_in + timedelta(hours=2),
    )
    return poll_id, operator


async def start_agm(rules, poll_id: int, operator) -> None:
    """Name its teller, open the poll and move its opening into the past: ballots are taken
    from now on."""
    await name_tellers(rules, operator, poll_id)
    await polls.open_poll(rules, operator, poll_id)
    await Poll.update({Poll.opens_at: clock.now() - timedelta(minutes=1)}).where(Poll.id == poll_id)


async def member(name: str, country: str = "BE", shareholder: bool = True):
    return await load_member(
        await add_member(
            f"{name}@{country.lower()}.example.org",
            name=name.capitalize(),
            country=country,
            shareholder=shareholder,
        )
    )


async def snapshot() -> tuple:
    """Everything a refused request must leave as it was."""
    return (
        await Proxy.select().order_by(Proxy.id),
        await Participation.select().order_by(Participation.id),
        await SealedBallot.count(),
    )


# -- giving, revoking, using ------------------------------------------------------------------


async def test_a_shareholder_gives_a_proxy_revokes_it_and_gives_another(rules):
    poll_id, _op = await make_poll(rules)
    alice, bob, carol = await member("alice"), await member("bob"), await member("carol")

    proxy_id = await proxies.grant_proxy(rules, alice, poll_id, " Bob@BE.example.org ")
    given = await proxies.proxy_given(alice, poll_id)
    assert given is not None
    assert (given.id, given.holder_id, given.holder_name, given.paper) == (
        proxy_id,
        bob.id,
        "Bob",
        False,
    )
    assert not given.voted and not given.used
    assert [p.grantor_name for p in await proxies.proxies_held(bob, poll_id)] == ["Alice"]

    await proxies.revoke_proxy(rules, alice, poll_id)
    assert await proxies.proxy_given(alice, poll_id) is None
    assert await proxies.proxies_held(bob, poll_id) == []
    with pytest.raises(NotFound, match="no proxy"):
        await proxies.revoke_proxy(rules, alice, poll_id)

    # A member number works too, read as in the AGM room (a text is never an id).
    await proxies.grant_proxy(rules, alice, poll_id, carol.member_number)
    assert (await proxies.proxy_given(alice, poll_id)).holder_id == carol.id
    rows = await Proxy.select().order_by(Proxy.id)
    assert [(r["holder"], r["revoked_at"] is None) for r in rows] == [
        (bob.id, False),  # the revoked proxy keeps its row
        (carol.id, True),
    ]


async def test_the_holder_casts_a_separate_secret_ballot_for_the_grantor(rules):
    poll_id, operator = await make_poll(rules)
    alice, bob = await member("alice"), await member("bob")
    await proxies.grant_proxy(rules, alice, poll_id, bob.id)
    await start_agm(rules, poll_id, operator)

    receipt = await proxies.cast_as_proxy(rules, bob, poll_id, alice.id, [1])
    await polls.cast(rules, bob, poll_id, [2, 3])  # the holder's own vote is separate
    assert len(receipt) >= 20

    votes = {
        p["member"]: (p["channel"], p["cast_by"])
        for p in await Participation.select().where(Participation.poll == poll_id)
    }
    assert votes == {alice.id: ("proxy", bob.id), bob.id: ("online", None)}
    ballots = await SealedBallot.select()
    assert len(ballots) == 2
    assert set(ballots[0]) == {"id", "poll", "sealed"}  # no member, holder or channel
    assert receipt in {ballot_box.tracker(bytes(b["sealed"])) for b in ballots}
    granted = await Participation.select().where(Participation.member == alice.id).first()
    assert granted["tracker"] == receipt  # the receipt goes with the grantor's participation

    [held] = await proxies.proxies_held(bob, poll_id)
    assert held.voted and held.used


async def test_the_limit_comes_from_the_hook_and_over_it_is_refused(rules, pooled):
    poll_id, _op = await make_poll(rules)
    holder = await member("holder")
    first, second = await member("first"), await member("second")
    await proxies.grant_proxy(rules, first, poll_id, holder.id)
    before = await snapshot()
    with pytest.raises(Conflict, match="already holds 1 proxy in this poll"):
        await proxies.grant_proxy(rules, second, poll_id, holder.id)
    assert await snapshot() == before

    three = rules_with_limit(pooled, 3)
    assert three.proxy_limit(await polls.get_poll(poll_id)) == 3
    await proxies.grant_proxy(three, second, poll_id, holder.id)
    await proxies.grant_proxy(three, await member("third"), poll_id, holder.id)
    with pytest.raises(Conflict, match="already holds 3 proxies"):
        await proxies.grant_proxy(three, await member("fourth"), poll_id, holder.id)
    assert len(await proxies.proxies_held(holder, poll_id)) == 3

    none = rules_with_limit(pooled, 0)
    with pytest.raises(Conflict, match="takes no proxies"):
        await proxies.grant_proxy(none, await member("fifth"), poll_id, await member("other"))
    assert proxies.rules_text(none, await polls.get_poll(poll_id)) == [
        "This poll takes no proxies."
    ]


async def test_who_may_give_and_who_may_hold(rules):
    poll_id, _op = await make_poll(rules)
    alice = await member("alice")
    french = await member("pierre", "FR")
    not_shareholder = await member("nina", shareholder=False)
    before = await snapshot()

    with pytest.raises(InvalidInput, match="to yourself"):
        await proxies.grant_proxy(rules, alice, poll_id, alice.id)
    for holder in (french.id, not_shareholder.id, "nobody@be.example.org", 10**12, "x", ""):
        with pytest.raises(InvalidInput, match="not a shareholder of BE") as refused:
            await proxies.grant_proxy(rules, alice, poll_id, holder)
    # An unknown address and a non-shareholder get the same answer, naming what was typed.
    assert "nobody@be.example.org" not in str(refused.value)
    for grantor in (french, not_shareholder):
        with pytest.raises(Forbidden, match="Only shareholders of BE"):
            await proxies.grant_proxy(rules, grantor, poll_id, alice.id)
    with pytest.raises(NotFound):
        await proxies.grant_proxy(rules, alice, 10**12, await member("bob"))
    assert await snapshot() == before


async def test_one_active_proxy_per_grantor_and_no_chains(rules):
    poll_id, _op = await make_poll(rules)
    alice, bob, carol, dave = [await member(n) for n in ("alice", "bob", "carol", "dave")]
    await proxies.grant_proxy(rules, alice, poll_id, bob.id)
    before = await snapshot()
    with pytest.raises(Conflict, match="already given a proxy to Bob"):
        await proxies.grant_proxy(rules, alice, poll_id, carol.id)
    with pytest.raises(Conflict, match="hold proxies of other shareholders"):
        await proxies.grant_proxy(rules, bob, poll_id, carol.id)  # a holder gives none
    with pytest.raises(Conflict, match="Alice has given their own vote by proxy"):
        await proxies.grant_proxy(rules, dave, poll_id, alice.id)  # a grantor holds none
    assert await snapshot() == before


async def test_after_opening_online_grants_stop_and_operators_record_paper_proxies(rules):
    # Open but before its opening time: still the online window.
    poll_id, operator = await make_poll(rules)
    await name_tellers(rules, operator, poll_id)
    await polls.open_poll(rules, operator, poll_id)
    alice, bob, carol, dave = [await member(n) for n in ("alice", "bob", "carol", "dave")]
    await proxies.grant_proxy(rules, alice, poll_id, bob.id)

    await Poll.update({Poll.opens_at: clock.now() - timedelta(minutes=1)}).where(Poll.id == poll_id)
    before = await snapshot()
    with pytest.raises(Conflict, match="has opened"):
        await proxies.grant_proxy(rules, carol, poll_id, dave.id)
    french_operator = await load_member(
        await add_member("op@fr.example.org", country="FR", roles=(("operator", "FR"),))
    )
    for not_ours in (french_operator, dave):
        with pytest.raises(Forbidden, match="Only operators of BE"):
            await proxies.record_paper_proxy(rules, not_ours, poll_id, carol.id, dave.id)
    with pytest.raises(InvalidInput, match="two different shareholders"):
        await proxies.record_paper_proxy(rules, operator, poll_id, carol, carol)
    nina = await member("nina", shareholder=False)
    with pytest.raises(InvalidInput, match="Nina is not a shareholder of BE"):
        await proxies.record_paper_proxy(rules, operator, poll_id, nina, dave)
    assert await snapshot() == before

    await proxies.record_paper_proxy(rules, operator, poll_id, "carol@be.example.org", dave.id)
    given = await proxies.proxy_given(carol, poll_id)
    assert given.paper and given.holder_id == dave.id
    row = await Proxy.select(Proxy.recorded_by).where(Proxy.id == given.id).first()
    assert row["recorded_by"] == operator.id
    receipt = await proxies.cast_as_proxy(rules, dave, poll_id, carol.id, [3])
    assert receipt

    await polls.close_poll(rules, operator, poll_id)
    before = await snapshot()
    with pytest.raises(Conflict, match="closed"):
        await proxies.record_paper_proxy(rules, operator, poll_id, await member("erin"), dave)
    with pytest.raises(Conflict, match="closed"):
        await proxies.revoke_proxy(rules, alice, poll_id)
    with pytest.raises(Conflict, match="not open"):
        await proxies.cast_as_proxy(rules, bob, poll_id, alice.id, [1])
    assert await snapshot() == before


async def test_one_vote_whoever_casts_it_first(rules):
    poll_id, operator = await make_poll(rules)
    alice, bob, carol, dave = [await member(n) for n in ("alice", "bob", "carol", "dave")]
    await proxies.grant_proxy(rules, alice, poll_id, bob.id)
    await proxies.grant_proxy(rules, carol, poll_id, dave.id)
    await start_agm(rules, poll_id, operator)

    # The holder votes first: the grantor's own vote is refused.
    await proxies.cast_as_proxy(rules, bob, poll_id, alice.id, [1])
    before = await snapshot()
    with pytest.raises(Conflict, match="already cast"):
        await polls.cast(rules, alice, poll_id, [2])
    with pytest.raises(Conflict, match="already cast"):
        await proxies.cast_as_proxy(rules, bob, poll_id, alice.id, [2])  # and only once
    with pytest.raises(Conflict, match="Bob has already voted for you"):
        await proxies.revoke_proxy(rules, alice, poll_id)
    assert await snapshot() == before

    # The grantor votes first: the proxy can no longer be used, nor revoked.
    await polls.cast(rules, carol, poll_id, [2])
    before = await snapshot()
    with pytest.raises(Conflict, match="already cast"):
        await proxies.cast_as_proxy(rules, dave, poll_id, carol.id, [1])
    with pytest.raises(Conflict, match="Your vote in this poll is already cast"):
        await proxies.revoke_proxy(rules, carol, poll_id)
    [held] = await proxies.proxies_held(dave, poll_id)
    assert held.voted and not held.used
    # A grantor who voted gives no proxy, not even on paper.
    with pytest.raises(Conflict, match="Carol has already voted"):
        await proxies.record_paper_proxy(rules, operator, poll_id, carol, await member("erin"))
    assert await snapshot() == before


async def test_only_the_holder_of_an_active_proxy_votes_with_it(rules):
    poll_id, operator = await make_poll(rules)
    alice, bob, carol = [await member(n) for n in ("alice", "bob", "carol")]
    await proxies.grant_proxy(rules, alice, poll_id, bob.id)
    await start_agm(rules, poll_id, operator)
    before = await snapshot()
    for holder, grantor_id in ((carol, alice.id), (bob, carol.id), (bob, bob.id), (bob, 10**12)):
        with pytest.raises(Forbidden, match="no active proxy"):
            await proxies.cast_as_proxy(rules, holder, poll_id, grantor_id, [1])
    await proxies.revoke_proxy(rules, alice, poll_id)  # the grantor comes to the AGM herself
    with pytest.raises(Forbidden, match="no active proxy"):
        await proxies.cast_as_proxy(rules, bob, poll_id, alice.id, [1])
    assert (await snapshot())[1:] == before[1:]
    await polls.cast(rules, alice, poll_id, [1])
    assert await Participation.count() == 1


def test_rules_text_says_the_limit_the_deadline_and_revoking(tmp_path):
    from datetime import UTC, datetime

    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'unused.sqlite3'}")
    rules = Rules(build_registry(settings), settings)
    poll = polls.PollInfo(
        id=1,
        edition_id=1,
        country="BE",
        method="approval",
        seats=2,
        opens_at=datetime(2021, 6, 12, 8, 0, tzinfo=UTC),
        closes_at=datetime(2021, 6, 12, 12, 30, tzinfo=UTC),
        quorum=None,
        state="draft",
        candidates=[],
    )
    text = " ".join(proxies.rules_text(rules, poll))
    assert "at most 1 proxy." in text
    # In the poll's country's time (Brussels, summer: UTC+2), the reader's way.
    assert "until the poll opens (Saturday 12 June 2021, 10:00)" in text
    assert "until the poll closes (Saturday 12 June 2021, 14:30)" in text
    assert "shareholder of Belgium" in text
    assert "revoke your proxy until your holder has used it" in text
    token = current_language.set("fr")
    try:
        french = " ".join(proxies.rules_text(rules, poll))
    finally:
        current_language.reset(token)
    assert "procuration" in french and "samedi 12 juin 2021, 10:00" in french


# -- races ------------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 3])
async def test_concurrent_grants_to_one_holder_never_exceed_the_limit(pooled, limit):
    rules = rules_with_limit(pooled, limit)
    poll_id, _op = await make_poll(rules)
    holder = await member("holder")
    grantors = [await member(f"grantor{n}") for n in range(40)]

    async def grant(grantor):
        try:
            await proxies.grant_proxy(rules, grantor, poll_id, holder.id)
            return True
        except Conflict:
            return False

    results = await asyncio.gather(*(grant(g) for g in grantors))
    assert sum(results) == limit
    assert await Proxy.count().where(Proxy.holder == holder.id) == limit
    assert len(await proxies.proxies_held(holder, poll_id)) == limit


async def test_one_grantor_granting_to_many_at_once_keeps_one_active_proxy(rules):
    poll_id, _op = await make_poll(rules)
    grantor = await member("grantor")
    holders = [await member(f"holder{n}") for n in range(20)]

    async def grant(holder):
        try:
            await proxies.grant_proxy(rules, grantor, poll_id, holder.id)
            return True
        except Conflict:
            return False

    results = await asyncio.gather(*(grant(h) for h in holders))
    assert sum(results) == 1
    assert await Proxy.count() == 1


async def test_two_shareholders_granting_each_other_at_once_make_no_chain(rules):
    poll_id, _op = await make_poll(rules)
    pairs = [(await member(f"a{n}"), await member(f"b{n}")) for n in range(20)]

    async def grant(grantor, holder):
        try:
            await proxies.grant_proxy(rules, grantor, poll_id, holder.id)
            return True
        except Conflict:
            return False

    results = await asyncio.gather(*(grant(x, y) for a, b in pairs for x, y in ((a, b), (b, a))))
    assert sum(results) == len(pairs)  # one of each pair: nobody both gives and holds
    rows = await Proxy.select(Proxy.grantor, Proxy.holder)
    assert not {r["grantor"] for r in rows} & {r["holder"] for r in rows}


async def test_a_revoke_racing_a_proxy_vote_has_exactly_one_winner(rules):
    poll_id, operator = await make_poll(rules)
    pairs = [(await member(f"grantor{n}"), await member(f"holder{n}")) for n in range(40)]
    for grantor, holder in pairs:
        await proxies.grant_proxy(rules, grantor, poll_id, holder.id)
    await start_agm(rules, poll_id, operator)

    async def attempt(call, delay: float):
        await asyncio.sleep(delay)
        try:
            await call
            return True
        except (Conflict, Forbidden):
            return False

    outcomes = []
    for n, (grantor, holder) in enumerate(pairs):
        # The revoke starts a little later each round, so that it meets the vote at every
        # point of its way: before, inside and after the vote's transaction.
        voted, revoked = await asyncio.gather(
            attempt(proxies.cast_as_proxy(rules, holder, poll_id, grantor.id, [1]), 0),
            attempt(proxies.revoke_proxy(rules, grantor, poll_id), n * 0.0003),
        )
        assert voted != revoked, "exactly one of the vote and the revoke wins"
        outcomes.append(voted)

        proxy = await Proxy.select().where(Proxy.grantor == grantor.id).first()
        participation = (
            await Participation.select().where(Participation.member == grantor.id).first()
        )
        if voted:  # a proxy participation, and the proxy still active
            assert proxy["revoked_at"] is None
            assert (participation["channel"], participation["cast_by"]) == ("proxy", holder.id)
        else:  # no participation, and the proxy revoked
            assert proxy["revoked_at"] is not None
            assert participation is None
    assert await SealedBallot.count() == await Participation.count() == sum(outcomes)


async def test_many_proxy_votes_for_one_grantor_at_once_store_one_ballot(rules):
    poll_id, operator = await make_poll(rules)
    grantor, holder = await member("grantor"), await member("holder")
    await proxies.grant_proxy(rules, grantor, poll_id, holder.id)
    await start_agm(rules, poll_id, operator)

    async def vote(own: bool):
        try:
            if own:
                return await polls.cast(rules, grantor, poll_id, [2])
            return await proxies.cast_as_proxy(rules, holder, poll_id, grantor.id, [1])
        except Conflict:
            return None

    receipts = await asyncio.gather(*(vote(n % 5 == 0) for n in range(50)))
    assert sum(r is not None for r in receipts) == 1
    assert await SealedBallot.count() == await Participation.count() == 1
