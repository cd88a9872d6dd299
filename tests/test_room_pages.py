"""The AGM room's paper proxies and check-out, over HTML and JSON, for the operators of the
poll's country only; and the audit of what the room tells an operator about who has voted:
each view of the attendance list (a count, not the members) and each refusal that says a named
member has already voted (that member, never a choice)."""

from __future__ import annotations

from core.audit import services as audit
from core.audit.tables import AuditEntry
from core.polls.tables import Participation, Presence, Proxy
from tests.conftest import add_member, csrf_token, sign_in
from tests.poll_support import voters_added_after_opening  # noqa: F401 (the fixture)
from tests.test_poll_agm_pages import draft_poll, open_poll


async def room_with_members(client) -> tuple[int, int, dict[str, int]]:
    """An open BE poll, its operator (signed in) and three BE shareholders."""
    operator = await add_member("op@example.org", roles=(("operator", "BE"),))
    poll_id = await draft_poll(client, operator)
    members = {
        "grantor": await add_member("greta@example.org", name="Greta Grantor", number="BE-0001"),
        "holder": await add_member("hugo@example.org", name="Hugo Holder", number="BE-0002"),
        "paula": await add_member("paula@example.org", name="Paula Paper", number="BE-0003"),
    }
    await open_poll(client, operator, poll_id)
    return poll_id, operator, members


async def entries(action: str) -> list[dict]:
    rows = await AuditEntry.select().where(AuditEntry.action == action).order_by(AuditEntry.seq)
    return await audit.as_shown(rows)  # personal values (member numbers) merged back


async def state() -> tuple:
    """Everything these routes may change (the audit log aside)."""
    return (
        await Proxy.select().order_by(Proxy.id),
        await Presence.select().order_by(Presence.id),
        await Participation.select(Participation.member, Participation.channel).order_by(
            Participation.member
        ),
    )


# -- paper proxies -------------------------------------------------------------------------------


async def test_an_operator_records_a_paper_proxy_and_the_holder_votes_for_the_grantor(client):
    poll_id, operator, m = await room_with_members(client)
    csrf = await csrf_token(client)
    room = await client.get(f"/polls/{poll_id}/room")
    assert f'action="/polls/{poll_id}/room/proxy"' in room.text

    recorded = await client.post(
        f"/polls/{poll_id}/room/proxy",
        data={"_csrf_token": csrf, "grantor": "BE-0001", "holder": "hugo@example.org"},
        follow_redirects=False,
    )
    assert recorded.status_code == 303, recorded.text
    page = await client.get(recorded.headers["location"])
    assert "Greta Grantor gives their vote to Hugo Holder." in page.text
    [proxy] = await Proxy.select()
    assert (proxy["grantor"], proxy["holder"], proxy["recorded_by"]) == (
        m["grantor"],
        m["holder"],
        operator,
    )
    [entry] = await entries("proxy.paper")
    assert entry["actor"] == operator and entry["object_id"] == str(poll_id)

    # The holder finds it on their proxy page and casts the grantor's ballot.
    await sign_in(client, m["holder"])
    csrf = await csrf_token(client)
    held = await client.get(f"/polls/{poll_id}/proxy")
    assert "Greta Grantor" in held.text and "paper proxy" in held.text
    cast = await client.post(
        f"/polls/{poll_id}/proxy/vote",
        data={"_csrf_token": csrf, "grantor": str(m["grantor"]), "choice": ["1"], "confirm": "yes"},
    )
    assert cast.status_code == 201, cast.text
    [vote] = await Participation.select().where(Participation.member == m["grantor"])
    assert (vote["channel"], vote["cast_by"]) == ("proxy", m["holder"])


async def test_the_paper_proxy_api_records_one_and_refuses_bad_input(client):
    poll_id, operator, m = await room_with_members(client)
    csrf = await csrf_token(client)
    headers = {"x-csrftoken": csrf}
    url = f"/api/polls/{poll_id}/paper-proxy"
    created = await client.post(
        url, json={"grantor": "greta@example.org", "holder": "BE-0002"}, headers=headers
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["grantor_id"], body["holder_id"], body["paper"]) == (
        m["grantor"],
        m["holder"],
        True,
    )
    assert (body["grantor_name"], body["holder_name"]) == ("Greta Grantor", "Hugo Holder")

    before = await state()
    for data, status, detail in (
        ({"grantor": "BE-0001", "holder": "BE-0003"}, 409, "already given a proxy"),
        ({"grantor": "BE-9999", "holder": "BE-0002"}, 400, "is not a shareholder"),
        ({"grantor": "BE-0003", "holder": "BE-0003"}, 400, "two different shareholders"),
        ({"grantor": "BE-0003"}, 400, "holder"),
    ):
        refused = await client.post(url, json=data, headers=headers)
        assert refused.status_code == status, (data, refused.text)
        assert detail in refused.text
    assert await state() == before
    schema = (await client.get("/schema/openapi.json")).json()
    assert "post" in schema["paths"]["/api/polls/{poll_id}/paper-proxy"]
    assert "post" in schema["paths"]["/api/polls/{poll_id}/check-out"]


