"""The theme list lets a member support a proposal, or take their support back, with a small
form per theme (no JavaScript): the form comes back to the list, a ``next`` that leaves the
site is ignored, and a refusal shows its message."""

from __future__ import annotations

from datetime import timedelta

from core import clock
from core.editions import services as editions
from core.editions.services import PhaseWindow
from core.members.services import load_member
from core.plugins import build_registry
from core.rules import Rules
from core.themes import services as themes
from core.themes.tables import Support
from tests.conftest import add_member, csrf_token, sign_in

SLUG = "2020-2021"
LIST = f"/editions/{SLUG}/themes?sort=newest"


async def proposal(client) -> int:
    """An edition in its proposal phase with one submitted member proposal (BE)."""
    settings = client.app.state.settings
    rules = Rules(build_registry(settings), settings)
    edition_id = await editions.create_edition(SLUG)
    today = clock.today()
    await editions.set_calendar(
        edition_id,
        "BE",
        [
            PhaseWindow("proposals", today - timedelta(days=3), today + timedelta(days=3)),
            PhaseWindow("agm_vote", today + timedelta(days=5), today + timedelta(days=9)),
        ],
    )
    proposer = await load_member(await add_member("prop@example.org", name="Paula Proposer"))
    theme_id = await themes.propose(
        rules, proposer, edition_id, themes.ThemeTextIn(title="Repair cafés", language="en")
    )
    await themes.submit(rules, proposer, theme_id)
    return theme_id


async def test_support_and_withdraw_from_the_list(client):
    theme_id = await proposal(client)
    member_id = await add_member("fan@example.org")
    await sign_in(client, member_id)
    csrf = await csrf_token(client)
    listed = await client.get(LIST)
    assert f'action="/themes/{theme_id}/support"' in listed.text
    assert 'name="next" value="/editions/2020-2021/themes?sort=newest"' in listed.text
    assert "0 supports" in listed.text

    done = await client.post(
        f"/themes/{theme_id}/support",
        data={"_csrf_token": csrf, "next": LIST},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == LIST
    assert await Support.count().where(Support.member == member_id) == 1
    listed = await client.get(LIST)
    assert "You support this proposal." in listed.text and "1 support" in listed.text
    assert f'action="/themes/{theme_id}/unsupport"' in listed.text
    twin = (await client.get(f"/api/editions/{SLUG}/themes")).json()
    assert twin["supported_by_me"] == [theme_id]

    done = await client.post(
        f"/themes/{theme_id}/unsupport",
        data={"_csrf_token": csrf, "next": LIST},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == LIST
    assert await Support.count() == 0
    assert f'action="/themes/{theme_id}/support"' in (await client.get(LIST)).text


async def test_a_next_off_the_site_is_ignored(client):
    theme_id = await proposal(client)
    await sign_in(client, await add_member("fan@example.org"))
    csrf = await csrf_token(client)
    for evil in ("//evil.example", "https://evil.example", "/\\evil.example", "evil.example"):
        for action in ("support", "unsupport"):
            done = await client.post(
                f"/themes/{theme_id}/{action}",
                data={"_csrf_token": csrf, "next": evil},
                follow_redirects=False,
            )
            assert done.status_code == 303, done.text
            assert done.headers["location"] == f"/themes/{theme_id}"


async def test_a_refusal_shows_its_message_and_changes_nothing(client):
    theme_id = await proposal(client)
    await sign_in(client, await add_member("fan@example.org"))
    csrf = await csrf_token(client)
    refused = await client.post(
        f"/themes/{theme_id}/unsupport", data={"_csrf_token": csrf, "next": LIST}
    )
    assert refused.status_code == 409 and "You do not support this proposal." in refused.text
    await client.post(f"/themes/{theme_id}/support", data={"_csrf_token": csrf, "next": LIST})
    again = await client.post(
        f"/themes/{theme_id}/support", data={"_csrf_token": csrf, "next": LIST}
    )
    assert again.status_code == 409 and "You already support this proposal." in again.text
    assert await Support.count() == 1


async def test_no_support_form_for_visitors_the_proposer_or_outside_the_phase(client):
    theme_id = await proposal(client)
    listed = await client.get(f"/editions/{SLUG}/themes?country=BE")
    assert f"/themes/{theme_id}/support" not in listed.text
    assert (await client.get(f"/api/editions/{SLUG}/themes")).json()["supported_by_me"] == []
    await sign_in(client, await add_member("other@example.org", country="FR"))
    listed = await client.get(f"/editions/{SLUG}/themes?country=BE")
    assert "Repair cafés" in listed.text
    assert f"/themes/{theme_id}/support" not in listed.text
