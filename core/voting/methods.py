"""The core's voting methods: plurality (block vote), approval, Borda, Schulze and STV.

Every method fills ``seats`` from the poll's candidate list and breaks ties the same way: the
candidate **earlier in the candidate list** is ahead. The poll randomises that list when it is
created and publishes it with the ballots, so an independent recount applies the same rule from
the ballot file alone (see ``core.voting.base`` and docs/voting.md).

plurality
    Block vote: each voter chooses up to ``seats`` candidates; the ``seats`` candidates chosen
    most often are elected. With one seat, ordinary plurality.
approval
    Each voter approves any number of candidates; the most approved are elected.
borda
    Ranked. With n candidates a ranking gives n-1 points to the first, n-2 to the second ...
    0 to the last. Candidates sharing a rank share the points of the places they take (the
    average), and the candidates a voter leaves unranked count as one group sharing the
    remaining points: with five candidates, ``A > B`` gives A 4, B 3 and C, D, E 1 each
    ((2 + 1 + 0) / 3). The highest totals are elected. (Scores may end in .5; they are added
    as whole half points, so they are exact.)
schulze
    Ranked, partial rankings and ties allowed (a voter prefers X to Y when X is ranked above
    Y; unranked candidates come below the ranked ones, equal among themselves). The strength
    of the link X -> Y is d[X, Y], the number of voters preferring X to Y, when it beats
    d[Y, X] ("winning votes"), else 0; p[X, Y] is the strength of the strongest path. X beats
    Y when p[X, Y] > p[Y, X]; the winners are the top ``seats`` of the Schulze ranking: seat
    after seat, the first candidate in the list whom no remaining candidate beats.
stv
    Ranked: the single transferable vote under the Scottish rules (``core.voting.stv``).

Every count is exact: numbers of voters are added as integers (``core.voting.profile``), never
through a float, whatever their size; scores are reported as ``Figure``s (``core.voting.base``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.errors import InvalidInput
from core.i18n import N_, _
from core.voting.base import (
    APPROVAL,
    CHOOSE,
    RANKED,
    Ballots,
    CandidateId,
    Figure,
    Tally,
    TieNote,
    VotingMethod,
    check_candidates,
    check_seats,
    exact_figure,
)
from core.voting.profile import (
    CandidateIndex,
    Grouped,
    boundary_tie,
    boundary_tie_note,
    choice_counts,
    order_by_scores,
    pairwise,
    rank_matrix,
    strict_prefixes,
)
from core.voting.stv import scottish_stv


def _prepare(
    candidates: Sequence[CandidateId], seats: int, ballots: Ballots
) -> tuple[CandidateIndex, Grouped]:
    listed = check_candidates(candidates)
    check_seats(listed, seats)
    return CandidateIndex(listed), Grouped(ballots)


class _ScoreMethod(VotingMethod):
    """Methods that elect the highest scores."""

    score_name = "votes"

    def _result(
        self,
        index: CandidateIndex,
        grouped: Grouped,
        seats: int,
        scores: list[int],
        shown: list[Figure] | None = None,
    ) -> Tally:
        """``scores`` are exact integers that order the candidates; ``shown`` is what the
        result reports (default: the scores)."""
        order = order_by_scores(scores)
        shown = list(scores) if shown is None else shown
        return Tally(
            method=self.name,
            seats=seats,
            candidates=index.ids,
            winners=[index.ids[i] for i in order[:seats]],
            ranking=[index.ids[i] for i in order],
            ballots=grouped.total,
            blank=grouped.blank,
            scores=shown,
            tie_breaks=boundary_tie(scores, order, seats, index.ids, self.score_name, shown),
            tie_notes=boundary_tie_note(scores, order, seats, index.ids, self.score_name, shown),
        )


class Plurality(_ScoreMethod):
    """Block vote: choose up to ``seats`` candidates; the most chosen are elected."""

    name = "plurality"
    label = N_("Plurality (block vote)")
    ballot_kind = CHOOSE

    def tally(self, ballots: Ballots, candidates: Sequence[CandidateId], seats: int) -> Tally:
        index, grouped = _prepare(candidates, seats, ballots)
        if len(grouped) and grouped.lengths.max() > seats:
            raise InvalidInput(
                _("A ballot chooses more than %(seats)d candidates.") % {"seats": seats}
            )
        scores = choice_counts(grouped, index)
        return self._result(index, grouped, seats, [int(s) for s in scores])


class Approval(_ScoreMethod):
    """Approve any number of candidates; the most approved are elected."""

    name = "approval"
    label = N_("Approval voting")
    ballot_kind = APPROVAL
    score_name = "approvals"

    def tally(self, ballots: Ballots, candidates: Sequence[CandidateId], seats: int) -> Tally:
        index, grouped = _prepare(candidates, seats, ballots)
        scores = choice_counts(grouped, index)
        return self._result(index, grouped, seats, [int(s) for s in scores])


class Borda(_ScoreMethod):
    """Rank the candidates; n-1 points for a first place ... 0 for a last (shared when tied)."""

    name = "borda"
    label = N_("Borda count")
    ballot_kind = RANKED
    allows_ties = True
    score_name = "points"

    def tally(self, ballots: Ballots, candidates: Sequence[CandidateId], seats: int) -> Tally:
        index, grouped = _prepare(candidates, seats, ballots)
        ranks = rank_matrix(grouped, index)
        d = pairwise(ranks, grouped.weights).tolist()
        voting = grouped.total - grouped.blank
        # Points of a ballot: candidates below it + half the candidates level with it (the
        # unranked ones are level with each other), summed over ballots from d and doubled so
        # that they are whole numbers (Python ints: exact at any size):
        # 2 x score(c) = (n - 1) x voting + sum_j d[c, j] - sum_j d[j, c].
        n = index.n
        doubled = [
            (n - 1) * voting + sum(int(v) for v in d[c]) - sum(int(d[j][c]) for j in range(n))
            for c in range(n)
        ]
        shown = [exact_figure(points, 2) for points in doubled]
        return self._result(index, grouped, seats, doubled, shown)


class Schulze(VotingMethod):
    """Rank the candidates; the Schulze (beatpath) ranking's top ``seats`` are elected."""

    name = "schulze"
    label = N_("Schulze method")
    ballot_kind = RANKED
    allows_ties = True

    def tally(self, ballots: Ballots, candidates: Sequence[CandidateId], seats: int) -> Tally:
        index, grouped = _prepare(candidates, seats, ballots)
        ranks = rank_matrix(grouped, index)
        d = pairwise(ranks, grouped.weights)
        p = strongest_paths(d)
        order, notes = schulze_order(p, index.ids, seats)
        levels = schulze_ties(p, index.ids, seats)
        return Tally(
            method=self.name,
            seats=seats,
            candidates=index.ids,
            winners=[index.ids[i] for i in order[:seats]],
            ranking=[index.ids[i] for i in order],
            ballots=grouped.total,
            blank=grouped.blank,
            pairwise=[[int(v) for v in row] for row in d.tolist()],
            strongest_paths=[[int(v) for v in row] for row in p.tolist()],
            tie_breaks=notes,
            tie_notes=levels,
        )


