"""The demo editions' calendars: the past ones on fixed dates, the open one around the
seeding day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from core.editions import services as editions
from core.editions.services import (
    AGM_VOTE,
    BOARD_REVIEW,
    CLOSED,
    PHASES,
    PROPOSALS,
    RECOMMENDATIONS,
    REGISTRATION,
    WORKING_GROUPS,
    PhaseWindow,
)
from core.editions.tables import Edition
from plugins.demo import frozen

PAST_EDITIONS = ("2019-2020", "2020-2021")


def open_edition_slug(today: date) -> str:
    """The open edition's name: it runs in the year it is named after (2026-2027 when seeded
    in 2026), after the past editions."""
    return f"{today.year}-{today.year + 1}"


# -- past editions --------------------------------------------------------------------------

# (phase, (month, day) start, (month, day) end, years after the edition's first year)
PAST_CALENDARS: dict[str, tuple[tuple[str, tuple[int, int], tuple[int, int], int], ...]] = {
    "BE": (
        (PROPOSALS, (3, 1), (4, 30), 0),
        (AGM_VOTE, (6, 3), (6, 14), 0),
        (REGISTRATION, (9, 2), (10, 18), 0),
        (WORKING_GROUPS, (11, 4), (4, 30), 1),
        (RECOMMENDATIONS, (5, 4), (5, 29), 1),
        (BOARD_REVIEW, (6, 1), (6, 30), 1),
        (CLOSED, (7, 1), (12, 31), 1),
    ),
    "FR": (
        (PROPOSALS, (3, 16), (5, 15), 0),
        (AGM_VOTE, (6, 8), (6, 22), 0),
        (REGISTRATION, (9, 7), (10, 25), 0),
        (WORKING_GROUPS, (11, 9), (4, 23), 1),
        (RECOMMENDATIONS, (5, 3), (5, 28), 1),
        (BOARD_REVIEW, (6, 7), (6, 28), 1),
        (CLOSED, (7, 1), (12, 31), 1),
    ),
}


def past_calendar(first_year: int, country: str) -> list[PhaseWindow]:
    windows = []
    for phase, (m1, d1), (m2, d2), later in PAST_CALENDARS[country]:
        start_year = first_year + later if m1 <= m2 else first_year
        windows.append(
            PhaseWindow(phase, date(start_year, m1, d1), date(first_year + later, m2, d2))
        )
    return windows


# Days from the seeding day, one window per phase in the cycle's order, each after the one
# before: the proposal phase is open when the demo is seeded, the AGM vote comes next (its
# polls wait as drafts until then), then registration, the working groups and the rest.
_OPEN_OFFSETS: dict[str, tuple[tuple[int, int], ...]] = {
    "BE": ((-20, 40), (55, 66), (120, 165), (180, 340), (345, 370), (375, 400), (401, 550)),
    "FR": ((-20, 40), (60, 72), (125, 170), (185, 340), (345, 372), (378, 400), (401, 550)),
}


def open_calendar(today: date, country: str) -> list[PhaseWindow]:
    return [
        PhaseWindow(phase, today + timedelta(days=start), today + timedelta(days=end))
        for phase, (start, end) in zip(PHASES, _OPEN_OFFSETS[country], strict=True)
    ]


def moment(day: date, hour: int = 10) -> datetime:
    """``hour`` o'clock UTC on ``day``."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


async def add_edition(
    slug: str, created_at: datetime, calendars: dict[str, list[PhaseWindow]]
) -> int:
    """An edition and each country's calendar, through the editions services, as on
    ``created_at`` (inside the caller's transaction)."""
    with frozen.at(created_at):
        edition_id = await editions.create_edition(slug)
        for country, windows in calendars.items():
            await editions.set_calendar(edition_id, country, windows)
    # The service does not take a creation time (the column's default is the real time).
    await Edition.update({Edition.created_at: created_at}).where(Edition.id == edition_id)
    return edition_id
