"""`sip serve --workers 2` on PostgreSQL: the worker processes share sessions, sign-in limits,
the one-ballot rule and the notification relay, because all of them live in the database."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import httpx
import pytest

from core.auth.services import create_sign_in_link, set_password
from core.notifications.tables import OutboxMessage
from core.polls import services as polls
from core.polls.tables import Participation, SealedBallot
from tests.conftest import POSTGRES_URL, write_config
from tests.server_support import start_sip_serve
from tests.test_polls import rules, setup_poll, shareholder  # noqa: F401 - fixture

pytestmark = pytest.mark.parametrize("backend", ["postgres"])


def two_workers(tmp_path: Path, schema: str) -> tuple[subprocess.Popen[bytes], str]:
    config = write_config(tmp_path, f"{POSTGRES_URL}?schema={schema}")
    return start_sip_serve(config, tmp_path, workers=2)


def fresh_connection(base: str, **cookies: str) -> httpx.Client:
    """No keep-alive: every request may land on either worker."""
    return httpx.Client(
        base_url=base, cookies=cookies, limits=httpx.Limits(max_keepalive_connections=0)
    )


async def test_two_workers_share_sessions_limits_ballots_and_the_relay(
    rules,  # noqa: F811
    tmp_path,
    request,
    backend,
):
    schema = request.getfixturevalue("postgres_schema")
    voters = [await shareholder(n) for n in range(12)]
    poll_id, _operator = await setup_poll(rules)  # opening notifies the shareholders in-app
    messages = await OutboxMessage.count()
    assert messages >= len(voters)
    await set_password(voters[1].id, "a-good-long-password", "a-good-long-password")
    link = await create_sign_in_link(voters[0].id, 30)

    process, base = two_workers(tmp_path, schema)
    try:
        with fresh_connection(base) as client:
            csrf = client.get("/api/session").json()["csrf_token"]
            signed = client.post(f"/api/sign-in/link/{link}", headers={"x-csrftoken": csrf})
            assert signed.status_code == 200, signed.text
            session = client.cookies["sip_session"]

        # The session is known to both workers: 20 new connections, every one signed in.
        for _ in range(20):
            with fresh_connection(base, sip_session=session) as client:
                assert client.get("/api/session").json()["member"]["id"] == voters[0].id

        # Sign-in limits count across workers: the sixth wrong password is refused as too
        # many (5 per account in the tests' configuration), even the right one then.
        statuses = []
        for _ in range(6):
            with fresh_connection(base) as client:
                csrf = client.get("/api/session").json()["csrf_token"]
                statuses.append(
                    client.post(
                        "/api/sign-in/password",
                        json={"email": voters[1].email, "password": "wrong-password-123"},
                        headers={"x-csrftoken": csrf},
                    ).status_code
                )
        assert statuses == [400] * 5 + [429], statuses  # wrong password, then too many

        # 40 simultaneous submits of one member's ballot over both workers: one is stored.
        async with httpx.AsyncClient(
            base_url=base,
            cookies={"sip_session": session},
            limits=httpx.Limits(max_keepalive_connections=0),
        ) as client:
            csrf = (await client.get("/api/session")).json()["csrf_token"]
            answers = await asyncio.gather(
                *(
                    client.post(
                        f"/api/polls/{poll_id}/ballot",
                        json={"choice": [1, 2]},
                        headers={"x-csrftoken": csrf},
                    )
                    for _ in range(40)
                )
            )
        codes = sorted(answer.status_code for answer in answers)
        assert codes == [201] + [409] * 39, codes
        assert await SealedBallot.count().where(SealedBallot.poll == poll_id) == 1
        assert await Participation.count().where(Participation.poll == poll_id) == 1
        [accepted] = [answer for answer in answers if answer.status_code == 201]
        assert await polls.tracker_is_listed(poll_id, accepted.json()["receipt"])

        # Both workers run a relay: every message is delivered, each by one claim only.
        async def delivered() -> list[dict]:
            return await OutboxMessage.select(OutboxMessage.state, OutboxMessage.attempts)

        async def all_sent() -> bool:
            return all(row["state"] == "sent" for row in await delivered())

        for _ in range(1200):  # a bound on waiting for a condition, not a timing check
            if await all_sent():
                break
            await asyncio.sleep(0.1)
        rows = await delivered()
        assert len(rows) >= messages
        assert {row["state"] for row in rows} == {"sent"}
        assert {row["attempts"] for row in rows} == {1}
    finally:
        process.terminate()
        process.wait(timeout=30)
