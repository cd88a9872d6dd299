"""Asking for a sign-in link (issue 15, item 3): the answer reveals nothing about membership,
the link is made and sent after the answer, and requests are limited per address and per
member, in the database. Every test runs on SQLite and on PostgreSQL.

The probe that found it: asking a link took ~2.2 ms for a member's address and ~1.1 ms for an
unknown one, and 25 links for one member in under a second were all sent. Time is not measured
here (a busy machine would decide the verdict); what decides the time is: which queries run
before the answer is sent, and how many links are issued.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.background_tasks import BackgroundTask
from litestar.testing import AsyncTestClient

from core import db
from core.audit import services as audit
from core.audit.tables import AuditEntry
from core.auth import controllers as auth_controllers
from core.auth import services as auth
from core.auth.tables import SignInLinkRequest, SignInToken
from core.config import ConfigError, load_settings
from core.members.services import load_member
from tests.conftest import add_member, csrf_token

MEMBER = "known@example.org"
STRANGER = "nobody@example.org"
LIMIT = 3  # the default: 3 links per address, and per member, in 15 minutes


def neutral(body: str, email: str) -> str:
    """A page as it would read for any address: the address typed and the CSRF token (the same
    client, but a form field) taken out."""
    body = body.replace(email, "EMAIL")
    return re.sub(r'name="_csrf_token" value="[^"]*"', 'name="_csrf_token" value=""', body)


class Recorder:
    """Every SQL statement the engine runs, in order, with the moment the HTTP answer was
    complete marked in between (the app's ``send`` is watched)."""

    def __init__(self, app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.events: list[str] = []
        engine_class = type(db.engine())  # PostgresEngine has slots: watched on its class
        run = engine_class.run_querystring
        kind = "sqlite" if db.is_sqlite() else "postgres"

        async def spy(engine: Any, querystring: Any, *args: Any, **kwargs: Any) -> Any:
            self.events.append(querystring.compile_string(engine_type=kind)[0])
            return await run(engine, querystring, *args, **kwargs)

        monkeypatch.setattr(engine_class, "run_querystring", spy)
        handler = app.asgi_handler

        async def watched(scope: Any, receive: Any, send: Any) -> None:
            async def send_and_note(message: Any) -> None:
                await send(message)
                if message["type"] == "http.response.body" and not message.get("more_body"):
                    self.events.append("ANSWERED")

            await handler(scope, receive, send_and_note)

        monkeypatch.setattr(app, "asgi_handler", watched)

    def split(self) -> tuple[list[str], list[str]]:
        """(statements before the answer, statements after it) for the last request."""
        answered = len(self.events) - 1 - self.events[::-1].index("ANSWERED")
        start = 0
        if "ANSWERED" in self.events[:answered]:
            start = answered - self.events[:answered][::-1].index("ANSWERED")
        before, after = self.events[start:answered], self.events[answered + 1 :]
        self.events.clear()
        return before, after


def touches(statements: list[str], table: str) -> bool:
    """Whether any statement names ``table`` (quoted by Piccolo, bare in raw SQL)."""
    pattern = re.compile(rf'("{table}"|\b{table}\b)(?!_)', re.IGNORECASE)
    return any(pattern.search(sql) for sql in statements)


# -- (a) the answer comes before any per-member work ---------------------------------------------


@pytest.mark.parametrize("form", ["page", "api"])
async def test_the_answer_is_sent_before_the_member_is_looked_up_and_is_the_same(
    client, monkeypatch, form
):
    await add_member(MEMBER)
    csrf = await csrf_token(client)
    recorder = Recorder(client.app, monkeypatch)

    async def ask(email: str) -> Any:
        if form == "page":
            return await client.post("/sign-in/link", data={"email": email, "_csrf_token": csrf})
        return await client.post(
            "/api/sign-in/link", json={"email": email}, headers={"x-csrftoken": csrf}
        )

    for_member = await ask(MEMBER)
    member_before, member_after = recorder.split()
    for_stranger = await ask(STRANGER)
    stranger_before, stranger_after = recorder.split()

    # The same answer, byte for byte (but for the address typed), and the same status.
    assert for_member.status_code == for_stranger.status_code == (200 if form == "page" else 202)
    assert neutral(for_member.text, MEMBER) == neutral(for_stranger.text, STRANGER)
    assert for_member.headers.get("content-type") == for_stranger.headers.get("content-type")
    # The same statements before the answer, and none of them reads a member or writes a link:
    # only the address's count (a hash of the address, whoever it belongs to).
    assert member_before == stranger_before
    assert member_before, "the address's request is counted before the answer"
    for table in ("member", "member_role", "sign_in_token", "audit_entry"):
        assert not touches(member_before, table), (table, member_before)
    assert all(touches([sql], "sign_in_link_request") for sql in member_before)
    # After the answer: the member is looked up, the link written and audited.
    assert touches(member_after, "member") and touches(stranger_after, "member")
    assert touches(member_after, "sign_in_token")
    assert not touches(stranger_after, "sign_in_token")
    assert touches(member_after, "audit_entry")
    assert await SignInToken.count() == 1


async def test_the_page_hands_the_link_to_a_background_task(database, monkeypatch):
    """The handler itself: it returns before any link exists, with the work as the response's
    background task, for a member's address and for any other alike."""
    from core.app import create_app
    from core.auth.controllers import SignInAPI

    member_id = await add_member(MEMBER)
    app = create_app(database, engine=db.engine())
    looked_up: list[str] = []
    real = auth_controllers.member_by_email

    async def spy(email: str) -> Any:
        looked_up.append(email)
        return await real(email)

    monkeypatch.setattr(auth_controllers, "member_by_email", spy)

    class FakeRequest:
        def __init__(self) -> None:
            self.app = app
            self.headers: dict[str, str] = {}

    handler = SignInAPI.request_link.fn
    tasks = []
    for email in (MEMBER, STRANGER):
        response = await handler(None, FakeRequest(), auth_controllers.LinkRequest(email=email))
        assert isinstance(response.background, BackgroundTask)
        assert response.status_code == 202
        assert looked_up == []  # no member looked up before the answer
        assert await SignInToken.count() == 0
        tasks.append(response)
    assert tasks[0].content == tasks[1].content

    await tasks[0].background()  # what runs once the answer is sent
    assert looked_up == [MEMBER]
    assert await SignInToken.count().where(SignInToken.member == member_id) == 1
    await tasks[1].background()
    assert await SignInToken.count() == 1


# -- (b) 25 requests in a row: at most the limit are issued ---------------------------------------


@pytest.mark.parametrize("form", ["page", "api"])
async def test_25_requests_for_one_member_issue_the_limit_and_answer_a_stranger_alike(
    client, caplog, form
):
    member_id = await add_member(MEMBER, number="L-1")
    csrf = await csrf_token(client)

    async def ask(email: str) -> Any:
        if form == "page":
            return await client.post("/sign-in/link", data={"email": email, "_csrf_token": csrf})
        return await client.post(
            "/api/sign-in/link", json={"email": email}, headers={"x-csrftoken": csrf}
        )

    with caplog.at_level(logging.INFO, logger="sip.sign_in"):
        member_answers = [await ask(MEMBER) for _ in range(25)]
        stranger_answers = [await ask(STRANGER) for _ in range(25)]

    ok = 200 if form == "page" else 202
    statuses = [r.status_code for r in member_answers]
    assert statuses == [ok] * LIMIT + [429] * (25 - LIMIT)
    assert [r.status_code for r in stranger_answers] == statuses
    for mine, theirs in zip(member_answers, stranger_answers, strict=True):
        assert neutral(mine.text, MEMBER) == neutral(theirs.text, STRANGER)
    limited = member_answers[-1]
    if form == "page":
        assert "Check its mailbox" in limited.text and "15 minutes" in limited.text
        assert 'role="status"' in limited.text
    else:
        assert limited.headers["content-type"].startswith("application/problem+json")
        assert "Check its mailbox" in limited.json()["detail"]

    # Exactly the limit issued: links in the database, and links handed to the channel (the log).
    assert await SignInToken.count().where(SignInToken.member == member_id) == LIMIT
    sent = [r for r in caplog.records if r.getMessage().startswith("sign-in link for ")]
    assert len(sent) == LIMIT
    # Refused requests are not stored (they do not extend the wait); counts are per address hash.
    keys = {row["key"] for row in await SignInLinkRequest.select(SignInLinkRequest.key)}
    assert keys == {auth.address_key(MEMBER), auth.address_key(STRANGER), f"member:{member_id}"}
    written = " ".join(row["key"] for row in await SignInLinkRequest.select())
    assert MEMBER not in written and STRANGER not in written


async def test_the_address_is_counted_however_it_is_written(client):
    member_id = await add_member(MEMBER)
    csrf = await csrf_token(client)
    spellings = [MEMBER, MEMBER.upper(), f"  {MEMBER}  ", "Known@Example.org", MEMBER]
    statuses = []
    for email in spellings:
        response = await client.post(
            "/api/sign-in/link", json={"email": email}, headers={"x-csrftoken": csrf}
        )
        statuses.append(response.status_code)
    assert statuses == [202, 202, 202, 429, 429]
    assert await SignInToken.count().where(SignInToken.member == member_id) == LIMIT


async def test_the_limit_is_per_address_others_are_not_held_up(client):
    first = await add_member("first@example.org")
    second = await add_member("second@example.org")
    csrf = await csrf_token(client)
    for email in ["first@example.org"] * 5 + ["second@example.org"] * 2:
        await client.post("/api/sign-in/link", json={"email": email}, headers={"x-csrftoken": csrf})
    assert await SignInToken.count().where(SignInToken.member == first) == LIMIT
    assert await SignInToken.count().where(SignInToken.member == second) == 2


async def test_the_window_passes_and_links_can_be_asked_for_again(client, monkeypatch):
    member_id = await add_member(MEMBER)
    csrf = await csrf_token(client)

    async def ask() -> int:
        response = await client.post(
            "/api/sign-in/link", json={"email": MEMBER}, headers={"x-csrftoken": csrf}
        )
        return response.status_code

    assert [await ask() for _ in range(4)] == [202, 202, 202, 429]
    later = auth.now() + timedelta(minutes=16)
    monkeypatch.setattr(auth, "now", lambda: later)
    assert await ask() == 202
    assert await SignInToken.count().where(SignInToken.member == member_id) == LIMIT + 1
    # Counts that left the window were dropped after that answer.
    assert await SignInLinkRequest.count() == 2  # this address's new one and the member's


async def test_the_member_limit_holds_on_its_own(database):
    """The per-member count (kept after the answer) issues no more than the limit, whichever
    address led to the member."""
    member_id = await add_member(MEMBER)
    member = await load_member(member_id)
    assert member is not None
    tokens = [await auth.issue_sign_in_link(member, 30, LIMIT, 15) for _ in range(6)]
    assert [t is not None for t in tokens] == [True] * LIMIT + [False] * 3
    assert await SignInToken.count() == LIMIT


async def test_simultaneous_requests_get_no_more_than_the_limit(pooled):
    """Twenty requests for one address at the same moment (several workers, say): each is
    counted before the others are, so no more than the limit pass."""
    key = auth.address_key(MEMBER)
    results = await asyncio.gather(*(auth.count_link_request(key, LIMIT, 15) for _ in range(20)))
    assert sum(r is not None for r in results) <= LIMIT
    assert await SignInLinkRequest.count() == sum(r is not None for r in results)


async def test_a_configured_limit_is_used(database):
    from core.app import create_app

    settings = msgspec.structs.replace(
        database,
        security=msgspec.structs.replace(database.security, sign_in_link_requests=1),
    )
    member_id = await add_member(MEMBER)
    app = create_app(settings, engine=db.engine())
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
        csrf = await csrf_token(client)
        statuses = [
            (
                await client.post(
                    "/api/sign-in/link", json={"email": MEMBER}, headers={"x-csrftoken": csrf}
                )
            ).status_code
            for _ in range(3)
        ]
    assert statuses == [202, 429, 429]
    assert await SignInToken.count().where(SignInToken.member == member_id) == 1


async def test_a_failure_after_the_answer_is_logged_without_the_address_or_link(
    client, monkeypatch, caplog
):
    await add_member(MEMBER)
    csrf = await csrf_token(client)

    async def broken(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError(f"disk full while writing for {MEMBER}")

    monkeypatch.setattr(auth, "issue_sign_in_link", broken)
    with caplog.at_level(logging.INFO):
        response = await client.post(
            "/api/sign-in/link", json={"email": MEMBER}, headers={"x-csrftoken": csrf}
        )
    assert response.status_code == 202
    assert "could not be issued: RuntimeError" in caplog.text
    assert MEMBER not in caplog.text
    assert await SignInToken.count() == 0


async def test_a_malformed_address_is_refused_alike_and_not_counted(client):
    csrf = await csrf_token(client)
    page = await client.post("/sign-in/link", data={"email": "not-an-address", "_csrf_token": csrf})
    api = await client.post(
        "/api/sign-in/link",
        json={"email": "x" * 300 + "@example.org"},
        headers={"x-csrftoken": csrf},
    )
    assert page.status_code == api.status_code == 400
    assert 'aria-invalid="true"' in page.text  # the form again, with the message
    assert await SignInLinkRequest.count() == 0


# -- (e) the audit trail: links issued per member, never the address or the link -----------------


async def test_each_issued_link_is_audited_per_member_without_address_or_secret(client, caplog):
    member_id = await add_member(MEMBER, number="L-7", name="Lou", country="FR")
    csrf = await csrf_token(client)
    with caplog.at_level(logging.WARNING, logger="sip.sign_in"):
        for _ in range(5):
            await client.post(
                "/api/sign-in/link", json={"email": MEMBER}, headers={"x-csrftoken": csrf}
            )
        for _ in range(2):
            await client.post(
                "/api/sign-in/link", json={"email": STRANGER}, headers={"x-csrftoken": csrf}
            )
    links = re.findall(r"/sign-in/link/(\S+)", caplog.text)
    assert len(links) == LIMIT

    rows = await audit.as_shown(
        sorted(
            await AuditEntry.select().where(AuditEntry.action == "member.link_request"),
            key=lambda row: row["seq"],
        )
    )
    assert [row["details"] for row in rows] == [
        {"member_number": "L-7", "count": n, "window_minutes": 15} for n in (1, 2, 3)
    ]
    for row in rows:
        assert (row["actor"], row["role"], row["country"]) == (member_id, "member", "FR")
        assert (row["object_type"], row["object_id"]) == ("member", str(member_id))
    written = " ".join(str(v) for row in await AuditEntry.select() for v in row.values())
    for secret in (MEMBER, STRANGER, *links, *(auth.token_hash(t) for t in links)):
        assert secret not in written
    assert (await audit.verify()).count == LIMIT
    assert "member.link_request" in audit.ACTIONS


# -- (f) without a mail channel, the log gets the link in demo mode and local development only ----


@pytest.mark.parametrize(
    ("base_url", "demo", "logged"),
    [
        ("http://127.0.0.1:8000", False, True),  # local development
        ("https://sip.example.org", True, True),  # sip serve --demo
        ("https://sip.example.org", False, False),  # a real server: no link in its log
    ],
    ids=["local-development", "demo", "public"],
)
async def test_without_a_mail_channel_the_log_gets_the_link_only_in_demo_or_local_development(
    database, caplog, base_url, demo, logged
):
    from core.app import create_app

    settings = msgspec.structs.replace(
        database,
        platform=msgspec.structs.replace(database.platform, base_url=base_url),
        # The test client speaks plain http to 127.0.0.1: cookies it can send back.
        security=msgspec.structs.replace(database.security, secure_cookies="never"),
        demo=demo,
    )
    member_id = await add_member(MEMBER)
    app = create_app(settings, engine=db.engine())
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
        csrf = await csrf_token(client)
        with caplog.at_level(logging.INFO):
            answers = [
                await client.post(
                    "/api/sign-in/link", json={"email": email}, headers={"x-csrftoken": csrf}
                )
                for email in (MEMBER, STRANGER)
            ]
    # The visitor's answer is the same neutral one whatever happens to the link.
    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].json() == answers[1].json()
    links = re.findall(r"/sign-in/link/(\S+)", caplog.text)
    if logged:
        assert f"sign-in link for {MEMBER}" in caplog.text
        [token] = links
        assert caplog.text.count(f"{base_url}/sign-in/link/") == 1
        assert await auth.link_status(token) == "valid"
    else:
        assert links == [] and "/sign-in/link/" not in caplog.text
        assert MEMBER not in caplog.text and STRANGER not in caplog.text
        [warning] = [r for r in caplog.records if r.name == "sip.sign_in"]
        assert warning.levelno == logging.WARNING
        assert warning.getMessage().startswith(
            f"no mail channel is enabled in BE: a sign-in link for member {member_id} could "
            "not be sent"
        )


# -- the setting ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("sign_in_link_requests = 0", "`security.sign_in_link_requests` must be a whole number"),
        (
            "sign_in_link_request_window_minutes = -5",
            "`security.sign_in_link_request_window_minutes` must be a whole number",
        ),
        ('sign_in_link_requests = "three"', "security.sign_in_link_requests"),
    ],
)
def test_a_bad_limit_in_config_stops_the_start_with_its_key(tmp_path: Path, line, says):
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[database]
url = "sqlite:///{tmp_path / "x.sqlite3"}"

[security]
{line}

[countries.BE]
name = "Belgium"
"""
    )
    with pytest.raises(ConfigError) as raised:
        load_settings(path)
    assert says in str(raised.value)


def test_the_limits_default_to_3_per_15_minutes(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text('[countries.BE]\nname = "Belgium"\n')
    security = load_settings(path).security
    assert (security.sign_in_link_requests, security.sign_in_link_request_window_minutes) == (3, 15)
