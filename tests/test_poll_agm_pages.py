"""AGM pages and API: proxies given, used and refused; the room's check-in, paper ballots and
turnout (numbers only), for the operators of the poll's country only."""

from __future__ import annotations

from datetime import timedelta

from core import clock
from core.polls.tables import Participation, Presence, Proxy, SealedBallot
from tests.conftest import add_member, csrf_token, sign_in
from tests.poll_support import voters_added_after_opening  # noqa: F401 (the fixture)
from tests.test_poll_pages import make_edition


async def draft_poll(client, operator: int) -> int:
    await make_edition(client, operator)
    await sign_in(client, operator)
    now = clock.now()
    created = await client.post(
        "/api/editions/2020-2021/polls",
        json={
            "country": "BE",
            "method": "approval",
            "seats": 2,
            "opens_at": (now - timedelta(minutes=5)).isoformat(),
            "closes_at": (now + timedelta(hours=2)).isoformat(),
        },
        headers={"x-csrftoken": await csrf_token(client)},
    )
    assert created.status_code == 201, created.text
    return created.json()["id"]


async def open_poll(client, operator: int, poll_id: int) -> None:
    """The operator names a teller (who holds the ballot box's key) and opens the poll."""
    teller = await add_member(
        f"teller.{poll_id}@example.org", shareholder=False, roles=(("teller", "BE"),)
    )
    await sign_in(client, operator)
    csrf = await csrf_token(client)
    named = await client.post(
        f"/api/polls/{poll_id}/tellers",
        json={"tellers": [teller], "needed": 1},
        headers={"x-csrftoken": csrf},
    )
    assert named.status_code == 200, named.text
    opened = await client.post(f"/api/polls/{poll_id}/open", headers={"x-csrftoken": csrf})
    assert opened.status_code == 200, opened.text


async def test_a_proxy_is_given_then_used_once(client):
    operator = await add_member("op@example.org", roles=(("operator", "BE"),))
    poll_id = await draft_poll(client, operator)
    grantor = await add_member("grantor@example.org", name="Greta Grantor")
    holder = await add_member("holder@example.org", name="Hugo Holder")
    other = await add_member("other@example.org", name="Olga Other")

    await sign_in(client, grantor)
    csrf = await csrf_token(client)
    proxy_page = await client.get(f"/polls/{poll_id}/proxy")
    assert proxy_page.status_code == 200
    assert "A holder carries at most 1 proxy." in proxy_page.text
    given = await client.post(
        f"/polls/{poll_id}/proxy", data={"_csrf_token": csrf, "holder": "holder@example.org"}
    )
    assert given.status_code == 200, given.text
    assert "You gave your vote by proxy to Hugo Holder." in given.text
    assert "/proxy/revoke" in given.text

    await sign_in(client, other)  # over the holder's limit of one
    csrf = await csrf_token(client)
    refused = await client.post(
        f"/polls/{poll_id}/proxy", data={"_csrf_token": csrf, "holder": "holder@example.org"}
    )
    assert refused.status_code == 409
    assert "Hugo Holder already holds 1 proxy in this poll" in refused.text
    assert await Proxy.count() == 1

    await open_poll(client, operator, poll_id)
    await sign_in(client, holder)
    csrf = await csrf_token(client)
    held = await client.get(f"/polls/{poll_id}/proxy")
    assert "Greta Grantor" in held.text
    assert f'action="/polls/{poll_id}/proxy/vote"' in held.text
    assert f'name="grantor" value="{grantor}"' in held.text
    cast = await client.post(
        f"/polls/{poll_id}/proxy/vote",
        data={"_csrf_token": csrf, "grantor": str(grantor), "choice": ["1"], "confirm": "yes"},
    )
    assert cast.status_code == 201, cast.text
    assert '<code class="receipt">' in cast.text
    assert "The ballot of Greta Grantor is cast" in cast.text

    again = await client.post(
        f"/polls/{poll_id}/proxy/vote",
        data={"_csrf_token": csrf, "grantor": str(grantor), "choice": ["2"]},
    )
    assert again.status_code == 409
    assert 'role="alert"' in again.text
    api_again = await client.post(
        f"/api/polls/{poll_id}/proxy-ballot",
        json={"grantor": grantor, "choice": [2]},
        headers={"x-csrftoken": csrf},
    )
    assert api_again.status_code == 409
    assert await SealedBallot.count() == 1 and await Participation.count() == 1
    mine = (await client.get(f"/api/polls/{poll_id}/proxy")).json()
    assert mine["given"] is None
    assert [(p["grantor_id"], p["used"]) for p in mine["held"]] == [(grantor, True)]


