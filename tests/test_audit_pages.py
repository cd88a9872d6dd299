"""The operators' audit page and ``GET /api/audit``: who may read which entries, filters,
pages, and bad input answered with a 4xx."""

from __future__ import annotations

from typing import Any

from core.audit import services as audit
from tests.conftest import add_member, csrf_token, sign_in


async def seed() -> None:
    for country, name in (("BE", "be-only"), ("FR", "fr-only"), ("", "everywhere")):
        await audit.record(
            "poll.close", actor=audit.CLI, country=country, object_type="poll", object_id=name
        )
    await audit.record(
        "theme.accept", actor=audit.CLI, country="BE FR", object_type="theme", object_id="both"
    )


def ids(body: dict[str, Any]) -> list[str]:
    return [e["object_id"] for e in body["entries"]]


async def test_an_operator_reads_their_country_and_platform_wide_entries(client):
    await seed()
    operator = await add_member("op@example.org", roles=(("operator", "BE"),))
    await sign_in(client, operator)

    page = await client.get("/operator/audit")
    body = (await client.get("/api/audit")).json()

    assert page.status_code == 200
    assert "be-only" in page.text and "everywhere" in page.text and "both" in page.text
    assert "fr-only" not in page.text
    assert 'href="/operator/audit"' in page.text  # the operators' menu links it
    # The newest entry is the operator's own sign-in (a member of BE).
    assert ids(body) == [str(operator), "both", "everywhere", "be-only"]
    assert body["total"] == 4
    first = body["entries"][1]
    assert (first["seq"], first["role"], first["actor"], first["country"]) == (
        4,
        "cli",
        None,
        "BE FR",
    )
    assert len(first["hash"]) == 64 and len(first["prev_hash"]) == 64


async def test_the_board_reads_every_entry(client):
    await seed()
    board = await add_member("board@example.org", roles=(("board", ""),))
    await sign_in(client, board)

    body = (await client.get("/api/audit")).json()

    assert ids(body) == [str(board), "both", "everywhere", "fr-only", "be-only"]
    assert "fr-only" in (await client.get("/operator/audit")).text


async def test_members_and_facilitators_are_refused_and_visitors_asked_to_sign_in(client):
    await seed()
    for path in ("/operator/audit", "/api/audit"):
        assert (await client.get(path)).status_code == 401
    await sign_in(client, await add_member("f@example.org", roles=(("facilitator", ""),)))

    page = await client.get("/operator/audit")
    api = await client.get("/api/audit")

    assert page.status_code == 403 and "be-only" not in page.text
    assert api.status_code == 403
    assert api.headers["content-type"].startswith("application/problem+json")
    assert 'href="/operator/audit"' not in (await client.get("/")).text


async def test_an_action_done_on_the_web_appears_with_its_actor(client):
    operator = await add_member("op@example.org", name="Olga Op", roles=(("operator", "FR"),))
    await sign_in(client, operator)

    created = await client.post(
        "/api/editions",
        json={"slug": "2031-2032"},
        headers={"x-csrftoken": await csrf_token(client)},
    )
    body = (await client.get("/api/audit")).json()

    assert created.status_code == 201, created.text
    (entry,) = body["entries"]
    assert (entry["action"], entry["actor"], entry["role"], entry["country"]) == (
        "edition.create",
        operator,
        "operator",
        "",
    )
    assert entry["actor_name"].startswith("Olga Op (")
    assert entry["details"] == {"slug": "2031-2032"}
    page = await client.get("/operator/audit")
    assert "edition created" in page.text and "Olga Op" in page.text


