"""Editions and their per-country calendars: names, phase order, the phase open on a day."""

from __future__ import annotations

from datetime import date

import pytest

from core.editions.services import (
    AGM_VOTE,
    CLOSED,
    PROPOSALS,
    REGISTRATION,
    PhaseWindow,
    create_edition,
    get_edition,
    get_edition_by_id,
    list_editions,
    require_phase,
    set_calendar,
)
from core.editions.tables import Edition, EditionPhase
from core.errors import Conflict, Forbidden, InvalidInput, NotFound

# The Belgian calendar of 2021-2022 the tests use: three phases with gaps between them.
BE_CALENDAR = [
    PhaseWindow(PROPOSALS, date(2021, 9, 1), date(2021, 10, 31)),
    PhaseWindow(AGM_VOTE, date(2021, 11, 10), date(2021, 11, 20)),
    PhaseWindow(REGISTRATION, date(2021, 12, 1), date(2021, 12, 15)),
]
# France runs a month later.
FR_CALENDAR = [
    PhaseWindow(PROPOSALS, date(2021, 10, 1), date(2021, 11, 30)),
    PhaseWindow(AGM_VOTE, date(2021, 12, 10), date(2021, 12, 20)),
]


async def stored_calendar(edition_id: int, country: str) -> list[tuple[str, date, date]]:
    rows = await EditionPhase.select().where(
        (EditionPhase.edition == edition_id) & (EditionPhase.country == country)
    )
    return sorted((r["phase"], r["starts_on"], r["ends_on"]) for r in rows)


async def edition_with_calendars() -> int:
    edition_id = await create_edition("2021-2022")
    await set_calendar(edition_id, "BE", BE_CALENDAR)
    await set_calendar(edition_id, "FR", FR_CALENDAR)
    return edition_id


# -- names ----------------------------------------------------------------------------------------


async def test_an_edition_is_named_after_its_two_consecutive_years(database):
    edition_id = await create_edition("2021-2022")
    edition = await get_edition("2021-2022")
    assert edition.id == edition_id
    assert edition.slug == "2021-2022"
    assert edition.calendars == []
    assert (await get_edition_by_id(edition_id)).slug == "2021-2022"


@pytest.mark.parametrize("slug", ["2021-2023", "2022-2021", "2021-2021", "abc", "2021", ""])
async def test_a_badly_named_edition_is_refused_and_nothing_is_created(database, slug):
    with pytest.raises(InvalidInput, match="named after its two years, like 2021-2022"):
        await create_edition(slug)
    assert await Edition.count() == 0


async def test_an_edition_exists_only_once(database):
    await create_edition("2021-2022")
    with pytest.raises(Conflict, match="The edition 2021-2022 exists already"):
        await create_edition("2021-2022")
    with pytest.raises(Conflict, match="exists already"):
        await create_edition(" 2021-2022 ")
    assert await Edition.count() == 1


async def test_unknown_editions_are_not_found(database):
    with pytest.raises(NotFound, match="There is no edition 2030-2031"):
        await get_edition("2030-2031")
    with pytest.raises(NotFound):
        await get_edition_by_id(999)
    with pytest.raises(NotFound):
        await set_calendar(999, "BE", BE_CALENDAR)


async def test_editions_are_listed_newest_first(database):
    for slug in ("2020-2021", "2022-2023", "2021-2022"):
        await create_edition(slug)
    assert [e.slug for e in await list_editions()] == ["2022-2023", "2021-2022", "2020-2021"]


# -- calendars ------------------------------------------------------------------------------------


async def test_a_calendar_is_stored_in_the_cycles_order(database):
    edition_id = await create_edition("2021-2022")
    await set_calendar(edition_id, "BE", list(reversed(BE_CALENDAR)))
    edition = await get_edition_by_id(edition_id, today=date(2021, 9, 15))
    calendar = edition.calendar("BE")
    assert calendar is not None
    assert calendar.phases == BE_CALENDAR
    assert calendar.window(AGM_VOTE) == BE_CALENDAR[1]
    assert calendar.window(REGISTRATION) == BE_CALENDAR[2]
    assert edition.calendar("FR") is None