async def test_bad_paper_proxy_input_reshows_the_room_with_a_message(client):
    poll_id, _operator, m = await room_with_members(client)
    csrf = await csrf_token(client)
    before = await state()
    for form, status, message in (
        ({"grantor": "BE-0001", "holder": ""}, 400, "Give the email address or member number"),
        (
            {"grantor": "BE-0001", "holder": "nobody@example.org"},
            400,
            "nobody@example.org is not a shareholder of BE",
        ),
        ({"grantor": "BE-0001", "holder": "BE-0001"}, 400, "two different shareholders"),
    ):
        page = await client.post(f"/polls/{poll_id}/room/proxy", data={"_csrf_token": csrf, **form})
        assert page.status_code == status, page.text
        assert 'role="alert"' in page.text and message in page.text
        assert "<h1>" in page.text and f'action="/polls/{poll_id}/room/proxy"' in page.text
        assert 'value="BE-0001"' in page.text  # what was typed is filled back in
    assert await state() == before


async def test_another_countrys_operator_records_no_proxy_and_checks_nobody_out(client):
    poll_id, operator, m = await room_with_members(client)
    csrf = await csrf_token(client)
    checked = await client.post(
        f"/polls/{poll_id}/room/check-in", data={"_csrf_token": csrf, "member": "BE-0003"}
    )
    assert checked.status_code == 200
    french = await add_member("opfr@example.org", country="FR", roles=(("operator", "FR"),))
    member = await add_member("plain@example.org", name="Pim Plain")
    before = await state()
    not_sign_in = AuditEntry.action != "member.sign_in"  # signing in is audited, and wanted
    audit_before = await AuditEntry.count().where(not_sign_in)
    for who in (french, member):
        await sign_in(client, who)
        csrf = await csrf_token(client)
        headers = {"x-csrftoken": csrf}
        responses = [
            await client.post(
                f"/polls/{poll_id}/room/proxy",
                data={"_csrf_token": csrf, "grantor": "BE-0001", "holder": "BE-0002"},
            ),
            await client.post(
                f"/api/polls/{poll_id}/paper-proxy",
                json={"grantor": "BE-0001", "holder": "BE-0002"},
                headers=headers,
            ),
            await client.post(
                f"/polls/{poll_id}/room/check-out",
                data={"_csrf_token": csrf, "member": str(m["paula"])},
            ),
            await client.post(
                f"/api/polls/{poll_id}/check-out", json={"member": m["paula"]}, headers=headers
            ),
            await client.get(f"/polls/{poll_id}/room"),
        ]
        assert [r.status_code for r in responses] == [403] * 5, [r.text for r in responses]
        assert "Paula Paper" not in "".join(r.text for r in responses)
    assert await state() == before
    assert await AuditEntry.count().where(not_sign_in) == audit_before  # nothing shown


# -- check-out -----------------------------------------------------------------------------------


async def test_check_out_over_html_and_json_takes_members_off_the_attendance_list(client):
    poll_id, operator, m = await room_with_members(client)
    csrf = await csrf_token(client)
    for number in ("BE-0001", "BE-0003"):
        r = await client.post(
            f"/polls/{poll_id}/room/check-in", data={"_csrf_token": csrf, "member": number}
        )
        assert r.status_code == 200
    room = await client.get(f"/polls/{poll_id}/room")
    assert f'action="/polls/{poll_id}/room/check-out"' in room.text
    assert f'name="member" value="{m["paula"]}"' in room.text

    out = await client.post(
        f"/polls/{poll_id}/room/check-out",
        data={"_csrf_token": csrf, "member": str(m["paula"])},
        follow_redirects=False,
    )
    assert out.status_code == 303 and out.headers["location"] == f"/polls/{poll_id}/room"
    room = await client.get(f"/polls/{poll_id}/room")
    assert "Paula Paper" not in room.text and "Greta Grantor" in room.text
    assert [r["member"] for r in await Presence.select()] == [m["grantor"]]
    [entry] = await entries("room.check_out")
    assert entry["details"]["member"] == m["paula"]

    headers = {"x-csrftoken": csrf}
    url = f"/api/polls/{poll_id}/check-out"
    removed = await client.post(url, json={"member": m["grantor"]}, headers=headers)
    assert removed.status_code == 200, removed.text
    assert removed.json() == {
        "member_id": m["grantor"],
        "name": "Greta Grantor",
        "checked_out": True,
    }
    assert await Presence.count() == 0
    again = await client.post(url, json={"member": "BE-0001"}, headers=headers)
    assert again.status_code == 200 and again.json()["checked_out"] is False
    turnout = (await client.get(f"/api/polls/{poll_id}/turnout")).json()
    assert turnout["present"] == 0
    unknown = await client.post(url, json={"member": 999999}, headers=headers)
    assert unknown.status_code == 400, unknown.text
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert "There is no member 999999." in unknown.json()["detail"]


