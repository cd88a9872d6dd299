"""Faults: the server killed with SIGKILL again and again in the middle of a vote load loses no
acknowledged ballot, and the SQLite file stays sound (DESIGN.md invariant 5)."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import signal
import sqlite3
import subprocess
from datetime import timedelta

import httpx
import pytest

from core import clock, db
from core.auth.services import token_hash
from core.polls.tables import Participation, SealedBallot
from tests.server_support import start_sip_serve
from tests.test_polls import rules, setup_poll  # noqa: F401 - fixture

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])
VOTERS = 400
KILLS = 4
CONCURRENCY = 24


async def voters_with_sessions(count: int) -> list[str]:
    """``count`` BE shareholders, each signed in: their session tokens."""
    now = clock.now()
    tokens = [secrets.token_urlsafe(24) for _ in range(count)]
    async with db.write_transaction():
        await db.insert_many(
            "member",
            ("member_number", "email", "name", "country", "language", "shareholder")
            + ("created_at",),
            [
                (f"K{n:05d}", f"k{n}@example.org", f"Voter {n}", "BE", "en", True, now)
                for n in range(count)
            ],
        )
        ids = await Participation.raw("SELECT id FROM member WHERE member_number LIKE 'K%'")
        await db.insert_many(
            "web_session",
            ("token_hash", "member", "expires_at"),
            [
                (token_hash(token), row["id"], now + timedelta(days=1))
                for token, row in zip(tokens, sorted(ids, key=lambda r: r["id"]), strict=True)
            ],
        )
    return tokens


async def vote_until_killed(
    process: subprocess.Popen[bytes],
    base: str,
    poll_id: int,
    waiting: list[str],
    acknowledged: list[str],
    kill_at: int | None,
) -> int:
    """Members in ``waiting`` vote, CONCURRENCY at a time; once ``kill_at`` ballots are
    acknowledged the server gets SIGKILL with the others in flight. Returns how many requests
    the kill cut off (stored or not, nobody was told)."""
    csrf = httpx.get(f"{base}/api/session").json()["csrf_token"]
    killed = asyncio.Event()
    cut_off = 0

    async def voter(client: httpx.AsyncClient) -> None:
        nonlocal cut_off
        while waiting and not killed.is_set():
            token = waiting.pop()
            try:
                answer = await client.post(
                    f"/api/polls/{poll_id}/ballot",
                    json={"choice": [1, 2, 3]},
                    headers={
                        "x-csrftoken": csrf,
                        "cookie": f"sip_session={token}; sip_csrf={csrf}",
                    },
                )
            except httpx.TransportError:
                cut_off += 1
                return
            assert answer.status_code == 201, answer.text
            acknowledged.append(answer.json()["receipt"])
            if kill_at is not None and len(acknowledged) >= kill_at and not killed.is_set():
                killed.set()
                process.send_signal(signal.SIGKILL)

    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await asyncio.gather(*(voter(client) for _ in range(CONCURRENCY)))
    return cut_off


async def test_sigkill_during_a_vote_load_loses_no_acknowledged_ballot(
    rules,  # noqa: F811
    database,
    tmp_path,
):
    # The voters are members before the poll opens: its electoral roll is frozen then.
    waiting = list(reversed(await voters_with_sessions(VOTERS)))
    poll_id, _operator = await setup_poll(rules)
    acknowledged: list[str] = []  # receipts of ballots answered 201
    cut_off = 0

    for round_number in range(KILLS + 1):
        process, base = start_sip_serve(database.config_path, tmp_path)
        last = round_number == KILLS
        kill_at = None if last else len(acknowledged) + VOTERS // (KILLS + 2)
        try:
            cut_off += await vote_until_killed(
                process, base, poll_id, waiting, acknowledged, kill_at
            )
            if not last:
                assert process.wait(30) == -signal.SIGKILL
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait(30)

    assert not waiting
    assert len(acknowledged) + cut_off == VOTERS
    assert cut_off > 0  # the kills did cut requests off in flight

    with sqlite3.connect(database.sqlite_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    # Every acknowledged receipt is the tracker of a stored participation, and every
    # participation's tracker is the hash of a stored sealed ballot (one each, no more).
    trackers = await Participation.select(Participation.tracker).where(
        Participation.poll == poll_id
    )
    stored = {row["tracker"] for row in trackers}
    sealed = await SealedBallot.select(SealedBallot.sealed).where(SealedBallot.poll == poll_id)
    assert {hashlib.sha256(bytes(row["sealed"])).hexdigest() for row in sealed} == stored
    missing = [r for r in acknowledged if r not in stored]
    assert missing == []
    ballots = await SealedBallot.count().where(SealedBallot.poll == poll_id)
    assert ballots == await Participation.count().where(Participation.poll == poll_id)
    assert len(acknowledged) <= ballots <= VOTERS