def strongest_paths(d: np.ndarray) -> np.ndarray:
    """p[i, j]: the strength of the strongest path from i to j (Floyd-Warshall, widest path)."""
    n = len(d)
    p = np.where(d > d.T, d, 0).astype(d.dtype)  # widest paths: only max and min, exact
    through = np.empty_like(p)
    for k in range(n):  # in place: row and column k do not change at step k
        np.minimum(p[:, k : k + 1], p[k : k + 1, :], out=through)
        np.maximum(p, through, out=p)
    np.fill_diagonal(p, 0)
    return p


def schulze_order(p: np.ndarray, ids: list[CandidateId], seats: int) -> tuple[list[int], list[str]]:
    """Seat after seat, the first listed candidate that no remaining candidate beats.

    Returns the order and a note for every seat where the list chose between unbeaten
    candidates not all of whom are elected (a tie among the elected changes only the order).
    """
    order, level = _schulze_levels(p)
    elected = set(order[:seats])
    notes = [
        f"seat {seat}: {_names([ids[c] for c in unbeaten])} are unbeaten among the remaining "
        f"candidates; by the candidate list, {ids[unbeaten[0]]} takes it"
        for seat, unbeaten in enumerate(level[:seats], start=1)
        if not elected.issuperset(unbeaten)
    ]
    return order, notes


def _schulze_levels(p: np.ndarray) -> tuple[list[int], list[list[int]]]:
    """The order, and for each place the candidates unbeaten among those remaining."""
    beats = p > p.T
    remaining = list(range(len(p)))
    order: list[int] = []
    level: list[list[int]] = []
    while remaining:
        unbeaten = [c for c in remaining if not beats[remaining, c].any()]
        chosen = unbeaten[0]  # never empty: the beat relation is transitive (Schulze 2011)
        order.append(chosen)
        level.append(unbeaten)
        remaining.remove(chosen)
    return order, level


def schulze_ties(p: np.ndarray, ids: list[CandidateId], seats: int) -> list[TieNote]:
    """``schulze_order``'s notes as data (``TieNote``, kind "unbeaten")."""
    order, levels = _schulze_levels(p)
    elected = set(order[:seats])
    return [
        TieNote(kind="unbeaten", seat=seat, tied=[ids[c] for c in level], chosen=[ids[level[0]]])
        for seat, level in enumerate(levels[:seats], start=1)
        if not elected.issuperset(level)
    ]


def _names(ids: list[CandidateId]) -> str:
    names = [str(c) for c in ids]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class Stv(VotingMethod):
    """Rank the candidates; single transferable vote, Scottish rules (SSI 2007/42)."""

    name = "stv"
    label = N_("Single transferable vote (Scottish rules)")
    ballot_kind = RANKED
    allows_ties = False

    def tally(self, ballots: Ballots, candidates: Sequence[CandidateId], seats: int) -> Tally:
        index, grouped = _prepare(candidates, seats, ballots)
        prefixes = strict_prefixes(grouped, index)
        count = scottish_stv(prefixes, grouped.weights, index.ids, seats)
        winners = [index.ids[i] for i in count.winners]
        return Tally(
            method=self.name,
            seats=seats,
            candidates=index.ids,
            winners=winners,
            ranking=winners,
            ballots=grouped.total,
            blank=count.blank,
            quota=count.quota,
            rounds=count.rounds,
            tie_breaks=[
                f"stage {stage.stage}: {note}"
                for stage in count.rounds
                for note in stage.notes
                if not note.startswith("rule 52")
            ],
            tie_notes=count.tie_notes,
        )


CORE_METHODS: tuple[VotingMethod, ...] = (Plurality(), Approval(), Borda(), Schulze(), Stv())