async def test_a_refused_check_out_reshows_the_room_with_its_message(client):
    poll_id, operator, m = await room_with_members(client)
    csrf = await csrf_token(client)
    await client.post(
        f"/polls/{poll_id}/room/check-in", data={"_csrf_token": csrf, "member": "BE-0003"}
    )
    entered = await client.post(
        f"/polls/{poll_id}/room/paper",
        data={"_csrf_token": csrf, "member": str(m["paula"]), "choice": ["1"]},
    )
    assert entered.status_code == 201, entered.text
    before = await state()
    kept = await client.post(
        f"/polls/{poll_id}/room/check-out", data={"_csrf_token": csrf, "member": str(m["paula"])}
    )
    assert kept.status_code == 409
    assert 'role="alert"' in kept.text
    assert "A paper ballot was entered for Paula Paper" in kept.text and "<h1>" in kept.text
    unknown = await client.post(
        f"/polls/{poll_id}/room/check-out", data={"_csrf_token": csrf, "member": "999999"}
    )
    assert unknown.status_code == 400 and 'role="alert"' in unknown.text
    assert "There is no member 999999." in unknown.text
    api = await client.post(
        f"/api/polls/{poll_id}/check-out",
        json={"member": m["paula"]},
        headers={"x-csrftoken": csrf},
    )
    assert api.status_code == 409 and "A paper ballot was entered" in api.json()["detail"]
    assert await state() == before


# -- what the room tells about who has voted is audited ------------------------------------------


async def test_each_view_of_the_attendance_list_is_audited_with_a_count_only(client):
    poll_id, operator, m = await room_with_members(client)
    csrf = await csrf_token(client)
    assert (await client.get(f"/polls/{poll_id}/room")).status_code == 200
    assert await entries("room.list") == []  # an empty list tells nothing
    for number in ("BE-0001", "BE-0003"):  # each check-in shows the list again (one view each)
        await client.post(
            f"/polls/{poll_id}/room/check-in", data={"_csrf_token": csrf, "member": number}
        )
    room = await client.get(f"/polls/{poll_id}/room")
    assert "Greta Grantor" in room.text and "Paula Paper" in room.text
    assert "the audit log records it" in room.text
    listed = await entries("room.list")
    assert len(listed) == 3
    last = listed[-1]
    assert last["details"] == {"members": 2}  # how many were shown, not who
    assert (last["actor"], last["country"], last["object_type"], last["object_id"]) == (
        operator,
        "BE",
        "poll",
        str(poll_id),
    )
    # A receipt page, which does not show the list, records no view.
    await client.post(
        f"/polls/{poll_id}/room/paper",
        data={"_csrf_token": csrf, "member": str(m["paula"]), "choice": ["1"]},
    )
    assert len(await entries("room.list")) == 3


async def test_a_refusal_saying_a_member_has_voted_is_audited_without_a_choice(client):
    poll_id, operator, m = await room_with_members(client)
    await sign_in(client, m["paula"])
    voted = await client.post(
        f"/api/polls/{poll_id}/ballot",
        json={"choice": [1]},
        headers={"x-csrftoken": await csrf_token(client)},
    )
    assert voted.status_code == 201, voted.text
    await sign_in(client, operator)
    csrf = await csrf_token(client)
    await client.post(
        f"/polls/{poll_id}/room/check-in", data={"_csrf_token": csrf, "member": "BE-0003"}
    )
    refused = await client.post(
        f"/api/polls/{poll_id}/paper-ballot",
        json={"member": "BE-0003", "choice": [2]},
        headers={"x-csrftoken": csrf},
    )
    assert refused.status_code == 409
    assert "already voted online" in refused.json()["detail"]
    refused_proxy = await client.post(
        f"/polls/{poll_id}/room/proxy",
        data={"_csrf_token": csrf, "grantor": "BE-0003", "holder": "BE-0002"},
    )
    assert refused_proxy.status_code == 409
    assert "Paula Paper has already voted" in refused_proxy.text

    shown = await entries("room.voted_shown")
    assert [e["details"] for e in shown] == [
        {"member": m["paula"], "member_number": "BE-0003", "via": "paper_ballot"},
        {"member": m["paula"], "member_number": "BE-0003", "via": "paper_proxy"},
    ]
    assert {(e["actor"], e["country"], e["object_id"]) for e in shown} == {
        (operator, "BE", str(poll_id))
    }
    # A refusal that says nothing about a vote (the member is not checked in) is not recorded.
    await client.post(
        f"/api/polls/{poll_id}/paper-ballot",
        json={"member": "BE-0001", "choice": [2]},
        headers={"x-csrftoken": csrf},
    )
    assert len(await entries("room.voted_shown")) == 2
