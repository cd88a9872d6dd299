"""Counts are exact: no method rounds a number of voters, whatever its size.

Issue 15: with counts 2^53 and 2^53 + 1, plurality elected the smaller one by the tie rule,
because the count went through float64. Every method is checked here past 2^53, past 2^64
(where int64 overflows) and at 10^30, directly and through ``sip tally`` on a file. STV's
arithmetic is checked stage by stage against what docs/voting.md documents: the quota, transfer
values truncated to five decimals, and every vote accounted for (candidates + non-transferable
+ lost to truncation = valid ballots, exactly).
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.cli import main
from core.voting.base import Tally, exact_figure, figure_decimal
from core.voting.methods import CORE_METHODS
from core.voting.profile import Grouped
from tests.conftest import IN_CI

METHODS = {method.name: method for method in CORE_METHODS}
BIG = [2**53, 2**64, 10**30]
CANDIDATES = ["A", "B", "C"]  # A first: every tie goes to A


def two_counts(method: str, smaller: int, larger: int, ahead: str) -> dict[tuple[Any, ...], int]:
    """``ahead`` is on ``larger`` ballots, the other of A and B on ``smaller``; C is last."""
    behind = "B" if ahead == "A" else "A"
    if METHODS[method].ballot_kind == "ranked":
        return {(ahead, behind, "C"): larger, (behind, ahead, "C"): smaller}
    return {(ahead,): larger, (behind,): smaller}


@pytest.mark.parametrize("big", BIG)
@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_elects_the_larger_count_past_2_53(method, big):
    for ahead in ("B", "A"):  # B must win on one more ballot, though the list favours A
        tally = METHODS[method].tally(two_counts(method, big, big + 1, ahead), CANDIDATES, 1)
        assert tally.winners == [ahead], (big, ahead)
        assert tally.ballots == 2 * big + 1
    tally = METHODS[method].tally(two_counts(method, big, big + 1, "B"), CANDIDATES, 1)
    if method in ("plurality", "approval"):
        assert tally.scores == [big, big + 1, 0]
    elif method == "borda":  # 2 points for a first place, 1 for a second, of 3
        assert tally.scores == [3 * big + 1, 3 * big + 2, 0]
    elif method == "schulze":
        assert tally.pairwise == [[0, big, 2 * big + 1], [big + 1, 0, 2 * big + 1], [0, 0, 0]]
    else:
        assert tally.quota == big + 1  # floor((2 big + 1) / 2) + 1
        assert tally.rounds[0].votes == [big, big + 1, 0]


@pytest.mark.parametrize("big", BIG)
@pytest.mark.parametrize("method", sorted(METHODS))
def test_a_tie_of_big_counts_is_still_a_tie(method, big):
    """Equal counts stay equal (no rounding makes one larger): the list elects A."""
    tally = METHODS[method].tally(two_counts(method, big, big, "B"), CANDIDATES, 1)
    assert tally.winners == ["A"]
    assert tally.tie_breaks or method == "stv"


def test_int64_overflow_is_out_of_reach():
    """Counts whose sums pass 2^63 are added as Python ints, not wrapped around in int64."""
    assert Grouped({("A",): 2**62, ("B",): 2**62 - 1}).dtype is not object
    grouped = Grouped({("A",): 2**62, ("B",): 2**62})
    assert grouped.dtype is object and grouped.total == 2**63
    tally = METHODS["approval"].tally({("A", "B"): 2**63 - 1, ("B", "C"): 2**63 - 1}, "ABC", 1)
    assert tally.scores == [2**63 - 1, 2**64 - 2, 2**63 - 1] and tally.winners == ["B"]


def test_borda_half_points_past_2_53_are_exact():
    """A tie in a ranking shares the points: half points that a float cannot hold past 2^53."""
    voters = 2**60 + 1
    tally = METHODS["borda"].tally({("A", ("B", "C")): voters}, CANDIDATES, 1)
    a, b, c = (figure_decimal(score) for score in tally.scores)
    assert a == 2 * voters
    assert b == c == Decimal(voters) / 2 == Decimal("576460752303423488.5")
    assert tally.scores[1] == "576460752303423488.5"  # the exact decimal, as a string


@pytest.mark.parametrize(
    ("numerator", "denominator", "figure"),
    [
        (12, 1, 12),
        (3, 2, 1.5),
        (299_997, 100_000, 2.99997),
        (1, 100_000, 0.00001),
        (-5, 2, -2.5),
        (2**54 + 1, 2, "9007199254740992.5"),
        (10**30 + 1, 100_000, "10000000000000000000000000.00001"),
        (-(10**30) - 1, 100_000, "-10000000000000000000000000.00001"),
    ],
)
def test_a_figure_is_an_int_an_exact_float_or_an_exact_decimal(numerator, denominator, figure):
    shown = exact_figure(numerator, denominator)
    assert shown == figure and type(shown) is type(figure)
    assert Fraction(figure_decimal(shown)) == Fraction(numerator, denominator)


# -- through sip tally ------------------------------------------------------------------------


@pytest.fixture
def tally_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in [name for name in os.environ if name.startswith("SIP_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SIP_CONFIG", str(tmp_path / "no-such-config.toml"))

    def run(name: str, content: str, *args: str) -> Any:
        (tmp_path / name).write_text(content)
        return CliRunner().invoke(main, ["tally", str(tmp_path / name), *args])

    return run


@pytest.mark.parametrize("method", sorted(METHODS))
def test_sip_tally_elects_2_53_plus_1_over_2_53(tally_file, method):
    """The issue's reproduction, from a file: the counts are read and added exactly."""
    if METHODS[method].ballot_kind == "ranked" or method == "plurality":
        name = "big.soi"
        content = "# NUMBER ALTERNATIVES: 3\n9007199254740992: 1,2,3\n9007199254740993: 2,1,3\n"
    else:
        name = "big.cat"
        content = (
            "# NUMBER ALTERNATIVES: 3\n9007199254740992: {1},{2,3}\n9007199254740993: {2},{1,3}\n"
        )
    result = tally_file(name, content, "--method", method, "--seats", "1", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["winners"] == [2]
    tally = report["tally"]
    assert tally["ballots"] == 2**54 + 1  # JSON integers, read back exactly
    if tally["scores"] is not None and method != "borda":
        assert tally["scores"] == [2**53, 2**53 + 1, 0]
    text = tally_file(name, content, "--method", method, "--seats", "1")
    assert "Winner: 2" in text.stdout


def test_sip_tally_prints_half_points_past_2_53_exactly(tally_file):
    voters = 2**59 + 1  # 18 digits: the most a count may have
    content = f"# NUMBER ALTERNATIVES: 3\n# NUMBER VOTERS: {voters}\n{voters}: 1,{{2,3}}\n"
    report = json.loads(
        tally_file("half.toi", content, "--method", "borda", "--seats", "1", "--json").stdout
    )
    assert report["tally"]["scores"] == [2 * voters, "288230376151711744.5", "288230376151711744.5"]
    text = tally_file("half.toi", content, "--method", "borda", "--seats", "1").stdout
    assert "288230376151711744.5" in text


# -- scaling: the int64 path and the Python-int path agree -------------------------------------

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    database=None,
    derandomize=IN_CI,
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def profile(draw: Any, kind: str, m: int) -> dict[tuple[Any, ...], int]:
    ballots: dict[tuple[Any, ...], int] = {}
    for _ in range(draw(st.integers(1, 8))):
        order = list(draw(st.permutations(range(m))))[: draw(st.integers(1, m))]
        if kind == "choose":
            order = order[:1]
        elif kind == "approval":
            order = sorted(order)
        ballots[tuple(order)] = ballots.get(tuple(order), 0) + draw(st.integers(1, 50))
    return ballots


@SETTINGS
@given(data=st.data(), method=st.sampled_from(["plurality", "approval", "borda", "schulze"]))
def test_multiplying_every_count_by_2_70_multiplies_every_figure(data, method):
    """Past 2^63 the arrays hold Python ints: the figures are the small ones times 2^70, and
    the winners are the same."""
    m = data.draw(st.integers(2, 5))
    ballots = data.draw(profile(METHODS[method].ballot_kind, m))
    scale = 2**70
    small = METHODS[method].tally(ballots, list(range(m)), 1)
    large = METHODS[method].tally({b: c * scale for b, c in ballots.items()}, list(range(m)), 1)
    assert large.winners == small.winners and large.ranking == small.ranking
    if small.scores is not None:
        assert [figure_decimal(s) for s in large.scores] == [
            figure_decimal(s) * scale for s in small.scores
        ]
    if small.pairwise is not None:
        assert large.pairwise == [[v * scale for v in row] for row in small.pairwise]
        assert large.strongest_paths == [[v * scale for v in row] for row in small.strongest_paths]


# -- STV: the arithmetic docs/voting.md documents ----------------------------------------------

FIVE_PLACES = Fraction(1, 100_000)


def truncated(value: Fraction) -> Fraction:
    """Rule 48(3): to five decimal places, any remainder ignored."""
    return (value // FIVE_PLACES) * FIVE_PLACES


def exact(figure: Any) -> Fraction:
    return Fraction(figure_decimal(figure))


def check_stv_arithmetic(tally: Tally) -> None:
    """Recompute every stage's figures from the previous stage's, with Fractions."""
    valid = tally.ballots - tally.blank
    assert tally.quota == valid // (tally.seats + 1) + 1  # rule 46
    quota = Fraction(tally.quota)
    previous: list[Fraction] | None = None
    set_aside = lost = Fraction(0)
    for stage in tally.rounds:
        votes = [exact(v) for v in stage.votes]
        change = [exact(v) for v in stage.change]
        non_transferable, rounding = exact(stage.non_transferable), exact(stage.rounding)
        for value in (*votes, non_transferable, rounding):
            assert value == truncated(value)  # every figure is in whole hundred-thousandths
        set_aside += non_transferable
        lost += rounding
        # Every valid vote is a candidate's, non-transferable, or lost to truncation.
        assert sum(votes) + set_aside + lost == valid, stage.stage
        if previous is None:
            assert stage.action == "first preferences" and change == votes
            previous = votes
            continue
        assert [p + c for p, c in zip(previous, change, strict=True)] == votes
        assert sum(change) == -(non_transferable + rounding)
        giver = tally.candidates.index(stage.candidate)
        moved = sum(
            (Fraction(t.papers) * exact(t.transfer_value) for t in stage.transfer_values),
            Fraction(0),
        )
        kept = sum(
            (Fraction(t.non_transferable) * exact(t.transfer_value) for t in stage.transfer_values),
            Fraction(0),
        )
        assert kept == non_transferable
        gained = sum(c for i, c in enumerate(change) if i != giver)
        assert gained == moved  # the papers moved, each at its (new) value
        if stage.action == "surplus":
            total = previous[giver]
            surplus = total - quota
            assert exact(stage.surplus) == surplus > 0
            assert votes[giver] == quota  # the elected candidate keeps the quota
            for t in stage.transfer_values:  # rule 48(3), value when received x surplus / total
                assert exact(t.transfer_value) == truncated(surplus * exact(t.value) / total)
            assert rounding == surplus - moved - kept >= 0
        else:
            assert stage.action == "exclusion" and rounding == 0
            assert votes[giver] == 0 and change[giver] == -previous[giver]
            for t in stage.transfer_values:  # rule 51: each paper at the value it arrived with
                assert t.transfer_value == t.value
        previous = votes


@st.composite
def stv_profile(draw: Any) -> tuple[dict[tuple[int, ...], int], int, int]:
    m = draw(st.integers(3, 6))
    seats = draw(st.integers(1, m - 1))
    scale = draw(st.sampled_from([1, 1, 2**53 + 1, 2**64 + 3, 10**30 + 7]))
    ballots: dict[tuple[int, ...], int] = {}
    for _ in range(draw(st.integers(1, 10))):
        order = tuple(list(draw(st.permutations(range(m))))[: draw(st.integers(1, m))])
        ballots[order] = (
            ballots.get(order, 0) + draw(st.integers(1, 40)) * scale + draw(st.integers(0, 3))
        )
    return ballots, m, seats


@SETTINGS
@given(case=stv_profile())
def test_stv_stages_add_up_exactly_as_documented(case):
    ballots, m, seats = case
    tally = METHODS["stv"].tally(ballots, list(range(m)), seats)
    assert len(tally.winners) == seats
    check_stv_arithmetic(tally)


def test_stv_truncation_past_2_64_is_the_documented_rule():
    """A's surplus over 3 x 2^64 + 3 papers: the transfer value is truncated, the remainder is
    lost, and everything still adds up to the valid votes."""
    n = 2**64
    ballots = {("A", "B"): 3 * n + 3, ("B",): n, ("C",): n + 1, ("D",): 2 * n}
    tally = METHODS["stv"].tally(ballots, list("ABCD"), 2)
    valid = 7 * n + 4
    assert tally.quota == valid // 3 + 1
    surplus = next(stage for stage in tally.rounds if stage.action == "surplus")
    assert surplus.candidate == "A"
    total = Fraction(3 * n + 3)
    expected = truncated((total - tally.quota) / total)
    assert exact(surplus.transfer_values[0].transfer_value) == expected
    assert exact(surplus.rounding) == (total - tally.quota) - (3 * n + 3) * expected
    check_stv_arithmetic(tally)


def test_the_wikipedia_and_hand_counts_hold_the_documented_arithmetic():
    food = {
        ("Orange",): 4,
        ("Pear", "Orange"): 2,
        ("Chocolate", "Strawberry"): 8,
        ("Chocolate", "Sweets"): 4,
        ("Strawberry",): 1,
        ("Sweets",): 1,
    }
    check_stv_arithmetic(
        METHODS["stv"].tally(food, ["Orange", "Pear", "Chocolate", "Strawberry", "Sweets"], 3)
    )
    hand = {("A", "B"): 7, ("B",): 1, ("C",): 2, ("D",): 3}
    tally = METHODS["stv"].tally(hand, list("ABCD"), 2)
    check_stv_arithmetic(tally)
    assert tally.rounds[1].rounding == 0.00003
