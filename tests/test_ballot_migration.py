"""An installation that voted before the sealed ballot box: the upgrade moves its clear
ballots to the clear list in a random order, without their receipt hashes, freezes its
candidates' titles, and a published poll's export still recounts with ``sip verify``; a
closed poll of that time is counted without shares."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import uuid

import msgspec
from piccolo.apps.migrations.commands.forwards import run_forwards

from core import clock, db
from core.plugins import build_registry
from core.polls import export
from core.polls import services as polls
from core.polls.tables import ClearBallot, Poll
from core.rules import Rules
from tests.conftest import make_settings

BEFORE = "2026-11-28T11:50:00:000000"  # the last migration before the sealed ballot box


async def test_ballots_cast_before_the_sealed_box_are_kept_shuffled_and_recount(tmp_path):
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'old.sqlite3'}")
    engine = db.make_engine(settings)
    db.bind(engine)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            result = await run_forwards(app_name="core", migration_id=BEFORE)
        assert result.success, result.message
        now = clock.now().isoformat()
        run = engine.run_ddl
        await run("INSERT INTO edition (slug) VALUES ('2020-2021')")
        for theme, title in ((1, "Accompaniment"), (2, "Mobility"), (3, "Gender equality")):
            await run(
                "INSERT INTO theme (edition, origin, status, scope, original_language) "
                "VALUES (1, 'board', 'accepted', 'BE', 'en')"
            )
            await run(
                f"INSERT INTO theme_text (theme, language, title) VALUES ({theme}, 'en', '{title}')"
            )
        for poll, state in ((1, "published"), (2, "closed")):
            await run(
                "INSERT INTO poll (edition, country, method, seats, opens_at, closes_at, state, "
                f"result, ballots_digest) VALUES (1, 'BE', 'plurality', 1, '{now}', '{now}', "
                f"'{state}', '', 'old')"
            )
            for number in (1, 2, 3):
                await run(
                    "INSERT INTO poll_candidate (poll, theme, number) "
                    f"VALUES ({poll}, {number}, {number})"
                )
        ballots = {1: [[1], [1], [2], [3], [1]], 2: [[2], [2], [3]]}
        for poll, choices in ballots.items():
            for n, choice in enumerate(choices):
                await run(
                    f"INSERT INTO member (member_number, email, name, country, language, "
                    f"shareholder) VALUES ('M{poll}{n}', 'm{poll}{n}@example.org', 'M', 'BE', "
                    "'en', 1)"
                )
                member = (await run("SELECT max(id) AS id FROM member"))[0]["id"]
                await run(
                    "INSERT INTO participation (poll, member, channel, created_at) "
                    f"VALUES ({poll}, {member}, 'online', '{now}')"
                )
                await run(
                    "INSERT INTO ballot (id, poll, choice, receipt_hash, paper) VALUES "
                    f"('{uuid.uuid4()}', {poll}, '{msgspec.json.encode(choice).decode()}', "
                    f"'{uuid.uuid4().hex}', 0)"
                )
        await Poll.update({Poll.result: msgspec.json.encode(_tally(ballots[1])).decode()}).where(
            Poll.id == 1
        )

        await db.upgrade()

        assert not await engine.run_ddl(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'ballot'"
        )
        for poll, choices in ballots.items():
            rows = await ClearBallot.select().where(ClearBallot.poll == poll)
            assert sorted(r["position"] for r in rows) == list(range(1, len(choices) + 1))
            assert sorted(msgspec.json.decode(r["choice"]) for r in rows) == sorted(choices)
        published = await export.export(1)
        assert published["poll"]["sealed"] is False
        assert published["candidates"][0]["titles"] == {"en": "Accompaniment"}
        path = tmp_path / "old-poll.json"
        path.write_bytes(msgspec.json.encode(published))
        verified = subprocess.run(
            [sys.executable, "-m", "core.cli", "verify", str(path)], capture_output=True, text=True
        )
        assert verified.returncode == 0, verified.stdout + verified.stderr

        # The closed poll of that time is counted without shares, from its clear ballots.
        rules = Rules(build_registry(settings), settings)
        tally = await polls.count_poll(rules, None, 2, [])
        assert tally.winners == [2]
        assert (await polls.get_poll(2)).state == "published"
    finally:
        await db.close(engine)


def _tally(choices: list[list[int]]) -> dict:
    from core.voting.methods import CORE_METHODS

    (method,) = [m for m in CORE_METHODS if m.name == "plurality"]
    return msgspec.to_builtins(method.tally([tuple(c) for c in choices], [1, 2, 3], 1))
