"""The sealed ballot box without HTTP: tellers and their shares, the count and its refusals,
the key that is never written, the shuffle, and the candidates' frozen wording."""

from __future__ import annotations

import itertools
import logging
import random
import statistics
from datetime import timedelta

import msgspec
import pytest

from core import clock
from core.audit.tables import AuditEntry
from core.config import PROJECT_ROOT
from core.editions import services as editions
from core.errors import Conflict, Forbidden, InvalidInput
from core.members.services import load_member
from core.plugins import build_registry
from core.polls import ballot_box, export
from core.polls import services as polls
from core.polls.tables import ClearBallot, Participation, Poll, SealedBallot
from core.rules import Rules
from core.themes import services as themes
from tests.conftest import add_member
from tests.poll_support import (
    make_tellers,
    name_tellers,
    open_box,
    open_with_tellers,
    voters_added_after_opening,  # noqa: F401 (the fixture)
)
from tests.secrecy_support import found_in, raw_files, table_dump

CANDIDATES = 6
RANKINGS = list(itertools.permutations(range(1, CANDIDATES + 1)))


@pytest.fixture
def rules(pooled):
    return Rules(build_registry(pooled), pooled)


async def make_poll(rules, edition_slug: str = "2020-2021", country: str = "BE"):
    edition_id = await editions.create_edition(edition_slug)
    board = await load_member(
        await add_member(f"board.{edition_slug}@example.org", roles=(("board", ""),))
    )
    for n in range(CANDIDATES):
        await themes.add_board_theme(
            rules,
            board,
            edition_id,
            [country],
            themes.ThemeTextIn(title=f"Theme {n} of {edition_slug}", language="en"),
        )
    operator = await load_member(
        await add_member(f"op.{edition_slug}@example.org", roles=(("operator", country),))
    )
    now = clock.now()
    poll_id = await polls.create_poll(
        rules,
        operator,
        edition_id,
        country,
        "schulze",
        2,
        now - timedelta(minutes=5),
        now + timedelta(hours=1),
    )
    return poll_id, operator, board


async def vote_all(rules, poll_id: int, ballots: list[list[int]], tag: str) -> list[str]:
    receipts = []
    for n, ballot in enumerate(ballots):
        voter = await load_member(await add_member(f"v{n}.{tag}@example.org"))
        receipts.append(await polls.cast(rules, voter, poll_id, ballot))
    return receipts


async def nothing_counted(poll_id: int, ballots: int) -> None:
    assert (await polls.get_poll(poll_id)).state == "closed"
    assert await SealedBallot.count().where(SealedBallot.poll == poll_id) == ballots
    assert await ClearBallot.count().where(ClearBallot.poll == poll_id) == 0
    assert not await AuditEntry.exists().where(AuditEntry.action == "poll.count")


async def test_the_count_refuses_too_few_wrong_or_foreign_shares_and_changes_nothing(rules):
    poll_id, operator, _ = await make_poll(rules)
    box = await open_box(rules, operator, poll_id, n=3, needed=2)
    other_id, other_operator, _ = await make_poll(rules, "2021-2022")
    other = await open_box(rules, other_operator, other_id, n=3, needed=2)
    await vote_all(rules, poll_id, [[1, 2, 3], [2, 1], [3]], "a")
    await polls.close_poll(rules, operator, poll_id)
    teller = box.tellers[0]

    mistyped = box.shares[1].split()
    mistyped[7] = "zebra" if mistyped[7] != "zebra" else "academic"
    attempts = {
        "needed": [box.shares[0]],  # k - 1 shares
        "not valid": [box.shares[0], " ".join(mistyped)],  # a mistyped word
        "belong together": [box.shares[0], other.shares[1]],  # a share of another poll
        "not of this poll": other.shares[:2],  # enough shares, of another poll's box
        "twice": [box.shares[0], box.shares[0]],
    }
    for expected, shares in attempts.items():
        with pytest.raises(InvalidInput, match=expected):
            await polls.count_poll(rules, teller, poll_id, shares)
        await nothing_counted(poll_id, 3)

    # A member who is neither a teller nor an operator of the country cannot count at all.
    stranger = await load_member(await add_member("stranger@example.org"))
    with pytest.raises(Forbidden):
        await polls.count_poll(rules, stranger, poll_id, box.shares[:2])
    # An open poll is not counted, even with the right shares.
    with pytest.raises(Conflict, match="Close the poll"):
        await polls.count_poll(rules, other.tellers[0], other_id, other.shares[:2])
    await nothing_counted(poll_id, 3)

    # Any two of the three tellers count; counting again changes nothing.
    result = await polls.count_poll(rules, teller, poll_id, [box.shares[2], box.shares[0]])
    assert await polls.count_poll(rules, teller, poll_id, []) == result
    assert await ClearBallot.count().where(ClearBallot.poll == poll_id) == 3
    assert await SealedBallot.count().where(SealedBallot.poll == poll_id) == 0
    [entry] = await AuditEntry.select().where(AuditEntry.action == "poll.count")
    assert (entry["actor"], entry["role"]) == (teller.id, "teller")
    assert msgspec.json.decode(entry["details"])["ballot_count"] == 3


