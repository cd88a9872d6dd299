"""Demo data of the end of the cycle and of the public record: the editions since 2015-2016 in
Belgium and France, their recommendations, the board's decisions and the projects they led to,
among them the 2017-2018 recommendation for an ethics committee and the 2019 "Comité d'éthique"
project.

* The editions 2015-2016 to 2018-2019 with their calendars and themes (texts in nl, fr, en),
  and the archived figures of every edition run before the platform held its rows (2015-2016 to
  2019-2020): AGM turnout, groups, participants, meetings; they add up to more than 4,000
  participants. (Archived, because the members of those years are not demo accounts.)
* A working group (no registrations: the archive has the figures) for each recommendation of
  those editions, and the recommendations of the demo's own 2020-2021 groups, with comments and
  endorsements of their participants.
* A bundle per edition and country, the board's decisions (one changed by a later entry, so the
  history shows), and the projects with their milestones.

Seeded once (marker: the edition 2015-2016 exists) by ``plugins.demo.seed_demo``, after the
accounts, editions, polls and groups, through the services as the people of each moment, with
the clock frozen on it (``frozen.py``) and ``today`` given where a service takes it: the
editions, their calendars and themes through the editions and themes services; the earlier
editions' groups by the country's operator (``create_group``, at the end of August); the
recommendations drafted by the group's facilitator in March (``draft``), commented on in April
and endorsed on 12 May by its participants (``comment``, ``endorse``), submitted on 20 May in
the recommendations phase (``submit``); the bundles by the country's operator on 2 June
(``create_bundle``); the board's decisions on their days, each superseding the one before
(``record_decision``); the projects by the board on the day they started (``create_project``)
with their milestones (``add_milestone``), each marked done on its day
(``complete_milestone``). Written by hand is only what no service writes: the archive (no
service writes figures of the years before the platform) and the earlier groups' creation
times (the column defaults to the real time).
"""

from __future__ import annotations

from datetime import date

from core import db
from core.config import Settings
from core.editions.tables import Edition
from core.groups import services as groups
from core.groups.services import CONFIRMED, GroupCreate
from core.groups.tables import GroupRegistration, WorkingGroup
from core.members.model import CurrentMember
from core.members.services import load_member
from core.members.tables import Member
from core.plugins import build_registry
from core.recommendations import deciding, projects
from core.recommendations import services as rec_services
from core.recommendations.projects import MilestoneIn, ProjectIn
from core.recommendations.services import DecisionIn, RecommendationIn
from core.recommendations.tables import ArchivedFigures
from core.rules import Rules
from core.themes.tables import ThemeText
from plugins.demo import frozen
from plugins.demo.calendars import PAST_CALENDARS, add_edition, moment, past_calendar
from plugins.demo.people import board_member, demo_member
from plugins.demo.record_data import (
    ARCHIVE,
    BOARD,
    EARLIER_EDITIONS,
    EARLIER_THEMES,
    FACILITATORS,
    MARKER_EDITION,
    OPERATORS,
    PROJECTS,
    RECOMMENDATIONS,
    DemoRecommendation,
    archive_source,
)
from plugins.demo.themes import add_board_theme

# -- seeding -----------------------------------------------------------------------------------


async def seed_record(settings: Settings) -> bool:
    """Seed the earlier editions, the archive, the recommendations, decisions and projects;
    False when they exist already (or the demo accounts are missing)."""
    rules = Rules(build_registry(settings), settings)
    async with db.write_transaction():
        if await Edition.exists().where(Edition.slug == MARKER_EDITION):
            return False
        members = {
            r["member_number"]: (r["id"], r["name"])
            for r in await Member.select(Member.id, Member.member_number, Member.name).where(
                Member.member_number.is_in([BOARD, *OPERATORS.values(), *FACILITATORS.values()])
            )
        }
        board = await board_member()
        if BOARD not in members or board is None:
            return False
        editions = await _seed_editions(rules, board)
        await _seed_archive(editions)
        themes = await _themes(editions)
        recommendations = await _seed_recommendations(rules, editions, themes, members, board)
        await _seed_projects(rules, board, recommendations)
    return True


