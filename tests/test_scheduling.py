"""The plan of meetings: hand-made cases whose best plan is known, and random cases checked
against a brute-force search over every set of slots (fixed seeds, so every run is the same).

Rules under test (core/groups/scheduling.py): expected attendance counts yes 1 and "if need be"
1/2; a plan is exactly ``count`` slots at least ``min_gap_days`` local days apart; the best
plan has the highest expected attendance, then the most meetings in the mode most participants
can attend (a tie between modes prefers in person), then the earliest meetings.
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime, timedelta

import pytest

from core.groups.scheduling import (
    IN_PERSON,
    MAYBE,
    NO,
    ONLINE,
    YES,
    SlotChoice,
    choose_plan,
    fits,
    plan_of,
    preferred_mode,
)

START = datetime(2020, 11, 2, 18, 0, tzinfo=UTC)


def slot(id: int, day: int, mode: str = IN_PERSON, hour: int = 18) -> SlotChoice:
    """A slot ``day`` days after 2 November 2020 (its local day is the UTC day here)."""
    moment = START + timedelta(days=day, hours=hour - 18)
    return SlotChoice(id=id, starts_at=moment, day=moment.date(), mode=mode)


def answers_of(table: dict[int, str]) -> dict[int, dict[int, str]]:
    """{slot: "yyn?"} -> slot -> member -> answer ("y" yes, "m" maybe, "n" no, "?" none)."""
    letters = {"y": YES, "m": MAYBE, "n": NO}
    return {
        slot_id: {member: letters[c] for member, c in enumerate(row) if c in letters}
        for slot_id, row in table.items()
    }


# -- hand-made cases ---------------------------------------------------------------------------


def test_the_plan_leaves_out_the_slot_fewest_can_attend():
    slots = [slot(i, 14 * i) for i in range(1, 7)]
    answers = answers_of({1: "yyyy", 2: "yyyn", 3: "ynnn", 4: "yyyy", 5: "yyym", 6: "yyyy"})
    plan = choose_plan(slots, answers, count=5)
    assert plan is not None
    assert plan.slot_ids == (1, 2, 4, 5, 6)
    assert plan.expected_attendance == 4 + 3 + 4 + 3.5 + 4


def test_meetings_are_at_least_two_weeks_apart_even_when_closer_slots_are_good():
    # Slots 2 and 3 are one week apart: only one of them can be in the plan.
    slots = [slot(1, 0), slot(2, 14), slot(3, 21), slot(4, 35)]
    answers = answers_of({1: "yyn", 2: "yyn", 3: "yyy", 4: "nnn"})
    plan = choose_plan(slots, answers, count=3)
    assert plan is not None
    assert plan.slot_ids == (1, 3, 4)  # 2 + 3 + 0 people; 1-2-4 only expects 2 + 2 + 0
    assert plan.expected_attendance == 5
    assert choose_plan(slots, answers, count=4) is None  # no four slots two weeks apart


def test_the_gap_is_counted_in_local_calendar_days():
    late = SlotChoice(1, START.replace(hour=21), START.date(), IN_PERSON)
    early_next = START.replace(hour=8) + timedelta(days=14)  # 13 days 11 hours later
    two_weeks = SlotChoice(2, early_next, early_next.date(), IN_PERSON)
    one_day_short = SlotChoice(3, early_next - timedelta(days=1), date(2020, 11, 15), IN_PERSON)
    assert fits([late, two_weeks], 2, 14)
    assert not fits([late, one_day_short], 2, 14)
    assert choose_plan([late, one_day_short], {}, count=2) is None


def test_if_need_be_counts_half():
    # Three "if need be" (1.5) beat one yes (1); two "if need be" tie with one yes.
    slots = [slot(1, 0), slot(2, 1), slot(3, 20)]
    assert choose_plan(slots, answers_of({1: "ynn", 2: "mmm", 3: "y"}), count=2).slot_ids == (
        2,
        3,
    )
    tie = choose_plan(slots, answers_of({1: "ynn", 2: "mmn", 3: "y"}), count=2)
    assert tie.slot_ids == (1, 3)  # equal expected attendance: the earlier slot wins
    assert tie.expected_halves == 4


def test_ties_go_to_the_earliest_meetings():
    slots = [slot(i, 14 * i) for i in range(8)]
    plan = choose_plan(slots, answers_of({i: "yy" for i in range(8)}), count=5)
    assert plan.slot_ids == (0, 1, 2, 3, 4)
    # Earliest compares meeting by meeting: the first meeting decides before the others.
    slots = [slot(1, 0), slot(2, 1), slot(3, 15), slot(4, 40)]
    answers = answers_of({1: "y", 2: "y", 3: "y", 4: "y"})
    assert choose_plan(slots, answers, count=2).slot_ids == (1, 3)
    # The same start: the lower slot id is the earlier one.
    twins = [slot(7, 0), slot(5, 0), slot(6, 20)]
    assert choose_plan(twins, {}, count=2).slot_ids == (5, 6)


def test_equal_attendance_prefers_the_mode_most_participants_can_attend():
    # Members 0-2 can come online, only member 3 in person: online is preferred.
    slots = [
        slot(1, 0, IN_PERSON),
        slot(2, 1, ONLINE),
        slot(3, 20, IN_PERSON),
        slot(4, 21, ONLINE),
    ]
    answers = answers_of({1: "nnny", 2: "yyyn", 3: "ynnn", 4: "nynn"})
    assert preferred_mode(slots, answers) == ONLINE
    plan = choose_plan(slots, answers, count=2)
    # 2-3 and 2-4 both expect 3 + 1 people: 2-4 has more meetings online.
    assert plan.expected_attendance == 4.0
    assert plan.slot_ids == (2, 4)
    assert (plan.preferred_mode, plan.preferred_meetings) == (ONLINE, 2)


def test_a_tie_between_the_modes_prefers_in_person():
    slots = [slot(1, 0, ONLINE), slot(2, 0, IN_PERSON, hour=20)]
    answers = answers_of({1: "yn", 2: "ny"})
    assert preferred_mode(slots, answers) == IN_PERSON
    assert choose_plan(slots, answers, count=1).slot_ids == (2,)  # later, but in person


def test_attendance_comes_before_the_mode():
    slots = [slot(1, 0, IN_PERSON), slot(2, 1, ONLINE)]
    # In person is preferred (three can attend it, two online) but the online slot expects more.
    answers = answers_of({1: "mmmnn", 2: "nnnyy"})
    assert preferred_mode(slots, answers) == IN_PERSON
    plan = choose_plan(slots, answers, count=1)
    assert plan.slot_ids == (2,) and plan.preferred_meetings == 0


def test_nobody_answered_gives_the_earliest_plan_and_no_preferred_mode():
    slots = [slot(3, 30), slot(1, 0), slot(2, 15)]
    plan = choose_plan(slots, {}, count=2)
    assert plan.slot_ids == (1, 2)
    assert plan.preferred_mode is None and plan.expected_halves == 0


def test_no_plan_without_enough_slots_and_figures_of_a_chosen_plan():
    assert choose_plan([], {}, count=1) is None
    assert choose_plan([slot(1, 0)], {}, count=2) is None
    slots = [slot(1, 0), slot(2, 14, ONLINE)]
    answers = answers_of({1: "ym", 2: "yy"})
    figures = plan_of(slots, answers, [2, 1])
    assert figures.slot_ids == (1, 2) and figures.expected_attendance == 3.5
    with pytest.raises(ValueError):
        choose_plan(slots, answers, count=0)


# -- random cases against a brute-force search ---------------------------------------------------


def brute_force(slots, answers, count, gap):
    """Every set of ``count`` slots, scored from scratch: (-halves, -preferred, times)."""
    weight = {YES: 2, MAYBE: 1}
    can = {}
    for s in slots:
        for member, answer in answers.get(s.id, {}).items():
            if answer in weight:
                can.setdefault(s.mode, set()).add(member)
    counts = {mode: len(can.get(mode, ())) for mode in (IN_PERSON, ONLINE)}
    mode = None
    if any(counts.values()):
        mode = IN_PERSON if counts[IN_PERSON] >= counts[ONLINE] else ONLINE
    best = None
    for combo in itertools.combinations(slots, count):
        times = sorted((s.starts_at, s.id, s.day) for s in combo)
        if any((b[2] - a[2]).days < gap for a, b in zip(times, times[1:], strict=False)):
            continue
        halves = sum(weight.get(a, 0) for s in combo for a in answers.get(s.id, {}).values())
        preferred = sum(1 for s in combo if s.mode == mode)
        key = (-halves, -preferred, [(t, i) for t, i, _d in times])
        if best is None or key < best[0]:
            best = (key, tuple(i for _t, i, _d in times), halves, preferred)
    return best


def random_case(rng: random.Random):
    n = rng.randint(0, 11)
    slots = []
    for i in range(n):
        day = rng.randint(0, 180)
        hour = rng.choice([9, 14, 18, 19])
        moment = START + timedelta(days=day, hours=hour - 18)
        mode = rng.choice([IN_PERSON, ONLINE])
        slots.append(SlotChoice(rng.randint(1, 10_000) * 16 + i, moment, moment.date(), mode))
    members = rng.randint(0, 7)
    answers = {
        s.id: {
            m: rng.choice([YES, MAYBE, NO])
            for m in range(members)
            if rng.random() < 0.8  # some members did not answer some slots
        }
        for s in slots
    }
    return slots, answers, rng.randint(1, 5), rng.choice([7, 14, 14, 21])


@pytest.mark.parametrize("seed", range(40))
def test_the_plan_is_the_brute_force_optimum(seed):
    rng = random.Random(seed)
    for _case in range(25):  # 40 x 25 = 1,000 random cases
        slots, answers, count, gap = random_case(rng)
        expected = brute_force(slots, answers, count, gap)
        plan = choose_plan(slots, answers, count=count, min_gap_days=gap)
        if expected is None:
            assert plan is None, (slots, answers, count, gap)
            continue
        assert plan is not None, (slots, answers, count, gap)
        assert plan.slot_ids == expected[1], (slots, answers, count, gap)
        assert (plan.expected_halves, plan.preferred_meetings) == (expected[2], expected[3])
        assert fits([s for s in slots if s.id in plan.slot_ids], count, gap)


def test_many_answers_make_many_ties_and_still_match_the_brute_force():
    """Only yes answers from everybody: every feasible plan ties on attendance and mode."""
    rng = random.Random(2020)
    for _case in range(200):
        slots, _answers, count, gap = random_case(rng)
        answers = {s.id: {0: YES} for s in slots}
        expected = brute_force(slots, answers, count, gap)
        plan = choose_plan(slots, answers, count=count, min_gap_days=gap)
        assert (plan.slot_ids if plan else None) == (expected[1] if expected else None)