async def test_proxy_api_grant_and_revoke(client):
    operator = await add_member("op@example.org", roles=(("operator", "BE"),))
    poll_id = await draft_poll(client, operator)
    grantor = await add_member("grantor@example.org", name="Greta Grantor")
    await add_member("holder@example.org", name="Hugo Holder")
    await sign_in(client, grantor)
    csrf = await csrf_token(client)
    given = await client.post(
        f"/api/polls/{poll_id}/proxy",
        json={"holder": "holder@example.org"},
        headers={"x-csrftoken": csrf},
    )
    assert given.status_code == 201, given.text
    assert given.json()["holder_name"] == "Hugo Holder"
    revoked = await client.delete(f"/api/polls/{poll_id}/proxy", headers={"x-csrftoken": csrf})
    assert revoked.status_code == 204
    assert (await client.get(f"/api/polls/{poll_id}/proxy")).json()["given"] is None
    missing = await client.delete(f"/api/polls/{poll_id}/proxy", headers={"x-csrftoken": csrf})
    assert missing.status_code == 404


async def test_the_room_checks_in_and_enters_a_paper_ballot(client):
    operator = await add_member("op@example.org", roles=(("operator", "BE"),))
    poll_id = await draft_poll(client, operator)
    member = await add_member("paper@example.org", name="Paula Paper", number="BE-0042")
    await open_poll(client, operator, poll_id)
    csrf = await csrf_token(client)

    unknown = await client.post(
        f"/polls/{poll_id}/room/check-in", data={"_csrf_token": csrf, "member": "BE-9999"}
    )
    assert unknown.status_code == 404
    assert await Presence.count() == 0
    checked = await client.post(
        f"/polls/{poll_id}/room/check-in", data={"_csrf_token": csrf, "member": "BE-0042"}
    )
    assert checked.status_code == 200, checked.text
    assert "Paula Paper" in checked.text
    assert f'action="/polls/{poll_id}/room/paper-for"' in checked.text
    choose = await client.post(
        f"/polls/{poll_id}/room/paper-for", data={"_csrf_token": csrf, "member": str(member)}
    )
    assert choose.status_code == 200, choose.text
    assert f'action="/polls/{poll_id}/room/paper"' in choose.text
    assert f'name="member" value="{member}"' in choose.text
    entered = await client.post(
        f"/polls/{poll_id}/room/paper",
        data={"_csrf_token": csrf, "member": str(member), "choice": ["2"]},
    )
    assert entered.status_code == 201, entered.text
    assert '<code class="receipt">' in entered.text
    twice = await client.post(
        f"/api/polls/{poll_id}/paper-ballot",
        json={"member": "BE-0042", "choice": [1]},
        headers={"x-csrftoken": csrf},
    )
    assert twice.status_code == 409
    assert await SealedBallot.count() == 1

    turnout = (await client.get(f"/api/polls/{poll_id}/turnout")).json()
    assert turnout["paper"] == 1 and turnout["present"] == 1 and turnout["voted"] == 1
    assert set(turnout) == {
        "eligible",
        "online",
        "paper",
        "proxy",
        "voted",
        "present",
        "represented",
        "counted",
        "quorum",
        "quorum_reached",
    }  # numbers only: no per-candidate field
    poll_page = await client.get(f"/polls/{poll_id}")
    assert 'id="turnout"' in poll_page.text and f"/polls/{poll_id}/room" in poll_page.text

    again = await client.post(
        f"/api/polls/{poll_id}/presence", json={"member": member}, headers={"x-csrftoken": csrf}
    )
    assert again.status_code == 200 and again.json()["checked_in"] is False


async def test_another_countrys_operator_is_refused(client):
    operator = await add_member("op@example.org", roles=(("operator", "BE"),))
    poll_id = await draft_poll(client, operator)
    await add_member("paper@example.org", name="Paula Paper", number="BE-0042")
    await open_poll(client, operator, poll_id)
    french = await add_member("opfr@example.org", country="FR", roles=(("operator", "FR"),))
    await sign_in(client, french)
    csrf = await csrf_token(client)
    assert (await client.get(f"/polls/{poll_id}/room")).status_code == 403
    assert (await client.get(f"/api/polls/{poll_id}/turnout")).status_code == 403
    check_in = await client.post(
        f"/api/polls/{poll_id}/presence", json={"member": "BE-0042"}, headers={"x-csrftoken": csrf}
    )
    assert check_in.status_code == 403
    paper = await client.post(
        f"/api/polls/{poll_id}/paper-ballot",
        json={"member": "BE-0042", "choice": [1]},
        headers={"x-csrftoken": csrf},
    )
    assert paper.status_code == 403
    page = await client.post(
        f"/polls/{poll_id}/room/check-in", data={"_csrf_token": csrf, "member": "BE-0042"}
    )
    assert page.status_code == 403
    assert await Presence.count() == 0 and await SealedBallot.count() == 0
