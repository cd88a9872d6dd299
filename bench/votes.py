"""Vote casting under load, against the bare endpoint of the same server in the same run.

    .venv/bin/python bench/votes.py                          # SQLite, the embedded default
    .venv/bin/python bench/votes.py --postgres --workers 2   # PostgreSQL, two worker processes

Seeds the demo (its BE poll is open), adds ``--members`` BE shareholders, each with a session,
and starts ``sip serve``. wrk then drives 64 connections (``--connections``) for ``--seconds``:
first at ``POST /bench/bare`` (same cookies, CSRF header and JSON body; no database work), then
at ``POST /api/polls/{id}/ballot`` as a different member each time (signed in, CSRF checked,
secret ballot + participation + receipt, acknowledged once on disk). Afterwards every receipt
wrk saw acknowledged must find its ballot, and ballots must equal participations. Prints
throughput, errors and latency of both, and the ratio. Exits 1 if an acknowledged ballot is
missing or a member has two ballots; the targets are reported, not enforced.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import secrets
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    BENCH,
    Platform,
    WrkResult,
    machine,
    platform_in_tmp,
    profiled,
    server,
    wrk,
)

TARGET_RATIO = 0.40
TARGET_P99_MS = 100.0


async def _prepare(target: Platform, members: int) -> tuple[int, list[str]]:
    """Migrate, seed the demo, add ``members`` shareholders with a session each."""
    target.use_here()
    from core import clock, db
    from core.auth.services import token_hash
    from core.auth.tables import WebSession
    from core.config import load_settings
    from core.demo import seed_demo
    from core.members.tables import Member
    from core.polls.tables import Poll

    settings = load_settings(target.config)
    engine = db.make_engine(settings)
    db.bind(engine)
    try:
        await db.upgrade()
        await seed_demo(settings)
        poll = await Poll.select(Poll.id).where((Poll.state == "open") & (Poll.country == "BE"))
        poll_id = int(poll[0]["id"])
        tokens: list[str] = []
        expires = clock.now() + timedelta(days=1)
        step = 500
        for start in range(0, members, step):
            rows = await Member.insert(
                *[
                    Member(
                        member_number=f"B{n:07d}",
                        email=f"bench{n}@example.org",
                        name=f"Bench Member {n}",
                        country="BE",
                        language="nl",
                        shareholder=True,
                    )
                    for n in range(start, min(start + step, members))
                ]
            )
            batch = [secrets.token_urlsafe(24) for _ in rows]
            tokens.extend(batch)
            await WebSession.insert(
                *[
                    WebSession(token_hash=token_hash(token), member=row["id"], expires_at=expires)
                    for token, row in zip(batch, rows, strict=True)
                ]
            )
        return poll_id, tokens
    finally:
        await db.close(engine)


async def _verify(target: Platform, poll_id: int, receipts: list[str]) -> tuple[int, int, int]:
    """(acknowledged ballots found, ballots, participations) for the poll."""
    from core import db
    from core.config import load_settings
    from core.polls.tables import Ballot, Participation

    target.use_here()

    engine = db.make_engine(load_settings(target.config))
    db.bind(engine)
    try:
        hashes = {hashlib.sha256(r.encode()).hexdigest() for r in receipts}
        stored = {
            row["receipt_hash"]
            for row in await Ballot.select(Ballot.receipt_hash).where(Ballot.poll == poll_id)
        }
        ballots = await Ballot.count().where(Ballot.poll == poll_id)
        participations = await Participation.count().where(Participation.poll == poll_id)
        return len(hashes & stored), ballots, participations
    finally:
        await db.close(engine)


def _choice(base: str, poll_id: int) -> list[int]:
    poll = httpx.get(f"{base}/api/polls/{poll_id}").json()
    numbers = [number for number, _theme in poll["candidates"]]
    if poll["method"] == "plurality":
        return numbers[:1]
    if poll["method"] == "approval":
        return numbers[:2]
    return numbers


def _row(label: str, result: WrkResult) -> str:
    return (
        f"{label:<28} {result.per_second:>9,.0f}/s  {result.ok:>7,} ok  "
        f"{result.errors + result.socket_errors:>5} errors  p50 {result.p50_ms:6.1f} ms  "
        f"p99 {result.p99_ms:6.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=60_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=1, help="sip serve --workers")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args()

    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"Vote casting, {backend}, {args.workers} worker(s); {machine()}")
    with platform_in_tmp(postgres=args.postgres, relay=True) as target:
        print(f"preparing: demo + {args.members:,} members with sessions ...", flush=True)
        poll_id, tokens = asyncio.run(_prepare(target, args.members))
        sessions = target.folder / "sessions.txt"
        sessions.write_text("\n".join(tokens) + "\n")
        with server(target, workers=args.workers) as running:
            base = running.url
            choice = _choice(base, poll_id)
            anonymous = httpx.get(f"{base}/api/session")
            csrf = anonymous.json()["csrf_token"]
            body = '{"choice": [' + ", ".join(map(str, choice)) + "]}"
            script = BENCH / "post.lua"

            def run(path: str, expected: int, reuse: bool, seconds: int) -> WrkResult:
                extra = [path, str(sessions), csrf, body, str(expected), "1" if reuse else "0"]
                label = "bare" if reuse else "votes"
                with profiled(running.pid, label):
                    return wrk(
                        base,
                        script,
                        extra,
                        connections=args.connections,
                        threads=args.threads,
                        seconds=seconds,
                    )

            run("/bench/bare", 201, True, 2)  # warm-up
            bare = run("/bench/bare", 201, True, args.seconds)
            votes = run(f"/api/polls/{poll_id}/ballot", 201, False, args.seconds)
        found, ballots, participations = asyncio.run(_verify(target, poll_id, votes.receipts))

    ratio = votes.per_second / bare.per_second if bare.per_second else 0.0
    print(_row("bare endpoint (baseline)", bare))
    print(_row("vote casting", votes))
    print(f"ratio: {ratio:.0%} of the bare endpoint (target at least {TARGET_RATIO:.0%})")
    print(
        f"acknowledged ballots found afterwards: {found:,} of {len(votes.receipts):,}; "
        f"ballots {ballots:,}, participations {participations:,}"
    )
    if votes.sessions_short:
        print(f"warning: {votes.sessions_short} requests ran out of members; raise --members")
    errors = votes.errors + votes.socket_errors
    checks = {
        f"throughput >= {TARGET_RATIO:.0%} of bare": ratio >= TARGET_RATIO,
        "zero errors": errors == 0,
        f"p99 < {TARGET_P99_MS:.0f} ms": votes.p99_ms < TARGET_P99_MS,
        "every acknowledged ballot present": found == len(votes.receipts) == votes.ok,
        "one ballot per participation": ballots == participations,
    }
    for label, met in checks.items():
        print(f"  {'met    ' if met else 'NOT MET'}  {label}")
    lost = found != len(votes.receipts) or votes.ok != len(votes.receipts)
    return 1 if lost or ballots != participations else 0


if __name__ == "__main__":
    tempfile.tempdir = os.environ.get("SIP_BENCH_TMP") or None
    sys.exit(main())