async def test_setting_a_calendar_again_replaces_it(database):
    edition_id = await create_edition("2021-2022")
    await set_calendar(edition_id, "BE", BE_CALENDAR)
    shorter = [PhaseWindow(PROPOSALS, date(2021, 9, 5), date(2021, 9, 30))]
    await set_calendar(edition_id, "BE", shorter)
    assert await stored_calendar(edition_id, "BE") == [
        (PROPOSALS, date(2021, 9, 5), date(2021, 9, 30))
    ]
    await set_calendar(edition_id, "BE", [])
    assert await stored_calendar(edition_id, "BE") == []


BAD_CALENDARS = {
    "unknown phase": (
        [PhaseWindow("lunch", date(2021, 9, 1), date(2021, 9, 2))],
        "Unknown phase lunch",
    ),
    "ends before it starts": (
        [PhaseWindow(PROPOSALS, date(2021, 10, 31), date(2021, 9, 1))],
        "Theme proposals ends before it starts",
    ),
    "overlapping phases": (
        [
            PhaseWindow(PROPOSALS, date(2021, 9, 1), date(2021, 10, 31)),
            PhaseWindow(AGM_VOTE, date(2021, 10, 15), date(2021, 11, 20)),
        ],
        "AGM vote must start after Theme proposals ends",
    ),
    "touching phases": (
        [
            PhaseWindow(PROPOSALS, date(2021, 9, 1), date(2021, 10, 31)),
            PhaseWindow(AGM_VOTE, date(2021, 10, 31), date(2021, 11, 20)),
        ],
        "AGM vote must start after Theme proposals ends",
    ),
    "phases out of the cycle's order": (
        [
            PhaseWindow(AGM_VOTE, date(2021, 9, 1), date(2021, 9, 30)),
            PhaseWindow(PROPOSALS, date(2021, 10, 1), date(2021, 10, 31)),
        ],
        "AGM vote must start after Theme proposals ends",
    ),
    "a phase twice": (
        [
            PhaseWindow(PROPOSALS, date(2021, 9, 1), date(2021, 9, 10)),
            PhaseWindow(PROPOSALS, date(2021, 9, 20), date(2021, 9, 30)),
        ],
        "Each phase can appear only once",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CALENDARS))
async def test_a_bad_calendar_is_refused_and_the_previous_one_stays(database, case):
    windows, message = BAD_CALENDARS[case]
    edition_id = await create_edition("2021-2022")
    await set_calendar(edition_id, "BE", BE_CALENDAR)
    before = await stored_calendar(edition_id, "BE")
    with pytest.raises(InvalidInput, match=message):
        await set_calendar(edition_id, "BE", windows)
    assert await stored_calendar(edition_id, "BE") == before
    assert len(before) == len(BE_CALENDAR)


async def test_a_calendar_for_an_unknown_country_is_refused(database):
    edition_id = await create_edition("2021-2022")
    with pytest.raises(InvalidInput, match="Unknown country DE"):
        await set_calendar(edition_id, "DE", BE_CALENDAR)
    assert await EditionPhase.count() == 0


# -- the phase open on a day ----------------------------------------------------------------------

BE_DAYS = [
    (date(2021, 8, 31), None),  # before the first phase: nothing open yet
    (date(2021, 9, 1), PROPOSALS),  # first day, inclusive
    (date(2021, 10, 31), PROPOSALS),  # last day, inclusive
    (date(2021, 11, 5), None),  # between two phases
    (date(2021, 11, 10), AGM_VOTE),
    (date(2021, 11, 25), None),
    (date(2021, 12, 15), REGISTRATION),
    (date(2021, 12, 16), CLOSED),  # after the last phase
    (date(2023, 1, 1), CLOSED),
]


@pytest.mark.parametrize(("day", "phase"), BE_DAYS, ids=[str(d) for d, _ in BE_DAYS])
async def test_the_current_phase_on_a_given_day(database, day, phase):
    edition_id = await edition_with_calendars()
    assert (await get_edition_by_id(edition_id, today=day)).current_phase("BE") == phase
    assert (await get_edition("2021-2022", today=day)).current_phase("BE") == phase


