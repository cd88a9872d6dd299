"""Sign-in: one-time links, passwords, sessions, CSRF and failed-attempt limits."""

from __future__ import annotations

from datetime import timedelta

from core.audit import services as audit
from core.audit.tables import AuditEntry
from core.auth import services as auth
from core.auth.tables import SignInFailure, SignInToken, WebSession
from core.members.tables import Member
from tests.conftest import add_member, csrf_token, sign_in

SESSION = "sip_session"


async def test_link_signs_in_once_and_rotates_session(client):
    member_id = await add_member("an@example.org")
    token = await auth.create_sign_in_link(member_id, 30)
    csrf = await csrf_token(client)

    page = await client.get(f"/sign-in/link/{token}")
    assert page.status_code == 200
    assert "Sign me in" in page.text  # opening the link does not use it

    used = await client.post(
        f"/sign-in/link/{token}", data={"_csrf_token": csrf}, follow_redirects=False
    )
    assert used.status_code == 303
    first_session = client.cookies.get(SESSION)
    assert first_session
    me = await client.get("/api/me")
    assert me.json()["email"] == "an@example.org"

    again = await client.post(f"/sign-in/link/{token}", data={"_csrf_token": csrf})
    assert again.status_code == 410
    assert "already been used" in again.text
    # The failed reuse left the existing session alone.
    assert (await client.get("/api/me")).status_code == 200

    # Signing in again (a new link) gives a new session id and ends the old one.
    await sign_in(client, member_id)
    second_session = client.cookies.get(SESSION)
    assert second_session and second_session != first_session
    assert await WebSession.count() == 1


async def test_link_only_hash_is_stored(client):
    member_id = await add_member()
    token = await auth.create_sign_in_link(member_id, 30)
    stored = await SignInToken.select(SignInToken.token_hash).first()
    assert stored["token_hash"] == auth.token_hash(token)
    assert token not in stored["token_hash"]


async def test_expired_link_is_refused_and_changes_nothing(client):
    member_id = await add_member()
    token = await auth.create_sign_in_link(member_id, 30)
    await SignInToken.update({SignInToken.expires_at: auth.now() - timedelta(minutes=1)}).where(
        SignInToken.member == member_id
    )
    page = await client.get(f"/sign-in/link/{token}")
    assert page.status_code == 410
    assert "expired" in page.text
    response = await client.post(
        f"/api/sign-in/link/{token}", headers={"x-csrftoken": await csrf_token(client)}
    )
    assert response.status_code == 410
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "expired" in response.json()["detail"]
    assert await WebSession.count() == 0
    assert (await SignInToken.select(SignInToken.used_at).first())["used_at"] is None


async def test_unknown_link_is_404(client):
    response = await client.get("/sign-in/link/not-a-real-token")
    assert response.status_code == 404
    assert "not valid" in response.text


async def test_link_request_does_not_reveal_membership(client):
    await add_member("known@example.org")
    csrf = await csrf_token(client)
    known = await client.post(
        "/sign-in/link", data={"email": "known@example.org", "_csrf_token": csrf}
    )
    unknown = await client.post(
        "/sign-in/link", data={"email": "nobody@example.org", "_csrf_token": csrf}
    )
    assert known.status_code == unknown.status_code == 200
    assert "Check your email" in known.text and "Check your email" in unknown.text
    assert await SignInToken.count() == 1


async def test_link_goes_through_the_delivery_hook(client, caplog):
    await add_member("log@example.org")
    csrf = await csrf_token(client)
    with caplog.at_level("WARNING", logger="sip.sign_in"):
        await client.post(
            "/api/sign-in/link", json={"email": "log@example.org"}, headers={"x-csrftoken": csrf}
        )
    assert "http://127.0.0.1:8000/sign-in/link/" in caplog.text
    token = caplog.text.split("/sign-in/link/")[1].split()[0]
    assert await auth.link_status(token) == "valid"


