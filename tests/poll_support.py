"""Helpers for tests that run a poll through its sealed ballot box: name tellers before the
poll opens, let them collect their shares (once, as the pages do), and count with them."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from core.members.model import CurrentMember
from core.members.services import load_member
from core.polls import services as polls
from core.rules import Rules
from core.voting.base import Tally
from tests.conftest import add_member


async def make_tellers(country: str, n: int) -> list[CurrentMember]:
    """``n`` new members with the teller role of ``country``."""
    tellers = []
    for i in range(n):
        tag = uuid.uuid4().hex[:8]
        member_id = await add_member(
            f"teller{i}.{tag}@example.org",
            name=f"Teller {i} {tag}",
            country=country,
            shareholder=False,
            roles=(("teller", country),),
        )
        member = await load_member(member_id)
        assert member is not None
        tellers.append(member)
    return tellers


async def name_tellers(
    rules: Rules, operator: CurrentMember, poll_id: int, n: int = 1, needed: int = 1
) -> list[CurrentMember]:
    """New tellers of the poll's country, named for a draft poll (``needed`` of ``n``)."""
    poll = await polls.get_poll(poll_id)
    tellers = await make_tellers(poll.country, n)
    await polls.set_tellers(rules, operator, poll_id, [t.id for t in tellers], needed)
    return tellers


async def open_with_tellers(
    rules: Rules, operator: CurrentMember, poll_id: int, n: int = 1, needed: int = 1
) -> tuple[list[CurrentMember], list[str]]:
    """Name tellers, open the poll, and have every teller collect their share."""
    tellers = await name_tellers(rules, operator, poll_id, n, needed)
    await polls.open_poll(rules, operator, poll_id)
    shares = [(await polls.collect_share(t, poll_id)).share for t in tellers]
    return tellers, shares


class Box:
    """A poll opened with its tellers: ``count()`` closes nothing, it counts a closed poll."""

    def __init__(
        self, rules: Rules, poll_id: int, tellers: list[Any], shares: list[str], public_key: str
    ):
        self.rules, self.poll_id, self.tellers, self.shares = rules, poll_id, tellers, shares
        self.public_key = public_key

    async def count(self) -> Tally:
        return await polls.count_poll(self.rules, self.tellers[0], self.poll_id, self.shares)


async def open_box(
    rules: Rules, operator: CurrentMember, poll_id: int, n: int = 1, needed: int = 1
) -> Box:
    tellers, shares = await open_with_tellers(rules, operator, poll_id, n, needed)
    poll = await polls.get_poll(poll_id)
    return Box(rules, poll_id, tellers, shares, poll.public_key)


async def close_and_count(rules: Rules, operator: CurrentMember, box: Box) -> Tally:
    await polls.close_poll(rules, operator, box.poll_id)
    return await box.count()


@pytest.fixture(autouse=True)
def voters_added_after_opening(monkeypatch: pytest.MonkeyPatch) -> None:
    """For test modules that add their voters after the poll opened (imported there, it
    applies to the whole module): eligibility is the country's live rule, as before polls had
    electoral rolls. The roll is still written at opening; the roll's own rules (frozen at
    opening, turnout against it) are tested in tests/test_electoral_roll.py."""
    monkeypatch.setattr(polls, "has_roll", lambda poll: False)
