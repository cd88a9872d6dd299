"""One coherent calendar, for polls (issue 17): one AGM poll per edition and country (a later
one replaces the earlier with a reason), and a poll's voting window inside its country's AGM
vote phase (or a reason to hold it outside). Through the service, the JSON API and the form; a
refusal writes nothing."""

from __future__ import annotations

import asyncio
import html
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core import clock
from core.audit.tables import AuditEntry
from core.editions import services as editions
from core.editions.services import AGM_VOTE, PROPOSALS, PhaseWindow
from core.errors import Conflict, InvalidInput
from core.formats import day
from core.members.model import CurrentMember
from core.members.services import load_member
from core.plugins import build_registry
from core.polls import services as polls
from core.polls.tables import Participation, Poll, PollCandidate
from core.recommendations.record import edition_record
from core.rules import Rules
from core.themes import services as themes
from tests.conftest import add_member, csrf_token, sign_in
from tests.poll_support import (
    name_tellers,
    open_box,
    voters_added_after_opening,  # noqa: F401 (the fixture)
)

SLUG = "2020-2021"
TITLES = ("Accompaniment", "New prospects", "Gender equality", "Sharing economy")


@pytest.fixture
def rules(pooled: Any) -> Rules:
    return Rules(build_registry(pooled), pooled)


def agm_phase() -> PhaseWindow:
    """BE's AGM vote phase: from yesterday to ten days from now."""
    today = clock.today()
    return PhaseWindow(AGM_VOTE, today - timedelta(days=1), today + timedelta(days=10))


async def setup(rules: Rules) -> tuple[int, CurrentMember]:
    """An edition with four themes for BE and FR, BE's AGM vote phase around today, FR with
    no calendar, and an operator of both countries."""
    edition_id = await editions.create_edition(SLUG)
    board = await load_member(await add_member("board@example.org", roles=(("board", ""),)))
    for title in TITLES:
        await themes.add_board_theme(
            rules, board, edition_id, ["BE", "FR"], themes.ThemeTextIn(title=title, language="en")
        )
    await editions.set_calendar(edition_id, "BE", [agm_phase()])
    operator = await load_member(
        await add_member("op@example.org", roles=(("operator", "BE"), ("operator", "FR")))
    )
    assert operator is not None
    return edition_id, operator


def inside() -> tuple[datetime, datetime]:
    now = clock.now()
    return now - timedelta(minutes=5), now + timedelta(days=2)


async def create(
    rules: Rules,
    operator: CurrentMember,
    edition_id: int,
    country: str = "BE",
    window: tuple[datetime, datetime] | None = None,
    **extra: Any,
) -> int:
    opens_at, closes_at = window or inside()
    return await polls.create_poll(
        rules, operator, edition_id, country, "approval", 2, opens_at, closes_at, **extra
    )


async def snapshot() -> tuple[list[tuple[int, str]], int, int]:
    """Everything creating a poll writes: the polls and their states, candidates, audit log."""
    rows = await Poll.select(Poll.id, Poll.state).order_by(Poll.id)
    return (
        [(r["id"], r["state"]) for r in rows],
        await PollCandidate.count(),
        await AuditEntry.count(),
    )


async def creations() -> list[dict[str, Any]]:
    rows = await (
        AuditEntry.select(AuditEntry.object_id, AuditEntry.details)
        .where(AuditEntry.action == "poll.create")
        .order_by(AuditEntry.seq)
    )
    return [{"poll": int(r["object_id"]), **json.loads(r["details"])} for r in rows]


async def state_of(poll_id: int) -> str:
    return (await polls.get_poll(poll_id)).state


# -- one poll per edition and country ------------------------------------------------------------


async def test_a_second_poll_for_the_same_edition_and_country_is_refused(rules):
    edition_id, operator = await setup(rules)
    first = await create(rules, operator, edition_id)
    before = await snapshot()
    with pytest.raises(Conflict) as refused:
        await create(rules, operator, edition_id)
    assert refused.value.status_code == 409
    message = refused.value.message
    assert f"BE already has an AGM poll in {SLUG} (poll {first}, draft)" in message
    assert "replace" in message
    assert await snapshot() == before  # nothing written
    # Another country of the same edition has its own poll (FR has no calendar: not checked).
    other = await create(rules, operator, edition_id, "FR")
    assert (await polls.get_poll(other)).country == "FR"


async def test_two_creations_at_once_make_one_poll(rules):
    edition_id, operator = await setup(rules)
    results = await asyncio.gather(
        create(rules, operator, edition_id),
        create(rules, operator, edition_id),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "int"]
    assert await Poll.count() == 1


