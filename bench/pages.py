"""Page latency at the platform's large sizes: the theme list and a poll's results.

    .venv/bin/python bench/pages.py [--themes 5000] [--members 100000] [--ballots 40000]

Seeds the demo, then adds ``--members`` members, ``--themes`` accepted member themes in the
demo's open edition (with supports), and ``--ballots`` sealed ballots to the demo's open BE poll,
which is then closed and counted by the demo's tellers (the count publishes it). ``sip serve``
answers ``--requests`` GETs per page, one after the other as a visitor's browser would, against
the bare endpoint of the same server (``GET /bench/bare``) in the same run. Prints p50/p95 of
each page and its ratio to the bare endpoint; the target is a p50 under 25 ms for the theme list
and the results.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

import httpx
import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Platform, machine, platform_in_tmp, profiled, server  # noqa: E402

TARGET_P50_MS = 25.0


async def _prepare(target: Platform, members: int, themes: int, ballots: int) -> tuple[str, int]:
    target.use_here()
    from core import clock, db
    from core.config import load_settings
    from core.editions.tables import Edition
    from core.members.services import load_member
    from core.members.tables import Member, MemberRole
    from core.plugins import build_registry
    from core.polls import ballot_box
    from core.polls import services as polls
    from core.polls.tables import Poll
    from core.rules import Rules
    from plugins.demo import TELLERS_OF, seed_demo
    from tests.demo_helpers import open_agm_poll

    settings = load_settings(target.config)
    engine = db.make_engine(settings)
    db.bind(engine)
    rng = random.Random(2026)
    try:
        await db.upgrade()
        await seed_demo(settings)
        [edition] = (
            await Edition.select(Edition.id, Edition.slug)
            .order_by(Edition.slug, ascending=False)
            .limit(1)
        )
        # The demo's BE poll waits as a draft: open it now, as an operator would.
        poll_id = await open_agm_poll(settings, "BE")
        now = clock.now()
        async with db.write_transaction():
            first = (await Poll.raw("SELECT COALESCE(MAX(id), 0) + 1 AS n FROM member"))[0]["n"]
            await db.insert_many(
                "member",
                ("member_number", "email", "name", "country", "language", "shareholder")
                + ("created_at",),
                [
                    (f"P{n:07d}", f"page{n}@example.org", f"Member {n}", "BE", "nl", True, now)
                    for n in range(members)
                ],
            )
            ids = list(range(first, first + members))
            theme_first = (await Poll.raw("SELECT COALESCE(MAX(id), 0) + 1 AS n FROM theme"))[0][
                "n"
            ]
            theme_rows, text_rows, support_rows = [], [], []
            for n in range(themes):
                supporters = rng.sample(ids, rng.randint(0, 40))
                theme_rows.append(
                    (
                        theme_first + n,
                        edition["id"],
                        "member",
                        "accepted",
                        "BE",
                        "nl",
                        rng.choice(ids),
                        len(supporters),
                        now,
                        now,
                        now,
                    )
                )
                text_rows.append(
                    (theme_first + n, "nl", f"Thema {n}: {uuid.uuid4().hex[:12]}", "Een voorstel.")
                )
                support_rows.extend((theme_first + n, m, now) for m in supporters)
            await db.insert_many(
                "theme",
                ("id", "edition", "origin", "status", "scope", "original_language", "proposer")
                + ("support_count", "created_at", "submitted_at", "decided_at"),
                theme_rows,
            )
            await db.insert_many(
                "theme_text", ("theme", "language", "title", "description"), text_rows
            )
            await db.insert_many("support", ("theme", "member", "created_at"), support_rows)
        poll = await polls.get_poll(poll_id)
        numbers = [number for number, _theme in poll.candidates]
        length = ballot_box.padded_length(len(numbers))
        voters = rng.sample(ids, min(ballots, members))
        sealed = []
        for _ in voters:  # sealed as a cast seals them (the demo's BE poll is ranked)
            ranking = numbers[:]
            rng.shuffle(ranking)
            sealed.append(ballot_box.seal(poll.public_key, msgspec.json.encode(ranking), length))
        async with db.write_transaction():
            await db.insert_many(
                "participation",
                ("poll", "member", "channel", "created_at", "tracker"),
                [
                    (poll_id, m, "online", now, ballot_box.tracker(s))
                    for m, s in zip(voters, sealed, strict=True)
                ],
            )
            await db.insert_many(
                "sealed_ballot", ("poll", "sealed"), [(poll_id, s) for s in sealed]
            )
        registry = build_registry(settings)
        rules = Rules(registry, settings)
        [operator_row] = await MemberRole.select(MemberRole.member).where(
            (MemberRole.role == "operator") & (MemberRole.country == "BE")
        )
        operator = await load_member(operator_row["member"])
        assert operator is not None
        # The demo's tellers collect their shares (this process seeded the demo: they are in
        # its desk), the poll is closed and they count it, which publishes the result.
        tellers = []
        for number in TELLERS_OF["BE"]:
            row = await Member.select(Member.id).where(Member.member_number == number).first()
            teller = await load_member(row["id"])
            assert teller is not None
            tellers.append(teller)
        shares = [(await polls.collect_share(t, poll_id)).share for t in tellers]
        await polls.close_poll(rules, operator, poll_id)
        await polls.count_poll(rules, tellers[0], poll_id, shares)
        return edition["slug"], poll_id
    finally:
        await db.close(engine)


def _latencies(client: httpx.Client, path: str, requests: int) -> list[float]:
    for _ in range(10):  # warm-up
        assert client.get(path).status_code == 200, path
    found = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        found.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--themes", type=int, default=5_000)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--ballots", type=int, default=40_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    print(f"Pages; {machine()}")
    with platform_in_tmp() as target:
        print(
            f"preparing: demo + {args.members:,} members, {args.themes:,} themes, "
            f"{args.ballots:,} ballots ...",
            flush=True,
        )
        slug, poll_id = asyncio.run(_prepare(target, args.members, args.themes, args.ballots))
        with server(target) as running, httpx.Client(base_url=running.url) as client:
            pages = {
                "bare endpoint (baseline)": "/bench/bare",
                "theme list": f"/editions/{slug}/themes",
                "theme list, page 50": f"/editions/{slug}/themes?page=50&sort=supports",
                "theme list, search": f"/editions/{slug}/themes?q=Thema+42",
                "poll results": f"/polls/{poll_id}/results",
                "poll results (JSON)": f"/api/polls/{poll_id}/result",
            }
            measured = {}
            for label, path in pages.items():
                with profiled(running.pid, label.replace(" ", "_")):
                    measured[label] = _latencies(client, path, args.requests)
    base = statistics.median(measured["bare endpoint (baseline)"])
    print(f"{'page':<34} {'p50':>8} {'p95':>8} {'p50 / bare':>11}")
    met = True
    for label, values in measured.items():
        p50 = statistics.median(values)
        p95 = statistics.quantiles(values, n=20)[18]
        print(f"{label:<34} {p50:6.1f}ms {p95:6.1f}ms {p50 / base:10.1f}x")
        if label in ("theme list", "poll results"):
            met = met and p50 < TARGET_P50_MS
    verdict = "met    " if met else "NOT MET"
    print(f"  {verdict}  p50 under {TARGET_P50_MS:.0f} ms (theme list, results)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
