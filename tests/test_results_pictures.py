"""The public results page: the Schulze matrix and the STV stages drawn as SVG with a text
alternative that states the same numbers, turnout per channel for every visitor, the JSON twin,
and the page in the member's language."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Any

from core import clock
from tests.conftest import add_member, csrf_token, sign_in
from tests.poll_support import voters_added_after_opening  # noqa: F401 (the fixture)
from tests.test_poll_pages import make_edition


async def new_poll(client: Any, method: str) -> tuple[int, int]:
    """A BE operator (signed in) and their draft poll on the four test themes: (operator, poll)."""
    operator = await add_member("op@example.org", roles=(("operator", "BE"),))
    await make_edition(client, operator)
    await sign_in(client, operator)
    now = clock.now()
    created = await client.post(
        "/api/editions/2020-2021/polls",
        json={
            "country": "BE",
            "method": method,
            "seats": 2,
            "opens_at": (now - timedelta(minutes=5)).isoformat(),
            "closes_at": (now + timedelta(hours=2)).isoformat(),
        },
        headers={"x-csrftoken": await csrf_token(client)},
    )
    assert created.status_code == 201, created.text
    return operator, created.json()["id"]


async def run_poll(client: Any, method: str, ballots: list[list[int]], *, paper: int = 0) -> int:
    """A BE poll with the four test themes, the ballots cast online (and the last ``paper`` of
    them entered by the operator for checked-in members), closed and counted with the share
    of its one teller, which publishes the result."""
    operator, poll_id = await new_poll(client, method)
    teller = await add_member("teller@example.org", shareholder=False, roles=(("teller", "BE"),))
    csrf = await csrf_token(client)
    named = await client.post(
        f"/api/polls/{poll_id}/tellers",
        json={"tellers": [teller], "needed": 1},
        headers={"x-csrftoken": csrf},
    )
    assert named.status_code == 200, named.text
    opened = await client.post(f"/api/polls/{poll_id}/open", headers={"x-csrftoken": csrf})
    assert opened.status_code == 200, opened.text
    await sign_in(client, teller)
    collected = await client.post(
        f"/api/polls/{poll_id}/share", headers={"x-csrftoken": await csrf_token(client)}
    )
    assert collected.status_code == 200, collected.text
    share = collected.json()["share"]
    online = ballots[: len(ballots) - paper]
    for n, choice in enumerate(online):
        await sign_in(client, await add_member(f"online{n}@example.org"))
        r = await client.post(
            f"/api/polls/{poll_id}/ballot",
            json={"choice": choice},
            headers={"x-csrftoken": await csrf_token(client)},
        )
        assert r.status_code == 201, r.text
    await sign_in(client, operator)
    csrf = await csrf_token(client)
    for n, choice in enumerate(ballots[len(online) :]):
        email = f"room{n}@example.org"
        await add_member(email)
        r = await client.post(
            f"/api/polls/{poll_id}/presence", json={"member": email}, headers={"x-csrftoken": csrf}
        )
        assert r.status_code == 200, r.text
        r = await client.post(
            f"/api/polls/{poll_id}/paper-ballot",
            json={"member": email, "choice": choice},
            headers={"x-csrftoken": csrf},
        )
        assert r.status_code == 201, r.text
    r = await client.post(f"/api/polls/{poll_id}/close", headers={"x-csrftoken": csrf})
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/api/polls/{poll_id}/count", json={"shares": [share]}, headers={"x-csrftoken": csrf}
    )
    assert r.status_code == 200, r.text
    return poll_id


def svg(page: str, css_class: str) -> str:
    match = re.search(rf'<svg role="img"[^>]*class="chart {css_class}".*?</svg>', page, re.S)
    assert match, f"no {css_class} SVG on the page"
    return match.group(0)


def desc(picture: str) -> str:
    inside = picture.split("<desc")[1].split(">", 1)[1].split("</desc>")[0]
    return " ".join(unescape(inside).split())


async def titles_of(client: Any, poll_id: int) -> dict[int, str]:
    exported = (await client.get(f"/polls/{poll_id}/ballots.json")).json()
    return {c["number"]: c["title"] for c in exported["candidates"]}


# A Condorcet winner (2), then 1 over 3 and 4: the matrix has a full green row for 2.
SCHULZE_BALLOTS = [[2, 1, 3, 4]] * 4 + [[1, 2, 4, 3]] * 3 + [[3, 2, 1, 4]] * 2


async def test_the_pairwise_matrix_is_drawn_with_every_duel_in_words(client):
    poll_id = await run_poll(client, "schulze", SCHULZE_BALLOTS)
    client.cookies.clear()  # a visitor, not signed in
    page = (await client.get(f"/polls/{poll_id}/results")).text
    matrix = svg(page, "matrix-picture")
    titles = await titles_of(client, poll_id)
    result = (await client.get(f"/api/polls/{poll_id}/result")).json()
    candidates = result["tally"]["candidates"]
    d = result["tally"]["pairwise"]
    text = desc(matrix)
    for i, a in enumerate(candidates):
        for j, b in enumerate(candidates[i + 1 :], start=i + 1):
            assert (
                f"{titles[a]} against {titles[b]}: {d[i][j]} prefer {titles[a]}, "
                f"{d[j][i]} prefer {titles[b]}." in text
            )
    # Every cell states its number; 2 beats everyone: 6 of 9 voters prefer it to 1, 9 to 4.
    assert d[candidates.index(2)][candidates.index(1)] == 6
    assert d[candidates.index(2)][candidates.index(4)] == 9
    cells = re.findall(r'class="cell-(\w+)"', matrix)
    assert len(cells) == 16 and cells.count("self") == 4
    assert cells.count("beats") == cells.count("loses") == 6  # no tied duel in this profile
    row_of_2 = candidates.index(2)
    assert cells[row_of_2 * 4 : row_of_2 * 4 + 4].count("beats") == 3
    assert result["winners"][0] == 2
    assert "Strongest paths" in page


# Quota for 9 valid ballots and 2 seats: floor(9 / 3) + 1 = 4. 1 is elected at once with a
# surplus of 1 that goes to 2; 4 (fewest) is excluded and its votes go to 3.
STV_BALLOTS = [[1, 2]] * 5 + [[2, 1]] * 1 + [[3, 2]] * 2 + [[4, 3]] * 1


async def test_the_stv_stages_are_drawn_against_the_quota(client):
    poll_id = await run_poll(client, "stv", STV_BALLOTS)
    page = (await client.get(f"/polls/{poll_id}/results")).text
    stages = svg(page, "stages-picture")
    result = (await client.get(f"/api/polls/{poll_id}/result")).json()
    tally = result["tally"]
    titles = await titles_of(client, poll_id)
    assert tally["quota"] == 4
    assert stages.count("Stage ") == 2 * len(tally["rounds"])  # heading + table row text
    assert stages.count('class="quota-line"') == len(tally["rounds"])
    text = desc(stages)
    assert text.startswith("Quota: 4 votes.")
    assert "Stage 1: first preferences." in text
    first = tally["rounds"][0]
    for candidate, votes in zip(tally["candidates"], first["votes"], strict=True):
        shown = str(int(votes)) if float(votes).is_integer() else f"{votes:.2f}"
        assert f"{titles[candidate]} {shown}" in text
    assert f"Stage 2: surplus of {titles[1]} transferred" in text
    excluded = [r for r in tally["rounds"] if r["action"] == "exclusion"]
    assert excluded and f"{titles[excluded[0]['candidate']]} excluded" in text
    # The elected bar is drawn as elected from its stage on, the excluded as excluded.
    assert 'class="stage-elected"' in stages and 'class="stage-excluded"' in stages
    assert [titles[n] for n in result["winners"]] == [e["title"] for e in result["elected"]]
    assert set(result["winners"]) == {1, 3}


async def test_turnout_per_channel_is_public_once_published(client):
    poll_id = await run_poll(client, "plurality", [[1], [2], [1], [3], [1]], paper=2)
    client.cookies.clear()
    page = (await client.get(f"/polls/{poll_id}/results")).text
    turnout = page.split('id="turnout-heading"')[1].split("</section>")[0]
    assert "Ballots cast</dt><dd>5 (3 online, 2 on paper, 0 cast by a proxy holder)" in turnout
    assert "Present in the room</dt><dd>2" in turnout
    api = (await client.get(f"/api/polls/{poll_id}/result")).json()
    assert {k: api["turnout"][k] for k in ("online", "paper", "proxy", "voted", "present")} == {
        "online": 3,
        "paper": 2,
        "proxy": 0,
        "voted": 5,
        "present": 2,
    }
    assert api["poll"]["state"] == "published"


async def test_results_are_not_shown_before_publication(client):
    _operator, poll_id = await new_poll(client, "stv")
    assert (await client.get(f"/polls/{poll_id}/results")).status_code == 404
    problem = await client.get(f"/api/polls/{poll_id}/result")
    assert problem.status_code == 404
    assert "not published" in problem.json()["detail"]


async def test_the_pictures_speak_the_members_language(client):
    poll_id = await run_poll(client, "stv", STV_BALLOTS)
    client.cookies.clear()
    page = (await client.get(f"/polls/{poll_id}/results", headers={"accept-language": "fr"})).text
    stages = desc(svg(page, "stages-picture"))
    assert stages.startswith("Quota : 4 voix.")
    assert "Étape 1 : premières préférences." in stages
    assert "Étape 2 : excédent de" in stages
