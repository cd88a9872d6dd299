"""Poll tables. Who voted (participation) and what was voted (ballot) are kept apart.

The ballot table must never hold anything that could identify a voter: no member, session,
address, serial id or fine timestamp. Its key is random, its order meaningless; a test fails
if a column is added that could link a ballot to a voter.
"""

from __future__ import annotations

from piccolo.columns import (
    UUID,
    Boolean,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.editions.tables import Edition
from core.members.tables import Member
from core.themes.tables import Theme


class Poll(Table, tablename="poll"):
    """One country's AGM vote on the themes of an edition.

    ``state`` is draft, open, closed or published. ``result`` is the published tally (JSON)
    and ``ballots_digest`` the SHA-256 of the published ballot list.
    """

    edition = ForeignKey(references=Edition, on_delete=OnDelete.cascade)
    country = Varchar(length=2)
    method = Varchar(length=40)
    seats = Integer(default=2)
    opens_at = Timestamptz()
    closes_at = Timestamptz()
    quorum = Integer(null=True, default=None)
    state = Varchar(length=10, default="draft")
    created_at = Timestamptz(default=TimestamptzNow())
    closed_at = Timestamptz(null=True, default=None)
    published_at = Timestamptz(null=True, default=None)
    result = Text(default="")
    ballots_digest = Varchar(length=64, default="")


class PollCandidate(Table, tablename="poll_candidate"):
    """A theme on a poll's ballot. ``number`` is its place in the candidate list, drawn at
    random when the poll is created; ties are broken by it (earlier wins)."""

    poll = ForeignKey(references=Poll, on_delete=OnDelete.cascade)
    theme = ForeignKey(references=Theme, on_delete=OnDelete.cascade)
    number = Integer()


class Participation(Table, tablename="participation"):
    """Who voted in a poll: one row per member and poll, enforced by a unique index.

    ``channel`` is online, paper or proxy; ``cast_by`` is the proxy holder or the operator who
    entered a paper ballot (None when the member voted themselves).
    """

    poll = ForeignKey(references=Poll, on_delete=OnDelete.cascade)
    member = ForeignKey(references=Member, on_delete=OnDelete.cascade)
    channel = Varchar(length=10)
    cast_by = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())


class Ballot(Table, tablename="ballot"):
    """What was voted, with nothing that says who: a random key, the choice (JSON list of
    candidate numbers), the SHA-256 of the voter's receipt, and whether it came on paper."""

    id = UUID(primary_key=True)
    poll = ForeignKey(references=Poll, on_delete=OnDelete.cascade)
    choice = Text()
    receipt_hash = Varchar(length=64, unique=True)
    paper = Boolean(default=False)


class Proxy(Table, tablename="proxy"):
    """A shareholder (grantor) lets another shareholder of the same country (holder) vote for
    them in a poll. One active proxy per grantor and poll (a partial unique index); a revoked
    one keeps its row with ``revoked_at``. ``recorded_by`` is the operator of a paper proxy."""

    poll = ForeignKey(references=Poll, on_delete=OnDelete.cascade)
    grantor = ForeignKey(references=Member, on_delete=OnDelete.cascade)
    holder = ForeignKey(references=Member, on_delete=OnDelete.cascade)
    recorded_by = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    revoked_at = Timestamptz(null=True, default=None)


class Presence(Table, tablename="presence"):
    """A member checked in at the AGM room by an operator; (poll, member) is unique."""

    poll = ForeignKey(references=Poll, on_delete=OnDelete.cascade)
    member = ForeignKey(references=Member, on_delete=OnDelete.cascade)
    checked_in_by = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null)
    checked_in_at = Timestamptz(default=TimestamptzNow())
