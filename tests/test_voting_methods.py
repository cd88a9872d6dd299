"""The voting methods on published examples, the tie rule, and ballot validation.

No database, no HTTP: a method is plain values in, a ``Tally`` out.
"""

from __future__ import annotations

from collections import Counter

import msgspec
import pytest

from core.errors import InvalidInput
from core.voting.base import Tally
from core.voting.methods import CORE_METHODS

METHODS = {method.name: method for method in CORE_METHODS}
plurality, approval, borda, schulze, stv = (
    METHODS[name] for name in ("plurality", "approval", "borda", "schulze", "stv")
)

# Wikipedia, "Schulze method", the example with 45 voters and 5 candidates.
SCHULZE_45 = {
    ("A", "C", "B", "E", "D"): 5,
    ("A", "D", "E", "C", "B"): 5,
    ("B", "E", "D", "A", "C"): 8,
    ("C", "A", "B", "E", "D"): 3,
    ("C", "A", "E", "B", "D"): 7,
    ("C", "B", "A", "D", "E"): 2,
    ("D", "C", "E", "B", "A"): 7,
    ("E", "B", "A", "D", "C"): 8,
}

# Wikipedia's Tennessee capital example (Borda count, plurality): 100 voters, by where they live.
TENNESSEE_CITIES = ["Memphis", "Nashville", "Chattanooga", "Knoxville"]
TENNESSEE = {
    ("Memphis", "Nashville", "Chattanooga", "Knoxville"): 42,
    ("Nashville", "Chattanooga", "Knoxville", "Memphis"): 26,
    ("Chattanooga", "Knoxville", "Nashville", "Memphis"): 15,
    ("Knoxville", "Chattanooga", "Nashville", "Memphis"): 17,
}


# -- Schulze ----------------------------------------------------------------------------------


def test_schulze_wikipedia_45_voters_gives_e_a_c_b_d_with_the_published_matrices():
    result = schulze.tally(SCHULZE_45, list("ABCDE"), 1)
    assert result.winners == ["E"]
    assert result.ranking == ["E", "A", "C", "B", "D"]
    assert result.ballots == 45
    assert result.pairwise == [
        [0, 20, 26, 30, 22],
        [25, 0, 16, 33, 18],
        [19, 29, 0, 17, 24],
        [15, 12, 28, 0, 14],
        [23, 27, 21, 31, 0],
    ]
    assert result.strongest_paths == [
        [0, 28, 28, 30, 24],
        [25, 0, 28, 33, 24],
        [25, 29, 0, 29, 24],
        [25, 28, 28, 0, 24],
        [25, 28, 28, 31, 0],
    ]
    assert result.tie_breaks == []


def test_schulze_elects_the_top_of_its_ranking_for_several_seats():
    assert schulze.tally(SCHULZE_45, list("ABCDE"), 3).winners == ["E", "A", "C"]


def test_schulze_counts_ties_and_unranked_candidates_as_no_preference():
    # A > {B, C}: A beats B and C, B and C level; D unranked sits below all three.
    ballots = [("A", ("B", "C")), ("C",), ("B", "A")]
    result = schulze.tally(ballots, list("ABCD"), 1)
    d = result.pairwise
    assert d[0][1] == 1 and d[1][0] == 1  # A>B once (first ballot), B>A once (third)
    assert d[0][2] == 2 and d[2][0] == 1  # A>C on ballots 1 and 3, C>A on ballot 2
    assert d[1][2] == 1 and d[2][1] == 1  # B>C only on the third ballot (ties count nowhere)
    assert [row[3] for row in d[:3]] == [2, 2, 2]  # D, never ranked, loses each pair twice
    assert result.winners == ["A"]


# -- Borda ------------------------------------------------------------------------------------


def test_borda_tennessee_elects_nashville_with_the_published_points():
    result = borda.tally(TENNESSEE, TENNESSEE_CITIES, 1)
    assert result.scores == [126, 194, 173, 107]
    assert result.winners == ["Nashville"]
    assert result.ranking == ["Nashville", "Chattanooga", "Memphis", "Knoxville"]


