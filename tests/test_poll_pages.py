"""Poll pages and API: an operator names the tellers and runs a poll, the tellers collect
their shares, shareholders vote and keep a receipt, the tellers count, the results page shows
the count as a picture, anyone checks a receipt in the ballot box and downloads the list."""

from __future__ import annotations

import re
from datetime import timedelta

from core import clock
from core.polls.tables import ClearBallot, Participation, SealedBallot
from core.rules import Rules
from tests.conftest import add_member, csrf_token, sign_in
from tests.poll_support import voters_added_after_opening  # noqa: F401 (the fixture)
from tests.test_polls import CANDIDATES


async def make_edition(client, operator_id):
    from core.editions import services as editions
    from core.members.services import load_member
    from core.plugins import build_registry
    from core.themes import services as themes

    settings = client.app.state.settings
    rules = Rules(build_registry(settings), settings)
    await editions.create_edition("2020-2021")
    edition = await editions.get_edition("2020-2021")
    board = await load_member(await add_member("board@example.org", roles=(("board", ""),)))
    for title in CANDIDATES:
        await themes.add_board_theme(
            rules, board, edition.id, ["BE"], themes.ThemeTextIn(title=title, language="en")
        )


def shown_share(page: str) -> str:
    """The words of a share as the share page lists them."""
    listed = page.split('<ol class="share-words"')[1].split("</ol>")[0]
    return " ".join(re.findall(r"<li>([^<]+)</li>", listed))


async def test_a_poll_from_creation_to_published_results(client):
    operator = await add_member("op@example.org", roles=(("operator", "BE"),))
    teller = await add_member("teller@example.org", name="Tess Teller", roles=(("teller", "BE"),))
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
    named = await client.post(
        f"/polls/{poll_id}/tellers",
        data={"_csrf_token": csrf, "teller": [str(teller)], "needed": "1"},
        follow_redirects=False,
    )
    assert named.status_code == 303, named.text
    assert (
        await client.post(f"/polls/{poll_id}/open", data={"_csrf_token": csrf, "confirm": "yes"})
    ).status_code == 200

    await sign_in(client, teller)
    csrf = await csrf_token(client)
    collected = await client.post(f"/polls/{poll_id}/share", data={"_csrf_token": csrf})
    assert collected.status_code == 200, collected.text
    assert collected.headers["cache-control"] == "no-store"
    share = shown_share(collected.text)
    assert len(share.split()) >= 20

    voter = await add_member("voter@example.org")
    await sign_in(client, voter)
    csrf = await csrf_token(client)
    page = await client.get(f"/polls/{poll_id}")
    assert "Rank the themes" in page.text
    bad = await client.post(f"/polls/{poll_id}/vote", data={"_csrf_token": csrf, "rank_1": "x"})
    assert bad.status_code == 400
    assert "A rank is a whole number." in bad.text
    assert await SealedBallot.count() == 0
    cast = await client.post(
        f"/polls/{poll_id}/vote",
        data={"_csrf_token": csrf, "rank_2": "1", "rank_1": "2", "rank_3": "3", "confirm": "yes"},
    )
    assert cast.status_code == 201, cast.text
    receipt = cast.text.split('<code class="receipt">')[1].split("</code>")[0]
    again = await client.post(
        f"/api/polls/{poll_id}/ballot", json={"choice": [1]}, headers={"x-csrftoken": csrf}
    )
    assert again.status_code == 409
    assert await SealedBallot.count() == 1 and await Participation.count() == 1

    await sign_in(client, operator)
    csrf = await csrf_token(client)
    r = await client.post(f"/api/polls/{poll_id}/close", headers={"x-csrftoken": csrf})
    assert r.status_code == 200, r.text
    # The teller counts with their share: the box is opened and the result published.
    await sign_in(client, teller)
    csrf = await csrf_token(client)
    counted = await client.post(
        f"/polls/{poll_id}/count",
        data={"_csrf_token": csrf, "share": [share], "confirm": "yes"},
        follow_redirects=False,
    )
    assert counted.status_code == 303, counted.text
    assert counted.headers["location"] == f"/polls/{poll_id}/results"
    assert await SealedBallot.count() == 0 and await ClearBallot.count() == 1
    results = await client.get(f"/polls/{poll_id}/results")
    assert results.status_code == 200
    assert "Pairwise comparisons" in results.text
    check = await client.post(
        f"/polls/{poll_id}/box", data={"_csrf_token": csrf, "receipt": receipt}
    )
    assert "Your ballot is in the ballot box." in check.text
    unknown = await client.post(
        f"/polls/{poll_id}/box", data={"_csrf_token": csrf, "receipt": "0" * 64}
    )
    assert "No ballot in the box has this receipt." in unknown.text
    listed = await client.post(
        f"/api/polls/{poll_id}/receipt", json={"receipt": receipt}, headers={"x-csrftoken": csrf}
    )
    assert listed.json() == {"listed": True}
    exported = (await client.get(f"/polls/{poll_id}/ballots.json")).json()
    assert exported["result"]["winners"][0] == 2
    assert exported["trackers"] == [receipt] and exported["ballots"] == [[2, 1, 3]]
    assert (await client.get(f"/polls/{poll_id}/ballots.csv")).text.startswith("position,ballot")
    assert (await client.get(f"/polls/{poll_id}/trackers.txt")).text == f"{receipt}\n"


