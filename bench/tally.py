"""Tallies of 40,000 ballots over 10 candidates, each method against an independent one.

    .venv/bin/python bench/tally.py [--voters 40000] [--candidates 10] [--repeat 5] [--seed 7]

Needs the optional ``crosscheck`` group (``pip install -e '.[test,crosscheck]'``). The baseline
is measured in the same run on the same ballots: pref_voting (plurality, Borda, Schulze with
winning votes, Scottish STV) and abcvoting (approval voting). Both sides are timed end to end
from the raw list of ballots (grouping or building their profile included); the figure is the
best of ``--repeat`` runs. Each row says whether the winners are the same. Prints, per method,
our time, theirs, and how many times faster ours is.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.voting.methods import CORE_METHODS  # noqa: E402

METHODS = {method.name: method for method in CORE_METHODS}
SEATS = 2


def rankings(voters: int, candidates: int, seed: int) -> list[tuple[int, ...]]:
    """Strict full rankings: a shared taste (some themes are popular) plus personal noise, so
    ballots cluster the way real ones do while the count still has work to do."""
    rng = np.random.default_rng(seed)
    popularity = rng.normal(0.0, 1.0, candidates)
    utility = popularity + rng.gumbel(0.0, 1.2, (voters, candidates))
    order = np.argsort(-utility, axis=1)
    return [tuple(int(c) for c in row) for row in order]


def approvals(ranked: list[tuple[int, ...]], seed: int) -> list[tuple[int, ...]]:
    """Each voter approves their top 1 to 4 themes."""
    rng = np.random.default_rng(seed + 1)
    sizes = rng.integers(1, 5, len(ranked))
    return [tuple(sorted(r[:k])) for r, k in zip(ranked, sizes, strict=True)]


def best_of(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def ours(name: str, ballots: list[tuple[int, ...]], candidates: int, seats: int) -> list[int]:
    grouped = Counter(ballots)  # what the platform hands a count: each distinct ballot once
    return METHODS[name].tally(grouped, list(range(candidates)), seats).winners


def theirs_profile(ranked: list[tuple[int, ...]]) -> Any:
    from pref_voting.profiles import Profile

    grouped = Counter(ranked)
    return Profile([list(r) for r in grouped], list(grouped.values()))


def theirs(name: str, ballots: list[tuple[int, ...]], candidates: int) -> list[int]:
    if name == "approval":
        from abcvoting import abcrules
        from abcvoting.preferences import Profile as ApprovalProfile

        profile = ApprovalProfile(candidates)
        profile.add_voters([list(b) for b in ballots])
        (committee,) = abcrules.compute("av", profile, committeesize=SEATS, resolute=True)
        return sorted(committee)
    from pref_voting.margin_based_methods import beat_path
    from pref_voting.proportional_methods import stv_scottish
    from pref_voting.scoring_methods import borda, plurality

    profile = theirs_profile(ballots)
    if name == "plurality":
        return plurality(profile)
    if name == "borda":
        return borda(profile)
    if name == "schulze":
        return beat_path(profile, strength_function=profile.support)
    if name == "stv":
        return sorted(stv_scottish(profile, num_seats=SEATS))
    raise ValueError(name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voters", type=int, default=40_000)
    parser.add_argument("--candidates", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    try:
        import abcvoting  # noqa: F401
        import pref_voting  # noqa: F401
    except ImportError as exc:
        print(f"the baseline needs the crosscheck group: {exc}", file=sys.stderr)
        print("  .venv/bin/python -m pip install -e '.[test,crosscheck]'", file=sys.stderr)
        return 2

    ranked = rankings(args.voters, args.candidates, args.seed)
    approved = approvals(ranked, args.seed)
    distinct = len(set(ranked))
    print(
        f"{args.voters:,} ballots over {args.candidates} candidates ({distinct:,} distinct "
        f"rankings), best of {args.repeat}; baseline: pref_voting / abcvoting on the same ballots"
    )
    print(f"{'method':<10} {'ours ms':>9} {'theirs ms':>10} {'ratio':>7}  winners")
    failed = False
    for name in ("plurality", "approval", "borda", "schulze", "stv"):
        if name == "approval":
            ballots, seats, compare_seats = approved, SEATS, SEATS
        elif name == "plurality":
            ballots, seats, compare_seats = [r[:1] for r in ranked], 1, 1
        elif name == "stv":
            ballots, seats, compare_seats = ranked, SEATS, SEATS
        else:
            ballots, seats, compare_seats = ranked, 1, 1
        base_ballots = ranked if name == "plurality" else ballots
        mine_s, mine = best_of(args.repeat, partial(ours, name, ballots, args.candidates, seats))
        their_s, their = best_of(args.repeat, partial(theirs, name, base_ballots, args.candidates))
        same = sorted(mine[:compare_seats]) == sorted(their[:compare_seats]) or (
            compare_seats == 1 and mine[0] in their
        )
        failed |= not same
        print(
            f"{name:<10} {mine_s * 1000:>9.1f} {their_s * 1000:>10.1f} {their_s / mine_s:>6.1f}x"
            f"  {'same' if same else 'DIFFERENT'}: ours {mine[:compare_seats]}, theirs {their}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
