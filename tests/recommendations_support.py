"""Shared set-up of the recommendation tests: an edition whose recommendations phase is open
today in both countries, a theme that ran in both, a working group per country with its
facilitator, participants and recorded meetings, the operators and a board member."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from core import clock
from core.editions import services as editions
from core.groups import services as groups
from core.groups.tables import Attendance, GroupRegistration, Meeting
from core.members.model import CurrentMember
from core.members.services import load_member
from core.piccolo_app import TABLES
from core.plugins import build_registry
from core.recommendations import deciding
from core.recommendations import services as recs
from core.rules import Rules
from core.themes import services as themes
from tests.conftest import add_member

SLUG = "2020-2021"


def calendar_windows(phase: str = "recommendations") -> list[editions.PhaseWindow]:
    """A calendar in which ``phase`` (working_groups, recommendations or board_review) is the
    one open today."""
    today = clock.today()
    shift = {"working_groups": 30, "recommendations": 0, "board_review": -30}[phase]
    start = today + timedelta(days=shift)
    return [
        editions.PhaseWindow(
            "registration", start - timedelta(days=160), start - timedelta(days=120)
        ),
        editions.PhaseWindow(
            "working_groups", start - timedelta(days=119), start - timedelta(days=10)
        ),
        editions.PhaseWindow(
            "recommendations", start - timedelta(days=9), start + timedelta(days=20)
        ),
        editions.PhaseWindow(
            "board_review", start + timedelta(days=21), start + timedelta(days=40)
        ),
    ]


@dataclass
class Cycle:
    rules: Rules
    edition_id: int
    theme_id: int
    op_be: CurrentMember
    op_fr: CurrentMember
    board: CurrentMember
    facilitator_be: CurrentMember
    facilitator_fr: CurrentMember
    group_be: int
    group_fr: int
    participants: dict[str, list[CurrentMember]] = field(default_factory=dict)
    outsider: CurrentMember | None = None

    def group(self, country: str) -> int:
        return self.group_be if country == "BE" else self.group_fr

    def facilitator(self, country: str) -> CurrentMember:
        return self.facilitator_be if country == "BE" else self.facilitator_fr

    def operator(self, country: str) -> CurrentMember:
        return self.op_be if country == "BE" else self.op_fr

    async def submitted(self, country: str = "BE", title: str = "A mediation service") -> int:
        """A recommendation of the country's group, drafted and submitted."""
        rec_id = await recs.draft(
            self.rules,
            self.facilitator(country),
            self.group(country),
            recs.RecommendationIn(
                title=title,
                text="The cooperative sets up a mediation service for members in conflict.",
                rationale="Conflicts with clients are the first reason members leave.",
            ),
        )
        await recs.submit(self.rules, self.facilitator(country), rec_id)
        return rec_id

    async def bundled(self, country: str = "BE", title: str = "A mediation service") -> int:
        """A submitted recommendation, handed to the board in a bundle of its own."""
        rec_id = await self.submitted(country, title)
        await deciding.create_bundle(self.rules, self.operator(country), self.edition_id, country)
        return rec_id


async def person(email: str, country: str = "BE", **kw: Any) -> CurrentMember:
    found = await load_member(await add_member(email, country=country, **kw))
    assert found is not None
    return found


async def _group(rules: Rules, operator: CurrentMember, edition_id: int, theme_id: int,
                 country: str, facilitator: CurrentMember) -> int:  # fmt: skip
    return await groups.create_group(
        rules,
        operator,
        edition_id,
        groups.GroupCreate(
            theme_id=theme_id,
            country=country,
            locality="Brussels" if country == "BE" else "Paris",
            language="fr",
            capacity=10,
            facilitators=[facilitator.email],
        ),
    )


async def _participants(group_id: int, edition_id: int, members: list[CurrentMember]) -> None:
    now = clock.now()
    await GroupRegistration.insert(
        *[
            GroupRegistration(
                working_group=group_id,
                edition=edition_id,
                member=m.id,
                status=groups.CONFIRMED,
                pledged_at=now,
                confirmed_at=now,
            )
            for m in members
        ]
    )


async def _meetings(group_id: int, members: list[CurrentMember], present: list[list[bool]]) -> None:
    """Past meetings with attendance: ``present[k][i]`` for member i at meeting k."""
    for number, row in enumerate(present, start=1):
        inserted = await Meeting.insert(
            Meeting(
                working_group=group_id,
                number=number,
                starts_at=datetime(2020, 11, 2 * number, 18, tzinfo=UTC),
                duration_minutes=180,
                mode="in_person",
                place="Rue Coenraets 72",
            )
        )
        await Attendance.insert(
            *[
                Attendance(meeting=inserted[0]["id"], member=m.id, present=came)
                for m, came in zip(members, row, strict=True)
            ]
        )


async def build_cycle(
    settings: Any, *, phase: str = "recommendations", registry: Any = None
) -> Cycle:
    rules = Rules(registry or build_registry(settings), settings)
    edition_id = await editions.create_edition(SLUG)
    for country in ("BE", "FR"):
        await editions.set_calendar(edition_id, country, calendar_windows(phase))
    board = await person("board@example.org", roles=(("board", ""),), name="Bea Board")
    theme_id = await themes.add_board_theme(
        rules, board, edition_id, ["BE", "FR"], themes.ThemeTextIn(title="Ethics", language="en")
    )
    op_be = await person("op.be@example.org", roles=(("operator", "BE"),), name="Olga Operator")
    op_fr = await person("op.fr@example.org", "FR", roles=(("operator", "FR"),), name="Odile Op")
    fac_be = await person("fac.be@example.org", roles=(("facilitator", ""),), name="Fien Fac")
    fac_fr = await person(
        "fac.fr@example.org", "FR", roles=(("facilitator", ""),), name="Fanny Fac"
    )
    group_be = await _group(rules, op_be, edition_id, theme_id, "BE", fac_be)
    group_fr = await _group(rules, op_fr, edition_id, theme_id, "FR", fac_fr)
    cycle = Cycle(
        rules, edition_id, theme_id, op_be, op_fr, board, fac_be, fac_fr, group_be, group_fr
    )
    for country, group_id in (("BE", group_be), ("FR", group_fr)):
        members = [
            await person(f"p{i}.{country.lower()}@example.org", country, name=f"Part {country}{i}")
            for i in range(3)
        ]
        cycle.participants[country] = members
        await _participants(group_id, edition_id, members)
    await _meetings(group_be, cycle.participants["BE"], [[True, True, False], [True, False, False]])
    cycle.outsider = await person("outsider@example.org", name="Otto Outsider")
    return cycle


async def counts() -> dict[str, int]:
    """Rows per table: a refused request must leave every one as it was."""
    return {table._meta.tablename: await table.count() for table in TABLES}
