"""No address names a member (issue 15): a path or a query string ends up in server and proxy
logs, browser history and Referer headers, so the member a request acts on (a proxy's grantor,
a member checked out of the AGM room, the member of a paper ballot) travels in the POST body.

The route walk reads the application's own routes, plugins' included, so a new route that puts
a member in its path or query fails here as soon as it exists. The calendar feed's address
(``/calendar/{feed}``) holds a member id and an HMAC by design: a capability URL that calendar
programs fetch without a session, where no POST body can carry anything.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from core import db
from core.app import create_app
from core.config import Settings
from core.polls.tables import Participation, Presence, SealedBallot
from tests.conftest import add_member, csrf_token, sign_in
from tests.security_support import demo_settings, endpoints
from tests.test_room_pages import room_with_members, state

ROOT = Path(__file__).resolve().parent.parent
# A parameter named like one of these names a member.
MEMBERISH = re.compile(r"member|grantor|holder|voter|teller|actor|ballot_for", re.IGNORECASE)
# What a handler may take that is not read from the query string.
NOT_QUERY = {"self", "request", "scope", "state", "headers", "cookies", "query", "body", "data"}
# A member in the query string kept on purpose, each with its reason.
ALLOWED_QUERIES: dict[str, str] = {}  # none: the audit log's actor search is a POST too


def query_names(route: Any, handler: Any) -> set[str]:
    """The names a handler reads from the query string: its parameters that are neither path
    parameters, nor dependencies, nor reserved, with any alias they are read under."""
    path_names = set(route.path_parameters)
    dependencies = set(handler.resolve_dependencies())
    names = set()
    for name, field in handler.parsed_fn_signature.parameters.items():
        if name in NOT_QUERY or name in path_names or name in dependencies:
            continue
        kwarg = field.kwarg_definition
        if getattr(kwarg, "header", None) or getattr(kwarg, "cookie", None):
            continue
        aliases = (getattr(kwarg, "query", None), getattr(kwarg, "name", None))
        names |= {name, *(a for a in aliases if isinstance(a, str))}
    return names


async def test_no_route_names_a_member_in_its_path_or_query(database: Settings) -> None:
    app = create_app(await demo_settings(database), engine=db.engine())
    found = []
    for endpoint in endpoints(app):
        for name, _kind in endpoint.params:
            if MEMBERISH.search(name):
                found.append(f"{endpoint.key}: path parameter {{{name}}}")
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for name in query_names(route, handler):
                for method in sorted(handler.http_methods):
                    key = f"{method} {route.path} ?{name}"
                    if MEMBERISH.search(name) and key not in ALLOWED_QUERIES:
                        found.append(f"{key}: query parameter")
    assert not found, "a member's identity belongs in the POST body:\n" + "\n".join(found)
    assert "POST /polls/{poll_id:int}/proxy/vote" in {e.key for e in endpoints(app)}


def test_no_page_or_handler_puts_a_member_in_a_query_string() -> None:
    """What the route walk cannot see: a handler reading the query string by hand, a search
    form sent with GET, a link with a member in its query."""
    reads = re.compile(r"query_params\.get\(\s*[\"'](\w+)")
    for source in [*ROOT.glob("core/**/*.py"), *ROOT.glob("plugins/**/*.py")]:
        for name in reads.findall(source.read_text(encoding="utf-8")):
            assert not MEMBERISH.search(name), f"{source}: reads ?{name} from the query string"
    get_form = re.compile(r"<form[^>]*method=\"get\"[^>]*>(.*?)</form>", re.DOTALL | re.I)
    field = re.compile(r"name=\"(\w+)\"")
    link = re.compile(r"href=\"[^\"]*[?&](\w+)=")
    for template in [*ROOT.glob("templates/**/*.html"), *ROOT.glob("plugins/**/*.html")]:
        text = template.read_text(encoding="utf-8")
        for form in get_form.findall(text):
            named = [n for n in field.findall(form) if MEMBERISH.search(n)]
            assert not named, f"{template}: a GET form sends {named} in its address"
        for name in link.findall(text):
            assert not MEMBERISH.search(name), f"{template}: a link carries ?{name}="


# -- the routes that used to name a member in their path ------------------------------------------


OLD_PATHS = (
    ("POST", "/polls/{poll}/proxy/vote/{member}"),
    ("POST", "/polls/{poll}/room/check-out/{member}"),
    ("POST", "/polls/{poll}/room/paper/{member}"),
    ("DELETE", "/api/polls/{poll}/presence/{member}"),
    ("POST", "/api/polls/{poll}/proxy/{member}/ballot"),
)


async def test_the_old_addresses_with_a_member_are_gone(client) -> None:
    poll_id, _operator, m = await room_with_members(client)
    csrf = await csrf_token(client)
    await client.post(
        f"/polls/{poll_id}/room/check-in", data={"_csrf_token": csrf, "member": "BE-0003"}
    )
    before = await state()
    for method, path in OLD_PATHS:
        url = path.format(poll=poll_id, member=m["paula"])
        response = await client.request(
            method,
            url,
            data={"_csrf_token": csrf, "choice": ["1"]} if not url.startswith("/api/") else None,
            json={"choice": [1]} if url.startswith("/api/") and method == "POST" else None,
            headers={"x-csrftoken": csrf},
        )
        assert response.status_code in (404, 405), (method, url, response.status_code)
    room = await client.get(f"/polls/{poll_id}/room", params={"ballot_for": str(m["paula"])})
    assert room.status_code == 200
    assert f'action="/polls/{poll_id}/room/paper"' not in room.text  # the query is ignored
    assert await state() == before


async def test_the_room_chooses_a_paper_ballot_by_post(client) -> None:
    poll_id, _operator, m = await room_with_members(client)
    csrf = await csrf_token(client)
    for number in ("BE-0001", "BE-0003"):
        await client.post(
            f"/polls/{poll_id}/room/check-in", data={"_csrf_token": csrf, "member": number}
        )
    room = await client.get(f"/polls/{poll_id}/room")
    assert f'<form method="post" action="/polls/{poll_id}/room/paper-for">' in room.text
    assert 'name="ballot_for"' not in room.text

    chosen = await client.post(
        f"/polls/{poll_id}/room/paper-for", data={"_csrf_token": csrf, "member": str(m["paula"])}
    )
    assert chosen.status_code == 200, chosen.text
    assert "The paper ballot of Paula Paper (BE-0003)." in chosen.text
    assert f'name="member" value="{m["paula"]}"' in chosen.text
    entered = await client.post(
        f"/polls/{poll_id}/room/paper",
        data={"_csrf_token": csrf, "member": str(m["paula"]), "choice": ["1"]},
    )
    assert entered.status_code == 201, entered.text
    assert "Paula Paper" in entered.text and '<code class="receipt">' in entered.text

    # Paula has voted: she is no longer in the list to choose from.
    again = await client.post(
        f"/polls/{poll_id}/room/paper-for", data={"_csrf_token": csrf, "member": str(m["paula"])}
    )
    assert again.status_code == 400 and 'role="alert"' in again.text
    assert "Choose a member in the list." in again.text and "<h1>" in again.text


@pytest.mark.parametrize("value", [None, "", "x", "-1", "1.5", "99999999999", "０"])
async def test_bad_member_fields_in_room_forms_reshow_the_room_and_change_nothing(
    client, value
) -> None:
    poll_id, _operator, _m = await room_with_members(client)
    csrf = await csrf_token(client)
    await client.post(
        f"/polls/{poll_id}/room/check-in", data={"_csrf_token": csrf, "member": "BE-0003"}
    )
    before = await state()
    field = {} if value is None else {"member": value}
    for action in ("check-out", "paper", "paper-for"):
        response = await client.post(
            f"/polls/{poll_id}/room/{action}",
            data={"_csrf_token": csrf, "choice": ["1"], **field},
        )
        assert response.status_code == 400, (action, response.text)
        assert 'role="alert"' in response.text and "<h1>" in response.text
        assert "Choose a member in the list." in response.text
    assert await state() == before


async def test_an_unknown_member_in_room_forms_and_the_api_is_a_400(client) -> None:
    poll_id, _operator, m = await room_with_members(client)
    csrf = await csrf_token(client)
    before = await state()
    for action in ("check-out", "paper", "paper-for"):
        response = await client.post(
            f"/polls/{poll_id}/room/{action}",
            data={"_csrf_token": csrf, "member": "999999", "choice": ["1"]},
        )
        assert response.status_code == 400, (action, response.text)
        assert 'role="alert"' in response.text
    headers = {"x-csrftoken": csrf}
    for body in ({"member": 999999}, {"member": "BE-9999"}, {"member": 0}, {"member": True}, {}):
        api = await client.post(f"/api/polls/{poll_id}/check-out", json=body, headers=headers)
        assert api.status_code == 400, (body, api.text)
        assert api.headers["content-type"].startswith("application/problem+json")
    assert await state() == before


async def test_a_proxy_vote_names_its_grantor_in_the_body(client) -> None:
    poll_id, operator, m = await room_with_members(client)
    csrf = await csrf_token(client)
    recorded = await client.post(
        f"/polls/{poll_id}/room/proxy",
        data={"_csrf_token": csrf, "grantor": "BE-0001", "holder": "BE-0002"},
    )
    assert recorded.status_code == 200, recorded.text
    await sign_in(client, m["holder"])
    csrf = await csrf_token(client)
    headers = {"x-csrftoken": csrf}
    before = await state()
    for form, status, message in (
        ({}, 400, "Choose the member whose ballot you cast."),
        ({"grantor": "Greta"}, 400, "Choose the member whose ballot you cast."),
        ({"grantor": "999999"}, 400, "There is no member 999999."),
        ({"grantor": str(m["paula"])}, 403, "You hold no active proxy of this member"),
    ):
        page = await client.post(
            f"/polls/{poll_id}/proxy/vote", data={"_csrf_token": csrf, "choice": ["1"], **form}
        )
        assert page.status_code == status, (form, page.text)
        assert 'role="alert"' in page.text and message in page.text
    for body, status in (
        ({"choice": [1]}, 400),
        ({"grantor": "BE-0001", "choice": [1]}, 400),
        ({"grantor": 999999, "choice": [1]}, 400),
        ({"grantor": m["paula"], "choice": [1]}, 403),
    ):
        api = await client.post(f"/api/polls/{poll_id}/proxy-ballot", json=body, headers=headers)
        assert api.status_code == status, (body, api.text)
        assert api.headers["content-type"].startswith("application/problem+json")
    assert await state() == before

    cast = await client.post(
        f"/api/polls/{poll_id}/proxy-ballot",
        json={"grantor": m["grantor"], "choice": [1]},
        headers=headers,
    )
    assert cast.status_code == 201, cast.text
    assert cast.json()["receipt"]
    [vote] = await Participation.select().where(Participation.member == m["grantor"])
    assert (vote["channel"], vote["cast_by"]) == ("proxy", m["holder"])
    assert await SealedBallot.count() == 1


async def test_the_check_out_api_takes_the_member_in_the_body(client) -> None:
    poll_id, _operator, m = await room_with_members(client)
    headers = {"x-csrftoken": await csrf_token(client)}
    checked = await client.post(
        f"/api/polls/{poll_id}/presence", json={"member": "paula@example.org"}, headers=headers
    )
    assert checked.status_code == 200, checked.text
    out = await client.post(
        f"/api/polls/{poll_id}/check-out", json={"member": "paula@example.org"}, headers=headers
    )
    assert out.status_code == 200, out.text
    assert out.json() == {"member_id": m["paula"], "name": "Paula Paper", "checked_out": True}
    assert await Presence.count() == 0
    # Another country's operator is refused before the member is even looked up.
    french = await add_member("opfr@example.org", country="FR", roles=(("operator", "FR"),))
    await sign_in(client, french)
    refused = await client.post(
        f"/api/polls/{poll_id}/check-out",
        json={"member": 999999},
        headers={"x-csrftoken": await csrf_token(client)},
    )
    assert refused.status_code == 403