async def test_replacing_marks_the_earlier_poll_replaced_and_audits_the_reason(rules):
    edition_id, operator = await setup(rules)
    first = await create(rules, operator, edition_id)
    await name_tellers(rules, operator, first)
    second = await create(
        rules, operator, edition_id, replace=True, replace_reason="  Wrong method chosen.  "
    )
    assert await state_of(first) == polls.REPLACED
    assert await state_of(second) == polls.DRAFT
    audited = (await creations())[-1]
    assert audited["poll"] == second
    assert (audited["replaces"], audited["replace_reason"]) == ([first], "Wrong method chosen.")
    # The replaced poll stays listed, as replaced, and is never opened, voted in or counted.
    listed = {r["id"]: r["state"] for r in await polls.edition_polls(edition_id)}
    assert listed == {first: "replaced", second: "draft"}
    with pytest.raises(Conflict, match="Only a draft poll can be opened"):
        await polls.open_poll(rules, operator, first)
    voter = await load_member(await add_member("voter@example.org"))
    with pytest.raises(Conflict, match="not open"):
        await polls.cast(rules, voter, first, [1])
    await polls.close_poll(rules, operator, first)  # closes nothing
    assert await state_of(first) == polls.REPLACED
    with pytest.raises(Conflict, match="replaced"):
        await polls.count_poll(rules, operator, first, [])
    # The new poll is now the one: a third without "replace" is refused, naming it.
    with pytest.raises(Conflict, match=f"poll {second}, draft"):
        await create(rules, operator, edition_id)


async def test_the_record_counts_only_the_valid_poll(rules):
    edition_id, operator = await setup(rules)
    first = await create(rules, operator, edition_id)
    await open_box(rules, operator, first)  # opened, but no ballot yet: it can be replaced
    second = await create(
        rules, operator, edition_id, replace=True, replace_reason="Opened with the wrong dates."
    )
    assert await state_of(first) == polls.REPLACED
    box = await open_box(rules, operator, second)
    voters = [await load_member(await add_member(f"v{n}@example.org")) for n in range(3)]
    for voter in voters:
        await polls.cast(rules, voter, second, [1, 2])
    with pytest.raises(Conflict, match="not open"):  # the replaced poll takes no ballot
        await polls.cast(rules, voters[0], first, [1])
    await polls.close_poll(rules, operator, second)
    await box.count()
    record = await edition_record(await editions.get_edition(SLUG), "en")
    be = next(c for c in record.countries if c.country == "BE")
    assert be.agm_poll_ids == [second]
    assert be.agm_voters == 3


async def test_a_poll_with_ballots_or_a_result_cannot_be_replaced(rules):
    edition_id, operator = await setup(rules)
    first = await create(rules, operator, edition_id)
    box = await open_box(rules, operator, first)
    voter = await load_member(await add_member("voter@example.org"))
    await polls.cast(rules, voter, first, [1])
    before = await snapshot()
    with pytest.raises(Conflict, match=f"Poll {first} has ballots"):
        await create(rules, operator, edition_id, replace=True, replace_reason="Start again.")
    assert await snapshot() == before
    assert await state_of(first) == polls.OPEN
    assert await Participation.count() == 1
    await polls.close_poll(rules, operator, first)
    await box.count()
    with pytest.raises(Conflict, match="published result"):
        await create(rules, operator, edition_id, replace=True, replace_reason="Start again.")
    assert await state_of(first) == polls.PUBLISHED


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"replace": True, "replace_reason": ""}, "Give a reason for replacing"),
        ({"replace": True, "replace_reason": "   "}, "Give a reason for replacing"),
        ({"replace": True, "replace_reason": "ab"}, "Give a reason for replacing"),
        ({"replace": True, "replace_reason": "x" * 501}, "Give a reason for replacing"),
        ({"replace": True, "replace_reason": "bad\x00byte"}, "Give a reason for replacing"),
        ({"replace_reason": "No box ticked."}, "Tick “replace”"),
        ({"window_reason": "ab"}, "Give a reason for holding the poll outside"),
        ({"window_reason": "bad\x1bescape"}, "Give a reason for holding the poll outside"),
    ],
)
async def test_bad_reasons_are_refused_with_a_clear_message(rules, extra, message):
    edition_id, operator = await setup(rules)
    await create(rules, operator, edition_id)
    before = await snapshot()
    with pytest.raises(InvalidInput, match=message):
        await create(rules, operator, edition_id, **extra)
    assert await snapshot() == before


async def test_replacing_when_there_is_nothing_to_replace_is_refused(rules):
    edition_id, operator = await setup(rules)
    before = await snapshot()
    with pytest.raises(InvalidInput, match=f"There is no poll of BE in {SLUG} to replace"):
        await create(rules, operator, edition_id, replace=True, replace_reason="Just in case.")
    assert await snapshot() == before