async def test_a_share_is_shown_once_to_its_teller_and_lost_if_the_server_restarts(rules):
    poll_id, operator, _ = await make_poll(rules)
    tellers = await name_tellers(rules, operator, poll_id, n=2, needed=2)
    outsider = (await make_tellers("BE", 1))[0]
    await polls.open_poll(rules, operator, poll_id)
    shares = await polls.tellers_of(await polls.get_poll(poll_id))
    assert [(t.collected, t.waiting) for t in shares] == [(False, True), (False, True)]
    share = await polls.collect_share(tellers[0], poll_id)
    assert len(share.share.split()) == 33 and share.tellers_needed == 2
    with pytest.raises(Conflict, match="never shown again"):
        await polls.collect_share(tellers[0], poll_id)
    with pytest.raises(Forbidden):
        await polls.collect_share(outsider, poll_id)
    poll = await polls.get_poll(poll_id)
    ballot_box.DESK.forget(poll.public_key)  # what a restart does to the shares not collected
    with pytest.raises(Conflict, match="server restarted"):
        await polls.collect_share(tellers[1], poll_id)
    states = [(t.collected, t.waiting) for t in await polls.tellers_of(poll)]
    assert sorted(states) == [(False, False), (True, False)]


async def test_tellers_are_members_with_the_teller_role_named_while_the_poll_is_a_draft(rules):
    poll_id, operator, _ = await make_poll(rules)
    (french,) = await make_tellers("FR", 1)
    plain = await add_member("plain@example.org")
    belgians = await make_tellers("BE", 2)
    for ids, needed, message in (
        ([], 1, "at least one teller"),
        ([french.id], 1, "teller role of BE"),
        ([plain], 1, "teller role of BE"),
        ([belgians[0].id], 2, "Between 1 and 1"),
        ([b.id for b in belgians], 0, "Between 1 and 2"),
    ):
        with pytest.raises(InvalidInput, match=message):
            await polls.set_tellers(rules, operator, poll_id, ids, needed)
    with pytest.raises(Conflict, match="Name the poll's tellers"):
        await polls.open_poll(rules, operator, poll_id)
    fr_operator = await load_member(
        await add_member("op.fr@example.org", roles=(("operator", "FR"),))
    )
    with pytest.raises(Forbidden):
        await polls.set_tellers(rules, fr_operator, poll_id, [b.id for b in belgians], 1)
    # 1 of 2 is allowed (either teller alone opens the box), and so is 1 of 1.
    await polls.set_tellers(rules, operator, poll_id, [b.id for b in belgians], 1)
    await polls.open_poll(rules, operator, poll_id)
    with pytest.raises(Conflict, match="draft"):
        await polls.set_tellers(rules, operator, poll_id, [belgians[0].id], 1)
    share = (await polls.collect_share(belgians[1], poll_id)).share
    await vote_all(rules, poll_id, [[1, 2], [2, 3]], "b")
    await polls.close_poll(rules, operator, poll_id)
    await polls.count_poll(rules, belgians[1], poll_id, [share])
    assert (await polls.get_poll(poll_id)).state == "published"


