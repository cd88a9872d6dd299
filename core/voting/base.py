"""What every voting method shares: candidates, ballot forms, the result of a count, the base.

A poll lists its candidates in one order, randomised when the poll is created and published
with it. That order is the only tie rule of the platform: whenever a count has to choose
between candidates that the ballots cannot separate, the candidate that comes **earlier in the
candidate list** is treated as ahead (it ranks higher, is elected, has its surplus transferred
first, survives an exclusion). Anyone holding the published ballot file can apply the rule in
a recount; nothing is drawn by lot after the poll closes. STV first applies the Scottish
rules' own look-back at earlier stages and uses the list only where those rules draw lots.

Ballot forms (``VotingMethod.ballot_kind``):

``ranked``
    A tuple of candidate ids, most preferred first; it may stop early (the candidates left out
    rank below every ranked one, equal among themselves). Where a method allows it, an item may
    be a tuple of two or more ids that share a rank.
``approval``
    A tuple of the approved candidates' ids (any number).
``choose``
    A tuple of the chosen candidates' ids, at most as many as the poll has seats.

``VotingMethod.validate`` turns what a voter submitted into the normalised form above (ids of
a choice and of a tied group in candidate-list order, singleton groups unwrapped), so that equal
ballots compare equal and a count can group them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import msgspec

from core.errors import InvalidInput
from core.i18n import _

CandidateId = int | str
RankItem = CandidateId | tuple[CandidateId, ...]
Ballot = tuple[Any, ...]  # normalised: tuple[RankItem, ...] (ranked) or tuple[CandidateId, ...]
# Ballots, one per voter, or already grouped: {ballot: number of voters who cast it}.
Ballots = Iterable[Ballot] | Mapping[Ballot, int]

# A figure of a count: votes, points, a surplus. Counts are added as integers (STV in whole
# hundred-thousandths of a vote, Borda in half points) and never round; a figure is reported
# as an int when whole, else as a float when that float's shortest form (repr, and so its
# JSON) is exactly the figure, else as the exact decimal in a string ("9007199254740993.5").
# Read any of the three exactly with ``figure_decimal``.
Figure = int | float | str

RANKED = "ranked"
APPROVAL = "approval"
CHOOSE = "choose"
BALLOT_KINDS = (RANKED, APPROVAL, CHOOSE)


def exact_figure(numerator: int, denominator: int = 1) -> Figure:
    """``numerator / denominator`` as a ``Figure``, exactly; the denominator divides a power
    of ten (2, 100000), so the figure is a finite decimal."""
    whole, rest = divmod(abs(numerator), denominator)
    if not rest:
        return numerator // denominator
    places = 1
    while 10**places % denominator:
        places += 1
    digits = f"{rest * 10**places // denominator:0{places}d}".rstrip("0")
    text = f"{'-' if numerator < 0 else ''}{whole}.{digits}"
    number = float(text)
    return number if Decimal(repr(number)) == Decimal(text) else text


def figure_decimal(value: Figure) -> Decimal:
    """A figure as an exact ``Decimal`` (a float figure is read by its shortest form)."""
    return Decimal(value) if isinstance(value, int) else Decimal(str(value))


class TransferValue(msgspec.Struct, kw_only=True):
    """One value class of the papers moved at an STV stage."""

    value: float  # a paper's value when the transferring candidate received it
    transfer_value: float  # its value after the transfer (unchanged by an exclusion)
    papers: int  # papers at this value that went on to a continuing candidate
    non_transferable: int = 0  # papers at this value with no further usable preference


class StvRound(msgspec.Struct, kw_only=True):
    """One stage of an STV count, as a returning officer's result sheet shows it."""

    stage: int
    action: str  # "first preferences" | "surplus" | "exclusion"
    candidate: CandidateId | None = None  # whose surplus is transferred, or who is excluded
    surplus: Figure | None = None
    transfer_values: list[TransferValue] = []
    change: list[Figure] = []  # votes each candidate gained (or gave away) at this stage
    votes: list[Figure] = []  # each candidate's votes at the end of this stage
    non_transferable: Figure = 0  # value set aside at this stage: no further preference
    rounding: Figure = 0  # value lost at this stage to the truncation of transfer values
    elected: list[CandidateId] = []  # deemed elected at the end of this stage
    notes: list[str] = []  # how a tie was decided, a last-vacancies rule that applied ...