# -- the voting window inside the AGM vote phase ---------------------------------------------


async def test_a_window_outside_the_agm_phase_is_refused_naming_the_phase_dates(rules):
    edition_id, operator = await setup(rules)
    phase = agm_phase()
    brussels = ZoneInfo("Europe/Brussels")
    start = datetime.combine(phase.starts_on, datetime.min.time(), tzinfo=brussels)
    end = datetime.combine(phase.ends_on + timedelta(days=1), datetime.min.time(), tzinfo=brussels)
    before = await snapshot()
    for window in (
        (start - timedelta(minutes=1), start + timedelta(days=1)),  # opens before the phase
        (start, end + timedelta(minutes=1)),  # closes after it
        (end + timedelta(days=1), end + timedelta(days=2)),  # wholly after it
    ):
        with pytest.raises(InvalidInput) as refused:
            await create(rules, operator, edition_id, window=window)
        message = refused.value.message
        assert refused.value.status_code == 400
        assert day(phase.starts_on) in message and day(phase.ends_on) in message
        assert "AGM vote" in message and "give a reason" in message
    assert await snapshot() == before
    # The phase's first and last days are whole days of the country's (Brussels) time.
    assert await create(rules, operator, edition_id, window=(start, end))


async def test_an_override_reason_lets_a_window_outside_the_phase_through_and_is_audited(rules):
    edition_id, operator = await setup(rules)
    later = clock.now() + timedelta(days=30)
    poll_id = await create(
        rules,
        operator,
        edition_id,
        window=(later, later + timedelta(days=1)),
        window_reason="The AGM was moved by the board.",
    )
    assert (await polls.get_poll(poll_id)).opens_at == later
    audited = (await creations())[-1]
    assert audited["poll"] == poll_id
    assert audited["outside_agm_phase"] == "The AGM was moved by the board."
    # Inside the phase, a reason changes nothing and is not recorded.
    other = await create(rules, operator, edition_id, "FR", window_reason="Not needed here.")
    assert "outside_agm_phase" not in (await creations())[-1] and other


async def test_a_calendar_without_an_agm_phase_asks_for_it_first(rules):
    edition_id, operator = await setup(rules)
    today = clock.today()
    await editions.set_calendar(
        edition_id, "BE", [PhaseWindow(PROPOSALS, today - timedelta(days=9), today)]
    )
    before = await snapshot()
    with pytest.raises(InvalidInput, match=f"AGM vote of {SLUG} has no dates for BE yet"):
        await create(rules, operator, edition_id)
    assert await snapshot() == before
    assert await create(rules, operator, edition_id, window_reason="Calendar comes later.")
    # A country with no calendar at all in the edition is not checked (FR here).
    assert await create(rules, operator, edition_id, "FR")


# -- the JSON API and the form -----------------------------------------------------------------


async def prepared(client: Any) -> tuple[int, str]:
    settings = client.app.state.settings
    rules = Rules(build_registry(settings), settings)
    edition_id, operator = await setup(rules)
    await sign_in(client, operator.id)
    return edition_id, await csrf_token(client)


def body(**fields: Any) -> dict[str, Any]:
    opens_at, closes_at = inside()
    return {
        "country": "BE",
        "method": "approval",
        "seats": 2,
        "opens_at": opens_at.isoformat(),
        "closes_at": closes_at.isoformat(),
        **fields,
    }


async def test_the_api_refuses_a_second_poll_and_a_window_outside_the_phase(client):
    _edition_id, csrf = await prepared(client)
    url, headers = f"/api/editions/{SLUG}/polls", {"x-csrftoken": csrf}
    first = await client.post(url, json=body(), headers=headers)
    assert first.status_code == 201, first.text
    first_id = first.json()["id"]
    before = await snapshot()

    again = await client.post(url, json=body(), headers=headers)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    assert f"poll {first_id}, draft" in again.json()["detail"]

    for fields in (
        {"replace": True, "replace_reason": " "},
        {"replace_reason": "No box ticked."},
        {"replace": "yes"},
    ):
        bad = await client.post(url, json=body(**fields), headers=headers)
        assert bad.status_code == 400, bad.text
        assert bad.headers["content-type"].startswith("application/problem+json")

    later = clock.now() + timedelta(days=40)
    window = {"opens_at": later.isoformat(), "closes_at": (later + timedelta(hours=2)).isoformat()}
    outside = await client.post(
        url, json=body(replace=True, replace_reason="New dates.", **window), headers=headers
    )
    assert outside.status_code == 400
    assert day(agm_phase().ends_on) in outside.json()["detail"]
    assert await snapshot() == before  # nothing changed by any refusal

    replaced = await client.post(
        url,
        json=body(
            replace=True,
            replace_reason="New dates.",
            window_reason="The AGM was moved.",
            **window,
        ),
        headers=headers,
    )
    assert replaced.status_code == 201, replaced.text
    assert replaced.json()["state"] == "draft"
    shown = await client.get(f"/api/polls/{first_id}")
    assert shown.json()["state"] == "replaced"
    audited = (await creations())[-1]
    assert (audited["replaces"], audited["replace_reason"]) == ([first_id], "New dates.")
    assert audited["outside_agm_phase"] == "The AGM was moved."