def test_borda_partial_rankings_leave_the_unranked_to_share_the_remaining_points():
    # Five candidates, A > B: A 4, B 3, and C, D, E share 2 + 1 + 0.
    assert borda.tally([("A", "B")], list("ABCDE"), 1).scores == [4, 3, 1, 1, 1]
    # A tied group shares the points of its places: {B, C} take 2 and 1.
    assert borda.tally([(("B", "C"), "A")], list("ABC"), 1).scores == [0, 1.5, 1.5]


# -- plurality and block vote -----------------------------------------------------------------


def test_plurality_tennessee_elects_memphis_on_first_preferences():
    first = {(ranking[0],): voters for ranking, voters in TENNESSEE.items()}
    result = plurality.tally(first, TENNESSEE_CITIES, 1)
    assert result.scores == [42, 26, 15, 17]
    assert result.winners == ["Memphis"]


def test_block_vote_elects_the_two_most_chosen_when_each_voter_picks_two():
    # Each Tennessee voter picks their first two cities (hand count: N 68, C 58, M 42, K 32).
    picks: Counter[tuple[str, ...]] = Counter()
    for ranking, voters in TENNESSEE.items():
        picks[tuple(sorted(ranking[:2], key=TENNESSEE_CITIES.index))] += voters
    result = plurality.tally(picks, TENNESSEE_CITIES, 2)
    assert result.scores == [42, 68, 58, 32]
    assert result.winners == ["Nashville", "Chattanooga"]


# -- approval ---------------------------------------------------------------------------------


def test_approval_elects_the_most_approved():
    # Tennessee again, each voter approving the cities within reach of home (hand count):
    # Memphis voters only Memphis; the others their first two choices.
    ballots = {
        ("Memphis",): 42,
        ("Nashville", "Chattanooga"): 26,
        ("Chattanooga", "Knoxville"): 15 + 17,
    }
    result = approval.tally(ballots, TENNESSEE_CITIES, 1)
    assert result.scores == [42, 26, 58, 32]
    assert result.winners == ["Chattanooga"]
    assert approval.tally(ballots, TENNESSEE_CITIES, 2).winners == ["Chattanooga", "Memphis"]


# -- STV --------------------------------------------------------------------------------------

FOOD = ["Orange", "Pear", "Chocolate", "Strawberry", "Sweets"]


def test_stv_wikipedia_food_election():
    """Wikipedia, "Single transferable vote", the example count (20 guests, 3 seats, Droop
    quota 6): Chocolate elected, its surplus halved to Strawberry and Sweets, Pear excluded
    and transferred to Orange, Sweets behind Strawberry for the last seat."""
    ballots = {
        ("Orange",): 4,
        ("Pear", "Orange"): 2,
        ("Chocolate", "Strawberry"): 8,
        ("Chocolate", "Sweets"): 4,
        ("Strawberry",): 1,
        ("Sweets",): 1,
    }
    result = stv.tally(ballots, FOOD, 3)
    assert result.quota == 6
    assert result.winners == ["Chocolate", "Orange", "Strawberry"]
    first, surplus, exclusion = result.rounds
    assert first.votes == [4, 2, 12, 1, 1] and first.elected == ["Chocolate"]
    assert surplus.action == "surplus" and surplus.candidate == "Chocolate"
    assert surplus.surplus == 6
    assert [(t.value, t.transfer_value, t.papers) for t in surplus.transfer_values] == [
        (1.0, 0.5, 12)
    ]
    assert surplus.votes == [4, 2, 6, 5, 3]
    assert exclusion.action == "exclusion" and exclusion.candidate == "Pear"
    assert exclusion.votes == [6, 0, 6, 5, 3]
    assert exclusion.elected == ["Orange", "Strawberry"]  # Orange reaches the quota; rule 52
    assert any("rule 52(2)" in note for note in exclusion.notes)


def test_stv_transfer_values_are_truncated_to_five_decimals():
    """Hand count under rule 48(3): A's surplus 2 over 7 papers is worth 0.28571 each, so B
    receives 1.99997 and 0.00003 is lost; that is what keeps B below D at the end."""
    ballots = {("A", "B"): 7, ("B",): 1, ("C",): 2, ("D",): 3}
    result = stv.tally(ballots, list("ABCD"), 2)
    assert result.quota == 5  # floor(13 / 3) + 1
    _first, surplus, exclusion = result.rounds
    assert surplus.transfer_values[0].transfer_value == 0.28571
    assert surplus.votes == [5, 2.99997, 2, 3]
    assert surplus.rounding == 0.00003
    assert exclusion.candidate == "C" and exclusion.non_transferable == 2
    assert result.winners == ["A", "D"]


