"""Pages, their JSON twins, errors as problem details, language choice, health."""

from __future__ import annotations

import re

from core.members.tables import Member
from tests.conftest import add_member, csrf_token, sign_in


async def test_home_page_has_navigation_footer_contact_and_landmarks(client):
    page = await client.get("/")
    assert page.status_code == 200
    html = page.text
    assert '<a class="skip-link" href="#main">' in html
    assert "<header" in html and "<nav" in html and '<main id="main"' in html and "<footer" in html
    assert "mailto:sip-test@example.org" in html  # the contact address from config.toml
    assert 'href="/sign-in"' in html


async def test_home_json_twin(client):
    data = (await client.get("/api/home")).json()
    assert data["contact_email"] == "sip-test@example.org"
    assert [c["code"] for c in data["countries"]] == ["BE", "FR"]
    assert data["member"] is None


async def test_openapi_schema_lists_the_json_api(client):
    schema = (await client.get("/schema/openapi.json")).json()
    paths = set(schema["paths"])
    for path in (
        "/api/home",
        "/api/session",
        "/api/me",
        "/api/me/language",
        "/api/me/password",
        "/api/sign-in/link",
        "/api/sign-in/password",
        "/api/sign-out",
        "/api/members/import",
        "/api/language",
        "/healthz",
    ):
        assert path in paths, path
    assert not any(p in paths for p in ("/", "/sign-in", "/account"))  # pages stay out


async def test_json_errors_are_problem_details(client):
    missing = await client.get("/api/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["status"] == 404

    anonymous = await client.get("/api/me")
    assert anonymous.status_code == 401
    assert anonymous.json()["title"] == "Sign-in required"

    csrf = await csrf_token(client)
    malformed = await client.post(
        "/api/sign-in/password",
        content=b"{not json",
        headers={"x-csrftoken": csrf, "content-type": "application/json"},
    )
    assert malformed.status_code == 400
    assert malformed.headers["content-type"].startswith("application/problem+json")
    wrong_type = await client.post(
        "/api/sign-in/password", json={"email": 5}, headers={"x-csrftoken": csrf}
    )
    assert wrong_type.status_code == 400
    assert wrong_type.json()["errors"]


async def test_pages_needing_sign_in_say_so(client):
    page = await client.get("/account")
    assert page.status_code == 401
    assert "Sign in to see this page." in page.text
    assert 'href="/sign-in?next=/account"' in page.text


async def test_member_import_page_is_for_operators_only(client):
    member = await add_member("plain@example.org")
    await sign_in(client, member)
    assert (await client.get("/members/import")).status_code == 403
    assert "Member import" not in (await client.get("/")).text  # not offered in the menu


async def test_language_switch_for_a_visitor_sets_a_cookie(client):
    csrf = await csrf_token(client)
    response = await client.post(
        "/language",
        data={"language": "fr", "next": "/sign-in", "_csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in"
    assert client.cookies.get("sip_lang") == "fr"
    assert '<html lang="fr">' in (await client.get("/")).text


async def test_language_switch_is_stored_for_a_member(client):
    member = await add_member("lang@example.org", language="nl")
    await sign_in(client, member)
    csrf = await csrf_token(client)
    await client.post("/language", data={"language": "en", "_csrf_token": csrf})
    stored = await Member.select(Member.language).where(Member.id == member).first()
    assert stored["language"] == "en"
    api = await client.put(
        "/api/me/language", json={"language": "fr"}, headers={"x-csrftoken": csrf}
    )
    assert api.json()["language"] == "fr"
    # The member's stored choice wins over the browser's.
    page = await client.get("/", headers={"accept-language": "nl"})
    assert '<html lang="fr">' in page.text


async def test_unknown_language_is_refused_and_changes_nothing(client):
    member = await add_member("keep@example.org", language="nl")
    await sign_in(client, member)
    csrf = await csrf_token(client)
    page = await client.post("/language", data={"language": "de", "_csrf_token": csrf})
    assert page.status_code == 400
    api = await client.put(
        "/api/me/language", json={"language": "xx"}, headers={"x-csrftoken": csrf}
    )
    assert api.status_code == 400
    stored = await Member.select(Member.language).where(Member.id == member).first()
    assert stored["language"] == "nl"


async def test_redirect_after_a_form_stays_on_this_site(client):
    csrf = await csrf_token(client)
    for target in ("https://evil.example/", "//evil.example/", "javascript:alert(1)"):
        response = await client.post(
            "/language",
            data={"language": "en", "next": target, "_csrf_token": csrf},
            follow_redirects=False,
        )
        assert response.headers["location"] == "/"


async def test_security_headers_on_every_response(client):
    for path in ("/", "/api/home", "/api/nothing", "/static/sip.css"):
        headers = (await client.get(path)).headers
        csp = headers["content-security-policy"]
        for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
            assert directive in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"


async def test_healthz_checks_the_database(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_account_page_shows_the_member_and_saves_a_password(client):
    member = await add_member(
        "acc@example.org", name="Ann Account", language="en", roles=(("board", ""),)
    )
    await sign_in(client, member)
    page = await client.get("/account")
    assert "Ann Account" in page.text and "board" in page.text
    csrf = await csrf_token(client)
    mismatch = await client.post(
        "/account/password",
        data={"password": "long enough 1", "confirm": "long enough 2", "_csrf_token": csrf},
    )
    assert mismatch.status_code == 400
    assert "not the same" in mismatch.text
    assert 'aria-invalid="true"' in mismatch.text
    saved = await client.post(
        "/account/password",
        data={"password": "long enough 1", "confirm": "long enough 1", "_csrf_token": csrf},
    )
    assert saved.status_code == 200
    assert "Your password is saved." in saved.text


async def test_page_not_found_is_in_the_visitors_language(client):
    client.cookies.set("sip_lang", "fr")
    page = await client.get("/no-such-page")
    assert page.status_code == 404
    assert '<html lang="fr">' in page.text
    client.cookies.clear()
    dutch = await client.get("/no-such-page", headers={"accept-language": "nl"})
    assert '<html lang="nl">' in dutch.text


async def test_signing_in_sets_the_members_language_for_every_page(client):
    member = await add_member("fr@example.org", language="fr")
    await sign_in(client, member)
    assert client.cookies.get("sip_lang") == "fr"
    assert '<html lang="fr">' in (await client.get("/no-such-page")).text


async def test_the_schema_page_lists_the_operations_with_nothing_from_another_server(client):
    """/schema works without internet: a page of the site (no script from a CDN, which the
    content security policy would block) listing every operation and linking the JSON."""
    response = await client.get("/schema")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    schema = (await client.get("/schema/openapi.json")).json()
    for path in ("/api/editions/{slug}", "/api/polls/{poll_id}/ballot", "/api/me"):
        assert path in schema["paths"]
        assert f'<code class="wrap">{path}</code>' in html
    assert 'href="/schema/openapi.json"' in html
    assert "<script" not in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)


async def test_the_site_has_an_icon(client):
    icon = await client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert (
        icon.content.startswith(b"<svg")
        and icon.content == (await client.get("/static/favicon.svg")).content
    )
    assert '<link rel="icon" href="/static/favicon.svg"' in (await client.get("/")).text
