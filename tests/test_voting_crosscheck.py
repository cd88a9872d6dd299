"""Our counts against independent implementations, on random small profiles.

Hypothesis draws profiles with few candidates and voters, so ties are frequent, and each of
our methods must agree with another library:

* pref_voting: plurality (one seat), Borda (its symmetric score for rankings with ties and
  truncation, an affine image of ours), Schulze (``beat_path`` with winning votes as the link
  strength) and Scottish STV (``stv_scottish``, SSI 2007/42). Where pref_voting would decide
  by lot we enumerate every lot, and our winners must be one of its outcomes; our own lots are
  the candidate list. STV gets strict rankings: pref_voting splits a tied preference equally,
  which the Order does not, so tied rankings are cut where ours reads them (first tie).
* abcvoting: approval voting (AV) for k seats; ours must be one of its winning committees.

When theirs is unique, ours must equal it. The packages are the optional ``crosscheck`` group
(large: scipy, networkx ...): without it these tests skip locally and fail under CI=true,
whose ``.ci/run`` installs it.
"""

from __future__ import annotations

from typing import Any

from core.voting.methods import CORE_METHODS
from tests.conftest import IN_CI, missing

try:
    from abcvoting import abcrules
    from abcvoting.preferences import Profile as ApprovalProfile
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from pref_voting.margin_based_methods import beat_path
    from pref_voting.profiles import Profile
    from pref_voting.profiles_with_ties import ProfileWithTies
    from pref_voting.proportional_methods import stv_scottish
    from pref_voting.scoring_methods import borda_for_profile_with_ties, plurality

    NOT_INSTALLED = ""
except ImportError as exc:  # pragma: no cover - depends on the environment
    NOT_INSTALLED = str(exc)

METHODS = {method.name: method for method in CORE_METHODS}
EXAMPLES = 150


def require_packages() -> None:
    if NOT_INSTALLED:
        missing(
            "the crosscheck group (pref_voting, abcvoting, hypothesis)",
            f"{NOT_INSTALLED}; install them with: .venv/bin/python -m pip install -e "
            "'.[test,crosscheck]'",
        )


def checked(test: Any) -> Any:
    """Run a property with the suite's settings: reproducible under CI, no example database."""
    return settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=IN_CI,
        suppress_health_check=[HealthCheck.too_slow],
    )(test)


def rankings(m: int, *, ties: bool, truncated: bool) -> Any:
    """A ranking of some of the candidates 0..m-1 as groups, most preferred first."""

    @st.composite
    def ranking(draw: Any) -> list[list[int]]:
        order = draw(st.permutations(range(m)))
        if truncated:
            order = order[: draw(st.integers(1, m))]
        groups = [[order[0]]]
        for candidate in order[1:]:
            if ties and draw(st.booleans()):
                groups[-1].append(candidate)
            else:
                groups.append([candidate])
        return groups

    return ranking()


def profiles(*, ties: bool = True, truncated: bool = True) -> Any:
    """(m candidates, [(ranking, count)]) with 2-5 candidates and 1-8 kinds of ballot."""
    return st.integers(2, 5).flatmap(
        lambda m: st.tuples(
            st.just(m),
            st.lists(
                st.tuples(rankings(m, ties=ties, truncated=truncated), st.integers(1, 3)),
                min_size=1,
                max_size=8,
            ),
        )
    )


def ours(profile: list[tuple[list[list[int]], int]]) -> dict[tuple[Any, ...], int]:
    counted: dict[tuple[Any, ...], int] = {}
    for groups, count in profile:
        ballot = tuple(g[0] if len(g) == 1 else tuple(sorted(g)) for g in groups)
        counted[ballot] = counted.get(ballot, 0) + count
    return counted


def theirs(m: int, profile: list[tuple[list[list[int]], int]]) -> Any:
    ranks = [{c: r for r, group in enumerate(groups) for c in group} for groups, _ in profile]
    result = ProfileWithTies(ranks, rcounts=[c for _, c in profile], candidates=list(range(m)))
    result.use_extended_strict_preference()  # unranked candidates rank below the ranked ones
    return result


def same_winner(our_winner: int, their_winners: list[int]) -> None:
    assert our_winner in their_winners
    if len(their_winners) == 1:
        assert [our_winner] == their_winners