def test_stv_transfers_a_paper_at_the_value_it_arrived_with():
    """Hand count: B's surplus moves B's own papers at 2 x 1 / 8 = 0.25 and the papers B got
    from A (worth 0.4) at 2 x 0.4 / 8 = 0.1."""
    ballots = {("A", "B", "C"): 10, ("B", "C"): 4, ("C",): 2, ("D",): 3, ("E",): 2}
    result = stv.tally(ballots, list("ABCDE"), 3)
    assert result.quota == 6
    _first, from_a, from_b, *_rest = result.rounds
    assert from_a.candidate == "A" and from_a.transfer_values[0].transfer_value == 0.4
    assert from_b.candidate == "B"
    assert [(t.value, t.transfer_value, t.papers) for t in from_b.transfer_values] == [
        (1.0, 0.25, 4),
        (0.4, 0.1, 10),
    ]
    assert from_b.votes[2] == 4  # C: 2 + 4 x 0.25 + 10 x 0.1
    assert result.winners == ["A", "B", "C"]


def test_stv_exclusion_tie_looks_back_to_the_last_stage_where_the_votes_differed():
    """C and D tie on 4 for the last seat; at stage 1 C had fewer (1 against 4), so C is
    excluded although the candidate list alone would have excluded D."""
    ballots = {("A", "C"): 10, ("B",): 3, ("C",): 1, ("D",): 4}
    result = stv.tally(ballots, list("ABCD"), 2)
    assert result.quota == 7
    assert result.winners == ["A", "D"]
    excluded = [r.candidate for r in result.rounds if r.action == "exclusion"]
    assert excluded == ["B", "C"]
    assert any("C had fewer at the end of stage 1" in note for note in result.tie_breaks)


def test_stv_reads_a_ranking_up_to_its_first_tie_and_voids_a_shared_first_preference():
    ballots = [("A", ("B", "C")), (("A", "B"),), ("B",), ("C",)]
    result = stv.tally(ballots, list("ABC"), 1)
    assert result.blank == 1  # the shared first preference
    assert result.rounds[0].votes == [1, 1, 1]
    assert result.quota == 2  # floor(3 valid / 2) + 1


def test_stv_validation_rejects_a_shared_rank():
    with pytest.raises(InvalidInput, match="one at a time"):
        stv.validate(["A", ["B", "C"]], list("ABC"), 1)


# -- the tie rule: the candidate list ----------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "ballots"),
    [
        (plurality, [("A",), ("B",)]),
        (approval, [("A", "B")]),
        (borda, [("A", "B"), ("B", "A")]),
        (schulze, [("A", "B", "C"), ("B", "C", "A"), ("C", "A", "B")]),  # a perfect cycle
        (stv, [("A",), ("B",)]),
    ],
    ids=lambda x: getattr(x, "name", ""),
)
def test_ties_go_to_the_candidate_earlier_in_the_list(method, ballots):
    candidates = ["A", "B", "C"]
    forward = method.tally(ballots, candidates, 1)
    backward = method.tally(ballots, candidates[::-1], 1)
    assert forward.winners == ["A"]
    assert backward.winners == ["C"] if method is schulze else backward.winners == ["B"]
    assert forward.tie_breaks and backward.tie_breaks  # the decision is written down


def test_a_tie_among_the_elected_is_not_reported_as_deciding_anything():
    result = approval.tally([("A", "B"), ("A", "B"), ("C",)], list("ABC"), 2)
    assert result.winners == ["A", "B"]
    assert result.tie_breaks == []


# -- ballots: validation and grouping ----------------------------------------------------------