async def test_password_sign_in_and_sign_out(client):
    member_id = await add_member("pw@example.org")
    await sign_in(client, member_id)
    csrf = await csrf_token(client)
    short = await client.post(
        "/api/me/password",
        json={"password": "short", "confirm": "short"},
        headers={"x-csrftoken": csrf},
    )
    assert short.status_code == 400
    assert "at least 10" in short.json()["detail"]
    ok = await client.post(
        "/api/me/password",
        json={"password": "correct horse", "confirm": "correct horse"},
        headers={"x-csrftoken": csrf},
    )
    assert ok.status_code == 200
    stored = (await Member.select(Member.password_hash).first())["password_hash"]
    assert stored.startswith("$argon2id$")

    out = await client.post("/sign-out", data={"_csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert (await client.get("/api/me")).status_code == 401
    assert await WebSession.count() == 0

    bad = await client.post(
        "/sign-in/password",
        data={"email": "pw@example.org", "password": "wrong password", "_csrf_token": csrf},
    )
    assert bad.status_code == 400
    assert "do not match" in bad.text
    assert 'value="pw@example.org"' in bad.text  # the form is shown again, filled in
    good = await client.post(
        "/sign-in/password",
        data={"email": "PW@example.org", "password": "correct horse", "_csrf_token": csrf},
        follow_redirects=False,
    )
    assert good.status_code == 303
    assert (await client.get("/api/me")).json()["email"] == "pw@example.org"


async def test_planted_session_cookie_is_ignored(client):
    await add_member()
    client.cookies.set(SESSION, "planted-by-an-attacker")
    assert (await client.get("/api/me")).status_code == 401


async def test_failed_sign_ins_are_limited_per_account(client):
    member_id = await add_member("target@example.org")
    await auth.set_password(member_id, "the right password", "the right password")
    csrf = await csrf_token(client)
    for _ in range(5):
        r = await client.post(
            "/api/sign-in/password",
            json={"email": "target@example.org", "password": "guess"},
            headers={"x-csrftoken": csrf},
        )
        assert r.status_code == 400
    blocked = await client.post(
        "/api/sign-in/password",
        json={"email": "target@example.org", "password": "the right password"},
        headers={"x-csrftoken": csrf},
    )
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.json()["detail"]
    assert await WebSession.count() == 0


async def test_failed_sign_ins_are_limited_per_address(client):
    csrf = await csrf_token(client)
    statuses = []
    for i in range(12):
        r = await client.post(
            "/api/sign-in/password",
            json={"email": f"someone{i}@example.org", "password": "guess"},
            headers={"x-csrftoken": csrf},
        )
        statuses.append(r.status_code)
    assert statuses[:10] == [400] * 10
    assert statuses[10:] == [429, 429]
    assert await SignInFailure.count() == 20


async def test_missing_or_bad_csrf_token_is_refused_and_changes_nothing(client):
    member_id = await add_member("csrf@example.org")
    await sign_in(client, member_id)
    no_token = await client.post(
        "/api/me/password", json={"password": "x" * 12, "confirm": "x" * 12}
    )
    assert no_token.status_code == 403
    assert "CSRF" in no_token.json()["detail"]
    forged = await client.post(
        "/account/password",
        data={"password": "y" * 12, "confirm": "y" * 12, "_csrf_token": "0" * 128},
    )
    assert forged.status_code == 403
    assert "CSRF" in forged.text
    assert (await Member.select(Member.password_hash).first())["password_hash"] is None


async def test_session_cookie_flags(client):
    member_id = await add_member()
    token = await auth.create_sign_in_link(member_id, 30)
    response = await client.post(
        f"/api/sign-in/link/{token}", headers={"x-csrftoken": await csrf_token(client)}
    )
    header = response.headers["set-cookie"].lower()
    assert "httponly" in header
    assert "samesite=lax" in header


# -- every sign-in is audited, never its secret --------------------------------------------------


async def sign_ins() -> list[dict]:
    rows = await AuditEntry.select().where(AuditEntry.action == "member.sign_in")
    return await audit.as_shown(sorted(rows, key=lambda row: row["seq"]))


async def test_every_sign_in_is_audited_with_the_member_and_the_method_and_no_secret(client):
    member_id = await add_member("audited@example.org", number="A-1", name="Ada", country="FR")
    password = "a long secret password"
    await auth.set_password(member_id, password, password)
    csrf = await csrf_token(client)
    tokens = [await auth.create_sign_in_link(member_id, 30) for _ in range(2)]

    page_link = await client.post(
        f"/sign-in/link/{tokens[0]}", data={"_csrf_token": csrf}, follow_redirects=False
    )
    api_link = await client.post(f"/api/sign-in/link/{tokens[1]}", headers={"x-csrftoken": csrf})
    page_password = await client.post(
        "/sign-in/password",
        data={"email": "audited@example.org", "password": password, "_csrf_token": csrf},
        follow_redirects=False,
    )
    api_password = await client.post(
        "/api/sign-in/password",
        json={"email": "audited@example.org", "password": password},
        headers={"x-csrftoken": csrf},
    )
    wrong = await client.post(
        "/api/sign-in/password",
        json={"email": "audited@example.org", "password": "not the password"},
        headers={"x-csrftoken": csrf},
    )

    assert [r.status_code for r in (page_link, api_link, page_password, api_password)] == [
        303,
        200,
        303,
        200,
    ]
    assert wrong.status_code == 400  # signs nobody in, and is audited as refused
    rows = await sign_ins()
    assert [r["details"] for r in rows] == [
        {"member_number": "A-1", "method": method, "result": "signed in"}
        for method in ("link", "link", "password", "password")
    ]
    refused = await audit.as_shown(
        await AuditEntry.select().where(AuditEntry.action == "member.sign_in_refused")
    )
    assert [r["details"] for r in refused] == [
        {"member_number": "A-1", "method": "password", "result": "wrong password"}
    ]
    assert [(r["actor"], r["role"], r["object_id"]) for r in refused] == [
        (None, "visitor", str(member_id))
    ]
    for row in rows:
        assert (row["actor"], row["role"], row["country"]) == (member_id, "member", "FR")
        assert (row["object_type"], row["object_id"]) == ("member", str(member_id))
        assert row["actor_name"] == "Ada (A-1)"
    written = " ".join(str(value) for row in await AuditEntry.select() for value in row.values())
    for secret in (*tokens, *(auth.token_hash(t) for t in tokens), password, "not the password"):
        assert secret not in written
    assert (await audit.verify()).count == 5


async def test_a_sign_in_whose_entry_cannot_be_written_starts_no_session(client, monkeypatch):
    member_id = await add_member("atomic@example.org")
    token = await auth.create_sign_in_link(member_id, 30)
    csrf = await csrf_token(client)

    def broken(row: dict) -> str:
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "entry_hash", broken)
    response = await client.post(f"/api/sign-in/link/{token}", headers={"x-csrftoken": csrf})

    assert response.status_code == 500
    assert "sip_session" not in response.headers.get("set-cookie", "")
    assert await WebSession.count() == 0
    assert await AuditEntry.count() == 0