async def _seed_editions(rules: Rules, board: CurrentMember) -> dict[str, int]:
    """The earlier editions, with their calendars and themes, through the editions and themes
    services; returns every edition's id."""
    for slug in EARLIER_EDITIONS:
        first_year = int(slug[:4])
        edition_id = await add_edition(
            slug,
            moment(date(first_year, 1, 15)),
            {country: past_calendar(first_year, country) for country in PAST_CALENDARS},
        )
        for texts in EARLIER_THEMES[slug]:
            await add_board_theme(rules, board, edition_id, texts, moment(date(first_year, 2, 20)))
    return {r["slug"]: r["id"] for r in await Edition.select(Edition.id, Edition.slug)}


async def _seed_archive(editions: dict[str, int]) -> None:
    await ArchivedFigures.insert(
        *[
            ArchivedFigures(
                edition=editions[slug],
                country=country,
                agm_on=agm_on,
                agm_voters=voters,
                agm_eligible=eligible,
                group_count=groups,
                participant_count=participants,
                meeting_count=meetings,
                source=archive_source(slug),
            )
            for (slug, country), (agm_on, voters, eligible, groups, participants, meetings) in (
                ARCHIVE.items()
            )
            if slug in editions
        ]
    )


async def _themes(editions: dict[str, int]) -> dict[tuple[str, str], int]:
    """(edition, English title) -> theme id."""
    by_id = {v: k for k, v in editions.items()}
    rows = await ThemeText.select(ThemeText.theme, ThemeText.title, ThemeText.theme.edition).where(
        ThemeText.language == "en"
    )
    return {
        (by_id[r["theme.edition"]], r["title"]): r["theme"]
        for r in rows
        if r["theme.edition"] in by_id
    }


async def _group(
    rules: Rules,
    editions: dict[str, int],
    themes: dict[tuple[str, str], int],
    spec: DemoRecommendation,
    members: dict[str, tuple[int, str]],
    made: dict[tuple[str, str, str, str], int],
) -> int | None:
    """The working group of ``spec``: the demo's own (2020-2021) or one made for the earlier
    editions, whose participants are in the archive."""
    key = (spec.edition, spec.country, spec.theme, spec.locality)
    if key in made:
        return made[key]
    theme_id = themes.get((spec.edition, spec.theme))
    if theme_id is None:
        return None
    existing = (
        await WorkingGroup.select(WorkingGroup.id)
        .where(
            (WorkingGroup.edition == editions[spec.edition])
            & (WorkingGroup.theme == theme_id)
            & (WorkingGroup.country == spec.country)
            & (WorkingGroup.locality == spec.locality)
        )
        .first()
    )
    if existing is not None:
        made[key] = existing["id"]
        return existing["id"]
    if spec.edition == "2020-2021":
        return None  # the groups' demo did not seed this group: leave its recommendations out
    operator = await demo_member(OPERATORS[spec.country])
    if operator is None or FACILITATORS[spec.country] not in members:
        return None
    # The country's operator sets it up at the end of August; the service does not take a
    # creation time (the column's default is the real time): set back here.
    created_at = moment(date(int(spec.edition[:4]), 8, 28))
    with frozen.at(created_at):
        group_id = await groups.create_group(
            rules,
            operator,
            editions[spec.edition],
            GroupCreate(
                theme_id=theme_id,
                country=spec.country,
                locality=spec.locality,
                language=spec.language,
                capacity=15,
                facilitators=[FACILITATORS[spec.country]],
                meeting_count=5,
            ),
        )
    await WorkingGroup.update({WorkingGroup.created_at: created_at}).where(
        WorkingGroup.id == group_id
    )
    made[key] = group_id
    return group_id