def test_plurality_agrees_with_pref_voting():
    require_packages()

    @checked
    @given(profiles(ties=False, truncated=False))
    def check(drawn: tuple[int, list[Any]]) -> None:
        m, profile = drawn
        tops: dict[tuple[int], int] = {}
        for groups, count in profile:
            tops[(groups[0][0],)] = tops.get((groups[0][0],), 0) + count
        result = METHODS["plurality"].tally(tops, list(range(m)), 1)
        complete = Profile(
            [[g[0] for g in groups] for groups, _ in profile], [c for _, c in profile]
        )
        same_winner(result.winners[0], plurality(complete))

    check()


def test_borda_agrees_with_pref_voting_on_rankings_with_ties_and_truncation():
    require_packages()

    @checked
    @given(profiles())
    def check(drawn: tuple[int, list[Any]]) -> None:
        m, profile = drawn
        result = METHODS["borda"].tally(ours(profile), list(range(m)), 1)
        their_profile = theirs(m, profile)
        symmetric = their_profile.borda_scores()  # below minus above, per ballot
        voters = sum(count for _, count in profile)
        assert {c: 2 * result.scores[c] - (m - 1) * voters for c in range(m)} == symmetric
        same_winner(result.winners[0], borda_for_profile_with_ties(their_profile))

    check()


def test_schulze_agrees_with_pref_voting_beat_path_with_winning_votes():
    require_packages()

    @checked
    @given(profiles())
    def check(drawn: tuple[int, list[Any]]) -> None:
        m, profile = drawn
        result = METHODS["schulze"].tally(ours(profile), list(range(m)), 1)
        their_profile = theirs(m, profile)
        d = result.pairwise
        assert all(
            d[a][b] == their_profile.support(a, b) for a in range(m) for b in range(m) if a != b
        )
        same_winner(
            result.winners[0], beat_path(their_profile, strength_function=their_profile.support)
        )

    check()


class Lots:
    """pref_voting's ``rng``: follows a script of choices, then takes the first option."""

    def __init__(self, script: tuple[int, ...]) -> None:
        self.script = script
        self.options: list[int] = []

    def choice(self, options: list[Any]) -> Any:
        pick = self.script[len(self.options)] if len(self.options) < len(self.script) else 0
        self.options.append(len(options))
        return options[pick]


def every_stv_outcome(profile: Any, seats: int) -> set[frozenset[int]]:
    """pref_voting's Scottish STV winners under every way its lots could fall."""
    outcomes: set[frozenset[int]] = set()
    scripts: list[tuple[int, ...]] = [()]
    while scripts:
        script = scripts.pop()
        lots = Lots(script)
        outcomes.add(frozenset(stv_scottish(profile, num_seats=seats, rng=lots)))
        for at in range(len(script), len(lots.options)):
            for other in range(1, lots.options[at]):
                scripts.append(script + (0,) * (at - len(script)) + (other,))
    return outcomes


def test_stv_agrees_with_pref_voting_scottish_stv():
    require_packages()

    @checked
    @given(profiles(ties=False).flatmap(lambda p: st.tuples(st.just(p), st.integers(1, p[0] - 1))))
    def check(drawn: tuple[tuple[int, list[Any]], int]) -> None:
        (m, profile), seats = drawn
        result = METHODS["stv"].tally(ours(profile), list(range(m)), seats)
        outcomes = every_stv_outcome(theirs(m, profile), seats)
        assert frozenset(result.winners) in outcomes, (result.winners, outcomes)
        if len(outcomes) == 1:
            assert len(result.winners) == seats

    check()


def test_approval_agrees_with_abcvoting_av():
    require_packages()

    @checked
    @given(
        st.integers(2, 6).flatmap(
            lambda m: st.tuples(
                st.just(m),
                st.integers(1, m - 1),
                st.lists(st.sets(st.integers(0, m - 1)), min_size=1, max_size=12),
            )
        )
    )
    def check(drawn: tuple[int, int, list[set[int]]]) -> None:
        m, seats, approvals = drawn
        result = METHODS["approval"].tally(
            [tuple(sorted(a)) for a in approvals], list(range(m)), seats
        )
        profile = ApprovalProfile(m)
        profile.add_voters([sorted(a) for a in approvals])
        committees = abcrules.compute("av", profile, committeesize=seats, resolute=False)
        winning = {frozenset(committee) for committee in committees}
        assert frozenset(result.winners) in winning
        if len(winning) == 1:
            assert winning == {frozenset(result.winners)}

    check()
