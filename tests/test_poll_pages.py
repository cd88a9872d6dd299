"""Poll pages and API: an operator runs a poll, shareholders vote and keep a receipt, the
results page shows the count as a picture, anyone checks a receipt and downloads the list."""

from __future__ import annotations

from datetime import timedelta

from core import clock
from core.polls.tables import Ballot, Participation
from tests.conftest import add_member, csrf_token, sign_in
from tests.test_polls import CANDIDATES


async def make_edition(client, operator_id):
    from core.editions import services as editions
    from core.members.services import load_member
    from core.plugins import build_registry
    from core.themes import services as themes

    settings = client.app.state.settings
    rules = themes.Rules(build_registry(settings), settings)
    await editions.create_edition("2020-2021")
    edition = await editions.get_edition("2020-2021")
    board = await load_member(await add_member("board@example.org", roles=(("board", ""),)))
    for title in CANDIDATES:
        await themes.add_board_theme(
            rules, board, edition.id, ["BE"], themes.ThemeTextIn(title=title, language="en")
        )


async def test_a_poll_from_creation_to_published_results(client):
    operator = await add_member("op@example.org", roles=(("operator", "BE"),))
    await make_edition(client, operator)
    await sign_in(client, operator)
    csrf = await csrf_token(client)
    now = clock.now()
    created = await client.post(
        "/api/editions/2020-2021/polls",
        json={
            "country": "BE",
            "method": "schulze",
            "seats": 2,
            "opens_at": (now - timedelta(minutes=5)).isoformat(),
            "closes_at": (now + timedelta(hours=2)).isoformat(),
        },
        headers={"x-csrftoken": csrf},
    )
    assert created.status_code == 201, created.text
    poll_id = created.json()["id"]
    assert (
        await client.post(f"/polls/{poll_id}/open", data={"_csrf_token": csrf})
    ).status_code == 200

    voter = await add_member("voter@example.org")
    await sign_in(client, voter)
    csrf = await csrf_token(client)
    page = await client.get(f"/polls/{poll_id}")
    assert "Rank the themes" in page.text
    bad = await client.post(f"/polls/{poll_id}/vote", data={"_csrf_token": csrf, "rank_1": "x"})
    assert bad.status_code == 400
    assert "A rank is a whole number." in bad.text
    assert await Ballot.count() == 0
    cast = await client.post(
        f"/polls/{poll_id}/vote",
        data={"_csrf_token": csrf, "rank_2": "1", "rank_1": "2", "rank_3": "3"},
    )
    assert cast.status_code == 201, cast.text
    receipt = cast.text.split('<code class="receipt">')[1].split("</code>")[0]
    again = await client.post(
        f"/api/polls/{poll_id}/ballot", json={"choice": [1]}, headers={"x-csrftoken": csrf}
    )
    assert again.status_code == 409
    assert await Ballot.count() == 1 and await Participation.count() == 1

    await sign_in(client, operator)
    csrf = await csrf_token(client)
    for action in ("close", "publish"):
        r = await client.post(f"/api/polls/{poll_id}/{action}", headers={"x-csrftoken": csrf})
        assert r.status_code == 200, r.text
    results = await client.get(f"/polls/{poll_id}/results")
    assert results.status_code == 200
    assert "Pairwise comparisons" in results.text
    check = await client.post(
        f"/polls/{poll_id}/check", data={"_csrf_token": csrf, "receipt": receipt}
    )
    assert "Your ballot is in the list." in check.text
    listed = await client.post(
        f"/api/polls/{poll_id}/receipt", json={"receipt": receipt}, headers={"x-csrftoken": csrf}
    )
    assert listed.json() == {"listed": True}
    exported = (await client.get(f"/polls/{poll_id}/ballots.json")).json()
    assert exported["result"]["winners"][0] == 2
    assert (await client.get(f"/polls/{poll_id}/ballots.csv")).text.startswith("receipt_hash,")


async def test_results_of_a_scored_method_are_drawn_with_a_text_alternative(client):
    operator = await add_member("op@example.org", roles=(("operator", "BE"),))
    await make_edition(client, operator)
    await sign_in(client, operator)
    csrf = await csrf_token(client)
    now = clock.now()
    poll = await client.post(
        "/api/editions/2020-2021/polls",
        json={
            "country": "BE",
            "method": "approval",
            "seats": 2,
            "opens_at": (now - timedelta(minutes=5)).isoformat(),
            "closes_at": (now + timedelta(hours=2)).isoformat(),
        },
        headers={"x-csrftoken": csrf},
    )
    poll_id = poll.json()["id"]
    await client.post(f"/api/polls/{poll_id}/open", headers={"x-csrftoken": csrf})
    for n, choice in enumerate(([1, 2], [2], [2, 3])):
        voter = await add_member(f"v{n}@example.org")
        await sign_in(client, voter)
        csrf = await csrf_token(client)
        r = await client.post(
            f"/polls/{poll_id}/vote",
            data={"_csrf_token": csrf, "choice": [str(c) for c in choice]},
        )
        assert r.status_code == 201, r.text
    await sign_in(client, operator)
    csrf = await csrf_token(client)
    await client.post(f"/api/polls/{poll_id}/close", headers={"x-csrftoken": csrf})
    await client.post(f"/api/polls/{poll_id}/publish", headers={"x-csrftoken": csrf})
    page = (await client.get(f"/polls/{poll_id}/results")).text
    assert '<svg role="img"' in page
    desc = page.split("<desc")[1].split("</desc>")[0]
    titles = dict(
        (c["number"], c["title"])
        for c in (await client.get(f"/polls/{poll_id}/ballots.json")).json()["candidates"]
    )
    assert f"{titles[2]}: 3" in desc  # the picture's numbers, readable without it
    assert (await client.get(f"/api/polls/{poll_id}/result")).json()["winners"][0] == 2