async def test_the_private_key_and_the_shares_are_never_written(rules, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    var = PROJECT_ROOT / "var"
    before = {p: p.stat().st_mtime for p in var.rglob("*")} if var.exists() else {}
    poll_id, operator, _ = await make_poll(rules)
    tellers, shares = await open_with_tellers(rules, operator, poll_id, n=3, needed=2)
    poll = await polls.get_poll(poll_id)
    key = ballot_box.private_key_from(shares, poll.public_key, 2)
    await vote_all(rules, poll_id, [[1, 2, 3], [3, 2, 1], [2], [4, 1]], "c")
    await polls.close_poll(rules, operator, poll_id)
    await polls.count_poll(rules, tellers[1], poll_id, shares[1:])
    (tmp_path / "ballots.json").write_bytes(await export.export_json(poll_id))

    secret = bytes(key)
    needles = [secret, secret.hex().encode(), *(s.encode() for s in shares)]
    # Any five consecutive words of a share would be a piece of it.
    needles += [" ".join(s.split()[10:15]).encode() for s in shares]
    assert found_in(await raw_files(rules.settings), needles) == []
    dump = (await table_dump()).encode()  # the outbox and the audit log included
    assert [n for n in needles if n in dump] == []
    logged = "\n".join(r.getMessage() for r in caplog.records).encode()
    assert [n for n in needles if n in logged] == []
    assert [n for n in needles if n in (tmp_path / "ballots.json").read_bytes()] == []
    # Nothing under var/ was written during the cycle, and nothing there holds them.
    for path in var.rglob("*") if var.exists() else []:
        if path.is_file():
            assert before.get(path) == path.stat().st_mtime or path.suffix.startswith(".sqlite"), (
                path
            )
            assert [n for n in needles if n in path.read_bytes()] == [], path
    # Control: the public key is written (the scan reads what is there).
    assert found_in(await raw_files(rules.settings), [poll.public_key.encode()])


async def test_the_clear_list_order_says_nothing_of_the_order_of_the_votes(rules):
    """Over ten counts of 24 known ballots, the place of each ballot in the published
    list is uncorrelated with when it was cast (Spearman's rho, averaged), and the rows are
    stored in that published order (rowid or ctid order says nothing more)."""
    rng = random.Random(7)
    rhos = []
    for round_ in range(10):
        poll_id, operator, _ = await make_poll(rules, f"{2030 + round_}-{2031 + round_}")
        box = await open_box(rules, operator, poll_id)
        ballots = [list(p) for p in rng.sample(RANKINGS, 24)]  # 24 different rankings
        await vote_all(rules, poll_id, ballots, f"r{round_}")
        await polls.close_poll(rules, operator, poll_id)
        await box.count()
        published = await polls.clear_ballots_of(poll_id)
        place = {tuple(b): i for i, b in enumerate(published)}
        positions = [place[tuple(b)] for b in ballots]
        assert positions != list(range(24))
        rhos.append(statistics.correlation(list(range(24)), positions))
        ids = await ClearBallot.select(ClearBallot.id, ClearBallot.position).where(
            ClearBallot.poll == poll_id
        )
        assert [r["position"] for r in sorted(ids, key=lambda r: r["id"])] == list(range(1, 25))
    # Each rho has a standard deviation of about 0.21 when the order is random: their mean,
    # about 0.066. A list in vote order gives 1; reversed, -1.
    assert abs(statistics.mean(rhos)) < 0.3, rhos
    assert max(abs(r) for r in rhos) < 0.9, rhos


async def test_editing_a_candidate_after_opening_changes_nothing_the_poll_shows(rules, tmp_path):
    poll_id, operator, board = await make_poll(rules)
    box = await open_box(rules, operator, poll_id)
    poll = await polls.get_poll(poll_id)
    before = await polls.candidate_texts(poll)
    number, theme_id = poll.candidates[0]
    await themes.set_text(
        rules, board, theme_id, themes.ThemeTextIn(title="Relabelled winner", language="en")
    )
    await themes.set_text(
        rules, board, theme_id, themes.ThemeTextIn(title="Nouveau titre", language="fr")
    )
    assert await polls.candidate_texts(poll) == before
    assert "Relabelled" not in msgspec.json.encode(before).decode()
    await vote_all(rules, poll_id, [[number], [number, 2]], "d")
    await polls.close_poll(rules, operator, poll_id)
    await box.count()
    digest = (await Poll.select(Poll.ballots_digest).where(Poll.id == poll_id).first())[
        "ballots_digest"
    ]
    await themes.set_text(
        rules, board, theme_id, themes.ThemeTextIn(title="Relabelled again", language="en")
    )
    published = await export.export(poll_id)
    assert published["poll"]["ballots_digest"] == digest
    titles = {c["number"]: c for c in published["candidates"]}
    assert titles[number]["title"] == before[number].title("en")
    assert "fr" not in titles[number]["titles"]
    assert "Relabelled" not in msgspec.json.encode(published).decode()


async def test_a_participation_without_its_sealed_ballot_is_refused_at_the_count(rules):
    poll_id, operator, _ = await make_poll(rules)
    box = await open_box(rules, operator, poll_id)
    await vote_all(rules, poll_id, [[1], [2], [3]], "e")
    await polls.close_poll(rules, operator, poll_id)
    victim = await SealedBallot.select(SealedBallot.id).first()
    await SealedBallot.delete().where(SealedBallot.id == victim["id"])
    with pytest.raises(Conflict, match="does not add up"):
        await box.count()
    assert await Participation.count() == 3
    await nothing_counted(poll_id, 2)


@pytest.mark.parametrize("backend", ["postgres"])
async def test_an_old_snapshot_elsewhere_keeps_no_counted_ballot_in_postgres_files(
    rules, pooled, request
):
    """Another connection of the database holds a snapshot taken while the poll ran (a
    pg_dump under way, a long report): after the count the table's files hold none of the
    sealed ballots all the same. (VACUUM FULL would have copied them: it keeps what any
    snapshot may still see. SQLite has no such snapshots across the scrub: its checkpoint
    waits for readers, checked in test_ballot_secrecy.)"""
    import asyncpg

    from tests.conftest import POSTGRES_URL

    poll_id, operator, _ = await make_poll(rules)
    box = await open_box(rules, operator, poll_id)
    other_id, _operator, _ = await make_poll(rules, "2021-2022")
    other_box = await open_box(rules, operator, other_id)
    await vote_all(rules, poll_id, [list(p) for p in RANKINGS[:12]], "counted")
    await vote_all(rules, other_id, [list(p) for p in RANKINGS[:3]], "still-open")
    sealed = [
        bytes(r["sealed"])
        for r in await SealedBallot.select(SealedBallot.sealed).where(SealedBallot.poll == poll_id)
    ]
    elsewhere = await asyncpg.connect(
        POSTGRES_URL, server_settings={"search_path": request.getfixturevalue("postgres_schema")}
    )
    try:
        snapshot = elsewhere.transaction(isolation="repeatable_read")
        await snapshot.start()
        # Its snapshot is taken at its first query (another table: a lock on sealed_ballot
        # would make the count wait for it to end).
        assert await elsewhere.fetchval("SELECT count(*) FROM poll") == 2
        await polls.close_poll(rules, operator, poll_id)
        await box.count()
        files = await raw_files(pooled)
        assert found_in(files, sealed) == []
        assert found_in(files, [s[16:48] for s in sealed]) == []
        await snapshot.rollback()
    finally:
        await elsewhere.close()
    # The other poll's sealed ballots were kept, and its count opens them.
    assert await SealedBallot.count().where(SealedBallot.poll == other_id) == 3
    await polls.close_poll(rules, operator, other_id)
    await other_box.count()
    assert len(await polls.clear_ballots_of(other_id)) == 3