def form(csrf: str, **fields: str) -> dict[str, str]:
    opens_at, closes_at = inside()
    return {
        "_csrf_token": csrf,
        "country": "BE",
        "method": "approval",
        "seats": "2",
        "opens_at": opens_at.strftime("%Y-%m-%dT%H:%M"),
        "closes_at": closes_at.strftime("%Y-%m-%dT%H:%M"),
        **fields,
    }


async def test_the_form_shows_the_refusal_again_and_carries_replace_and_override(client):
    _edition_id, csrf = await prepared(client)
    url = f"/editions/{SLUG}/polls"
    listing = (await client.get(url)).text
    for field in ('name="replace"', 'name="replace_reason"', 'name="window_reason"'):
        assert field in listing
    assert day(agm_phase().starts_on) in listing  # the phase's dates are shown, as people read

    created = await client.post(url, data=form(csrf), follow_redirects=False)
    assert created.status_code == 303, created.text
    first_id = int(created.headers["location"].rsplit("/", 1)[1])
    before = await snapshot()

    again = await client.post(url, data=form(csrf, quorum="3"), follow_redirects=False)
    assert again.status_code == 409
    page = html.unescape(again.text)
    assert 'id="poll-error"' in page and f"poll {first_id}, draft" in page
    assert 'name="quorum" type="number" min="1" value="3"' in page  # the form as it was sent

    empty = await client.post(
        url, data=form(csrf, replace="1", replace_reason=""), follow_redirects=False
    )
    assert empty.status_code == 400
    assert "Give a reason for replacing" in html.unescape(empty.text)
    assert 'id="replace" name="replace" value="1" aria-describedby="one-poll" checked' in empty.text

    later = clock.now() + timedelta(days=40)
    moved = {
        "opens_at": later.strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (later + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
    }
    outside = await client.post(
        url,
        data=form(csrf, replace="1", replace_reason="New dates.", **moved),
        follow_redirects=False,
    )
    assert outside.status_code == 400
    assert day(agm_phase().ends_on) in html.unescape(outside.text)
    assert await snapshot() == before

    replaced = await client.post(
        url,
        data=form(
            csrf,
            replace="1",
            replace_reason="New dates.",
            window_reason="The AGM was moved.",
            **moved,
        ),
        follow_redirects=False,
    )
    assert replaced.status_code == 303, replaced.text
    assert await state_of(first_id) == polls.REPLACED
    shown = await client.get(f"/polls/{first_id}")
    assert shown.status_code == 200 and 'id="poll-replaced"' in shown.text
    listed = (await client.get(url)).text
    assert f'href="/polls/{first_id}"' in listed and ">replaced</span>" in listed


def test_the_phase_boundaries_are_whole_days_of_the_country_s_time() -> None:
    edition = editions.EditionInfo(
        id=1,
        slug=SLUG,
        calendars=[
            editions.CountryCalendar(
                "BE", [PhaseWindow(AGM_VOTE, date(2021, 6, 3), date(2021, 6, 14))], None
            )
        ],
    )
    # Midnight in Brussels in June is 22:00 UTC the day before.
    first = datetime(2021, 6, 2, 22, tzinfo=UTC)
    after_last = datetime(2021, 6, 14, 22, tzinfo=UTC)
    assert polls.agm_window_problem(edition, "BE", first, after_last) is None
    assert polls.agm_window_problem(edition, "BE", first - timedelta(seconds=1), after_last)
    assert polls.agm_window_problem(edition, "BE", first, after_last + timedelta(seconds=1))
    assert polls.agm_window_problem(edition, "FR", first, after_last) is None  # no calendar
    # A time without an offset is the country's local time, as an operator types it.
    local_first, local_after_last = datetime(2021, 6, 3), datetime(2021, 6, 15)
    assert polls.agm_window_problem(edition, "BE", local_first, local_after_last) is None
    assert polls.agm_window_problem(
        edition, "BE", local_first - timedelta(minutes=1), local_after_last
    )
