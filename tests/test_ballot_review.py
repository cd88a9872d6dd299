"""The ballot's pages help the voter: instructions per voting method (ties allowed or not, how
many to tick), a "Check your ballot" step that stores nothing, "Change" back to the ballot as
it was left, and a receipt that shows what was just cast with its tracker and how to check it.
The JSON API still casts in one call."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from core import clock
from core.editions import services as editions
from core.members.services import load_member
from core.plugins import build_registry
from core.polls import proxies
from core.polls import services as polls
from core.polls.controllers import candidates_of
from core.polls.tables import Participation, SealedBallot
from core.rules import Rules
from tests.conftest import add_member, csrf_token, sign_in
from tests.poll_support import (
    open_with_tellers,
    voters_added_after_opening,  # noqa: F401 (the fixture)
)
from tests.test_ballot_pages import make_edition


async def open_poll(client, method: str, seats: int = 1) -> tuple[int, dict[int, str]]:
    """An open Belgian poll of four themes with ``method``; its candidates' titles by number."""
    settings = client.app.state.settings
    rules = Rules(build_registry(settings), settings)
    await make_edition(client)
    operator = await load_member(await add_member("op@example.org", roles=(("operator", "BE"),)))
    now = clock.now()
    poll_id = await polls.create_poll(
        rules,
        operator,
        (await editions.get_edition("2020-2021")).id,
        "BE",
        method,
        seats,
        now - timedelta(minutes=5),
        now + timedelta(hours=2),
    )
    await open_with_tellers(rules, operator, poll_id)
    poll = await polls.get_poll(poll_id)
    return poll_id, {c.number: c.title for c in await candidates_of(poll)}


async def stored() -> tuple[int, int]:
    return await SealedBallot.count(), await Participation.count()


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", page))


@pytest.mark.parametrize(
    ("method", "seats", "says", "does_not_say"),
    [
        ("schulze", 1, "Equal ranks are allowed", "Equal ranks are not allowed"),
        ("stv", 2, "Equal ranks are not allowed", "Equal ranks are allowed"),
        ("approval", 2, "Tick as many themes as you like", "Equal ranks"),
        ("plurality", 2, "Tick at most 2 themes", "Equal ranks"),
    ],
)
async def test_the_ballot_says_what_its_method_reads(client, method, seats, says, does_not_say):
    poll_id, _titles = await open_poll(client, method, seats)
    await sign_in(client, await add_member("voter@example.org"))
    page = text_of((await client.get(f"/polls/{poll_id}")).text)
    assert says in page and does_not_say not in page
    assert 'id="ballot-help"' in page
    assert 'aria-describedby="ballot-help"' in page  # read out with the fields
    assert "You check your ballot on the next page before it is cast." in page


async def test_checking_a_ranked_ballot_stores_nothing_and_reads_it_as_the_count_does(client):
    poll_id, titles = await open_poll(client, "schulze")
    voter = await add_member("voter@example.org")
    await sign_in(client, voter)
    csrf = await csrf_token(client)
    before = await stored()
    # 2 and 3 share the second rank; the gap after it does not matter; 4 is left unranked.
    form = {"_csrf_token": csrf, "rank_1": "1", "rank_2": "3", "rank_3": "3"}
    review = await client.post(f"/polls/{poll_id}/vote", data=form)
    assert review.status_code == 200, review.text
    assert review.headers["cache-control"] == "no-store"
    page = text_of(review.text)
    assert "Check your ballot" in page and "Nothing is cast yet" in page
    assert f'<li value="1">{titles[1]}</li>' in page
    assert f'<li value="2">{titles[2]} and {titles[3]} (equal)</li>' in page
    assert f"Not ranked: {titles[4]}" in page
    # The review posts the ballot as read (ranks 1, 2, 2) with confirm, or goes back.
    for field in ('name="rank_1" value="1"', 'name="rank_2" value="2"', 'name="rank_3" value="2"'):
        assert field in page
    assert 'name="confirm" value="yes"' in page and 'name="change"' in page
    assert await stored() == before
    assert not await polls.has_voted(poll_id, voter)


async def test_change_goes_back_to_the_ballot_as_it_was_left(client):
    poll_id, _titles = await open_poll(client, "schulze")
    await sign_in(client, await add_member("voter@example.org"))
    csrf = await csrf_token(client)
    back = await client.post(
        f"/polls/{poll_id}/vote",
        data={"_csrf_token": csrf, "rank_1": "2", "rank_4": "1", "change": "1"},
    )
    assert back.status_code == 200
    assert re.search(r'name="rank_1"[^>]*>.*?<option value="2" selected>', back.text)
    assert re.search(r'name="rank_4"[^>]*>.*?<option value="1" selected>', back.text)
    assert not re.search(r'name="rank_2"[^>]*>(?:(?!</select>).)*selected', back.text)
    assert await stored() == (0, 0)