def test_validate_normalises_ballots_to_candidate_list_order():
    candidates = [3, 1, 2]
    assert approval.validate([2, 3], candidates, 1) == (3, 2)
    assert plurality.validate([1, 3], candidates, 2) == (3, 1)
    assert borda.validate([2, [1, 3]], candidates, 1) == (2, (3, 1))
    assert schulze.validate([[2], 1], candidates, 1) == (2, 1)  # a group of one is unwrapped


@pytest.mark.parametrize(
    ("method", "ballot", "message"),
    [
        (schulze, [1, 9], "Unknown candidate 9"),
        (schulze, [1, 2, 1], "ranked twice"),
        (borda, [1, [2, 1]], "ranked twice"),
        (schulze, [], "empty"),
        (schulze, [1, []], "empty group"),
        (stv, [1, 2, 2], "ranked twice"),
        (approval, [1, 1], "chosen twice"),
        (approval, [], "empty"),
        (approval, [[1, 2]], "Unknown candidate"),
        (plurality, [1, 2, 3], "Too many choices: 3 candidates chosen, at most 2"),
        (plurality, "12", "list of candidates"),
        (schulze, [True], "Unknown candidate True"),
    ],
)
def test_validate_explains_what_is_wrong_with_a_ballot(method, ballot, message):
    with pytest.raises(InvalidInput, match=message):
        method.validate(ballot, [1, 2, 3, 4], 2)


@pytest.mark.parametrize("seats", [0, 3, -1])
def test_seats_must_leave_a_choice(seats):
    for method in CORE_METHODS:
        with pytest.raises(InvalidInput, match="seats"):
            method.tally([], ["A", "B", "C"], seats)


def test_candidate_lists_must_be_distinct_ids():
    with pytest.raises(InvalidInput, match="listed twice"):
        schulze.tally([], [1, 2, 2], 1)


def test_tally_takes_lists_grouped_counts_and_whole_number_ids_alike():
    as_lists = [[3, 1, 2], [3, 1, 2], [2, 3]]
    grouped = {(3, 1, 2): 2, (2, 3): 1}
    for method in (borda, schulze, stv):
        assert msgspec.to_builtins(method.tally(as_lists, [1, 2, 3], 1)) == msgspec.to_builtins(
            method.tally(grouped, [1, 2, 3], 1)
        )


@pytest.mark.parametrize("method", CORE_METHODS, ids=lambda m: m.name)
def test_any_candidate_ids_count_the_same_as_small_numbers(method):
    """Numbers 1..n take the fast path; theme ids, negative numbers and texts others."""
    small = [1, 2, 3, 4]
    ranked = {(2, 1, 3): 3, (3, 4): 2, (4, 2, 1, 3): 2, (1,): 1}
    if method.ballot_kind != "ranked":
        ranked = {key[:2]: count for key, count in ranked.items()}
    expected = method.tally(ranked, small, 2).winners
    for ids in ([1001, 70000, 3, 2**40], [-1, -2, -3, -4], ["w", "x", "y", "z"]):
        rename = dict(zip(small, ids, strict=True))
        renamed = {tuple(rename[c] for c in key): n for key, n in ranked.items()}
        assert method.tally(renamed, ids, 2).winners == [rename[c] for c in expected]


def test_tally_refuses_ballots_that_were_never_validated():
    with pytest.raises(InvalidInput, match="Unknown candidate 7"):
        schulze.tally([(1, 7)], [1, 2, 3], 1)
    with pytest.raises(InvalidInput, match="twice"):
        borda.tally([(1, 1, 2)], [1, 2, 3], 1)
    with pytest.raises(InvalidInput, match="more than 1"):
        plurality.tally([(1, 2)], [1, 2, 3], 1)
    with pytest.raises(InvalidInput, match="negative"):
        approval.tally({(1,): -1}, [1, 2, 3], 1)


def test_blank_ballots_are_counted_but_weigh_nothing():
    result = borda.tally([(), ("A", "B")], list("ABC"), 1)
    assert (result.ballots, result.blank) == (2, 1)
    assert result.scores == [2, 1, 0]


def test_a_tally_is_a_json_document():
    result = stv.tally({("A", "B"): 7, ("B",): 1, ("C",): 2, ("D",): 3}, list("ABCD"), 2)
    again = msgspec.json.decode(msgspec.json.encode(result), type=Tally)
    assert again == result