async def test_results_of_a_scored_method_are_drawn_with_a_text_alternative(client):
    operator = await add_member("op@example.org", roles=(("operator", "BE"),))
    await add_member("teller@example.org", number="BE-T1", roles=(("teller", "BE"),))
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
    named = await client.post(
        f"/api/polls/{poll_id}/tellers",
        json={"tellers": ["teller@example.org"], "needed": 1},
        headers={"x-csrftoken": csrf},
    )
    assert named.status_code == 200, named.text
    assert [(t["name"], t["collected"]) for t in named.json()] == [("A Member", False)]
    opened = await client.post(f"/api/polls/{poll_id}/open", headers={"x-csrftoken": csrf})
    assert opened.status_code == 200, opened.text
    teller = await client.get(f"/api/polls/{poll_id}/tellers")
    assert teller.json()[0]["waiting"] is True
    await sign_in(client, teller.json()[0]["member_id"])
    collected = await client.post(
        f"/api/polls/{poll_id}/share", headers={"x-csrftoken": await csrf_token(client)}
    )
    assert collected.status_code == 200, collected.text
    assert collected.headers["cache-control"] == "no-store"
    share = collected.json()["share"]
    for n, choice in enumerate(([1, 2], [2], [2, 3])):
        voter = await add_member(f"v{n}@example.org")
        await sign_in(client, voter)
        csrf = await csrf_token(client)
        r = await client.post(
            f"/polls/{poll_id}/vote",
            data={"_csrf_token": csrf, "choice": [str(c) for c in choice], "confirm": "yes"},
        )
        assert r.status_code == 201, r.text
    await sign_in(client, operator)
    csrf = await csrf_token(client)
    await client.post(f"/api/polls/{poll_id}/close", headers={"x-csrftoken": csrf})
    box = (await client.get(f"/api/polls/{poll_id}/box")).json()
    assert (box["state"], box["count"], len(box["trackers"])) == ("closed", 3, 3)
    # The operator counts with the teller's share (an operator of the country may).
    counted = await client.post(
        f"/api/polls/{poll_id}/count", json={"shares": [share]}, headers={"x-csrftoken": csrf}
    )
    assert counted.status_code == 200, counted.text
    assert counted.json()["winners"][0] == 2
    page = (await client.get(f"/polls/{poll_id}/results")).text
    assert '<svg role="img"' in page
    desc = page.split("<desc")[1].split("</desc>")[0]
    titles = dict(
        (c["number"], c["title"])
        for c in (await client.get(f"/polls/{poll_id}/ballots.json")).json()["candidates"]
    )
    assert f"{titles[2]}: 3" in desc  # the picture's numbers, readable without it
    assert (await client.get(f"/api/polls/{poll_id}/result")).json()["winners"][0] == 2