async def _seed_recommendations(
    rules: Rules,
    editions: dict[str, int],
    themes: dict[tuple[str, str], int],
    members: dict[str, tuple[int, str]],
    board: CurrentMember,
) -> dict[str, tuple[int, str]]:
    """The recommendations, through the services as the people of each moment: drafted by the
    group's facilitator in March, commented on in April and endorsed in May by its
    participants, submitted on 20 May (the recommendations phase), bundled by the country's
    operator on 2 June and decided by the board; returns key -> (id, country)."""
    made: dict[tuple[str, str, str, str], int] = {}
    seeded: dict[str, tuple[int, str]] = {}
    drafted: list[tuple[DemoRecommendation, int]] = []
    for spec in RECOMMENDATIONS:
        if spec.edition not in editions:
            continue
        group_id = await _group(rules, editions, themes, spec, members, made)
        facilitator = await demo_member(FACILITATORS[spec.country])
        if group_id is None or facilitator is None:
            continue
        second_year = int(spec.edition[5:])
        data = RecommendationIn(
            title=spec.title, text=spec.text, rationale=spec.rationale, language=spec.language
        )
        day = date(second_year, 3, 15)
        with frozen.at(moment(day)):
            rec_id = await rec_services.draft(rules, facilitator, group_id, data, today=day)
        await _group_voices(rules, rec_id, group_id, spec, second_year)
        day = date(second_year, 5, 20)
        with frozen.at(moment(day)):
            await rec_services.submit(rules, facilitator, rec_id, today=day)
        seeded[spec.key] = (rec_id, spec.country)
        drafted.append((spec, rec_id))

    # The operators hand each country's submitted recommendations of an edition to the board.
    for slug, country in dict.fromkeys((spec.edition, spec.country) for spec, _id in drafted):
        operator = await demo_member(OPERATORS[country])
        if operator is not None:
            with frozen.at(moment(date(int(slug[5:]), 6, 2), 9)):
                await deciding.create_bundle(rules, operator, editions[slug], country)

    # The board's decisions, each entry superseding the one before.
    for spec, rec_id in drafted:
        previous = None
        for decision in spec.decisions:
            with frozen.at(moment(decision.decided_on, 17)):
                recorded = await deciding.record_decision(
                    rules,
                    board,
                    rec_id,
                    DecisionIn(
                        outcome=decision.outcome,
                        rationale=decision.rationale,
                        decided_on=decision.decided_on,
                        supersedes=previous,
                    ),
                    today=decision.decided_on,
                )
            previous = recorded.id
    return seeded


async def _group_voices(
    rules: Rules, rec_id: int, group_id: int, spec: DemoRecommendation, year: int
) -> None:
    """Comments (in April) and endorsements (on 12 May) of the draft, by the group's
    participants."""
    if not spec.comments and not spec.endorsements:
        return
    people = [
        r["member"]
        for r in await GroupRegistration.select(GroupRegistration.member)
        .where(
            (GroupRegistration.working_group == group_id) & (GroupRegistration.status == CONFIRMED)
        )
        .order_by(GroupRegistration.id)
    ]
    if not people:
        return
    for i, body in enumerate(spec.comments):
        member = await load_member(people[i % len(people)])
        assert member is not None
        day = date(year, 4, 6 + 3 * i)
        with frozen.at(moment(day, 20)):
            await rec_services.comment(rules, member, rec_id, body, today=day)
    day = date(year, 5, 12)
    for member_id in people[: spec.endorsements]:
        member = await load_member(member_id)
        assert member is not None
        with frozen.at(moment(day, 19)):
            await rec_services.endorse(rules, member, rec_id, today=day)


async def _seed_projects(
    rules: Rules, board: CurrentMember, recommendations: dict[str, tuple[int, str]]
) -> None:
    """The projects, set up by the board from the adopted recommendations on the day they
    started, with their milestones; each milestone is marked done on its day."""
    for spec in PROJECTS:
        sources = [recommendations[key][0] for key in spec.sources if key in recommendations]
        if not sources:
            continue
        started = moment(spec.started_on, 9)
        with frozen.at(started):
            project_id = await projects.create_project(
                rules,
                board,
                ProjectIn(
                    title=spec.title,
                    recommendation_ids=sources,
                    description=spec.description,
                    language=spec.language,
                    status=spec.status,
                    started_on=spec.started_on,
                ),
                today=spec.started_on,
            )
            done = [
                (
                    (await projects.add_milestone(board, project_id, MilestoneIn(title, due))).id,
                    done_on,
                )
                for title, due, done_on in spec.milestones
            ]
        for milestone_id, done_on in sorted(
            ((m, d) for m, d in done if d is not None), key=lambda pair: pair[1]
        ):
            with frozen.at(moment(done_on, 17)):
                await projects.complete_milestone(board, milestone_id, done_on)