class TieNote(msgspec.Struct, kw_only=True):
    """Where the tie rule decided, as data, so that pages write it in the reader's language
    (``tie_breaks`` keeps the same in English words, for files and the command line).

    ``kind``: "boundary" (scores: ``tied`` have ``figure`` ``score``; ``chosen`` elected,
    ``left_out`` not), "unbeaten" (Schulze: for seat ``seat``, ``tied`` are unbeaten; the list
    gives it to ``chosen``), "stv" (stage ``stage``: ``tied`` have ``figure`` votes; ``action``
    "excluded" or "first"; decided by an earlier stage ``decided_at``, or by the list when
    None, ``every_stage`` when they were equal at every stage)."""

    kind: str
    tied: list[CandidateId]
    chosen: list[CandidateId]
    left_out: list[CandidateId] = []
    figure: Figure | None = None
    score: str = ""
    seat: int | None = None
    stage: int | None = None
    action: str = ""
    decided_at: int | None = None
    every_stage: bool = False


class Tally(msgspec.Struct, kw_only=True):
    """The result of a count with its full working; lists follow ``candidates``' order."""

    method: str
    seats: int
    candidates: list[CandidateId]  # the candidate list: the tie-break order
    winners: list[CandidateId]  # elected, best first (STV: in the order of election)
    ranking: list[CandidateId] = []  # the method's full order, winners first
    ballots: int = 0  # ballots counted, blank ones included
    blank: int = 0  # ballots that give no usable preference (void for STV)
    scores: list[Figure] | None = None  # plurality/block, approval, Borda (half points)
    pairwise: list[list[int]] | None = None  # Schulze: d[i][j], voters preferring i to j
    strongest_paths: list[list[int]] | None = None  # Schulze: p[i][j]
    quota: int | None = None  # STV (Droop)
    rounds: list[StvRound] = []  # STV stages
    tie_breaks: list[str] = []  # where the tie rule decided who is elected
    tie_notes: list[TieNote] = []  # the same, as data (``TieNote``)


class VotingMethod(ABC):
    """A way to fill ``seats`` from ``candidates`` given ballots; plugins subclass it.

    ``name`` is the key polls store and plugins override by; ``label`` is shown to people.
    """

    name: str = ""
    label: str = ""
    ballot_kind: str = RANKED
    allows_ties: bool = False  # ranked ballots: may a voter give candidates the same rank

    def validate(self, ballot: Any, candidates: Sequence[CandidateId], seats: int) -> Ballot:
        """Check one submitted ballot; return it normalised or raise ``InvalidInput``."""
        check_seats(candidates, seats)
        if self.ballot_kind == RANKED:
            return normalise_ranking(ballot, candidates, ties=self.allows_ties)
        limit = seats if self.ballot_kind == CHOOSE else None
        return normalise_choice(ballot, candidates, limit=limit)

    @abstractmethod
    def tally(self, ballots: Ballots, candidates: Sequence[CandidateId], seats: int) -> Tally:
        """Count normalised ballots and return the winners with the working."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def check_method(method: object) -> VotingMethod:
    """A plugin's answer must look like a voting method; say what is missing otherwise."""
    missing = [
        attribute
        for attribute in ("name", "label", "ballot_kind", "validate", "tally")
        if not getattr(method, attribute, None)
    ]
    if missing or getattr(method, "ballot_kind", None) not in BALLOT_KINDS:
        raise TypeError(
            f"register_voting_methods returned {method!r}, which is not a voting method "
            f"(it needs name, label, ballot_kind in {', '.join(BALLOT_KINDS)}, validate and "
            f"tally; missing or wrong: {', '.join(missing) or 'ballot_kind'})"
        )
    return method  # type: ignore[return-value]


