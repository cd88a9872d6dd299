"""A member's sessions (issue 15, item 4): a password change or reset ends every other session,
the account page lists the member's devices, and "sign out everywhere" ends them all. Every
test runs on SQLite and on PostgreSQL.

The probe that found it: sessions A and B of one member; the password changed in A; B was
still signed in.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from core import db
from core.audit import services as audit
from core.audit.tables import AuditEntry
from core.auth import devices
from core.auth import services as auth
from core.auth.tables import WebSession
from core.members.tables import Member
from tests.conftest import add_member, csrf_token, sign_in

FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
PASSWORD = "a new and long password"
SESSION = "sip_session"


@pytest.fixture
async def phone(client) -> AsyncIterator[AsyncTestClient[Any]]:
    """A second browser (session B) on the same app, with its own cookies."""
    async with AsyncTestClient(app=client.app, base_url="http://127.0.0.1:8000") as other:
        other.headers["user-agent"] = SAFARI_IPHONE
        yield other


async def signed_in(client: AsyncTestClient[Any]) -> bool:
    response = await client.get("/api/me")
    assert response.status_code in (200, 401)
    return response.status_code == 200


async def two_sessions(client, phone, email: str = "two@example.org", **member: Any) -> int:
    """Session A (``client``, Firefox on Linux) and session B (``phone``) of one member."""
    member_id = await add_member(email, **member)
    client.headers["user-agent"] = FIREFOX_LINUX
    await sign_in(client, member_id)
    await sign_in(phone, member_id)
    assert await signed_in(client) and await signed_in(phone)
    return member_id


# -- (c) a password change or reset ends every other session --------------------------------------


async def test_a_password_changed_in_a_signs_b_out_and_keeps_a(client, phone):
    member_id = await two_sessions(client, phone)
    changed = await client.post(
        "/account/password",
        data={"password": PASSWORD, "confirm": PASSWORD, "_csrf_token": await csrf_token(client)},
    )
    assert changed.status_code == 200
    assert "Your password is saved." in changed.text
    assert "Your other signed-in device is signed out." in changed.text
    assert not await signed_in(phone)  # B is anonymous
    assert await signed_in(client)  # A goes on
    assert await WebSession.count().where(WebSession.member == member_id) == 1


async def test_a_password_changed_through_the_api_signs_the_others_out(client, phone):
    member_id = await two_sessions(client, phone)
    third = await auth.start_session(member_id, 14)  # a third browser, say
    changed = await phone.post(
        "/api/me/password",
        json={"password": PASSWORD, "confirm": PASSWORD},
        headers={"x-csrftoken": await csrf_token(phone)},
    )
    assert changed.status_code == 200
    assert await signed_in(phone)
    assert not await signed_in(client)
    assert await auth.session_member(third) is None


async def test_a_refused_password_changes_nothing_and_ends_no_session(client, phone):
    member_id = await two_sessions(client, phone)
    refused = await client.post(
        "/account/password",
        data={"password": "short", "confirm": "short", "_csrf_token": await csrf_token(client)},
    )
    assert refused.status_code == 400
    assert await signed_in(phone) and await signed_in(client)
    assert (await Member.select(Member.password_hash).where(Member.id == member_id))[0][
        "password_hash"
    ] is None
    assert await AuditEntry.count().where(AuditEntry.action == "member.password_change") == 0


async def test_a_reset_through_a_sign_in_link_signs_every_other_device_out(client, phone, caplog):
    """The member forgot the password: a link from the sign-in form, then a new password. The
    old sessions (the phone; someone who knew the old password) end."""
    member_id = await add_member("forgot@example.org")
    await auth.set_password(member_id, "the old password", "the old password")
    stranger = await phone.post(
        "/api/sign-in/password",
        json={"email": "forgot@example.org", "password": "the old password"},
        headers={"x-csrftoken": await csrf_token(phone)},
    )
    assert stranger.status_code == 200 and await signed_in(phone)

    csrf = await csrf_token(client)
    with caplog.at_level(logging.WARNING, logger="sip.sign_in"):
        asked = await client.post(
            "/sign-in/link", data={"email": "forgot@example.org", "_csrf_token": csrf}
        )
    assert asked.status_code == 200
    token = re.findall(r"/sign-in/link/(\S+)", caplog.text)[-1]
    used = await client.post(
        f"/sign-in/link/{token}", data={"_csrf_token": csrf}, follow_redirects=False
    )
    assert used.status_code == 303
    reset = await client.post(
        "/account/password",
        data={"password": PASSWORD, "confirm": PASSWORD, "_csrf_token": await csrf_token(client)},
    )
    assert reset.status_code == 200
    assert not await signed_in(phone)
    assert await signed_in(client)
    old = await phone.post(
        "/api/sign-in/password",
        json={"email": "forgot@example.org", "password": "the old password"},
        headers={"x-csrftoken": await csrf_token(phone)},
    )
    assert old.status_code == 400


# -- (d) the list of sessions, signing one out, signing out everywhere ---------------------------


async def test_the_account_page_lists_both_devices_and_marks_this_one(client, phone):
    member_id = await two_sessions(client, phone)
    listed = (await client.get("/api/account/sessions")).json()
    assert [(s["device"], s["browser"], s["system"], s["current"]) for s in listed] == [
        ("Firefox on Linux", "Firefox", "Linux", True),
        ("Safari on iPhone", "Safari", "iPhone", False),
    ]
    ids = {row["id"] for row in await WebSession.select(WebSession.id)}
    assert {s["id"] for s in listed} == ids  # the row's number, not the token
    for entry in listed:
        assert entry["signed_in_at"] and entry["last_seen_at"]
    assert set(listed[0]) == {
        "id",
        "device",
        "browser",
        "system",
        "signed_in_at",
        "last_seen_at",
        "current",
    }

    page = await client.get("/account")
    assert page.status_code == 200
    assert "Firefox on Linux" in page.text and "Safari on iPhone" in page.text
    assert page.text.count("this device") == 1
    assert 'action="/account/sessions/end-all"' in page.text
    phone_id = next(s["id"] for s in listed if not s["current"])
    mine = next(s["id"] for s in listed if s["current"])
    assert f'action="/account/sessions/{phone_id}/end"' in page.text
    assert f'action="/account/sessions/{mine}/end"' not in page.text  # this one: sign out
    for token in (client.cookies.get(SESSION), phone.cookies.get(SESSION)):
        assert token and token not in page.text and token not in json.dumps(listed)
        assert auth.token_hash(token) not in page.text
    # B sees the same two, itself marked.
    theirs = (await phone.get("/api/account/sessions")).json()
    assert [s["current"] for s in theirs] == [True, False]
    assert {s["id"] for s in theirs} == ids
    assert member_id


async def test_signing_another_device_out_from_the_page_and_the_api(client, phone):
    member_id = await two_sessions(client, phone)
    listed = (await client.get("/api/account/sessions")).json()
    phone_id = next(s["id"] for s in listed if not s["current"])
    ended = await client.post(
        f"/account/sessions/{phone_id}/end",
        data={"_csrf_token": await csrf_token(client)},
        follow_redirects=False,
    )
    assert ended.status_code == 303 and ended.headers["location"] == "/account?signed_out=device"
    assert not await signed_in(phone) and await signed_in(client)
    assert "That device is signed out." in (await client.get(ended.headers["location"])).text

    third = await auth.start_session(member_id, 14)
    third_id = (
        await WebSession.select(WebSession.id).where(
            WebSession.token_hash == auth.token_hash(third)
        )
    )[0]["id"]
    again = await client.delete(
        f"/api/account/sessions/{third_id}", headers={"x-csrftoken": await csrf_token(client)}
    )
    assert again.status_code == 200
    assert await auth.session_member(third) is None
    assert await signed_in(client)
    gone = await client.delete(
        f"/api/account/sessions/{third_id}", headers={"x-csrftoken": await csrf_token(client)}
    )
    assert gone.status_code == 404


async def test_ending_this_devices_own_session_by_its_id_signs_it_out(client, phone):
    await two_sessions(client, phone)
    mine = next(s["id"] for s in (await client.get("/api/account/sessions")).json() if s["current"])
    ended = await client.delete(
        f"/api/account/sessions/{mine}", headers={"x-csrftoken": await csrf_token(client)}
    )
    assert ended.status_code == 200
    assert not client.cookies.get(SESSION)
    assert not await signed_in(client)
    assert await signed_in(phone)


@pytest.mark.parametrize("form", ["page", "api"])
async def test_sign_out_everywhere_ends_both_sessions(client, phone, form):
    member_id = await two_sessions(client, phone)
    other = await add_member("other@example.org")
    bystander = await auth.start_session(other, 14)
    csrf = await csrf_token(client)
    if form == "page":
        response = await client.post(
            "/account/sessions/end-all", data={"_csrf_token": csrf}, follow_redirects=False
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/sign-in?signed_out=everywhere"
        shown = await client.get(response.headers["location"])
        assert "You are signed out on every device." in shown.text
    else:
        response = await client.post("/api/account/sessions/end-all", headers={"x-csrftoken": csrf})
        assert response.status_code == 200
    assert not client.cookies.get(SESSION)
    assert not await signed_in(client) and not await signed_in(phone)
    assert await WebSession.count().where(WebSession.member == member_id) == 0
    assert await auth.session_member(bystander) is not None  # another member's: untouched


async def test_another_members_session_is_404_and_nothing_changes(client, phone):
    """Only the owner sees or ends their sessions: another member's id answers 404 and ends
    nothing, on the page and in the API; so does an id beyond any row (PostgreSQL included)."""
    await two_sessions(client, phone)
    victim = await add_member("victim@example.org")
    theirs = await auth.start_session(victim, 14)
    their_id = (
        await WebSession.select(WebSession.id).where(
            WebSession.token_hash == auth.token_hash(theirs)
        )
    )[0]["id"]
    before = await WebSession.select().order_by(WebSession.id)
    csrf = await csrf_token(client)

    api = await client.delete(f"/api/account/sessions/{their_id}", headers={"x-csrftoken": csrf})
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")
    page = await client.post(
        f"/account/sessions/{their_id}/end", data={"_csrf_token": csrf}, follow_redirects=False
    )
    assert page.status_code == 404
    for beyond in (0, 2**31, 2**63):
        far = await client.delete(f"/api/account/sessions/{beyond}", headers={"x-csrftoken": csrf})
        assert far.status_code == 404, beyond
    assert await WebSession.select().order_by(WebSession.id) == before
    assert await auth.session_member(theirs) is not None
    assert their_id not in {s["id"] for s in (await client.get("/api/account/sessions")).json()}


async def test_the_sessions_need_a_signed_in_member_and_a_csrf_token(client, phone):
    await two_sessions(client, phone)
    listed = (await client.get("/api/account/sessions")).json()
    no_token = await client.post("/api/account/sessions/end-all")
    assert no_token.status_code == 403
    assert await signed_in(client) and await signed_in(phone)
    async with AsyncTestClient(app=client.app, base_url="http://127.0.0.1:8000") as anonymous:
        assert (await anonymous.get("/api/account/sessions")).status_code == 401
        gone = await anonymous.delete(
            f"/api/account/sessions/{listed[1]['id']}",
            headers={"x-csrftoken": await csrf_token(anonymous)},
        )
        assert gone.status_code == 401
    assert await signed_in(phone)


# -- last seen: noted now and then, not at every request -----------------------------------------


async def test_last_seen_is_written_at_most_every_few_minutes(client, monkeypatch):
    member_id = await add_member("seen@example.org")
    await sign_in(client, member_id)
    start = (await WebSession.select(WebSession.last_seen_at))[0]["last_seen_at"]
    assert start is not None
    writes: list[str] = []
    engine_class = type(db.engine())
    run = engine_class.run_querystring
    kind = "sqlite" if db.is_sqlite() else "postgres"

    async def spy(engine: Any, querystring: Any, *args: Any, **kwargs: Any) -> Any:
        sql = querystring.compile_string(engine_type=kind)[0]
        if sql.lstrip().upper().startswith("UPDATE") and "web_session" in sql:
            writes.append(sql)
        return await run(engine, querystring, *args, **kwargs)

    monkeypatch.setattr(engine_class, "run_querystring", spy)
    for _ in range(10):
        assert await signed_in(client)
    assert writes == []  # ten requests, no write

    later = auth.now() + auth.SEEN_EVERY + timedelta(seconds=1)
    monkeypatch.setattr(auth, "now", lambda: later)
    for _ in range(10):
        assert await signed_in(client)
    assert len(writes) == 1
    seen = (await WebSession.select(WebSession.last_seen_at))[0]["last_seen_at"]
    assert abs((seen - later).total_seconds()) < 1
    listed = (await client.get("/api/account/sessions")).json()
    assert listed[0]["last_seen_at"] != listed[0]["signed_in_at"]


# -- (e) the audit trail: password changes, never the password ------------------------------------


async def test_a_password_change_is_audited_without_any_secret(client, phone):
    member_id = await two_sessions(client, phone, "pw@example.org", number="P-1", country="FR")
    await client.post(
        "/account/password",
        data={"password": PASSWORD, "confirm": PASSWORD, "_csrf_token": await csrf_token(client)},
    )
    await client.post(
        "/api/me/password",
        json={"password": PASSWORD + "!", "confirm": PASSWORD + "!"},
        headers={"x-csrftoken": await csrf_token(client)},
    )
    rows = await audit.as_shown(
        sorted(
            await AuditEntry.select().where(AuditEntry.action == "member.password_change"),
            key=lambda row: row["seq"],
        )
    )
    assert [row["details"] for row in rows] == [
        {"member_number": "P-1", "sessions_ended": 1},
        {"member_number": "P-1", "sessions_ended": 0},
    ]
    for row in rows:
        assert (row["actor"], row["role"], row["country"]) == (member_id, "member", "FR")
        assert (row["object_type"], row["object_id"]) == ("member", str(member_id))
    stored = (await Member.select(Member.password_hash).where(Member.id == member_id))[0]
    written = " ".join(str(v) for row in await AuditEntry.select() for v in row.values())
    for secret in (PASSWORD, PASSWORD + "!", stored["password_hash"]):
        assert secret not in written
    for token in (client.cookies.get(SESSION), phone.cookies.get(SESSION)):
        assert token and token not in written and auth.token_hash(token) not in written
    assert (await audit.verify()).count == await AuditEntry.count()
    assert "member.password_change" in audit.ACTIONS


# -- the device, in words ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "device"),
    [
        (FIREFOX_LINUX, ("Firefox", "Linux")),
        (SAFARI_IPHONE, ("Safari", "iPhone")),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
            ("Edge", "Windows"),
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Mobile Safari/537.36",
            ("Chrome", "Android"),
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like "
            "Gecko) Version/17.5 Safari/605.1.15",
            ("Safari", "macOS"),
        ),
        ("curl/8.5.0", ("", "")),
        ("", ("", "")),
        (None, ("", "")),
        ("x" * 100_000, ("", "")),
    ],
)
def test_a_user_agent_is_shortened_to_browser_and_system(agent, device):
    assert devices.describe(agent) == device


def test_a_device_in_words():
    assert devices.label("Firefox", "Linux") == "Firefox on Linux"
    assert devices.label("Firefox", "") == "Firefox"
    assert devices.label("", "Android") == "A browser on Android"
    assert devices.label("", "") == "An unknown browser"
