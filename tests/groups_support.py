"""Shared set-up of the working-group tests: an edition whose registration phase is open
today in both countries, a theme that runs in both, operators and a facilitator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from core import clock
from core.editions import services as editions
from core.groups import services as groups
from core.members.model import CurrentMember
from core.members.services import load_member
from core.piccolo_app import TABLES
from core.plugins import build_registry
from core.rules import Rules
from core.themes import services as themes
from tests.conftest import add_member

SLUG = "2020-2021"
# The groups' tests run on this day (``clock.frozen_at``): registration is open, and the
# working-group phase of the calendar (``calendar``) runs from 1 November 2020 to 30 April 2021.
PLANNING_DAY = datetime(2020, 10, 14, 12, tzinfo=UTC)
# A day after that phase: its meetings have taken place.
AFTER_MEETINGS = datetime(2021, 6, 1, 12, tzinfo=UTC)


@dataclass
class Cycle:
    rules: Rules
    edition_id: int
    theme_id: int
    op_be: CurrentMember
    op_fr: CurrentMember
    facilitator: CurrentMember

    async def group(
        self, country: str = "BE", capacity: int = 3, locality: str | None = None, **kw: Any
    ) -> int:
        return await groups.create_group(
            self.rules,
            self.op_be if country == "BE" else self.op_fr,
            self.edition_id,
            groups.GroupCreate(
                theme_id=self.theme_id,
                country=country,
                locality=locality or ("Brussels" if country == "BE" else "Paris"),
                language="fr",
                capacity=capacity,
                facilitators=[self.facilitator.email],
                **kw,
            ),
        )


async def calendar(
    edition_id: int,
    *,
    registration_open: bool = True,
    working_groups: tuple[date, date] | None = None,
) -> None:
    """Registration open today (or in 30 days) in both countries, then the working-group
    phase (``working_groups``: its first and last days, else 201 days after registration)."""
    today = clock.today()
    start = today - timedelta(days=3) if registration_open else today + timedelta(days=30)
    first, last = working_groups or (start + timedelta(days=21), start + timedelta(days=201))
    for country in ("BE", "FR"):
        await editions.set_calendar(
            edition_id,
            country,
            [
                editions.PhaseWindow("registration", start, start + timedelta(days=20)),
                editions.PhaseWindow("working_groups", first, last),
            ],
        )


async def build_cycle(settings: Any, *, registry: Any = None) -> Cycle:
    rules = Rules(registry or build_registry(settings), settings)
    edition_id = await editions.create_edition(SLUG)
    await calendar(edition_id)
    board = await load_member(await add_member("board@example.org", roles=(("board", ""),)))
    theme_id = await themes.add_board_theme(
        rules,
        board,
        edition_id,
        ["BE", "FR"],
        themes.ThemeTextIn(title="Accompaniment", language="en"),
    )
    await themes.write_texts(
        theme_id,
        [
            themes.ThemeTextIn(title="Accompaniment", language="en"),
            themes.ThemeTextIn(title="Accompagnement", language="fr"),
        ],
    )
    op_be = await load_member(await add_member("op.be@example.org", roles=(("operator", "BE"),)))
    op_fr = await load_member(
        await add_member("op.fr@example.org", country="FR", roles=(("operator", "FR"),))
    )
    facilitator = await load_member(
        await add_member("facilitator@example.org", roles=(("facilitator", ""),))
    )
    return Cycle(rules, edition_id, theme_id, op_be, op_fr, facilitator)


async def member(n: int, country: str = "BE", language: str = "en") -> CurrentMember:
    found = await load_member(
        await add_member(
            f"m{n}.{country.lower()}@example.org",
            country=country,
            language=language,
            name=f"Member {n:03d}",
        )
    )
    assert found is not None
    return found


async def counts() -> dict[str, int]:
    """Rows per table: a refused request must leave every one as it was."""
    return {table._meta.tablename: await table.count() for table in TABLES}
