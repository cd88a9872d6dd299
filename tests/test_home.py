"""The home page answers "what's next for me": a member sees their open vote with its deadline
and whether they voted (never how), their proposals, supports, groups and unread notices; an
operator the counts of what waits for them; the board what awaits its decision; a visitor
what is open now in each country. The JSON twin carries the same."""

from __future__ import annotations

from datetime import timedelta

from core import clock, formats
from core.editions import services as editions
from core.editions.services import PhaseWindow
from core.groups.tables import Meeting
from core.i18n import current_language
from core.members.services import load_member
from core.plugins import build_registry
from core.polls import services as polls
from core.rules import Rules
from core.themes import services as themes
from tests.conftest import add_member, sign_in
from tests.poll_support import (
    open_with_tellers,
    voters_added_after_opening,  # noqa: F401 (the fixture)
)
from tests.recommendations_support import build_cycle

SLUG = "2020-2021"


def rules_of(client) -> Rules:
    settings = client.app.state.settings
    return Rules(build_registry(settings), settings)


def around_today(phase: str) -> list[PhaseWindow]:
    """A calendar in which ``phase`` is open today, the next phase from tomorrow in a week."""
    today = clock.today()
    order = editions.PHASES[:-1]
    at = order.index(phase)
    windows = []
    for i, name in enumerate(order):
        start = today + timedelta(days=(i - at) * 10 - (3 if i == at else 0))
        windows.append(PhaseWindow(name, start, start + timedelta(days=6 if i != at else 9)))
    return windows


async def open_poll(client) -> tuple[int, int]:
    """An edition with board themes and an open BE poll; returns (poll id, operator id)."""
    rules = rules_of(client)
    edition_id = await editions.create_edition(SLUG)
    board = await load_member(await add_member("board@example.org", roles=(("board", ""),)))
    for title in ("Accompaniment", "New prospects", "Gender equality"):
        await themes.add_board_theme(
            rules, board, edition_id, ["BE"], themes.ThemeTextIn(title=title, language="en")
        )
    operator_id = await add_member("op@example.org", roles=(("operator", "BE"),))
    operator = await load_member(operator_id)
    now = clock.now()
    poll_id = await polls.create_poll(
        rules,
        operator,
        edition_id,
        "BE",
        "approval",
        2,
        now - timedelta(minutes=5),
        now + timedelta(hours=2),
    )
    await open_with_tellers(rules, operator, poll_id)
    return poll_id, operator_id


async def test_a_member_sees_the_open_vote_its_deadline_and_whether_they_voted(client):
    poll_id, _ = await open_poll(client)
    voter_id = await add_member("voter@example.org", name="Vera Voter")
    await sign_in(client, voter_id)
    poll = await polls.get_poll(poll_id)
    token = current_language.set("en")
    try:
        deadline = formats.moment(poll.closes_at, "BE")
    finally:
        current_language.reset(token)
    page = await client.get("/")
    assert page.status_code == 200
    assert "Not voted yet" in page.text and "You have voted" not in page.text
    assert deadline in page.text
    assert f'href="/polls/{poll_id}"' in page.text
    twin = (await client.get("/api/home")).json()
    assert twin["agenda"]["open_votes"] == [
        {
            "poll_id": poll_id,
            "edition": SLUG,
            "country": "BE",
            "closes_at": twin["agenda"]["open_votes"][0]["closes_at"],
            "voted": False,
        }
    ]
    await polls.cast(rules_of(client), await load_member(voter_id), poll_id, [1])
    page = await client.get("/")
    assert "You have voted" in page.text and "Not voted yet" not in page.text
    twin = (await client.get("/api/home")).json()
    assert twin["agenda"]["open_votes"][0]["voted"] is True
    # Whether, never how: nothing of the choice is on the home or its twin.
    assert "choice" not in page.text and "Accompaniment" not in page.text
    assert "choice" not in str(twin) and "Accompaniment" not in str(twin)


async def test_a_non_shareholder_has_no_vote_to_cast(client):
    await open_poll(client)
    await sign_in(client, await add_member("friend@example.org", shareholder=False))
    twin = (await client.get("/api/home")).json()
    assert twin["agenda"]["open_votes"] == []
    assert "Not voted yet" not in (await client.get("/")).text


async def test_a_draft_poll_to_come_says_when_the_vote_opens(client):
    rules = rules_of(client)
    edition_id = await editions.create_edition(SLUG)
    board = await load_member(await add_member("board@example.org", roles=(("board", ""),)))
    for title in ("Ethics", "Housing"):
        await themes.add_board_theme(
            rules, board, edition_id, ["BE"], themes.ThemeTextIn(title=title, language="en")
        )
    operator = await load_member(await add_member("op@example.org", roles=(("operator", "BE"),)))
    now = clock.now()
    poll_id = await polls.create_poll(
        rules,
        operator,
        edition_id,
        "BE",
        "approval",
        1,
        now + timedelta(days=2),
        now + timedelta(days=3),
    )
    await sign_in(client, await add_member("voter@example.org"))
    page = await client.get("/")
    assert "The vote of Belgium opens on" in page.text
    assert (await client.get("/api/home")).json()["agenda"]["coming_votes"][0]["poll_id"] == poll_id


