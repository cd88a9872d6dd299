"""AGM polls: one member one vote, secret ballots, receipts, closed is closed, recount.

These run on SQLite and PostgreSQL; the concurrency tests fire many submits at once on one
event loop, so the database (its unique index and its locks) decides, not the Python code.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

import msgspec
import pytest

from core import clock
from core.editions import services as editions
from core.errors import Conflict, Forbidden, InvalidInput
from core.members.services import load_member
from core.plugins import build_registry
from core.polls import ballot_box
from core.polls import services as polls
from core.polls.tables import ClearBallot, Participation, Poll, SealedBallot
from core.rules import Rules
from core.themes import services as themes
from core.themes.tables import Theme
from core.voting import voting_method
from tests.conftest import add_member
from tests.poll_support import (
    Box,
    open_box,
    voters_added_after_opening,  # noqa: F401 (the fixture)
)

CANDIDATES = ("Accompaniment", "New prospects", "Gender equality", "Sharing economy")


@pytest.fixture
def rules(pooled):
    return Rules(build_registry(pooled), pooled)


async def setup_poll(rules, method="schulze", seats=2, country="BE") -> tuple[int, object]:
    edition_id = await editions.create_edition("2020-2021")
    board = await load_member(await add_member("board@example.org", roles=(("board", ""),)))
    for title in CANDIDATES:
        await themes.add_board_theme(
            rules, board, edition_id, ["BE", "FR"], themes.ThemeTextIn(title=title, language="en")
        )
    extended = await themes.add_board_theme(
        rules, board, edition_id, ["BE"], themes.ThemeTextIn(title="Extended one", language="en")
    )
    await Theme.update({Theme.origin: "extended"}).where(Theme.id == extended)
    operator = await load_member(
        await add_member(
            f"op.{country}@example.org", country=country, roles=(("operator", country),)
        )
    )
    now = clock.now()
    poll_id = await polls.create_poll(
        rules,
        operator,
        edition_id,
        country,
        method,
        seats,
        now - timedelta(hours=1),
        now + timedelta(hours=1),
    )
    BOXES[poll_id] = await open_box(rules, operator, poll_id)
    return poll_id, operator


BOXES: dict[int, Box] = {}


async def count(poll_id: int):
    return await BOXES[poll_id].count()


async def shareholder(n: int, country: str = "BE"):
    return await load_member(await add_member(f"voter{n}.{country}@example.org", country=country))


async def test_the_ballot_lists_the_accepted_themes_in_a_random_order(rules):
    poll_id, _ = await setup_poll(rules)
    poll = await polls.get_poll(poll_id)
    assert [n for n, _t in poll.candidates] == [1, 2, 3, 4]  # extended themes are not voted on
    titles = set()
    for _n, theme_id in poll.candidates:
        row = await Theme.select(Theme.origin).where(Theme.id == theme_id).first()
        assert row["origin"] == "board"
        titles.add(theme_id)
    assert len(titles) == 4


async def test_a_vote_stores_who_voted_and_a_sealed_ballot_and_returns_its_tracker(rules):
    poll_id, _ = await setup_poll(rules)
    voter = await shareholder(1)
    receipt = await polls.cast(rules, voter, poll_id, [3, 1, 2])
    participation = await Participation.select().first()
    assert (participation["member"], participation["channel"]) == (voter.id, "online")
    sealed = bytes((await SealedBallot.select().first())["sealed"])
    # The receipt is the tracker of the sealed ballot; the clear choice is stored nowhere.
    assert receipt == participation["tracker"] == hashlib.sha256(sealed).hexdigest()
    assert b"[3,1,2]" not in sealed and await ClearBallot.count() == 0
    # Only the tellers' key opens it.
    assert BOXES[poll_id].shares
    key = ballot_box.private_key_from(BOXES[poll_id].shares, BOXES[poll_id].public_key, 1)
    assert msgspec.json.decode(ballot_box.open_sealed(key, sealed)) == [3, 1, 2]


async def test_every_sealed_ballot_of_a_poll_has_one_length_whatever_it_says(rules):
    poll_id, _ = await setup_poll(rules, method="approval", seats=2)
    for n, ticks in enumerate([[1], [1, 2, 3, 4], [2, 4]]):
        await polls.cast(rules, await shareholder(n), poll_id, ticks)
    lengths = {len(bytes(r["sealed"])) for r in await SealedBallot.select(SealedBallot.sealed)}
    assert len(lengths) == 1


def test_the_clear_ballot_table_cannot_identify_a_voter():
    """Adding a member, session, address, tracker or timestamp to a clear ballot fails here."""
    columns = {c._meta.name: type(c).__name__ for c in ClearBallot._meta.columns}
    assert columns == {
        "id": "Serial",  # written at the count, in the shuffled order
        "poll": "ForeignKey",
        "position": "Integer",
        "choice": "Text",
    }
    sealed = {c._meta.name: type(c).__name__ for c in SealedBallot._meta.columns}
    assert sealed == {"id": "Serial", "poll": "ForeignKey", "sealed": "Bytea"}


async def test_a_second_ballot_of_the_same_member_is_refused_and_changes_nothing(rules):
    poll_id, _ = await setup_poll(rules)
    voter = await shareholder(1)
    await polls.cast(rules, voter, poll_id, [1, 2])
    with pytest.raises(Conflict, match="already cast"):
        await polls.cast(rules, voter, poll_id, [2, 1])
    assert await SealedBallot.count() == 1 and await Participation.count() == 1


async def test_200_concurrent_submits_of_one_members_ballot_store_exactly_one(rules):
    poll_id, _ = await setup_poll(rules)
    voter = await shareholder(1)

    async def submit():
        try:
            return await polls.cast(rules, voter, poll_id, [1, 2, 3])
        except Conflict:
            return None

    receipts = await asyncio.gather(*(submit() for _ in range(200)))
    assert sum(r is not None for r in receipts) == 1
    assert await SealedBallot.count() == 1 and await Participation.count() == 1


async def test_500_members_voting_concurrently_store_500_ballots(rules):
    poll_id, _ = await setup_poll(rules, method="approval", seats=2)
    voters = [await shareholder(n) for n in range(500)]
    receipts = await asyncio.gather(
        *(polls.cast(rules, v, poll_id, [1 + n % 4]) for n, v in enumerate(voters))
    )
    assert len(set(receipts)) == 500
    assert await SealedBallot.count() == 500 and await Participation.count() == 500


async def test_closing_while_votes_race_never_accepts_a_ballot_after_close(rules):
    poll_id, operator = await setup_poll(rules)
    voters = [await shareholder(n) for n in range(60)]

    async def vote(v):
        try:
            await polls.cast(rules, v, poll_id, [2, 1])
            return True
        except Conflict:
            return False

    results = await asyncio.gather(
        *(vote(v) for v in voters[:30]),
        polls.close_poll(rules, operator, poll_id),
        *(vote(v) for v in voters[30:]),
    )
    accepted = sum(r is True for r in results)
    # Every accepted ballot has its participation, and none came in after the close.
    assert await SealedBallot.count() == await Participation.count() == accepted
    late = await shareholder(999)
    with pytest.raises(Conflict, match="not open"):
        await polls.cast(rules, late, poll_id, [1, 2])
    first = await count(poll_id)
    second = await count(poll_id)  # finalising is idempotent
    assert first == second
    await polls.close_poll(rules, operator, poll_id)  # closing again changes nothing
    assert (await polls.get_poll(poll_id)).state == "published"


async def test_anyone_can_recount_the_published_list(rules):
    poll_id, operator = await setup_poll(rules)
    receipts = []
    for n, ranking in enumerate([[1, 2, 3, 4], [2, 1], [2, 3, 1], [4], [2, 4, 1, 3]]):
        receipts.append(await polls.cast(rules, await shareholder(n), poll_id, ranking))
    await polls.close_poll(rules, operator, poll_id)
    result = await count(poll_id)
    listed = await polls.clear_ballots_of(poll_id)
    assert sorted(map(str, listed)) == sorted(
        map(str, [[1, 2, 3, 4], [2, 1], [2, 3, 1], [4], [2, 4, 1, 3]])
    )
    trackers = await polls.trackers_of(poll_id)
    assert trackers == sorted(receipts)
    for receipt in receipts:
        assert await polls.tracker_is_listed(poll_id, receipt)
    assert not await polls.tracker_is_listed(poll_id, "not-a-receipt")
    # An independent count of the published list gives the announced winners.
    method = voting_method(build_registry(rules.settings), "schulze")
    recount = method.tally([polls._freeze(b) for b in listed], [1, 2, 3, 4], 2)
    assert recount.winners == result.winners


async def test_who_may_vote_and_what_a_ballot_may_say(rules):
    poll_id, _ = await setup_poll(rules, method="plurality", seats=2)
    not_shareholder = await load_member(await add_member("member@example.org", shareholder=False))
    french = await shareholder(1, "FR")
    for outsider in (not_shareholder, french):
        with pytest.raises(Forbidden):
            await polls.cast(rules, outsider, poll_id, [1])
    voter = await shareholder(2)
    for bad in ([9], [1, 1], [1, 2, 3], "1"):  # unknown, duplicate, too many, not a list
        with pytest.raises(InvalidInput):
            await polls.cast(rules, voter, poll_id, bad)
    assert await SealedBallot.count() == 0 and await Participation.count() == 0


async def test_a_draft_or_closed_poll_takes_no_ballot(rules):
    poll_id, operator = await setup_poll(rules)
    await Poll.update({Poll.state: "draft"}).where(Poll.id == poll_id)
    voter = await shareholder(1)
    with pytest.raises(Conflict, match="not open"):
        await polls.cast(rules, voter, poll_id, [1])
    await polls.close_poll(rules, operator, poll_id)
    with pytest.raises(Conflict, match="not open"):
        await polls.cast(rules, voter, poll_id, [1])
    assert await SealedBallot.count() == 0


async def test_only_the_countrys_operators_run_its_poll(rules):
    poll_id, _ = await setup_poll(rules)
    other = await load_member(await add_member("op.fr@example.org", roles=(("operator", "FR"),)))
    with pytest.raises(Forbidden):
        await polls.close_poll(rules, other, poll_id)
    assert (await polls.get_poll(poll_id)).state == "open"