async def test_filters_by_action_and_actor(client):
    await seed()
    operator = await add_member("op@example.org", roles=(("operator", "BE"),))
    await sign_in(client, await add_member("board@example.org", roles=(("board", ""),)))
    from core.members.services import load_member

    member = await load_member(operator)
    assert member is not None
    await audit.record("poll.open", actor=member, country="BE", object_id="by-operator")

    polls = (await client.get("/api/audit", params={"action": "poll"})).json()
    opened = (await client.get("/api/audit", params={"action": "poll.open"})).json()
    headers = {"x-csrftoken": await csrf_token(client)}
    by_id = (
        await client.post("/api/audit/search", json={"actor": str(operator)}, headers=headers)
    ).json()
    by_cli = (await client.post("/api/audit/search", json={"actor": "cli"}, headers=headers)).json()
    page = await client.get("/operator/audit", params={"action": "theme.accept"})
    searched = await client.post(
        "/operator/audit",
        data={"actor": str(operator), "action": "", "_csrf_token": headers["x-csrftoken"]},
    )

    assert ids(polls) == ["by-operator", "everywhere", "fr-only", "be-only"]
    assert ids(opened) == ["by-operator"]
    assert ids(by_id) == ["by-operator"]
    assert ids(by_cli) == ["both", "everywhere", "fr-only", "be-only"]
    assert "both" in page.text and "be-only" not in page.text
    assert searched.status_code == 200, searched.text
    assert "by-operator" in searched.text and "be-only" not in searched.text
    assert f'name="actor" type="search" value="{operator}"' in searched.text  # kept in the form


async def test_pages_of_fifty_newest_first(client):
    await sign_in(client, await add_member("op@example.org", roles=(("operator", "BE"),)))
    for n in range(1, 61):  # after the sign-in's entry, number 1
        await audit.record("poll.close", actor=audit.CLI, country="BE", object_id=f"n{n}")

    first = (await client.get("/api/audit")).json()
    second = (await client.get("/api/audit", params={"page": 2})).json()
    page = await client.get("/operator/audit", params={"page": 2})

    assert (len(first["entries"]), first["entries"][0]["seq"], first["total"]) == (50, 61, 61)
    assert [e["seq"] for e in second["entries"]] == list(range(11, 0, -1))
    assert 'id="newer"' in page.text and 'id="older"' not in page.text
    assert "n10" in page.text and "n11" not in page.text


async def test_the_pages_of_an_actor_search_keep_the_actor_out_of_the_address(client):
    operator = await add_member("op@example.org", roles=(("operator", "BE"),))
    await sign_in(client, operator)
    for n in range(1, 61):
        await audit.record("poll.close", actor=audit.CLI, country="BE", object_id=f"n{n}")
    csrf = await csrf_token(client)

    first = await client.post("/operator/audit", data={"actor": "cli", "_csrf_token": csrf})
    second = await client.post(
        "/operator/audit", data={"actor": "cli", "page": "2", "_csrf_token": csrf}
    )

    assert first.status_code == second.status_code == 200
    # The pager is a POST form that carries the search: the actor in a hidden field.
    assert '<input type="hidden" name="actor" value="cli">' in first.text
    assert 'name="page" value="2"' in first.text and "?actor=" not in first.text
    assert "n60" in first.text and "n10" not in first.text
    assert "n10" in second.text and "n11" not in second.text
    assert 'name="page" value="1"' in second.text


async def test_bad_filters_and_pages_get_a_clear_4xx(client):
    await seed()
    await sign_in(client, await add_member("op@example.org", roles=(("operator", "BE"),)))

    for params in ({"page": "0"}, {"page": "abc"}, {"action": "x" * 500}):
        api = await client.get("/api/audit", params=params)
        page = await client.get("/operator/audit", params=params)
        assert api.status_code == 400, (params, api.text)
        assert page.status_code == 400, (params, page.text)
        assert "text/html" in page.headers["content-type"]
    csrf = await csrf_token(client)
    for body in ({"actor": "100%"}, {"page": 0}, {"page": "abc"}, {"action": "x" * 500}):
        api = await client.post("/api/audit/search", json=body, headers={"x-csrftoken": csrf})
        page = await client.post("/operator/audit", data={**body, "_csrf_token": csrf})
        assert api.status_code == 400, (body, api.text)
        assert api.headers["content-type"].startswith("application/problem+json")
        assert page.status_code == 400, (body, page.text)
        assert "text/html" in page.headers["content-type"]
    huge = await client.post(
        "/api/audit/search",
        json={"actor": "9" * 30, "action": "poll.close"},
        headers={"x-csrftoken": csrf},
    )
    assert (huge.status_code, huge.json()["entries"]) == (200, [])  # no such member, no 500
    shown = await client.post("/operator/audit", data={"actor": "100%", "_csrf_token": csrf})
    assert "actor filter holds characters" in shown.text
    assert '<select id="action"' in shown.text  # the form again, with the message