async def test_the_phase_now_and_next_for_members_and_visitors(client):
    edition_id = await editions.create_edition(SLUG)
    await editions.set_calendar(edition_id, "BE", around_today("proposals"))
    visitor = await client.get("/")
    assert "Now: Theme proposals until" in visitor.text
    assert "Next: AGM vote from" in visitor.text
    assert "Sign in to take part" in visitor.text
    twin = (await client.get("/api/home")).json()
    be = next(n for n in twin["now"] if n["country"] == "BE")
    assert be["edition"] == SLUG and be["phase"] == "proposals"
    assert be["next_phase"] == "agm_vote"
    assert twin["agenda"] is None and twin["operator"] is None and twin["board"] is None
    member_id = await add_member("member@example.org")
    await sign_in(client, member_id)
    page = await client.get("/")
    assert "What&#39;s next for you" in page.text or "What's next for you" in page.text
    assert "You made 0 proposals." in page.text
    assert "0 unread notifications" in page.text
    twin = (await client.get("/api/home")).json()
    assert twin["agenda"]["edition"] == SLUG
    assert twin["agenda"]["now"]["phase"] == "proposals"


async def test_an_operator_counts_what_waits_and_a_member_sees_their_support(client):
    rules = rules_of(client)
    edition_id = await editions.create_edition(SLUG)
    await editions.set_calendar(edition_id, "BE", around_today("proposals"))
    proposer = await load_member(await add_member("prop@example.org"))
    theme_id = await themes.propose(
        rules, proposer, edition_id, themes.ThemeTextIn(title="Repair cafés", language="en")
    )
    operator_id = await add_member("op@example.org", roles=(("operator", "BE"),))
    await sign_in(client, operator_id)
    assert "0 proposals waiting for moderation" in (await client.get("/")).text
    await themes.submit(rules, proposer, theme_id)
    page = await client.get("/")
    assert "1 proposal waiting for moderation" in page.text
    assert "0 failed deliveries" in page.text
    assert "0 registrations on a waiting list" in page.text
    operator = (await client.get("/api/home")).json()["operator"]
    assert operator["moderation"] == 1 and operator["countries"] == ["BE"]
    assert operator["polls_to_open"] == [] and operator["polls_to_close"] == []

    supporter_id = await add_member("fan@example.org")
    await themes.support(rules, await load_member(supporter_id), theme_id)
    await sign_in(client, supporter_id)
    page = await client.get("/")
    assert "You support:" in page.text and "Repair cafés" in page.text
    twin = (await client.get("/api/home")).json()
    assert [t["id"] for t in twin["agenda"]["supports"]] == [theme_id]
    assert twin["operator"] is None and twin["board"] is None


async def test_an_operator_sees_a_poll_to_open(client):
    rules = rules_of(client)
    edition_id = await editions.create_edition(SLUG)
    board = await load_member(await add_member("board@example.org", roles=(("board", ""),)))
    for title in ("Ethics", "Housing"):
        await themes.add_board_theme(
            rules, board, edition_id, ["BE"], themes.ThemeTextIn(title=title, language="en")
        )
    operator_id = await add_member("op@example.org", roles=(("operator", "BE"),))
    now = clock.now()
    poll_id = await polls.create_poll(
        rules,
        await load_member(operator_id),
        edition_id,
        "BE",
        "approval",
        1,
        now - timedelta(minutes=1),
        now + timedelta(hours=1),
    )
    await sign_in(client, operator_id)
    page = await client.get("/")
    assert "1 poll to open" in page.text and f'href="/polls/{poll_id}"' in page.text
    assert [
        p["id"] for p in (await client.get("/api/home")).json()["operator"]["polls_to_open"]
    ] == [poll_id]


async def test_the_board_sees_what_awaits_its_decision_and_a_member_their_next_meeting(
    client, database
):
    cycle = await build_cycle(database)
    await sign_in(client, cycle.board.id)
    assert "0 recommendations awaiting a decision" in (await client.get("/")).text
    await cycle.bundled("BE")
    page = await client.get("/")
    assert "1 recommendation awaiting a decision" in page.text and 'href="/bundles"' in page.text
    assert (await client.get("/api/home")).json()["board"] == {"awaiting_decision": 1}

    participant = cycle.participants["BE"][0]
    starts = clock.now() + timedelta(days=3)
    await Meeting.insert(
        Meeting(
            working_group=cycle.group_be,
            number=3,
            starts_at=starts,
            duration_minutes=120,
            mode="in_person",
            place="Rue Coenraets 72, Brussels",
        )
    )
    await sign_in(client, participant.id)
    page = await client.get("/")
    assert "Next meeting:" in page.text and "Rue Coenraets 72, Brussels" in page.text
    groups = (await client.get("/api/home")).json()["agenda"]["groups"]
    assert groups[0]["id"] == cycle.group_be and groups[0]["next_meeting"]["number"] == 3
    # A participant sees nothing of the board's or operators' work.
    assert "awaiting a decision" not in page.text


async def test_the_edition_page_says_what_is_open_and_what_comes_next(client):
    edition_id = await editions.create_edition(SLUG)
    windows = around_today("proposals")
    await editions.set_calendar(edition_id, "BE", windows)
    page = await client.get(f"/editions/{SLUG}")
    assert page.status_code == 200
    token = current_language.set("en")
    try:
        until, starts = formats.day(windows[0].ends_on), formats.day(windows[1].starts_on)
    finally:
        current_language.reset(token)
    assert f"Now: Theme proposals until {until}" in page.text
    assert f"Next: AGM vote from {starts}" in page.text
    for link in ("polls", "groups", "themes?country=BE"):
        assert f'href="/editions/{SLUG}/{link}"' in page.text
    assert f'href="/record/{SLUG}"' in page.text
    # People read days, the markup keeps ISO dates.
    iso = windows[0].starts_on.isoformat()
    assert f'datetime="{iso}"' in page.text
    assert f">{iso}<" not in page.text
