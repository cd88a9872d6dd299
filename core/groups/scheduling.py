"""Choosing a working group's meetings from the candidate slots its participants answered.

Pure functions, no database. The rules:

* **Expected attendance** of a slot is the number of participants who answered *yes* plus half
  the number who answered *if need be* (``maybe``); *no* and no answer count 0. The expected
  attendance of a plan is the sum over its slots. It is kept in half-persons (``halves``: yes
  2, if need be 1) so that comparisons are exact.
* A **plan** is exactly ``count`` slots (default 5) whose local calendar days are at least
  ``min_gap_days`` apart (default 14: two weeks), taken from slots that already lie between
  November and April (the services check that when a slot is proposed).
* **The best plan** has the highest expected attendance. Among plans that tie, the one with
  the most meetings in the **preferred mode** wins: the mode (in person or online) that most
  participants can attend, a participant being able to attend a mode when they answered yes or
  if need be to at least one of its slots (a tie between the modes prefers in person, the
  local working group's usual way to meet). Among plans that still tie, the **earliest** wins:
  the slots are ordered by start time (then id), and plans are compared meeting by meeting, so
  the one whose first meeting is earlier wins, then the second, and so on.

``choose_plan`` finds that plan exactly with a dynamic programme over the slots in time order
(slots are few: O(slots x count)); tests check it against a brute-force search.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

YES, MAYBE, NO = "yes", "maybe", "no"
ANSWERS = (YES, MAYBE, NO)
IN_PERSON, ONLINE = "in_person", "online"
MODES = (IN_PERSON, ONLINE)  # in this order: a tie between the modes prefers in person

# Expected attendance in half-persons: yes counts 1, "if need be" 1/2, no (or nothing) 0.
HALVES = {YES: 2, MAYBE: 1, NO: 0}

DEFAULT_MEETINGS = 5
MIN_GAP_DAYS = 14


@dataclass(frozen=True)
class SlotChoice:
    """A candidate slot as the plan sees it. ``day`` is its local calendar day (the gap
    between meetings is counted in days between local dates)."""

    id: int
    starts_at: datetime
    day: date
    mode: str


@dataclass(frozen=True)
class Plan:
    """The chosen slots in time order, with the figures that chose them."""

    slot_ids: tuple[int, ...]
    expected_halves: int  # expected attendance x 2
    preferred_mode: str | None
    preferred_meetings: int  # meetings of the plan in the preferred mode

    @property
    def expected_attendance(self) -> float:
        return self.expected_halves / 2


def slot_halves(answers: Mapping[int, str]) -> int:
    """A slot's expected attendance in half-persons, from its answers (member -> answer)."""
    return sum(HALVES.get(answer, 0) for answer in answers.values())


def preferred_mode(
    slots: Iterable[SlotChoice], answers: Mapping[int, Mapping[int, str]]
) -> str | None:
    """The mode most participants can attend (None when nobody can attend any slot)."""
    can_attend: dict[str, set[int]] = {mode: set() for mode in MODES}
    for slot in slots:
        for member, answer in answers.get(slot.id, {}).items():
            if HALVES.get(answer, 0) > 0:
                can_attend.setdefault(slot.mode, set()).add(member)
    counts = {mode: len(members) for mode, members in can_attend.items()}
    if not any(counts.values()):
        return None
    best = max(counts.values())
    return next(mode for mode in (*MODES, *sorted(counts)) if counts.get(mode) == best)


def ordered(slots: Iterable[SlotChoice]) -> list[SlotChoice]:
    """Slots in time order (then id): the order the tie rule reads plans in."""
    return sorted(slots, key=lambda s: (s.starts_at, s.id))


def fits(slots: Sequence[SlotChoice], count: int, min_gap_days: int) -> bool:
    """Are these exactly ``count`` distinct slots, at least ``min_gap_days`` apart?"""
    chosen = ordered(slots)
    if len(chosen) != count or len({s.id for s in chosen}) != count:
        return False
    pairs = zip(chosen, chosen[1:], strict=False)
    return all((b.day - a.day).days >= min_gap_days for a, b in pairs)


def choose_plan(
    slots: Iterable[SlotChoice],
    answers: Mapping[int, Mapping[int, str]],
    *,
    count: int = DEFAULT_MEETINGS,
    min_gap_days: int = MIN_GAP_DAYS,
) -> Plan | None:
    """The best plan of ``count`` slots (see the module's rules), or None when no ``count``
    slots are ``min_gap_days`` apart. ``answers`` maps slot id -> member id -> answer."""
    if count < 1 or min_gap_days < 1:
        raise ValueError("a plan has at least one meeting, at least a day apart")
    line = ordered(slots)
    n = len(line)
    mode = preferred_mode(line, answers)
    # A slot's value: (expected halves, 1 if in the preferred mode). Values add up and compare
    # as tuples, so a plan's value is the sum of its slots' values.
    value = [(slot_halves(answers.get(s.id, {})), int(s.mode == mode)) for s in line]
    # The first slot at least min_gap_days after slot i (slots sorted by time, so by day too).
    days = [s.day.toordinal() for s in line]
    after = [bisect_left(days, days[i] + min_gap_days) for i in range(n)]

    # best[r][i]: the best value of a plan of r slots whose first slot is i, and the slot
    # that follows i in it. top[r][i]: the best of best[r][j] over j >= i, the smallest j on
    # ties (so the earliest plan wins).
    none = (-1, -1)
    best = [[none] * n for _ in range(count + 1)]
    follow = [[-1] * n for _ in range(count + 1)]
    top: list[list[tuple[tuple[int, int], int]]] = [
        [(none, -1)] * (n + 1) for _ in range(count + 1)
    ]
    for r in range(1, count + 1):
        for i in range(n - 1, -1, -1):
            if r == 1:
                best[r][i] = value[i]
            else:
                rest, j = top[r - 1][after[i]] if after[i] < n else (none, -1)
                if j >= 0:
                    best[r][i] = (value[i][0] + rest[0], value[i][1] + rest[1])
                    follow[r][i] = j
            here = (best[r][i], i)
            below = top[r][i + 1]
            top[r][i] = here if best[r][i] != none and best[r][i] >= below[0] else below
    total, first = top[count][0]
    if first < 0:
        return None
    chosen, i, r = [], first, count
    while r >= 1:
        chosen.append(line[i].id)
        i, r = follow[r][i], r - 1
    return Plan(
        slot_ids=tuple(chosen),
        expected_halves=total[0],
        preferred_mode=mode,
        preferred_meetings=total[1],
    )


def plan_of(
    slots: Iterable[SlotChoice],
    answers: Mapping[int, Mapping[int, str]],
    chosen: Iterable[int],
) -> Plan:
    """The figures of a plan of the given slot ids (a facilitator's own choice)."""
    line = ordered(slots)
    mode = preferred_mode(line, answers)
    picked = [s for s in line if s.id in set(chosen)]
    return Plan(
        slot_ids=tuple(s.id for s in picked),
        expected_halves=sum(slot_halves(answers.get(s.id, {})) for s in picked),
        preferred_mode=mode,
        preferred_meetings=sum(1 for s in picked if s.mode == mode),
    )