async def test_belgian_and_french_calendars_are_independent(database):
    edition_id = await edition_with_calendars()
    early_october = await get_edition_by_id(edition_id, today=date(2021, 10, 15))
    assert early_october.current_phase("BE") == PROPOSALS
    assert early_october.current_phase("FR") == PROPOSALS
    mid_november = await get_edition_by_id(edition_id, today=date(2021, 11, 15))
    assert mid_november.current_phase("BE") == AGM_VOTE
    assert mid_november.current_phase("FR") == PROPOSALS
    september = await get_edition_by_id(edition_id, today=date(2021, 9, 15))
    assert september.current_phase("BE") == PROPOSALS
    assert september.current_phase("FR") is None
    # Changing France's calendar leaves Belgium's alone.
    await set_calendar(edition_id, "FR", [])
    assert await stored_calendar(edition_id, "BE") == sorted(
        (w.phase, w.starts_on, w.ends_on) for w in BE_CALENDAR
    )
    assert (await get_edition_by_id(edition_id)).calendar("FR") is None


async def test_a_country_without_a_calendar_has_no_current_phase(database):
    edition_id = await create_edition("2021-2022")
    await set_calendar(edition_id, "BE", BE_CALENDAR)
    september = await get_edition_by_id(edition_id, today=date(2021, 9, 15))
    assert september.current_phase("BE") == PROPOSALS
    assert september.current_phase("FR") is None


# -- require_phase --------------------------------------------------------------------------------


async def test_require_phase_lets_an_action_through_during_its_phase(database):
    edition = await get_edition_by_id(await edition_with_calendars())
    for day in (date(2021, 9, 1), date(2021, 10, 1), date(2021, 10, 31)):
        require_phase(edition, "BE", PROPOSALS, today=day)
    require_phase(edition, "FR", PROPOSALS, today=date(2021, 11, 15))


async def test_require_phase_says_when_the_phase_opens(database):
    edition = await get_edition_by_id(await edition_with_calendars())
    with pytest.raises(Forbidden) as refused:
        require_phase(edition, "BE", PROPOSALS, today=date(2021, 8, 31))
    assert refused.value.message == "Theme proposals of 2021-2022 opens on 1 September 2021."
    with pytest.raises(Forbidden) as refused:
        require_phase(edition, "BE", AGM_VOTE, today=date(2021, 11, 1))
    assert refused.value.message == "AGM vote of 2021-2022 opens on 10 November 2021."


async def test_require_phase_says_when_the_phase_closed(database):
    edition = await get_edition_by_id(await edition_with_calendars())
    with pytest.raises(Forbidden) as refused:
        require_phase(edition, "BE", PROPOSALS, today=date(2021, 11, 1))
    assert refused.value.message == "Theme proposals of 2021-2022 closed on 31 October 2021."


async def test_require_phase_follows_each_countrys_own_dates(database):
    edition = await get_edition_by_id(await edition_with_calendars())
    november = date(2021, 11, 15)
    with pytest.raises(Forbidden, match="closed on 31 October 2021"):
        require_phase(edition, "BE", PROPOSALS, today=november)
    require_phase(edition, "FR", PROPOSALS, today=november)
    with pytest.raises(Forbidden, match="opens on 1 October 2021"):
        require_phase(edition, "FR", PROPOSALS, today=date(2021, 9, 15))


async def test_require_phase_refuses_a_phase_without_dates(database):
    edition_id = await create_edition("2021-2022")
    await set_calendar(edition_id, "BE", BE_CALENDAR)
    edition = await get_edition_by_id(edition_id)
    with pytest.raises(Forbidden) as refused:
        require_phase(edition, "FR", PROPOSALS, today=date(2021, 9, 15))
    assert refused.value.message == "Theme proposals of 2021-2022 has no dates for FR yet."
    with pytest.raises(Forbidden, match="Working groups of 2021-2022 has no dates for BE yet"):
        require_phase(edition, "BE", "working_groups", today=date(2021, 9, 15))
