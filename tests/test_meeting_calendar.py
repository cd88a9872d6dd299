"""Meetings follow the edition's calendar, not its name: a candidate slot (and a confirmed
meeting) lies in the working-group phase of the group's country and is still to come, through
the service, the JSON API and the form; a refusal changes nothing, and says the phase's dates
in the reader's language. A country whose calendar has no working-group phase is refused, as
any action is whose phase has no dates (``require_phase``: 403).

The groups' tests run on ``PLANNING_DAY`` (14 October 2020); the calendar here gives Belgium a
working-group phase from 10 November 2020 to 20 April 2021, unlike the November-April that
the edition's name 2020-2021 once implied. Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from core import clock
from core.editions import services as editions
from core.errors import Forbidden, InvalidInput
from core.groups import planning
from core.groups.planning import SlotIn
from core.groups.tables import Meeting, MeetingSlot
from core.i18n import current_language
from core.members.tables import Member
from tests.conftest import csrf_token, sign_in
from tests.groups_support import PLANNING_DAY, build_cycle, calendar, counts

FIRST, LAST = date(2020, 11, 10), date(2021, 4, 20)
PHASE_EN = "from 10 November 2020 to 20 April 2021"
PHASE_FR = "10 novembre 2020"
# Later in the phase: 1 December 2020, noon UTC.
IN_THE_PHASE = datetime(2020, 12, 1, 12, tzinfo=UTC)


@pytest.fixture
async def cycle(client):
    with clock.frozen_at(PLANNING_DAY):
        found = await build_cycle(client.app.state.settings, registry=client.app.state.registry)
        await calendar(found.edition_id, working_groups=(FIRST, LAST))
        yield found


def slot_at(day: str, hour: int = 19) -> SlotIn:
    return SlotIn(
        starts_at=datetime.fromisoformat(f"{day}T{hour:02d}:00"), place="Rue Coenraets 72"
    )


async def form(client, path: str, **fields):
    return await client.post(path, data={"_csrf_token": await csrf_token(client), **fields})


async def api(client, method: str, path: str, body=None):
    return await client.request(
        method, path, json=body, headers={"x-csrftoken": await csrf_token(client)}
    )


def problem(response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert words in response.json()["detail"], response.json()["detail"]


def slot_form(day: str, start: str = "19:00") -> dict[str, str]:
    return {
        "day": day,
        "start": start,
        "duration": "180",
        "mode": "in_person",
        "place": "Rue Coenraets 72",
    }


# -- the service -------------------------------------------------------------------------------


async def test_the_service_keeps_slots_in_the_phase_and_to_come(client, cycle):
    group_id = await cycle.group()
    before = await counts()
    for bad, words in (
        (slot_at("2020-11-09"), PHASE_EN),  # the day before the phase
        (slot_at("2020-11-01"), PHASE_EN),  # in the months the edition's name once gave
        (slot_at("2021-04-21"), PHASE_EN),  # the day after the phase
        (slot_at("2021-04-20", hour=23), PHASE_EN),  # ends after the phase's last day
    ):
        with pytest.raises(InvalidInput, match=words):
            await planning.add_slot(cycle.facilitator, group_id, bad)
    with clock.frozen_at(IN_THE_PHASE):
        for past in (slot_at("2020-11-24"), slot_at("2020-12-01", hour=9)):
            with pytest.raises(InvalidInput, match="has passed.*20 April 2021"):
                await planning.add_slot(cycle.facilitator, group_id, past)
    assert await counts() == before

    first = await planning.add_slot(cycle.facilitator, group_id, slot_at("2020-11-10"))
    assert first.starts_at == datetime(2020, 11, 10, 18, tzinfo=UTC)  # 19:00 in Brussels
    with clock.frozen_at(IN_THE_PHASE):
        later = await planning.add_slot(cycle.facilitator, group_id, slot_at("2020-12-01"))
    last = await planning.add_slot(cycle.facilitator, group_id, slot_at("2021-04-20", hour=9))
    assert [s.id for s in (first, later, last)] == sorted(
        r["id"] for r in await MeetingSlot.select(MeetingSlot.id)
    )


async def test_the_message_names_the_phase_in_the_readers_language(client, cycle):
    group_id = await cycle.group()
    token = current_language.set("fr")
    try:
        with pytest.raises(InvalidInput) as refused:
            await planning.add_slot(cycle.facilitator, group_id, slot_at("2020-11-09"))
    finally:
        current_language.reset(token)
    assert PHASE_FR in refused.value.message and "20 avril 2021" in refused.value.message


async def test_a_plan_whose_slots_have_passed_is_refused(client, cycle):
    group_id = await cycle.group(meeting_count=1)
    await planning.add_slot(cycle.facilitator, group_id, slot_at("2020-11-17"))
    before = await counts()
    with clock.frozen_at(IN_THE_PHASE), pytest.raises(InvalidInput, match="has passed"):
        await planning.confirm_plan(cycle.rules, cycle.facilitator, group_id)
    assert await counts() == before and await Meeting.count() == 0
    (meeting,) = await planning.confirm_plan(cycle.rules, cycle.facilitator, group_id)
    assert meeting.starts_at == datetime(2020, 11, 17, 18, tzinfo=UTC)


# -- the JSON API and the form -----------------------------------------------------------------


async def test_the_api_refuses_slots_outside_the_phase_or_past(client, cycle):
    group_id = await cycle.group()
    await sign_in(client, cycle.facilitator.id)
    path = f"/api/groups/{group_id}/slots"
    slot = {"duration_minutes": 180, "mode": "in_person", "place": "Rue Coenraets 72"}
    before = await counts()
    for starts_at in ("2020-11-09T19:00:00", "2021-04-21T19:00:00", "2020-11-01T19:00:00"):
        problem(await api(client, "POST", path, {**slot, "starts_at": starts_at}), 400, PHASE_EN)
    # A facilitator who reads French gets the dates in French.
    await Member.update({Member.language: "fr"}).where(Member.id == cycle.facilitator.id)
    problem(
        await api(client, "POST", path, {**slot, "starts_at": "2020-11-09T19:00:00"}), 400, PHASE_FR
    )
    await Member.update({Member.language: "en"}).where(Member.id == cycle.facilitator.id)
    with clock.frozen_at(IN_THE_PHASE):
        problem(
            await api(client, "POST", path, {**slot, "starts_at": "2020-11-24T19:00:00"}),
            400,
            "has passed",
        )
    assert await counts() == before

    added = await api(client, "POST", path, {**slot, "starts_at": "2020-11-10T19:00:00"})
    assert added.status_code == 201, added.text
    assert added.json()["starts_at"].startswith("2020-11-10T18:00:00")
    assert await MeetingSlot.count() == 1


async def test_the_form_shows_the_phase_and_refuses_slots_outside_it(client, cycle):
    group_id = await cycle.group()
    await sign_in(client, cycle.facilitator.id)
    page = await client.get(f"/groups/{group_id}")
    assert 'min="2020-11-10"' in page.text and 'max="2021-04-20"' in page.text
    assert "10 November 2020" in page.text
    with clock.frozen_at(IN_THE_PHASE):
        page = await client.get(f"/groups/{group_id}")
    assert 'min="2020-12-01"' in page.text and 'max="2021-04-20"' in page.text

    path = f"/groups/{group_id}/slots"
    before = await counts()
    for day in ("2020-11-09", "2021-04-21", "2021-04-30"):
        refused = await form(client, path, **slot_form(day))
        assert refused.status_code == 400 and PHASE_EN in refused.text
        assert 'id="slot-form"' in refused.text and f'value="{day}"' in refused.text
    with clock.frozen_at(IN_THE_PHASE):
        past = await form(client, path, **slot_form("2020-12-01", start="09:00"))
    assert past.status_code == 400 and "has passed" in past.text
    assert 'value="2020-12-01"' in past.text
    assert await counts() == before

    added = await form(client, path, **slot_form("2021-04-20", start="09:00"))
    assert added.status_code == 200 and "Rue Coenraets 72" in added.text
    assert await MeetingSlot.count() == 1


# -- a calendar without a working-group phase --------------------------------------------------


async def test_a_country_without_a_working_group_phase_is_refused(client, cycle):
    group_id = await cycle.group()
    await editions.set_calendar(
        cycle.edition_id,
        "BE",
        [editions.PhaseWindow("registration", date(2020, 10, 11), date(2020, 10, 31))],
    )
    words = "must have a working-group phase"
    await sign_in(client, cycle.facilitator.id)
    before = await counts()
    with pytest.raises(Forbidden, match=words):
        await planning.add_slot(cycle.facilitator, group_id, slot_at("2020-11-17"))
    slot = {"starts_at": "2020-11-17T19:00:00", "place": "Rue Coenraets 72"}
    problem(await api(client, "POST", f"/api/groups/{group_id}/slots", slot), 403, words)
    page = await client.get(f"/groups/{group_id}")
    assert "no working-group phase" in page.text and 'min="2020' not in page.text
    refused = await form(client, f"/groups/{group_id}/slots", **slot_form("2020-11-17"))
    assert refused.status_code == 403 and words in refused.text
    assert 'id="slot-form"' in refused.text
    assert await counts() == before

    # France keeps its phase: its groups still plan their meetings.
    french = await cycle.group("FR")
    assert (await planning.add_slot(cycle.facilitator, french, slot_at("2020-11-17"))).id
