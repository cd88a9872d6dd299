"""Poll tables. Who voted (participation) and what was voted are kept apart, and what was
voted is never stored in clear while the poll runs.

- ``sealed_ballot``: while a poll runs, each ballot sealed with the poll's public key (a
  libsodium sealed box). Written next to its participation, so the database's row order, rowid,
  ``xmin`` and WAL order link the two: that is why it is sealed. Erased at the count.
- ``clear_ballot``: written once, at the count, by the tellers: the opened ballots in a shuffled
  order, with nothing but the poll, the place in that order and the choice. A test fails if a
  column is added that could link a clear ballot to a voter.
"""

from __future__ import annotations

from piccolo.columns import (
    Bytea,
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
    # The ballot box's public key (X25519, hex), made when the poll opens; its private key
    # exists only as the tellers' shares, of which ``tellers_needed`` open the box.
    public_key = Varchar(length=64, default="")
    tellers_needed = Integer(default=1)
    # The electoral roll's size, frozen when the poll opens (None: not opened yet).
    roll_size = Integer(null=True, default=None)


class PollCandidate(Table, tablename="poll_candidate"):
    """A theme on a poll's ballot. ``number`` is its place in the candidate list, drawn at
    random when the poll is created; ties are broken by it (earlier wins)."""

    poll = ForeignKey(references=Poll, on_delete=OnDelete.cascade)
    theme = ForeignKey(references=Theme, on_delete=OnDelete.cascade)
    number = Integer()
    # The theme's titles as the poll opened, frozen (JSON: {"original": "nl", "titles":
    # {"nl": ..., "fr": ...}}); "" while the poll is a draft. Pages, results and the published
    # list use this copy: editing the theme later changes nothing the poll shows.
    texts = Text(default="")


class PollTeller(Table, tablename="poll_teller"):
    """A teller of a poll: holds one share of its ballot-box key. ``collected_at`` is when the
    teller was shown their share (once; the share is never stored)."""

    poll = ForeignKey(references=Poll, on_delete=OnDelete.cascade)
    member = ForeignKey(references=Member, on_delete=OnDelete.cascade)
    collected_at = Timestamptz(null=True, default=None)


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
    # The tracker of the sealed ballot (SHA-256 of it, hex): the voter's receipt, published in
    # the ballot box. It leads to no choice once the sealed ballots are erased at the count.
    tracker = Varchar(length=64, null=True, default=None, unique=True)


class SealedBallot(Table, tablename="sealed_ballot"):
    """A ballot sealed with its poll's public key, while the poll runs; erased at the count."""

    poll = ForeignKey(references=Poll, on_delete=OnDelete.cascade)
    sealed = Bytea()


class ClearBallot(Table, tablename="clear_ballot"):
    """An opened ballot, written at the count in a shuffled order: ``position`` is its place in
    the published list; ``choice`` the JSON list of candidate numbers. Nothing says who."""

    poll = ForeignKey(references=Poll, on_delete=OnDelete.cascade)
    position = Integer()
    choice = Text()


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


class RollEntry(Table, tablename="poll_roll"):
    """The poll's electoral roll: the members eligible when it opened, frozen then.
    Eligibility during the vote is read here, so a register change neither adds nor removes
    voters; turnout is against the roll. (poll, member) is unique."""

    poll = ForeignKey(references=Poll, on_delete=OnDelete.cascade)
    member = ForeignKey(references=Member, on_delete=OnDelete.cascade)
