"""Poll life cycles, driven at random on the service layer, against DESIGN.md section 3.

A hypothesis state machine creates a poll on four themes (method and seats drawn) with two
tellers who must both give their share, opens it (the tellers collect their shares), starts the
meeting (in a third of the examples three shareholders vote at once), and then mixes at
random: members voting online (valid and invalid ballots, twice, ineligible members), proxies
given online and on paper, revoked and used, members checked in and out, paper ballots, closing
(again and again), counting with the tellers' shares (again and again, by a teller or an
operator), counting with one share only, and votes after the close. A small model says which
calls must succeed; every refusal must be a clear domain error (a 4xx) that changes nothing.
After every step the invariants are checked:

1. one member, one vote: at most one participation per member, as many sealed (then clear)
   ballots as participations, each participation's tracker the hash of a sealed ballot, and the
   participations are exactly the votes the model accepted;
2. secret ballot: neither the sealed nor the clear ballot table has a column that could name
   a voter or pair a ballot with its tracker;
3. anyone can recount: the published clear ballots are the sealed ballots as they stood at the
   close, opened; recounted here with the poll's voting method they give the announced result;
   the digest is the one of the candidates' texts, the trackers and the ballots; every receipt
   is in the ballot box, and no receipt is paired with a choice in the published list;
4. closed is closed: no participation or sealed ballot is added or changed after the close;
   counting twice gives the same result;
and the proxies stay within the country's limit, one per grantor, without chains.

Each example runs on a fresh copy of the migrated SQLite template (PostgreSQL runs the same
services in tests/test_polls.py and tests/test_poll_proxies.py). Generation is derandomized, so
CI replays the same life cycles every run.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import shutil
import threading
from collections.abc import Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from core import clock, db
from core.config import Settings
from core.editions import services as editions
from core.errors import DomainError
from core.members.model import CurrentMember
from core.members.services import load_member
from core.plugins import PluginRegistry, build_registry
from core.polls import ballot_box, export, proxies, room
from core.polls import services as polls
from core.polls.services import CLOSED, DRAFT, ONLINE, OPEN, PAPER, PROXY, PUBLISHED
from core.polls.tables import ClearBallot, Participation, Poll, Proxy, SealedBallot
from core.rules import Rules
from core.themes import services as themes
from core.voting import voting_method
from core.voting.base import Tally
from tests.conftest import add_member, make_settings

CANDIDATES = (1, 2, 3, 4)  # the ballot's candidate numbers: four accepted themes
METHODS = ("plurality", "approval", "borda", "schulze", "stv")
# Members by index: 0-4 shareholders of BE (they vote), 5 a BE member who is no shareholder,
# 6 a shareholder of FR (the poll is BE's).
MEMBERS = range(7)
ELIGIBLE = frozenset(range(5))
# The only columns a ballot may have (the same lists as tests/test_polls.py, read from the
# database itself here, so a migration that adds one is caught too): no member, time, channel
# or tracker.
BALLOT_COLUMNS = {
    "sealed_ballot": {"id", "poll", "sealed"},
    "clear_ballot": {"id", "poll", "position", "choice"},
}

members = st.sampled_from(MEMBERS)
STARTED = "started"
VOTED = "voted"  # started, and three shareholders voted: most counts then open ballots
stages = st.sampled_from([DRAFT, OPEN, STARTED, STARTED, VOTED, VOTED])
# A ballot every method takes: 1..seats distinct candidates (seats < 4, so also a valid choice
# for plurality/block voting), drawn as a prefix of a random ranking.
rankings = st.permutations(CANDIDATES)
lengths = st.integers(1, 3)
# Ballots no method takes; validation refuses them before anything else happens.
INVALID_BALLOTS = ([], [1, 1], [0], [99], "1", [[]], [True], None, {"1": 1}, [1.5])
invalid_ballots = st.sampled_from(INVALID_BALLOTS)


class EventLoop:
    """One event loop in a thread for one example: the services are async, hypothesis is not,
    and the database engine keeps its connections per loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


def frozen(value: Any) -> Any:
    """A published ballot (JSON lists) as the voting methods count it (tuples)."""
    return tuple(frozen(v) for v in value) if isinstance(value, list) else value