async def test_an_invalid_ballot_comes_back_filled_in_with_its_error_and_nothing_stored(client):
    poll_id, _titles = await open_poll(client, "stv", 2)
    await sign_in(client, await add_member("voter@example.org"))
    csrf = await csrf_token(client)
    for confirm in ("", "yes"):
        tie = await client.post(
            f"/polls/{poll_id}/vote",
            data={"_csrf_token": csrf, "rank_1": "1", "rank_2": "1", "confirm": confirm},
        )
        assert tie.status_code == 400
        assert "one at a time" in text_of(tie.text) and 'role="alert"' in tie.text
        assert re.search(r'name="rank_2"[^>]*>.*?<option value="1" selected>', tie.text)
        empty = await client.post(f"/polls/{poll_id}/vote", data={"_csrf_token": csrf})
        assert empty.status_code == 400 and "The ballot is empty" in empty.text
    assert await stored() == (0, 0)


async def test_confirming_casts_and_the_receipt_shows_what_was_cast_once(client):
    poll_id, titles = await open_poll(client, "approval", 2)
    voter = await add_member("voter@example.org")
    await sign_in(client, voter)
    csrf = await csrf_token(client)
    form = {"_csrf_token": csrf, "choice": ["3", "1"]}
    assert (await client.post(f"/polls/{poll_id}/vote", data=form)).status_code == 200
    assert await stored() == (0, 0)
    cast = await client.post(f"/polls/{poll_id}/vote", data={**form, "confirm": "yes"})
    assert cast.status_code == 201, cast.text
    assert cast.headers["cache-control"] == "no-store"
    assert await stored() == (1, 1)
    page = text_of(cast.text)
    receipt = page.split('<code class="receipt">')[1].split("</code>")[0]
    assert re.fullmatch(r"[0-9a-f]{64}", receipt)
    chosen = page.split('id="cast-choices"')[1].split("</section>")[0]
    assert titles[1] in chosen and titles[3] in chosen
    assert f"Not ticked: {titles[2]}, {titles[4]}" in chosen
    assert f'href="/polls/{poll_id}/box#check-heading"' in page and "How to check it" in page
    box = await client.get(f"/polls/{poll_id}/box")
    assert receipt in box.text
    # The poll page afterwards says the ballot is cast and shows no choice.
    after = text_of((await client.get(f"/polls/{poll_id}")).text)
    assert "Your ballot has been cast." in after and "cast-choices" not in after
    # A second try is refused at the review step already: nothing more is stored.
    again = await client.post(f"/polls/{poll_id}/vote", data=form)
    assert again.status_code == 409 and await stored() == (1, 1)


async def test_the_json_api_still_casts_in_one_call(client):
    poll_id, _titles = await open_poll(client, "schulze")
    await sign_in(client, await add_member("voter@example.org"))
    csrf = await csrf_token(client)
    cast = await client.post(
        f"/api/polls/{poll_id}/ballot", json={"choice": [2, [1, 3]]}, headers={"x-csrftoken": csrf}
    )
    assert cast.status_code == 201, cast.text
    assert await stored() == (1, 1)


async def test_a_proxy_ballot_is_checked_then_cast(client):
    poll_id, titles = await open_poll(client, "schulze")
    settings = client.app.state.settings
    rules = Rules(build_registry(settings), settings)
    grantor = await add_member("grantor@example.org", name="Greta Grantor")
    holder = await add_member("holder@example.org", name="Hugo Holder")
    operator = await load_member(await add_member("op2@example.org", roles=(("operator", "BE"),)))
    await proxies.record_paper_proxy(
        rules, operator, poll_id, "grantor@example.org", "holder@example.org"
    )
    await sign_in(client, holder)
    csrf = await csrf_token(client)
    form = {"_csrf_token": csrf, "grantor": str(grantor), "rank_2": "1"}
    review = await client.post(f"/polls/{poll_id}/proxy/vote", data=form)
    assert review.status_code == 200, review.text
    page = text_of(review.text)
    assert "Check the ballot of Greta Grantor" in page
    assert f'<li value="1">{titles[2]}</li>' in page
    assert f'name="grantor" value="{grantor}"' in page
    assert await stored() == (0, 0)
    back = await client.post(f"/polls/{poll_id}/proxy/vote", data={**form, "change": "1"})
    assert back.status_code == 200
    assert re.search(r'id="g\d+-rank-2"[^>]*>.*?<option value="1" selected>', back.text)
    cast = await client.post(f"/polls/{poll_id}/proxy/vote", data={**form, "confirm": "yes"})
    assert cast.status_code == 201, cast.text
    assert "The ballot of Greta Grantor is cast" in cast.text
    assert titles[2] in cast.text.split('id="cast-choices"')[1]
    assert await stored() == (1, 1) and await polls.has_voted(poll_id, grantor)
