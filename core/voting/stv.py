"""The single transferable vote, counted as the Scottish rules count it.

The rules are those of the Scottish Local Government Elections Order 2007 (SSI 2007/42,
schedule 1, rules 45 to 52), the weighted inclusive Gregory method:

* **Quota** (rule 46): ``floor(valid ballots / (seats + 1)) + 1``.
* **Election** (rule 47): at the end of any stage, a continuing candidate whose votes equal or
  exceed the quota is deemed elected.
* **Surplus** (rules 48 and 49): the largest surplus is transferred first, one per stage. Every
  paper the elected candidate holds moves to its next continuing preference at the transfer
  value ``surplus x value when received / candidate's votes``, computed to five decimal places
  with the remainder ignored. A paper without a further preference is set aside as
  non-transferable; what truncation leaves over is lost. The elected candidate keeps the quota.
* **Exclusion** (rules 50 and 51): when no surplus is left, the continuing candidate with the
  fewest votes is excluded and each of their papers moves on at the value it arrived with.
* **Last vacancies** (rule 52): when as many candidates continue as vacancies remain, they are
  elected; with one vacancy left, a candidate whose votes are at least those of all the other
  continuing candidates together with every untransferred surplus is elected (when exactly one
  candidate qualifies). Then no further transfer is made.

Ties (rules 49(2) and 51): of candidates with equal votes, the one with more votes at the end
of the most recent preceding stage at which their votes differed is ahead (three or more:
the look-back narrows the tie stage by stage). Where the rules then decide by lot, the platform
takes the candidate list instead: the candidate earlier in the list is ahead, so the later one
is excluded and the earlier one's surplus goes first.

A ranking with a tied group is read up to that group, as the rules read a paper that gives the
same number to two candidates: it is non-transferable there, and void when the first preference
is shared (void and empty papers do not count towards the quota).

Arithmetic. Votes are counted in whole hundred-thousandths of a vote ("units", ``UNIT``), as
Python integers or ``int64`` arrays that cannot overflow (``core.voting.profile.exact_dtype``:
past 2**63 the arrays hold Python ints), never as floats, so every figure is exact at any size
and a recount gives the same digits:

* a paper is worth ``UNIT`` (1.00000) until a surplus transfer sets its value;
* a transfer value is ``floor(surplus x value / total)`` units, with ``surplus``, ``value``
  and ``total`` (the elected candidate's votes) in units: rule 48(3)'s "five decimal places,
  any remainder being ignored" exactly;
* a candidate's votes are the sum, over the papers they hold, of count x value (plus the quota
  they keep once their surplus has gone);
* what truncation leaves over (``surplus`` minus the papers' new values, set-aside papers
  included) is recorded as ``rounding`` and is lost: it is in no candidate's votes and not
  non-transferable. At the end of every stage, in units:
  ``votes of all candidates + non-transferable so far + rounding so far = valid x UNIT``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.voting.base import (
    CandidateId,
    Figure,
    StvRound,
    TieNote,
    TransferValue,
    exact_figure,
)
from core.voting.profile import exact_dtype

UNIT = 100_000  # one vote; transfer values have five decimals


@dataclass
class StvCount:
    winners: list[int]  # candidate positions, in the order of election
    quota: int
    valid: int
    blank: int
    rounds: list[StvRound] = field(default_factory=list)
    tie_notes: list[TieNote] = field(default_factory=list)


def scottish_stv(
    prefixes: np.ndarray, weights: np.ndarray, ids: list[CandidateId], seats: int
) -> StvCount:
    """Count strict rankings (``P[b, k]``: ballot b's k-th preference, ``len(ids)`` after)."""
    count = _Count(prefixes, weights, ids, seats)
    count.run()
    return StvCount(
        winners=count.elected,
        quota=count.quota,
        valid=count.valid,
        blank=count.blank,
        rounds=count.rounds,
        tie_notes=count.tie_notes,
    )


def _votes(units: int | np.integer) -> Figure:
    """Votes in units as a figure: exact (a string past what a float shows exactly)."""
    return exact_figure(int(units), UNIT)


def _value(units: int | np.integer) -> float:
    """A paper's value (at most 1, five decimals): a float is exact in its shortest form."""
    return int(units) / UNIT


def _fixed(units: int) -> str:
    """Votes in units with their five decimals, as the rules write them: ``2.99997``."""
    whole, rest = divmod(abs(units), UNIT)
    return f"{'-' if units < 0 else ''}{whole}.{rest:05d}"


def _names(ids: list[CandidateId]) -> str:
    names = [str(c) for c in ids]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class _Count:
    def __init__(
        self, prefixes: np.ndarray, weights: np.ndarray, ids: list[CandidateId], seats: int
    ) -> None:
        n = len(ids)
        valid = prefixes[:, 0] < n if len(prefixes) else np.zeros(0, dtype=bool)
        self.blank = int(weights[~valid].sum())  # int64 sums below the total, or Python ints
        self.papers = prefixes[valid]
        self.valid = int(weights[valid].sum())
        # The largest product made: surplus x value, both in units, below valid x UNIT x UNIT.
        self.dtype = exact_dtype(max(self.valid, 1) * UNIT * UNIT)
        self.weights = weights[valid].astype(self.dtype)
        self.ids = ids
        self.n = n
        self.seats = seats
        self.quota = self.valid // (seats + 1) + 1
        self.quota_units = self.quota * UNIT
        self.position = np.zeros(len(self.weights), dtype=np.int64)
        self.holder = self.papers[:, 0].astype(np.int64)  # n: set aside, non-transferable
        self.value = np.full(len(self.weights), UNIT, dtype=self.dtype)  # at most UNIT
        self.continuing = np.ones(n + 1, dtype=bool)
        self.continuing[n] = False
        self.tie_notes: list[TieNote] = []
        self.kept = np.zeros(n, dtype=self.dtype)  # the quota, once a surplus has gone
        self.elected: list[int] = []
        self.pending: list[int] = []  # elected with a surplus not yet transferred
        self.history: list[np.ndarray] = []  # votes at the end of each stage
        self.rounds: list[StvRound] = []

    # -- the count ------------------------------------------------------------------------

    def run(self) -> None:
        self._record("first preferences", change_from=None)
        while len(self.elected) < self.seats:
            remaining = self.seats - len(self.elected)
            votes = self.history[-1]
            continuing = [c for c in range(self.n) if self.continuing[c]]
            if len(continuing) <= remaining:
                order = self._ahead_order(continuing)
                for c in order:
                    self._elect(c)
                self._note(
                    f"rule 52(1): as many continuing candidates as vacancies; "
                    f"{_names([self.ids[c] for c in order])} deemed elected"
                )
                return
            if remaining == 1:
                untransferred = sum(int(votes[e]) - self.quota_units for e in self.pending)
                together = sum(int(votes[c]) for c in continuing)
                qualified = [
                    c
                    for c in continuing
                    if 2 * int(votes[c]) >= together + untransferred  # >= all others + surplus
                ]
                if len(qualified) == 1:
                    self._elect(qualified[0])
                    self._note(
                        f"rule 52(2): {self.ids[qualified[0]]} has at least the votes of all "
                        "other continuing candidates and the untransferred surpluses; deemed "
                        "elected"
                    )
                    return
            if self.pending:
                chosen, note = self._choose(self.pending, lowest=False, verb="goes first")
                self._transfer_surplus(chosen, note)
            else:
                chosen, note = self._choose(continuing, lowest=True, verb="is excluded")
                self._exclude(chosen, note)

    def _transfer_surplus(self, elected: int, note: str | None) -> None:
        before = self.history[-1]
        total = int(before[elected])
        surplus = total - self.quota_units
        papers = np.flatnonzero(self.holder == elected)
        values = self.value[papers]
        # Rule 48(3): surplus x value / total to five decimals, remainder ignored. In units
        # that is an integer division rounding down: exact, no float.
        transfer = (surplus * values) // total
        nxt, position = self._next_preferences(papers)
        weights = self.weights[papers]
        moves = nxt < self.n
        classes = self._classes(values, transfer, weights, moves)
        non_transferable = int((weights[~moves] * transfer[~moves]).sum())
        rounding = surplus - int((weights * transfer).sum())
        self.holder[papers] = nxt
        self.position[papers] = position
        self.value[papers] = transfer  # what a set-aside paper carries is non-transferable
        self.kept[elected] = self.quota_units
        self.pending.remove(elected)
        self._record(
            "surplus",
            change_from=before,
            candidate=elected,
            surplus=surplus,
            transfer_values=classes,
            non_transferable=non_transferable,
            rounding=rounding,
            note=note,
        )

    def _exclude(self, excluded: int, note: str | None) -> None:
        before = self.history[-1]
        self.continuing[excluded] = False
        papers = np.flatnonzero(self.holder == excluded)
        values = self.value[papers]
        nxt, position = self._next_preferences(papers)
        weights = self.weights[papers]
        moves = nxt < self.n
        classes = self._classes(values, values, weights, moves)
        self.holder[papers] = nxt
        self.position[papers] = position
        self._record(
            "exclusion",
            change_from=before,
            candidate=excluded,
            transfer_values=classes,
            non_transferable=int((weights[~moves] * values[~moves]).sum()),
            note=note,
        )

    def _next_preferences(self, papers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each paper's next preference for a continuing candidate (``n``: none) and where."""
        length = self.papers.shape[1]
        nxt = np.full(len(papers), self.n, dtype=np.int64)
        where = self.position[papers].copy()
        looking = self.position[papers] + 1
        active = np.arange(len(papers))
        while active.size:
            active = active[looking[active] < length]
            if not active.size:
                break
            candidate = self.papers[papers[active], looking[active]]
            found = self.continuing[candidate]
            nxt[active[found]] = candidate[found]
            where[active[found]] = looking[active[found]]
            active = active[~found & (candidate < self.n)]
            looking[active] += 1
        return nxt, where

    # -- stages, elections, ties ----------------------------------------------------------

    def _totals(self) -> tuple[np.ndarray, int]:
        """Each candidate's votes in units, and the value of the papers set aside: integer
        sums of count x value (``np.add.at``, not a float ``bincount``)."""
        held = np.zeros(self.n + 1, dtype=self.dtype)
        np.add.at(held, self.holder, self.weights * self.value)
        return held[: self.n] + self.kept, int(held[self.n])

    def _record(
        self,
        action: str,
        *,
        change_from: np.ndarray | None,
        candidate: int | None = None,
        surplus: int | None = None,
        transfer_values: list[TransferValue] | None = None,
        non_transferable: int = 0,
        rounding: int = 0,
        note: str | None = None,
    ) -> None:
        votes, _set_aside = self._totals()
        change = votes if change_from is None else votes - change_from
        self.history.append(votes)
        stage = StvRound(
            stage=len(self.rounds) + 1,
            action=action,
            candidate=None if candidate is None else self.ids[candidate],
            surplus=None if surplus is None else _votes(surplus),
            transfer_values=transfer_values or [],
            change=[_votes(v) for v in change],
            votes=[_votes(v) for v in votes],
            non_transferable=_votes(non_transferable),
            rounding=_votes(rounding),
            notes=[note] if note else [],
        )
        self.rounds.append(stage)
        # Rule 47: whoever reaches the quota at the end of a stage is elected.
        reached = [c for c in range(self.n) if self.continuing[c] and votes[c] >= self.quota_units]
        for c in self._ahead_order(reached):
            self._elect(c)

    def _elect(self, candidate: int) -> None:
        self.continuing[candidate] = False
        self.elected.append(candidate)
        if self.history[-1][candidate] > self.quota_units:
            self.pending.append(candidate)
        self.rounds[-1].elected.append(self.ids[candidate])

    def _note(self, note: str) -> None:
        self.rounds[-1].notes.append(note)

    def _key(self, candidate: int) -> tuple[int, ...]:
        """Votes now, then at each earlier stage: who is ahead, before the candidate list."""
        return tuple(int(stage[candidate]) for stage in reversed(self.history))

    def _ahead_order(self, candidates: list[int]) -> list[int]:
        by_list = sorted(candidates)
        return sorted(by_list, key=self._key, reverse=True)  # stable: the list breaks ties

    def _choose(self, candidates: list[int], *, lowest: bool, verb: str) -> tuple[int, str | None]:
        """The candidate with the fewest (or most) votes now, ties resolved by the rules."""
        votes = self.history[-1]
        extreme = min if lowest else max
        best = extreme(int(votes[c]) for c in candidates)
        tied = sorted(c for c in candidates if votes[c] == best)
        if len(tied) == 1:
            return tied[0], None
        group = tied
        decided_at = None
        for stage in range(len(self.history) - 2, -1, -1):
            values = {c: int(self.history[stage][c]) for c in group}
            target = extreme(values.values())
            narrowed = [c for c in group if values[c] == target]
            if len(narrowed) < len(group):
                group = narrowed
                if len(group) == 1:
                    decided_at = stage + 1
                    break
        names = _names([self.ids[c] for c in tied])
        chosen = group[0] if decided_at is not None or not lowest else group[-1]
        self.tie_notes.append(
            TieNote(
                kind="stv",
                stage=len(self.rounds) + 1,  # the stage this choice opens
                tied=[self.ids[c] for c in tied],
                chosen=[self.ids[chosen]],
                figure=_votes(best),
                action="excluded" if lowest else "first",
                decided_at=decided_at,
                every_stage=decided_at is None and len(self.history) > 1,
            )
        )
        if decided_at is not None:
            return chosen, (
                f"{names} tie on {_fixed(best)} votes; {self.ids[chosen]} had "
                f"{'fewer' if lowest else 'more'} at the end of stage {decided_at} and {verb}"
            )
        return chosen, (
            f"{names} tie on {_fixed(best)} votes"
            + (" at every stage" if len(self.history) > 1 else "")
            + f"; by the candidate list, {self.ids[chosen]} {verb}"
        )

    def _classes(
        self, values: np.ndarray, transfer: np.ndarray, weights: np.ndarray, moves: np.ndarray
    ) -> list[TransferValue]:
        classes = []
        for value in np.unique(values)[::-1]:
            at = values == value
            classes.append(
                TransferValue(
                    value=_value(value),
                    transfer_value=_value(transfer[at][0]),
                    papers=int(weights[at & moves].sum()),
                    non_transferable=int(weights[at & ~moves].sum()),
                )
            )
        return classes
