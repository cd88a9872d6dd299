"""The security sweep: sessions, CSRF on every unsafe route, headers on every response, cookie
flags in both modes, and sign-in limits that a rotating X-Forwarded-For does not reset.

Routes come from the application itself, so a route added later is covered by these tests.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from core import db
from core.app import create_app
from core.auth import services as auth
from core.auth.tables import SignInFailure, WebSession
from core.config import Settings
from core.members.tables import ROLE_BOARD, ROLE_OPERATOR, Member
from plugins.demo import seed_demo
from tests.conftest import add_member, csrf_token, sign_in
from tests.demo_helpers import open_slug
from tests.security_support import (
    UNSAFE,
    changed,
    demo_settings,
    endpoints,
    fill,
    fingerprint,
)

SESSION = "sip_session"
PASSWORD = "the right password"
LOCAL = "http://127.0.0.1:8000"
PUBLIC_HOST = "https://sip.example.org"


def with_cookies(settings: Settings, mode: str, base_url: str) -> Settings:
    return msgspec.structs.replace(
        settings,
        security=msgspec.structs.replace(settings.security, secure_cookies=mode),
        platform=msgspec.structs.replace(settings.platform, base_url=base_url),
    )


async def signed_in_as(app: Any, token: str | None, cookie: str = SESSION) -> int | None:
    """The member a session cookie value signs in, asked from a fresh browser."""
    async with AsyncTestClient(app=app, base_url=LOCAL) as other:
        if token is not None:
            other.cookies.set(cookie, token)
        me = await other.get("/api/me")
        return me.json()["id"] if me.status_code == 200 else None


async def password_sign_in(client: AsyncTestClient[Any], email: str, password: str) -> Any:
    return await client.post(
        "/api/sign-in/password",
        json={"email": email, "password": password},
        headers={"x-csrftoken": await csrf_token(client)},
    )


# -- 1. sessions ---------------------------------------------------------------------------------


async def test_session_id_is_new_at_every_sign_in_and_ends_at_sign_out(client):
    member_id = await add_member("rotate@example.org")
    await auth.set_password(member_id, PASSWORD, PASSWORD)

    await sign_in(client, member_id)  # a one-time link
    first = client.cookies.get(SESSION)
    assert await signed_in_as(client.app, first) == member_id

    again = await password_sign_in(client, "rotate@example.org", PASSWORD)
    assert again.status_code == 200
    second = client.cookies.get(SESSION)
    assert second and second != first
    assert await signed_in_as(client.app, first) is None  # the old id no longer signs in
    assert await signed_in_as(client.app, second) == member_id

    out = await client.post("/api/sign-out", headers={"x-csrftoken": await csrf_token(client)})
    assert out.status_code == 200
    assert not client.cookies.get(SESSION)
    assert await signed_in_as(client.app, second) is None
    assert await WebSession.count() == 0


@pytest.mark.parametrize("way", ["link", "password", "password form"])
async def test_a_planted_session_cookie_never_becomes_a_session(client, way):
    member_id = await add_member("victim@example.org")
    await auth.set_password(member_id, PASSWORD, PASSWORD)
    planted = secrets.token_urlsafe(32)  # shaped like a real one, chosen by an attacker
    client.cookies.set(SESSION, planted, domain="127.0.0.1")

    if way == "link":
        await sign_in(client, member_id)
    elif way == "password":
        assert (await password_sign_in(client, "victim@example.org", PASSWORD)).status_code == 200
    else:
        form = await client.post(
            "/sign-in/password",
            data={
                "email": "victim@example.org",
                "password": PASSWORD,
                "_csrf_token": await csrf_token(client),
            },
            follow_redirects=False,
        )
        assert form.status_code == 303

    assert client.cookies.get(SESSION) != planted
    assert await signed_in_as(client.app, client.cookies.get(SESSION)) == member_id
    assert await signed_in_as(client.app, planted) is None
    assert not await WebSession.exists().where(WebSession.token_hash == auth.token_hash(planted))


# -- 2. CSRF on every unsafe route ----------------------------------------------------------------


async def test_every_unsafe_route_refuses_a_missing_forged_or_foreign_csrf_token(database):
    """Signed in as an operator of both countries and a board member, so only the CSRF check
    stands between the request and the action; every plugin is enabled."""
    app = create_app(await demo_settings(database), engine=db.engine())
    async with AsyncTestClient(app=app, base_url=LOCAL) as client:
        await refuse_bad_csrf_tokens_everywhere(client)


async def refuse_bad_csrf_tokens_everywhere(client: AsyncTestClient[Any]) -> None:
    member_id = await add_member(
        "all-powers@example.org",
        roles=((ROLE_OPERATOR, "BE"), (ROLE_OPERATOR, "FR"), (ROLE_BOARD, "")),
    )
    await sign_in(client, member_id)
    await csrf_token(client)  # the client holds its own CSRF cookie
    async with AsyncTestClient(app=client.app, base_url=LOCAL) as other_browser:
        foreign = await csrf_token(other_browser)  # valid, signed, but issued to someone else
    forged = secrets.token_hex(32) + "0" * 64

    unsafe = [e for e in endpoints(client.app) if e.method in UNSAFE]
    assert len(unsafe) > 100  # the sweep sees the whole application, plugins included
    assert any(e.path == "/api/editions/{slug:str}/extensions" for e in unsafe)
    # The ballot box's actions: naming tellers, collecting a share, counting, checking a receipt.
    paths = {e.path for e in unsafe}
    for action in ("tellers", "share", "count"):
        assert {f"/polls/{{poll_id:int}}/{action}", f"/api/polls/{{poll_id:int}}/{action}"} <= paths
    assert {"/polls/{poll_id:int}/box", "/api/polls/{poll_id:int}/receipt"} <= paths

    before = await fingerprint()
    refused = []
    for endpoint in unsafe:
        url = fill(endpoint, {})
        for label, token in (("missing", None), ("forged", forged), ("foreign", foreign)):
            if endpoint.is_json:
                headers = {"x-csrftoken": token} if token else {}
                response = await client.request(endpoint.method, url, json={}, headers=headers)
            else:
                form = {"_csrf_token": token} if token else {}
                response = await client.request(endpoint.method, url, data={"reason": "x", **form})
            if response.status_code != 403 or "CSRF" not in response.text:
                refused.append(f"{label} token: {endpoint.method} {url} -> {response.status_code}")
    assert not refused, "\n".join(refused)
    assert not changed(before, await fingerprint())
    assert (await client.get("/api/me")).status_code == 200  # still signed in, nothing ended


async def test_a_csrf_cookie_without_the_host_prefix_is_not_believed(database):
    """A sibling subdomain can plant ``sip_csrf`` but never ``__Host-sip_csrf``: outside local
    development only the prefixed cookie counts, so a planted token pair is refused."""
    settings = with_cookies(database, "auto", PUBLIC_HOST)
    app = create_app(settings, engine=db.engine())
    member_id = await add_member("host@example.org")
    async with AsyncTestClient(app=app, base_url=PUBLIC_HOST) as attacker:
        planted = await csrf_token(attacker)  # a genuine token, from the attacker's own visit
    async with AsyncTestClient(app=app, base_url=PUBLIC_HOST) as victim:
        await sign_in(victim, member_id)
        victim.cookies.delete("__Host-sip_csrf")
        victim.cookies.set("sip_csrf", planted, domain="sip.example.org")
        response = await victim.post(
            "/api/me/password",
            json={"password": "x" * 12, "confirm": "x" * 12},
            headers={"x-csrftoken": planted},
        )
    assert response.status_code == 403
    assert (await Member.select(Member.password_hash).first())["password_hash"] is None


# -- 3. security headers on every response --------------------------------------------------------


def assert_protected(response: Any, *, hsts: bool, what: str) -> None:
    headers = response.headers
    csp = headers.get("content-security-policy", "")
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in csp, f"{what}: no {directive} in {csp!r}"
    assert headers.get("x-content-type-options") == "nosniff", what
    assert headers.get("referrer-policy") == "same-origin", what
    if hsts:
        assert "max-age=" in headers.get("strict-transport-security", ""), what
    else:
        assert "strict-transport-security" not in headers, what  # never pinned on localhost


async def crawl(client: AsyncTestClient[Any], values: dict[str, Any], *, hsts: bool) -> int:
    """GET every route (filled with ``values``) and check the headers; returns how many."""
    seen = 0
    for endpoint in endpoints(client.app):
        if endpoint.method != "GET":
            continue
        url = fill(endpoint, values)
        response = await client.get(url, follow_redirects=False)
        assert response.status_code < 500, f"{url}: {response.status_code}"
        assert_protected(response, hsts=hsts, what=f"GET {url} ({response.status_code})")
        seen += 1
    return seen


async def test_every_response_carries_the_security_headers(database):
    settings = await demo_settings(database)
    await seed_demo(settings)
    edition = open_slug()
    values = {"slug": edition, "country": "BE", "feed": "unknown", "token": "unknown"}
    app = create_app(settings, engine=db.engine())
    operator = (await Member.select(Member.id).where(Member.member_number == "D-0001").first())[
        "id"
    ]
    async with AsyncTestClient(app=app, base_url=LOCAL) as client:
        assert await crawl(client, values, hsts=False) > 100  # anonymous
        await sign_in(client, operator)
        assert await crawl(client, values, hsts=False) > 100  # signed in
        csrf = await csrf_token(client)
        extra = {
            "404": await client.get("/no/such/page"),
            "404 json": await client.get("/api/no/such/thing"),
            "405": await client.delete("/editions"),
            "403 csrf": await client.post("/sign-out"),
            "400 json": await client.put(
                "/api/me/language", json={"language": "xx"}, headers={"x-csrftoken": csrf}
            ),
            "static file": await client.get("/static/sip.css"),
            "redirect": await client.post(
                "/sign-out", data={"_csrf_token": csrf}, follow_redirects=False
            ),
        }
    assert extra["static file"].status_code == 200
    assert extra["redirect"].status_code == 303
    for what, response in extra.items():
        assert_protected(response, hsts=False, what=what)


async def test_outside_local_development_every_response_also_pins_https(database):
    app = create_app(with_cookies(database, "auto", PUBLIC_HOST), engine=db.engine())
    async with AsyncTestClient(app=app, base_url=PUBLIC_HOST) as client:
        assert await crawl(client, {}, hsts=True) > 100
        assert_protected(await client.get("/no/such/page"), hsts=True, what="404")
        assert_protected(await client.post("/sign-out"), hsts=True, what="403 csrf")


# -- 4. cookie flags in both modes ----------------------------------------------------------------


def cookie_attributes(response: Any, name: str) -> dict[str, str]:
    for header in response.headers.get_list("set-cookie"):
        key, _, rest = header.partition("=")
        if key.strip() == name:
            parts = [p.strip() for p in rest.split(";")]
            attributes = {"value": parts[0]}
            for part in parts[1:]:
                k, _, v = part.partition("=")
                attributes[k.lower()] = v
            return attributes
    raise AssertionError(f"no Set-Cookie {name} in {response.headers.get_list('set-cookie')}")


@pytest.mark.parametrize(
    ("mode", "base_url", "secure"),
    [
        ("auto", LOCAL, False),
        ("auto", PUBLIC_HOST, True),
        ("always", LOCAL, True),
        ("never", PUBLIC_HOST, False),
    ],
)
async def test_session_and_csrf_cookies_flags(database, mode, base_url, secure):
    app = create_app(with_cookies(database, mode, base_url), engine=db.engine())
    prefix = "__Host-" if secure else ""
    member_id = await add_member("flags@example.org")
    # A browser sends Secure cookies back over HTTPS only.
    browser_url = base_url.replace("http://", "https://") if secure else base_url
    async with AsyncTestClient(app=app, base_url=browser_url) as client:
        page = await client.get("/sign-in")
        token = await auth.create_sign_in_link(member_id, 30)
        csrf = cookie_attributes(page, f"{prefix}sip_csrf")["value"]
        used = await client.post(f"/api/sign-in/link/{token}", headers={"x-csrftoken": csrf})
        assert used.status_code == 200
    for response, name in ((page, "sip_csrf"), (used, "sip_session")):
        cookie = cookie_attributes(response, prefix + name)
        assert "httponly" in cookie, name
        assert cookie.get("path") == "/", name
        assert "domain" not in cookie, name  # __Host- requires it; none is set in any mode
        assert cookie.get("samesite", "").lower() == "lax", name
        assert ("secure" in cookie) is secure, name
    if not secure:
        assert not any(
            h.startswith("__Host-") for h in used.headers.get_list("set-cookie")
        )  # browsers drop __Host- cookies that are not Secure


# -- 5. sign-in limits ---------------------------------------------------------------------------


async def test_a_hundred_guesses_at_one_account_with_rotating_addresses_are_stopped(client):
    member_id = await add_member("target@example.org")
    await auth.set_password(member_id, PASSWORD, PASSWORD)
    csrf = await csrf_token(client)
    statuses = []
    for i in range(100):
        response = await client.post(
            "/api/sign-in/password",
            json={"email": "target@example.org", "password": f"guess {i}"},
            headers={"x-csrftoken": csrf, "x-forwarded-for": f"203.0.113.{i}"},
        )
        statuses.append(response.status_code)
    tried = statuses.count(400)
    assert tried <= 10
    assert statuses[tried:] == [429] * (100 - tried)  # once blocked, always blocked
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "Too many failed sign-ins" in response.json()["detail"]
    right = await password_sign_in(client, "target@example.org", PASSWORD)
    assert right.status_code == 429  # the account stays locked for the window
    assert await WebSession.count() == 0


async def test_a_hundred_guesses_from_one_address_with_rotating_x_forwarded_for_are_stopped(
    client,
):
    """No proxy is trusted (server.forwarded_allow_ips is empty): X-Forwarded-For is the
    client's word and does not change the address the limit counts."""
    for i in range(100):
        await add_member(f"m{i}@example.org")
    csrf = await csrf_token(client)
    statuses = []
    for i in range(100):
        response = await client.post(
            "/api/sign-in/password",
            json={"email": f"m{i}@example.org", "password": "a guess"},
            headers={
                "x-csrftoken": csrf,
                "x-forwarded-for": f"198.51.100.{i}",
                "x-real-ip": f"198.51.100.{i}",
                "forwarded": f"for=198.51.100.{i}",
            },
        )
        statuses.append(response.status_code)
    tried = statuses.count(400)
    assert tried <= 10
    assert statuses[tried:] == [429] * (100 - tried)
    assert await SignInFailure.count() == 2 * tried  # blocked attempts are not even counted