def check_candidates(candidates: Sequence[CandidateId]) -> list[CandidateId]:
    """The candidate list: ids that are whole numbers or strings, each once."""
    listed = list(candidates)
    if not listed:
        raise InvalidInput(_("A poll needs at least one candidate."))
    seen: set[CandidateId] = set()
    for candidate in listed:
        if isinstance(candidate, bool) or not isinstance(candidate, int | str):
            raise InvalidInput(
                _("Candidate ids are numbers or texts, not %(value)s.") % {"value": repr(candidate)}
            )
        if candidate in seen:
            raise InvalidInput(
                _("Candidate %(candidate)s is listed twice.") % {"candidate": candidate}
            )
        seen.add(candidate)
    return listed


def check_seats(candidates: Sequence[CandidateId], seats: int) -> None:
    if isinstance(seats, bool) or not isinstance(seats, int):
        raise InvalidInput(
            _("The number of seats must be a whole number, not %(value)s.") % {"value": repr(seats)}
        )
    if seats < 1 or seats >= len(candidates):
        raise InvalidInput(
            _(
                "The number of seats must be at least 1 and less than the number of candidates "
                "(%(candidates)d); got %(seats)d."
            )
            % {"candidates": len(candidates), "seats": seats}
        )


def _candidate(item: Any, known: Mapping[CandidateId, int]) -> CandidateId:
    if isinstance(item, bool) or not isinstance(item, int | str) or item not in known:
        raise InvalidInput(_("Unknown candidate %(value)s.") % {"value": repr(item)})
    return item


def normalise_ranking(ballot: Any, candidates: Sequence[CandidateId], *, ties: bool) -> Ballot:
    """A ranking: candidates (or, with ``ties``, groups sharing a rank), each at most once."""
    position = {c: i for i, c in enumerate(candidates)}
    if isinstance(ballot, str | bytes) or not isinstance(ballot, Sequence):
        raise InvalidInput(_("A ranked ballot is a list of candidates, most preferred first."))
    if not ballot:
        raise InvalidInput(_("The ballot is empty: rank at least one candidate."))
    seen: set[CandidateId] = set()
    items: list[RankItem] = []
    for rank, item in enumerate(ballot, start=1):
        if isinstance(item, list | tuple | set | frozenset):
            if not ties:
                raise InvalidInput(
                    _(
                        "Rank %(rank)d holds several candidates; this method ranks candidates "
                        "one at a time."
                    )
                    % {"rank": rank}
                )
            group = [_candidate(c, position) for c in item]
            if not group:
                raise InvalidInput(_("Rank %(rank)d is an empty group.") % {"rank": rank})
        else:
            group = [_candidate(item, position)]
        for candidate in group:
            if candidate in seen:
                raise InvalidInput(
                    _("Candidate %(candidate)s is ranked twice.") % {"candidate": candidate}
                )
            seen.add(candidate)
        group.sort(key=position.__getitem__)
        items.append(group[0] if len(group) == 1 else tuple(group))
    return tuple(items)


def normalise_choice(
    ballot: Any, candidates: Sequence[CandidateId], *, limit: int | None
) -> Ballot:
    """A set of candidates (approved, or chosen up to ``limit``), in candidate-list order."""
    position = {c: i for i, c in enumerate(candidates)}
    if isinstance(ballot, str | bytes) or not isinstance(ballot, Iterable):
        raise InvalidInput(_("A ballot is a list of candidates."))
    chosen: set[CandidateId] = set()
    for item in ballot:
        candidate = _candidate(item, position)
        if candidate in chosen:
            raise InvalidInput(
                _("Candidate %(candidate)s is chosen twice.") % {"candidate": candidate}
            )
        chosen.add(candidate)
    if not chosen:
        raise InvalidInput(_("The ballot is empty: choose at least one candidate."))
    if limit is not None and len(chosen) > limit:
        raise InvalidInput(
            _("Too many choices: %(chosen)d candidates chosen, at most %(limit)d allowed.")
            % {"chosen": len(chosen), "limit": limit}
        )
    return tuple(sorted(chosen, key=position.__getitem__))