class PollLifeCycle(RuleBasedStateMachine):
    # Set by the test before the machine runs.
    template: Path
    folder: Path
    settings: Settings
    registry: PluginRegistry
    examples = itertools.count()

    def __init__(self) -> None:
        super().__init__()
        self.events = EventLoop()
        path = self.folder / f"poll-{next(self.examples)}.sqlite3"
        shutil.copy(self.template, path)
        database = msgspec.structs.replace(self.settings.database, url=f"sqlite:///{path}")
        self.engine = db.make_engine(msgspec.structs.replace(self.settings, database=database))
        db.bind(self.engine)
        self.rules = Rules(self.registry, self.settings)
        # The model: what the services must have done.
        self.state = DRAFT
        self.started = False  # the meeting started: opens_at is past
        self.voted: dict[int, str] = {}  # member index -> channel
        self.receipts: list[str] = []
        self.proxies: dict[int, int] = {}  # active proxies: grantor index -> holder index
        self.present: set[int] = set()
        self.shares: list[str] = []  # the tellers' shares, collected when the poll opens
        # At the close: the participations (member, channel, tracker) and the sealed ballots.
        self.box_at_close: tuple[set[tuple[int, str, str]], list[bytes]] | None = None
        self.published: bytes | None = None  # the first published result, encoded

    def teardown(self) -> None:
        self.events.run(db.close(self.engine))  # the engine's connections on this loop
        self.events.stop()

    # -- helpers -----------------------------------------------------------------------------

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return self.events.run(coroutine)

    def attempt(self, must_succeed: bool, coroutine: Coroutine[Any, Any, Any]) -> Any:
        """Run a service call; it succeeds exactly when the model says it must, and a refusal
        is a domain error (a clear 4xx), never anything else."""
        try:
            answer = self.run(coroutine)
        except DomainError as refusal:
            assert not must_succeed, f"refused although the rules allow it: {refusal.message}"
            assert 400 <= refusal.status_code < 500
            return refusal
        assert must_succeed, f"accepted although the rules forbid it (answer {answer!r})"
        return answer

    def accepting_ballots(self) -> bool:
        return self.state == OPEN and self.started

    async def box_rows(self) -> tuple[set[tuple[int, str, str]], list[bytes]]:
        """The participations (member, channel, tracker) and the sealed ballots (sorted)."""
        votes = await Participation.select(
            Participation.member, Participation.channel, Participation.tracker
        ).where(Participation.poll == self.poll_id)
        sealed = await SealedBallot.select(SealedBallot.sealed).where(
            SealedBallot.poll == self.poll_id
        )
        return (
            {(v["member"], v["channel"], v["tracker"]) for v in votes},
            sorted(bytes(r["sealed"]) for r in sealed),
        )

    def opened(self, sealed: list[bytes]) -> list[str]:
        """The sealed ballots opened here with the tellers' shares (as sorted JSON texts)."""
        if not sealed:
            return []
        key = ballot_box.private_key_from(self.shares, self.poll.public_key, 2)
        return sorted(
            json.dumps(json.loads(ballot_box.open_sealed(key, s)), separators=(",", ":"))
            for s in sealed
        )

    def holds(self, holder: int) -> int:
        return sum(1 for h in self.proxies.values() if h == holder)

    def proxy_allowed(self, grantor: int, holder: int) -> bool:
        return (
            grantor in ELIGIBLE
            and holder in ELIGIBLE
            and grantor != holder
            and self.limit >= 1
            and grantor not in self.voted
            and grantor not in self.proxies
            and self.holds(grantor) == 0
            and holder not in self.proxies
            and self.holds(holder) < self.limit
        )

    # -- the poll ----------------------------------------------------------------------------

    @initialize(method=st.sampled_from(METHODS), seats=st.integers(1, 3), stage=stages)
    def create_poll(self, method: str, seats: int, stage: str) -> None:
        """A draft poll; most examples then open it and start the meeting, so that most steps
        happen while ballots are taken (the rules open, start and close it too)."""

        async def create() -> None:
            edition_id = await editions.create_edition("2020-2021")
            board = await load_member(await add_member("board@example.org", roles=(("board", ""),)))
            for title in ("Accompaniment", "New prospects", "Gender equality", "Sharing"):
                await themes.add_board_theme(
                    self.rules,
                    board,
                    edition_id,
                    ["BE", "FR"],
                    themes.ThemeTextIn(title=title, language="en"),
                )
            self.operator = await load_member(
                await add_member("op@example.org", roles=(("operator", "BE"),))
            )
            self.tellers = [
                await load_member(
                    await add_member(
                        f"teller{n}@example.org", shareholder=False, roles=(("teller", "BE"),)
                    )
                )
                for n in range(2)
            ]
            countries = ["BE"] * 6 + ["FR"]
            self.members: list[CurrentMember] = [
                await load_member(
                    await add_member(
                        f"m{n}@example.org", country=country, shareholder=n != 5, name=f"M{n}"
                    )
                )
                for n, country in enumerate(countries)
            ]
            now = clock.now()
            self.poll_id = await polls.create_poll(
                self.rules,
                self.operator,
                edition_id,
                "BE",
                method,
                seats,
                now + timedelta(hours=1),
                now + timedelta(hours=3),
            )
            await polls.set_tellers(
                self.rules, self.operator, self.poll_id, [t.id for t in self.tellers], 2
            )
            self.poll = await polls.get_poll(self.poll_id)
            self.limit = self.rules.proxy_limit(self.poll)

        self.run(create())
        assert [number for number, _theme in self.poll.candidates] == list(CANDIDATES)
        if stage != DRAFT:
            self.open_poll()
        if stage in (STARTED, VOTED):
            self.start_the_meeting()
        if stage == VOTED:
            for voter in (0, 1, 2):
                self.vote(voter, [CANDIDATES[voter]], valid=True)

    @rule()
    def open_poll(self) -> None:
        self.attempt(self.state == DRAFT, polls.open_poll(self.rules, self.operator, self.poll_id))
        if self.state == DRAFT:
            self.state = OPEN

            async def collect() -> None:
                self.shares = [
                    (await polls.collect_share(t, self.poll_id)).share for t in self.tellers
                ]
                self.poll = await polls.get_poll(self.poll_id)

            self.run(collect())

    @precondition(lambda self: self.state == OPEN and not self.started)
    @rule()
    def start_the_meeting(self) -> None:
        """The time comes: the poll's opening moment is now past."""

        async def start() -> None:
            await Poll.update({Poll.opens_at: clock.now() - timedelta(minutes=1)}).where(
                Poll.id == self.poll_id
            )

        self.run(start())
        self.started = True

    @rule()
    def close(self) -> None:
        """Closing is idempotent: an operator may close a closed or published poll again."""
        self.attempt(True, polls.close_poll(self.rules, self.operator, self.poll_id))
        if self.state in (DRAFT, OPEN):
            self.state = CLOSED
            self.box_at_close = self.run(self.box_rows())

    @rule(by_teller=st.booleans())
    def count(self, by_teller: bool) -> None:
        """The tellers' count publishes the result; a teller or an operator may run it with
        the two shares. A poll closed while a draft has no box: nothing to open."""
        actor = self.tellers[1] if by_teller else self.operator
        tally = self.attempt(
            self.state in (CLOSED, PUBLISHED),
            polls.count_poll(self.rules, actor, self.poll_id, self.shares),
        )
        if self.state in (CLOSED, PUBLISHED):
            encoded = msgspec.json.encode(tally)
            assert self.published in (None, encoded), "a second publication changed the result"
            self.published = encoded
            self.state = PUBLISHED

    @precondition(lambda self: bool(self.shares))
    @rule()
    def count_with_one_share(self) -> None:
        """One share of two opens nothing: refused while closed (a published poll answers its
        result whatever is given)."""
        answer = self.attempt(
            self.state == PUBLISHED,
            polls.count_poll(self.rules, self.tellers[0], self.poll_id, self.shares[:1]),
        )
        if self.state == PUBLISHED:
            assert msgspec.json.encode(answer) == self.published

    # -- voting ------------------------------------------------------------------------------

    def vote(self, voter: int, ballot: Any, valid: bool) -> None:
        must = voter in ELIGIBLE and valid and self.accepting_ballots() and voter not in self.voted
        receipt = self.attempt(
            must, polls.cast(self.rules, self.members[voter], self.poll_id, ballot)
        )
        if must:
            self.voted[voter] = ONLINE
            self.receipts.append(receipt)

    @rule(voter=members, ranking=rankings, length=lengths)
    def vote_online(self, voter: int, ranking: tuple[int, ...], length: int) -> None:
        self.vote(voter, list(ranking[: min(length, self.poll.seats)]), valid=True)

    @rule(voter=members, ballot=invalid_ballots)
    def vote_with_an_invalid_ballot(self, voter: int, ballot: Any) -> None:
        self.vote(voter, ballot, valid=False)

    @precondition(lambda self: bool(self.voted))
    @rule(data=st.data())
    def vote_twice(self, data: st.DataObject) -> None:
        voter = data.draw(st.sampled_from(sorted(self.voted)))
        self.vote(voter, [CANDIDATES[0]], valid=True)

    # -- proxies -----------------------------------------------------------------------------

    @rule(grantor=members, holder=members)
    def give_a_proxy_online(self, grantor: int, holder: int) -> None:
        window = self.state == DRAFT or (self.state == OPEN and not self.started)
        must = window and self.proxy_allowed(grantor, holder)
        self.attempt(
            must,
            proxies.grant_proxy(
                self.rules, self.members[grantor], self.poll_id, self.members[holder].email
            ),
        )
        if must:
            self.proxies[grantor] = holder

    @rule(grantor=members, holder=members)
    def record_a_paper_proxy(self, grantor: int, holder: int) -> None:
        must = self.state in (DRAFT, OPEN) and self.proxy_allowed(grantor, holder)
        self.attempt(
            must,
            proxies.record_paper_proxy(
                self.rules,
                self.operator,
                self.poll_id,
                self.members[grantor].member_number,
                self.members[holder].member_number,
            ),
        )
        if must:
            self.proxies[grantor] = holder

    @rule(grantor=members)
    def revoke_a_proxy(self, grantor: int) -> None:
        must = self.state in (DRAFT, OPEN) and grantor in self.proxies and grantor not in self.voted
        self.attempt(must, proxies.revoke_proxy(self.rules, self.members[grantor], self.poll_id))
        if must:
            del self.proxies[grantor]

    @rule(holder=members, grantor=members, ranking=rankings, length=lengths)
    def vote_by_proxy(
        self, holder: int, grantor: int, ranking: tuple[int, ...], length: int
    ) -> None:
        must = (
            holder in ELIGIBLE
            and self.accepting_ballots()
            and self.proxies.get(grantor) == holder
            and grantor not in self.voted
        )
        receipt = self.attempt(
            must,
            proxies.cast_as_proxy(
                self.rules,
                self.members[holder],
                self.poll_id,
                self.members[grantor].id,
                list(ranking[: min(length, self.poll.seats)]),
            ),
        )
        if must:
            self.voted[grantor] = PROXY
            self.receipts.append(receipt)

    # -- the room ----------------------------------------------------------------------------

    @rule(member=members)
    def check_in(self, member: int) -> None:
        must = member in ELIGIBLE and self.state in (DRAFT, OPEN)
        new = self.attempt(
            must, room.check_in(self.rules, self.operator, self.poll_id, self.members[member])
        )
        if must:
            assert new is (member not in self.present)
            self.present.add(member)

    @rule(member=members)
    def check_out(self, member: int) -> None:
        must = self.state in (DRAFT, OPEN) and not (
            member in self.present and self.voted.get(member) == PAPER
        )
        gone = self.attempt(
            must, room.check_out(self.rules, self.operator, self.poll_id, self.members[member])
        )
        if must:
            assert gone is (member in self.present)
            self.present.discard(member)

    @rule(member=members, ranking=rankings, length=lengths, valid=st.booleans())
    def enter_a_paper_ballot(
        self, member: int, ranking: tuple[int, ...], length: int, valid: bool
    ) -> None:
        ballot: Any = list(ranking[: min(length, self.poll.seats)]) if valid else [0]
        must = (
            member in ELIGIBLE
            and valid
            and self.accepting_ballots()
            and member in self.present
            and member not in self.voted
        )
        receipt = self.attempt(
            must,
            room.enter_paper_ballot(
                self.rules, self.operator, self.poll_id, self.members[member], ballot
            ),
        )
        if must:
            self.voted[member] = PAPER
            self.receipts.append(receipt)

    # -- invariants --------------------------------------------------------------------------

    @invariant()
    def one_member_one_vote(self) -> None:
        async def read() -> tuple[list[dict[str, Any]], int]:
            votes = await Participation.select(
                Participation.member, Participation.channel, Participation.tracker
            ).where(Participation.poll == self.poll_id)
            sealed = await SealedBallot.select(SealedBallot.sealed).where(
                SealedBallot.poll == self.poll_id
            )
            clear = await ClearBallot.count().where(ClearBallot.poll == self.poll_id)
            return votes, [bytes(r["sealed"]) for r in sealed], clear

        votes, sealed, clear = self.run(read())
        voters = [v["member"] for v in votes]
        assert len(voters) == len(set(voters)), "a member has two participations"
        if self.state == PUBLISHED:  # the count opened the box: sealed ballots are erased
            assert not sealed and clear == len(votes), f"{clear} ballots, {len(votes)} votes"
        else:
            assert clear == 0, "a clear ballot before the count"
            trackers = sorted(hashlib.sha256(s).hexdigest() for s in sealed)
            assert trackers == sorted(v["tracker"] for v in votes), "trackers and ballots differ"
        expected = {self.members[m].id: channel for m, channel in self.voted.items()}
        assert {v["member"]: v["channel"] for v in votes} == expected

    @invariant()
    def the_ballot_tables_cannot_name_a_voter(self) -> None:
        async def columns() -> dict[str, set[str]]:
            found = {}
            for table in BALLOT_COLUMNS:
                rows = await Poll.raw(f"PRAGMA table_info({table})")
                found[table] = {row["name"] for row in rows}
            return found

        assert self.run(columns()) == BALLOT_COLUMNS

    @invariant()
    def closed_is_closed(self) -> None:
        if self.box_at_close is None:
            return
        votes, sealed = self.run(self.box_rows())
        assert votes == self.box_at_close[0], "a participation changed after the close"
        if self.state == CLOSED:
            assert sealed == self.box_at_close[1], "a sealed ballot changed after the close"
        state = self.run(polls.get_poll(self.poll_id)).state
        assert state == self.state

    @invariant()
    def anyone_can_recount(self) -> None:
        if self.state != PUBLISHED:
            return

        async def read() -> tuple[list[Any], list[str], Any, str, list[bool], dict, dict]:
            listed = await polls.clear_ballots_of(self.poll_id)
            trackers = await polls.trackers_of(self.poll_id)
            row = await Poll.select(Poll.ballots_digest).where(Poll.id == self.poll_id).first()
            found = [await polls.tracker_is_listed(self.poll_id, r) for r in self.receipts]
            texts = await polls.candidate_texts(self.poll)
            titles = {number: text.titles for number, text in texts.items()}
            announced = await polls.result_of(self.poll_id)
            published = await export.export(self.poll_id)
            return listed, trackers, announced, row["ballots_digest"], found, titles, published

        listed, trackers, announced, digest, found, titles, published = self.run(read())
        assert all(found), "a voter's receipt is not in the ballot box"
        assert trackers == sorted(self.receipts)
        # The clear ballots are the sealed ballots of the close, opened: none added or lost.
        assert self.box_at_close is not None
        clear = sorted(json.dumps(b, separators=(",", ":")) for b in listed)
        assert clear == self.opened(self.box_at_close[1])
        method = voting_method(self.registry, self.poll.method)
        recount = method.tally([frozen(b) for b in listed], CANDIDATES, self.poll.seats)
        # Compared as the published JSON reads back (scores are floats there: 1.0 is 1).
        assert msgspec.json.decode(msgspec.json.encode(recount), type=Tally) == announced
        assert msgspec.json.encode(announced) == self.published
        # The digest (docs/voting.md), computed here from what is published.
        body = {
            "candidates": [[n, titles[n]] for n in CANDIDATES],
            "trackers": trackers,
            "ballots": listed,
        }
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(canonical.encode()).hexdigest() == digest
        # No receipt is paired with a choice: receipts appear only in the list of trackers.
        outside = json.dumps({k: v for k, v in published.items() if k != "trackers"})
        assert not any(r in outside for r in self.receipts)

    @invariant()
    def proxies_stay_within_the_rules(self) -> None:
        async def active() -> list[dict[str, Any]]:
            return await Proxy.select(Proxy.grantor, Proxy.holder).where(
                (Proxy.poll == self.poll_id) & Proxy.revoked_at.is_null()
            )

        rows = self.run(active())
        grantors = [r["grantor"] for r in rows]
        holders = [r["holder"] for r in rows]
        assert len(grantors) == len(set(grantors)), "a grantor has two active proxies"
        assert all(holders.count(h) <= self.limit for h in holders), "over the proxy limit"
        assert not set(grantors) & set(holders), "a proxy chain"
        ids = {m.id: n for n, m in enumerate(self.members)}
        assert {ids[r["grantor"]]: ids[r["holder"]] for r in rows} == self.proxies


@pytest.fixture
def life_cycles(sqlite_template: Path, tmp_path: Path) -> type[PollLifeCycle]:
    """The machine, pointed at the migrated template and a folder for its copies."""
    PollLifeCycle.template = sqlite_template
    PollLifeCycle.folder = tmp_path
    PollLifeCycle.settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'unused.sqlite3'}")
    PollLifeCycle.registry = build_registry(PollLifeCycle.settings)
    return PollLifeCycle


def test_poll_life_cycles_keep_the_invariants(life_cycles: type[PollLifeCycle]) -> None:
    run_state_machine_as_test(
        life_cycles,
        settings=settings(
            max_examples=60,
            stateful_step_count=50,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