async def test_a_blocked_sign_in_form_is_shown_again_with_the_message(client):
    await add_member("form@example.org")
    csrf = await csrf_token(client)
    for _ in range(5):
        await client.post(
            "/sign-in/password",
            data={"email": "form@example.org", "password": "a guess", "_csrf_token": csrf},
        )
    blocked = await client.post(
        "/sign-in/password",
        data={"email": "form@example.org", "password": "another", "_csrf_token": csrf},
    )
    assert blocked.status_code == 429
    assert blocked.headers["content-type"].startswith("text/html")
    assert "Too many failed sign-ins" in blocked.text
    assert 'value="form@example.org"' in blocked.text


async def test_simultaneous_guesses_get_no_more_tries_than_the_limit(pooled):
    """Twenty wrong passwords sent at the same moment: each attempt is counted before the
    password is checked, so at most the limit (5 per account here) are even tried."""
    from core.errors import InvalidInput, TooManyAttempts

    member_id = await add_member("guessed@example.org")
    await auth.set_password(member_id, "the-right-password", "the-right-password")

    results = await asyncio.gather(
        *(
            auth.password_attempt("guessed@example.org", f"wrong-guess-{n}", "10.0.0.9", 5, 100, 15)
            for n in range(20)
        ),
        return_exceptions=True,
    )

    tried = [r for r in results if isinstance(r, InvalidInput)]
    blocked = [r for r in results if isinstance(r, TooManyAttempts)]
    assert len(tried) + len(blocked) == 20, results
    assert len(tried) <= 5
    # Only the tried ones count as failures; the refused ones left no trace.
    account_key, _address = auth.attempt_keys("guessed@example.org", "10.0.0.9")
    assert await SignInFailure.count().where(SignInFailure.key == account_key) == len(tried)
