"""Ballots as arrays: identical ballots grouped with a weight, rankings as a rank matrix.

Counting 40,000 ballots must take milliseconds, so Python touches each *distinct* ballot once
at most and numpy does the rest: rankings of whole-number candidate ids are converted in bulk
(one array per ballot length); ballots with tied groups or text ids take a slower path.

Counts are exact whatever their size: numbers of voters are added as integers, never as
floats. An array of counts is ``int64`` when no sum a count makes can reach 2**63 (every
realistic poll), and an array of Python ints (``dtype=object``, slower, unbounded) otherwise;
``exact_dtype`` chooses from the largest sum a count can make.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from typing import Any

import numpy as np

from core.errors import InvalidInput
from core.voting.base import Ballot, Ballots, CandidateId, Figure, TieNote

INT64_LIMIT = 1 << 63


def exact_dtype(bound: int) -> Any:
    """``int64`` when no sum reaches ``bound`` and ``bound`` fits, else Python ints."""
    return np.int64 if bound < INT64_LIMIT else object


class Grouped:
    """Distinct ballots and how many voters cast each."""

    def __init__(self, ballots: Ballots) -> None:
        if isinstance(ballots, Mapping):
            counts: Mapping[Ballot, int] = ballots
            numbers = list(counts.values())
            if not all(type(count) is int for count in numbers):  # numpy ints, or wrong
                numbers = [_count(count) for count in numbers]
            if numbers and min(numbers) < 0:
                raise InvalidInput("A ballot count cannot be negative.")
        else:
            listed = ballots if isinstance(ballots, list | tuple) else list(ballots)
            try:
                counts = Counter(listed)
            except TypeError:  # lists from JSON: make them hashable
                counts = Counter(map(_freeze, listed))
            numbers = list(counts.values())
        self.keys: list[Ballot] = list(counts)
        self.total: int = sum(numbers)
        self.dtype = exact_dtype(self.total)
        self.weights = np.array(numbers, dtype=self.dtype).reshape(len(numbers))
        self.lengths = np.fromiter(map(len, self.keys), dtype=np.int64, count=len(self.keys))
        self.blank = int(self.weights[self.lengths == 0].sum())  # ballots choosing nobody

    def __len__(self) -> int:
        return len(self.keys)


def _count(count: Any) -> int:
    if isinstance(count, bool) or not isinstance(count, int | np.integer):
        raise InvalidInput(f"A ballot count must be a whole number, not {type(count).__name__}.")
    return int(count)


def _freeze(ballot: Any) -> Any:
    if isinstance(ballot, list | tuple):
        return tuple(_freeze(item) for item in ballot)
    if isinstance(ballot, set | frozenset):
        return frozenset(ballot)
    return ballot


class CandidateIndex:
    """Candidate ids to their positions in the candidate list (0 .. n-1)."""

    def __init__(self, candidates: Sequence[CandidateId]) -> None:
        self.ids = list(candidates)
        self.n = len(self.ids)
        self.position = {c: i for i, c in enumerate(self.ids)}
        self.whole_numbers = all(isinstance(c, int) and not isinstance(c, bool) for c in self.ids)
        self._table: np.ndarray | None = None
        if self.whole_numbers:
            order = sorted(range(self.n), key=self.ids.__getitem__)
            self._sorted_ids = np.array([self.ids[i] for i in order], dtype=np.int64)
            self._sorted_positions = np.array(order, dtype=np.int64)
            low, high = int(self._sorted_ids[0]), int(self._sorted_ids[-1])
            if high - low < 1 << 16:  # small ids (numbers 1..n, most theme ids): a direct table
                self._low = low
                self._table = np.full(high - low + 1, -1, dtype=np.int64)
                self._table[self._sorted_ids - low] = self._sorted_positions

    def of(self, candidate: Any) -> int:
        try:
            return self.position[candidate]
        except (KeyError, TypeError):
            raise InvalidInput(f"Unknown candidate {candidate!r}.") from None

    def lookup(self, ids: np.ndarray) -> np.ndarray:
        """Positions of an array of whole-number ids; an unknown id is an error."""
        if self._table is not None:
            offsets = ids - self._low
            if offsets.size and (offsets.min() < 0 or offsets.max() >= len(self._table)):
                inside = (offsets >= 0) & (offsets < len(self._table))
                raise InvalidInput(f"Unknown candidate {ids[~inside][0]}.")
            positions = self._table[offsets]
            if (positions < 0).any():
                raise InvalidInput(f"Unknown candidate {ids[positions < 0][0]}.")
            return positions
        at = np.searchsorted(self._sorted_ids, ids).clip(0, self.n - 1)
        known = self._sorted_ids[at] == ids
        if not known.all():
            raise InvalidInput(f"Unknown candidate {ids[~known][0]}.")
        return self._sorted_positions[at]


def _bulk(keys: list[Ballot], length: int, index: CandidateIndex) -> np.ndarray | None:
    """Ballots of ``length`` whole-number ids as an array of positions, or None (slow path).

    Ids from 0 to 255 (candidate numbers) go through ``bytes``, which also refuses anything but
    an int (a tied group, a text, a float); larger ids through ``np.array``.
    """
    if not index.whole_numbers:
        return None
    try:
        flat = np.frombuffer(bytes(chain.from_iterable(keys)), dtype=np.uint8).astype(np.int64)
    except TypeError:  # a tied group or something that is not a number
        return None
    except ValueError:  # ids beyond 255
        try:
            array = np.array(keys) if keys else np.zeros((0, length), dtype=np.int64)
        except (ValueError, OverflowError):  # tied groups among them, or ids past int64
            return None
        if array.ndim != 2 or array.dtype.kind not in "iu":
            return None
        flat = array.ravel()
    return index.lookup(flat).reshape(len(keys), length)


def _by_length(grouped: Grouped) -> Iterable[tuple[int, np.ndarray]]:
    for length in np.unique(grouped.lengths):
        yield int(length), np.flatnonzero(grouped.lengths == length)


def choice_counts(grouped: Grouped, index: CandidateIndex) -> np.ndarray:
    """Approval or choose ballots: how many voters chose each candidate (each score is at
    most the number of ballots, so the weights' type holds it)."""
    scores = np.zeros(index.n, dtype=grouped.dtype)
    for length, rows in _by_length(grouped):
        if length == 0:
            continue
        keys = [grouped.keys[i] for i in rows]
        weights = grouped.weights[rows]
        positions = _bulk(keys, length, index)
        if positions is None:
            positions = np.array([[index.of(c) for c in ballot] for ballot in keys])
        ordered = np.sort(positions, axis=1)
        if (ordered[:, 1:] == ordered[:, :-1]).any():
            raise InvalidInput("A ballot chooses the same candidate twice.")
        chosen = np.zeros((len(keys), index.n), dtype=bool)
        chosen[np.arange(len(keys))[:, None], positions] = True
        scores += np.einsum("k,kn->n", weights, chosen)  # integer sums, no float
    return scores


def _rankings(
    grouped: Grouped, index: CandidateIndex
) -> Iterable[tuple[np.ndarray, np.ndarray | None, list[Ballot]]]:
    """(rows, positions, ballots) per ballot length; positions is None where ballots hold tied
    groups or text ids (the caller walks those ballots one by one)."""
    for length, rows in _by_length(grouped):
        if length == 0:
            continue
        keys = grouped.keys if len(rows) == len(grouped) else [grouped.keys[i] for i in rows]
        positions = _bulk(keys, length, index)
        if positions is not None:
            seen = np.zeros((len(rows), index.n), dtype=bool)
            seen[np.arange(len(rows))[:, None], positions] = True
            if (seen.sum(axis=1) != length).any():
                raise InvalidInput("A ballot ranks the same candidate twice.")
        yield rows, positions, keys


def _groups(ballot: Ballot, index: CandidateIndex) -> list[list[int]]:
    groups = [
        [index.of(item)] if isinstance(item, int | str) else [index.of(c) for c in item]
        for item in ballot
    ]
    flat = [c for group in groups for c in group]
    if len(set(flat)) != len(flat):
        raise InvalidInput("A ballot ranks the same candidate twice.")
    return groups


def rank_matrix(grouped: Grouped, index: CandidateIndex) -> np.ndarray:
    """R[b, c]: the rank (0 = first) ballot b gives candidate c; ``n`` when unranked.

    Candidates in a tied group share a rank; unranked candidates share the rank ``n``, below
    every ranked one.
    """
    n = index.n
    ranks = np.full((len(grouped), n), n, dtype=_position_dtype(n))
    for rows, positions, keys in _rankings(grouped, index):
        if positions is not None:
            ranks[rows[:, None], positions] = np.arange(positions.shape[1], dtype=ranks.dtype)
            continue
        for row, ballot in zip(rows, keys, strict=True):
            for rank, group in enumerate(_groups(ballot, index)):
                ranks[row, group] = rank
    return ranks


def strict_prefixes(grouped: Grouped, index: CandidateIndex) -> np.ndarray:
    """P[b, k]: the candidate ballot b ranks k-th, read up to its first tied group; ``n`` after.

    STV reads a paper as the Scottish rules do: where the next preference is given to two or
    more candidates at once the paper stops being transferable, and a paper whose first
    preference is shared is void (an empty row).
    """
    n = index.n
    prefixes = np.full((len(grouped), n), n, dtype=_position_dtype(n))
    for rows, positions, keys in _rankings(grouped, index):
        if positions is not None:
            prefixes[rows, : positions.shape[1]] = positions
            continue
        for row, ballot in zip(rows, keys, strict=True):
            for rank, group in enumerate(_groups(ballot, index)):
                if len(group) > 1:
                    break
                prefixes[row, rank] = group[0]
    return prefixes


def _position_dtype(n: int) -> Any:
    """Ranks and candidate positions 0 .. n (n: unranked) in as few bytes as they need."""
    return np.int16 if n < 1 << 15 else np.int32


def pairwise(ranks: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """d[i, j]: how many voters rank candidate i strictly above candidate j.

    Integer sums (``einsum`` of the weights over a boolean matrix), each at most the number of
    ballots: the weights' type (int64, or Python ints past 2**63) holds them.
    """
    n = ranks.shape[1]
    d = np.zeros((n, n), dtype=weights.dtype)
    for i in range(n):
        d[i] = np.einsum("k,kn->n", weights, ranks[:, i : i + 1] < ranks)
    return d


def order_by_scores(scores: Sequence[int]) -> list[int]:
    """Candidate positions, highest score first; equal scores keep the candidate-list order.

    ``scores`` are exact integers (Borda: doubled), never floats."""
    return sorted(range(len(scores)), key=lambda i: -scores[i])


def boundary_tie(
    scores: Sequence[int],
    order: list[int],
    seats: int,
    ids: list[CandidateId],
    what: str,
    shown: Sequence[Figure] | None = None,
) -> list[str]:
    """A note when candidates with the last elected one's score were left out by the list.

    ``scores`` decide (exact integers); ``shown`` is how the score is written (default: the
    score itself)."""
    return [
        f"{_names(note.tied)} tie with {note.figure} {what}; by the candidate "
        f"list, {_names(note.chosen)} {'is' if len(note.chosen) == 1 else 'are'} elected and "
        f"{_names(note.left_out)} not."
        for note in boundary_tie_note(scores, order, seats, ids, what, shown)
    ]


def boundary_tie_note(
    scores: Sequence[int],
    order: list[int],
    seats: int,
    ids: list[CandidateId],
    what: str,
    shown: Sequence[Figure] | None = None,
) -> list[TieNote]:
    """``boundary_tie`` as data (``TieNote``, kind "boundary")."""
    if seats >= len(order) or scores[order[seats]] != scores[order[seats - 1]]:
        return []
    last = scores[order[seats - 1]]
    tied = [i for i in order if scores[i] == last]
    return [
        TieNote(
            kind="boundary",
            tied=[ids[i] for i in tied],
            chosen=[ids[i] for i in tied if i in order[:seats]],
            left_out=[ids[i] for i in tied if i not in order[:seats]],
            figure=(shown or scores)[order[seats - 1]],
            score=what,
        )
    ]


def _names(ids: Iterable[CandidateId]) -> str:
    names = [str(c) for c in ids]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


__all__ = [
    "CandidateIndex",
    "Grouped",
    "boundary_tie",
    "boundary_tie_note",
    "choice_counts",
    "exact_dtype",
    "order_by_scores",
    "pairwise",
    "rank_matrix",
    "strict_prefixes",
]
