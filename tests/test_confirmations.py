"""Irreversible operator actions ask first, without JavaScript: the form's first post answers a
confirmation page that names the consequences with real numbers and changes nothing; the same
fields with confirm=yes act. The JSON API acts in one call, as before."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from core import clock
from core.editions import services as editions
from core.members.services import load_member
from core.plugins import build_registry
from core.polls import services as polls
from core.polls.tables import ClearBallot, SealedBallot
from core.rules import Rules
from tests.conftest import add_member, csrf_token, sign_in
from tests.poll_support import (
    name_tellers,
    open_with_tellers,
    voters_added_after_opening,  # noqa: F401 (the fixture)
)
from tests.test_ballot_pages import make_edition
from tests.test_themes_api import admin, person, snapshot, status_of, submitted, supported, visit

__all__ = ["admin", "visit"]  # fixtures


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", page))


async def draft_poll(client, hours: int = 2) -> tuple[Rules, object, int]:
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
        "approval",
        2,
        now - timedelta(minutes=5),
        now + timedelta(hours=hours),
    )
    return rules, operator, poll_id


def confirmation(response, *words: str) -> str:
    assert response.status_code == 200, response.text[:2000]
    page = text_of(response.text)
    assert 'id="consequences"' in page and 'name="confirm" value="yes"' in page
    for word in words:
        assert word in page, (word, page)
    return page


async def test_opening_a_poll_asks_first_with_its_numbers(client):
    rules, operator, poll_id = await draft_poll(client)
    for n in range(3):
        await add_member(f"shareholder{n}@example.org")
    await add_member("not-a-shareholder@example.org", shareholder=False)
    await name_tellers(rules, operator, poll_id, 2, 2)
    await sign_in(client, operator.id)
    csrf = await csrf_token(client)
    eligible = (await client.get(f"/api/polls/{poll_id}/turnout")).json()["eligible"]
    assert eligible >= 4
    asked = await client.post(f"/polls/{poll_id}/open", data={"_csrf_token": csrf})
    confirmation(
        asked,
        "Open the poll now?",
        f"{eligible} shareholders of Belgium are told the poll is open",
        "split among its 2 tellers",
        "Yes, open the poll now",
        f'href="/polls/{poll_id}"',
    )
    assert f'action="/polls/{poll_id}/open"' in asked.text
    assert (await polls.get_poll(poll_id)).state == "draft"
    opened = await client.post(
        f"/polls/{poll_id}/open", data={"_csrf_token": csrf, "confirm": "yes"}
    )
    assert opened.status_code == 200 and (await polls.get_poll(poll_id)).state == "open"
    # Refused as opening is: the page again with the message, nothing asked.
    again = await client.post(f"/polls/{poll_id}/open", data={"_csrf_token": csrf})
    assert again.status_code == 409 and "Only a draft poll can be opened." in again.text


async def test_opening_without_tellers_is_refused_before_asking(client):
    _rules, operator, poll_id = await draft_poll(client)
    await sign_in(client, operator.id)
    csrf = await csrf_token(client)
    refused = await client.post(f"/polls/{poll_id}/open", data={"_csrf_token": csrf})
    assert refused.status_code == 409 and 'id="consequences"' not in refused.text
    assert (await polls.get_poll(poll_id)).state == "draft"


async def test_closing_a_poll_early_names_who_can_no_longer_vote(client):
    rules, operator, poll_id = await draft_poll(client, hours=24 * 30)
    await open_with_tellers(rules, operator, poll_id)
    voter = await load_member(await add_member("voter@example.org"))
    await polls.cast(rules, voter, poll_id, [1])
    await add_member("late@example.org")
    await sign_in(client, operator.id)
    csrf = await csrf_token(client)
    turnout = (await client.get(f"/api/polls/{poll_id}/turnout")).json()
    waiting = turnout["eligible"] - turnout["voted"]
    asked = await client.post(f"/polls/{poll_id}/close", data={"_csrf_token": csrf})
    confirmation(
        asked,
        "Close the poll now?",
        f"Closing ends voting now for {waiting} shareholders who have not voted yet.",
        f"1 of {turnout['eligible']} shareholders have voted.",
        "early",
        "Yes, close the poll now",
    )
    assert re.search(r"ends it (4 weeks|30 days|1 month) early", text_of(asked.text))
    assert (await polls.get_poll(poll_id)).state == "open"
    closed = await client.post(
        f"/polls/{poll_id}/close", data={"_csrf_token": csrf, "confirm": "yes"}
    )
    assert closed.status_code == 200 and (await polls.get_poll(poll_id)).state == "closed"
    # Closing a closed poll changes nothing: no question asked.
    again = await client.post(f"/polls/{poll_id}/close", data={"_csrf_token": csrf})
    assert again.status_code == 200 and 'id="consequences"' not in again.text


async def test_a_member_who_is_no_operator_is_refused_before_any_question(client):
    rules, operator, poll_id = await draft_poll(client)
    await open_with_tellers(rules, operator, poll_id)
    await sign_in(client, await add_member("member@example.org"))
    csrf = await csrf_token(client)
    for step in ("open", "close"):
        refused = await client.post(f"/polls/{poll_id}/{step}", data={"_csrf_token": csrf})
        assert refused.status_code == 403 and 'id="consequences"' not in refused.text
    assert (await polls.get_poll(poll_id)).state == "open"


async def test_counting_asks_once_the_shares_open_the_box(client):
    rules, operator, poll_id = await draft_poll(client)
    tellers, shares = await open_with_tellers(rules, operator, poll_id, 2, 2)
    for n in range(2):
        voter = await load_member(await add_member(f"voter{n}@example.org"))
        await polls.cast(rules, voter, poll_id, [n + 1])
    await polls.close_poll(rules, operator, poll_id)
    await sign_in(client, tellers[0].id)
    csrf = await csrf_token(client)
    # Wrong shares are refused on the form itself, before any question.
    short = await client.post(
        f"/polls/{poll_id}/count", data={"_csrf_token": csrf, "share": [shares[0]]}
    )
    assert short.status_code == 400 and 'id="consequences"' not in short.text
    asked = await client.post(
        f"/polls/{poll_id}/count", data={"_csrf_token": csrf, "share": shares}
    )
    page = confirmation(
        asked,
        "Open the ballot box and publish the result?",
        "The 2 ballots in the box are opened, shuffled and published",
        "cannot be undone",
        "Yes, open the box and publish",
    )
    assert asked.headers["cache-control"] == "no-store"  # the shares ride along in the form
    assert page.count('name="share"') == 2
    assert (await polls.get_poll(poll_id)).state == "closed"
    assert await SealedBallot.count() == 2 and await ClearBallot.count() == 0
    counted = await client.post(
        f"/polls/{poll_id}/count",
        data={"_csrf_token": csrf, "share": shares, "confirm": "yes"},
        follow_redirects=False,
    )
    assert counted.status_code == 303 and counted.headers["location"].endswith("/results")
    assert (await polls.get_poll(poll_id)).state == "published"
    assert await SealedBallot.count() == 0 and await ClearBallot.count() == 2


async def test_accepting_a_theme_asks_first(visit, admin):
    author = await person(visit)
    theme_id = await submitted(author, "Cheaper bikes")
    await supported(theme_id, await person(visit), await person(visit))
    before = await snapshot()
    asked = await admin.form(f"/themes/{theme_id}/accept")
    confirmation(
        asked,
        "Accept “Cheaper bikes” for the ballot?",
        "It has 2 supports.",
        "cannot be taken back",
        "Yes, accept it for the ballot",
        f'href="/themes/{theme_id}"',
    )
    assert await snapshot() == before
    done = await admin.form(f"/themes/{theme_id}/accept", {"confirm": "yes"})
    assert done.status_code == 303 and await status_of(theme_id) == "accepted"


async def test_rejecting_a_theme_asks_first_and_shows_the_reason(visit, admin):
    author = await person(visit)
    theme_id = await submitted(author, "Cheaper bikes")
    before = await snapshot()
    asked = await admin.form(f"/themes/{theme_id}/reject", {"reason": "Already <covered>"})
    page = confirmation(asked, "Reject “Cheaper bikes”?", "Yes, reject it")
    assert "Already &lt;covered&gt;" in asked.text  # escaped, quoted and posted again
    assert 'name="reason" value="Already &lt;covered&gt;"' in asked.text
    assert "The proposer reads this reason:" in page
    assert await snapshot() == before
    # A reason too short is refused before the question.
    short = await admin.form(f"/themes/{theme_id}/reject", {"reason": "x"})
    assert short.status_code == 400 and 'id="consequences"' not in short.text
    done = await admin.form(
        f"/themes/{theme_id}/reject", {"reason": "Already <covered>", "confirm": "yes"}
    )
    assert done.status_code == 303 and await status_of(theme_id) == "rejected"


async def test_merging_a_theme_asks_first_naming_both(visit, admin):
    author = await person(visit)
    source = await submitted(author, "Cheap bikes")
    target = await submitted(await person(visit), "Cheaper bicycles")
    await supported(source, await person(visit))
    before = await snapshot()
    asked = await admin.form(f"/themes/{source}/merge", {"into": str(target)})
    confirmation(
        asked,
        "Merge “Cheap bikes” into “Cheaper bicycles”?",
        "Its 1 support carries over to “Cheaper bicycles”",
        "Yes, merge them",
    )
    assert f'name="into" value="{target}"' in asked.text
    assert await snapshot() == before
    itself = await admin.form(f"/themes/{source}/merge", {"into": str(source)})
    assert itself.status_code == 400 and 'id="consequences"' not in itself.text
    done = await admin.form(f"/themes/{source}/merge", {"into": str(target), "confirm": "yes"})
    assert done.status_code == 303 and await status_of(source) == "merged"


async def test_the_json_api_acts_in_one_call(visit, admin):
    theme_id = await submitted(await person(visit), "Cheaper bikes")
    accepted = await admin.post(f"/api/themes/{theme_id}/accept")
    assert accepted.status_code == 200 and await status_of(theme_id) == "accepted"
