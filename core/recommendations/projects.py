"""Projects: what adopted recommendations become, with their status, milestones and progress,
and the lineage a project page shows (theme, AGM vote or extension, working group,
recommendation, decision).

A project comes from one or more recommendations whose current decision adopts them (adopted,
or adopted with changes), checked in the write transaction that creates it. The board and the
operators of all its recommendations' countries set it up and keep it up to date; an operator
of one country cannot start a project from another country's recommendation.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec

from core import clock, db
from core.audit import services as audit
from core.config import COUNTRIES, LANGUAGES
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.events import ProjectCreated
from core.i18n import N_, _
from core.members.model import CurrentMember
from core.recommendations import services as recommendations
from core.recommendations.outcomes import ADOPTING, outcome_label
from core.recommendations.record import ThemeRoute, theme_route
from core.recommendations.services import (
    ID_MAX,
    DecisionOut,
    RecommendationInfo,
    current_decisions,
    snapshot,
)
from core.recommendations.tables import Milestone, Project, ProjectSource, Recommendation
from core.rules import Rules
from core.text import has_control_characters

PLANNED, IN_PROGRESS, COMPLETED, STOPPED = "planned", "in_progress", "completed", "stopped"
STATUSES = (PLANNED, IN_PROGRESS, COMPLETED, STOPPED)
STATUS_LABELS = {
    PLANNED: N_("planned"),
    IN_PROGRESS: N_("in progress"),
    COMPLETED: N_("completed"),
    STOPPED: N_("stopped"),
}
TITLE_MIN, TITLE_MAX = 3, 200
DESCRIPTION_MAX = 10_000


def status_label(status: str) -> str:
    return _(STATUS_LABELS.get(status, status))


class MilestoneOut(msgspec.Struct, frozen=True):
    id: int
    title: str
    due_on: date | None
    done_on: date | None


class ProjectSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A project; ``progress`` is the share of its milestones done (None without milestones)."""

    id: int
    title: str
    description: str
    language: str
    countries: list[str]
    status: str
    started_on: date
    created_at: datetime
    milestones: int
    milestones_done: int
    progress: float | None
    recommendation_ids: list[int]


class Lineage(msgspec.Struct, frozen=True, kw_only=True):
    """Where a project comes from, one recommendation: the theme and how it came into its
    edition in the group's country, the working group, the recommendation and the board's
    current decision with how many entries its history has."""

    theme_id: int
    theme_title: str
    edition: str
    route: ThemeRoute
    group_id: int
    group_locality: str
    group_country: str
    recommendation: RecommendationInfo
    decision: DecisionOut | None
    decision_entries: int


class ProjectDetail(msgspec.Struct, frozen=True, kw_only=True):
    project: ProjectSummary
    milestones: list[MilestoneOut]
    lineage: list[Lineage]


class ProjectIn(msgspec.Struct):
    """A new project from adopted recommendations. ``started_on`` defaults to today."""

    title: str
    recommendation_ids: list[int]
    description: str = ""
    language: str = ""
    status: str = PLANNED
    started_on: date | None = None


class MilestoneIn(msgspec.Struct):
    title: str
    due_on: date | None = None


class StatusIn(msgspec.Struct):
    status: str


class SourceIn(msgspec.Struct):
    recommendation_id: int


# -- reading -----------------------------------------------------------------------------------


async def _summaries(rows: list[dict[str, Any]]) -> list[ProjectSummary]:
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    sources: dict[int, list[int]] = {}
    for s in await ProjectSource.select(ProjectSource.project, ProjectSource.recommendation).where(
        ProjectSource.project.is_in(ids)
    ):
        sources.setdefault(s["project"], []).append(s["recommendation"])
    steps: dict[int, list[bool]] = {}
    for m in await Milestone.select(Milestone.project, Milestone.done_on).where(
        Milestone.project.is_in(ids)
    ):
        steps.setdefault(m["project"], []).append(m["done_on"] is not None)
    found = []
    for r in rows:
        done = steps.get(r["id"], [])
        found.append(
            ProjectSummary(
                id=r["id"],
                title=r["title"],
                description=r["description"],
                language=r["language"],
                countries=r["scope"].split(),
                status=r["status"],
                started_on=r["started_on"],
                created_at=r["created_at"],
                milestones=len(done),
                milestones_done=sum(done),
                progress=sum(done) / len(done) if done else None,
                recommendation_ids=sorted(sources.get(r["id"], [])),
            )
        )
    return found


async def _project_row(project_id: int) -> dict[str, Any]:
    row = (
        await Project.select().where(Project.id == project_id).first()
        if 1 <= project_id <= ID_MAX
        else None
    )
    if row is None:
        raise NotFound(_("There is no project %(id)d.") % {"id": project_id})
    return row


async def get_project(project_id: int) -> ProjectSummary:
    return (await _summaries([await _project_row(project_id)]))[0]


async def list_projects() -> list[ProjectSummary]:
    rows = await Project.select().order_by(Project.started_on, ascending=False).order_by(Project.id)
    return await _summaries(rows)


async def projects_of(recommendation_ids: list[int]) -> dict[int, list[ProjectSummary]]:
    """The projects each recommendation led to."""
    if not recommendation_ids:
        return {}
    links = await ProjectSource.select(ProjectSource.project, ProjectSource.recommendation).where(
        ProjectSource.recommendation.is_in(recommendation_ids)
    )
    if not links:
        return {}
    rows = await Project.select().where(Project.id.is_in(list({x["project"] for x in links})))
    summaries = {p.id: p for p in await _summaries(rows)}
    found: dict[int, list[ProjectSummary]] = {}
    for link in sorted(links, key=lambda x: x["project"]):
        found.setdefault(link["recommendation"], []).append(summaries[link["project"]])
    return found


async def milestones_of(project_id: int) -> list[MilestoneOut]:
    rows = await (
        Milestone.select()
        .where(Milestone.project == project_id)
        .order_by(Milestone.due_on)
        .order_by(Milestone.id)
    )
    return [MilestoneOut(r["id"], r["title"], r["due_on"], r["done_on"]) for r in rows]


@snapshot
async def project_detail(project_id: int, language: str | None = None) -> ProjectDetail:
    """The project, its milestones and its whole lineage, one entry per recommendation."""
    project = await get_project(project_id)
    rows = await Recommendation.select().where(
        Recommendation.id.is_in(project.recommendation_ids or [0])
    )
    lineage = []
    for info in await recommendations.infos(rows, language):
        history = await recommendations.decision_history(info.id)
        lineage.append(
            Lineage(
                theme_id=info.theme_id,
                theme_title=info.theme_title,
                edition=info.edition,
                route=await theme_route(info.theme_id, info.country, language),
                group_id=info.group_id,
                group_locality=info.locality,
                group_country=info.country,
                recommendation=info,
                decision=history[-1] if history else None,
                decision_entries=len(history),
            )
        )
    lineage.sort(key=lambda x: (x.edition, x.group_country, x.recommendation.id))
    return ProjectDetail(
        project=project, milestones=await milestones_of(project_id), lineage=lineage
    )


# -- rules -------------------------------------------------------------------------------------


def may_manage(actor: CurrentMember | None, countries: list[str]) -> bool:
    """Board members, and operators of every country the project runs in."""
    if actor is None:
        return False
    return actor.is_board or all(actor.is_operator(c) for c in countries)


def _require_manager(actor: CurrentMember, countries: list[str]) -> None:
    if not may_manage(actor, countries):
        raise Forbidden(
            _("Only board members and operators of %(countries)s can do this.")
            % {"countries": ", ".join(countries)}
        )


def _text(value: str, what: str) -> str:
    if has_control_characters(value):
        raise InvalidInput(
            _("%(what)s contains control characters; type it again.") % {"what": what}
        )
    return value


def _clean_title(title: str) -> str:
    cleaned = " ".join(_text(title, _("The title")).split())
    if not TITLE_MIN <= len(cleaned) <= TITLE_MAX:
        raise InvalidInput(
            _("Give a title of %(min)d to %(max)d characters.")
            % {"min": TITLE_MIN, "max": TITLE_MAX}
        )
    return cleaned


async def _adopted_sources(ids: list[int], actor: CurrentMember) -> list[dict[str, Any]]:
    """The recommendations a project comes from, each adopted by the board as it stands now
    (call it inside the write transaction to decide on the committed state)."""
    rows = []
    for recommendation_id in ids:
        rows.append(await recommendations.visible_row(recommendation_id, actor))
    decisions = await current_decisions(ids)
    for row in rows:
        decision = decisions.get(row["id"])
        if decision is None or decision.outcome not in ADOPTING:
            raise Conflict(
                _(
                    "Only an adopted recommendation leads to a project: the board's decision on "
                    "“%(title)s” is %(outcome)s."
                )
                % {
                    "title": row["title"],
                    "outcome": outcome_label(decision.outcome if decision else None),
                }
            )
    return rows


async def create_project(
    rules: Rules, actor: CurrentMember, data: ProjectIn, today: date | None = None
) -> int:
    """Set up a project from adopted recommendations; their groups are notified."""
    ids = list(dict.fromkeys(data.recommendation_ids))
    if not ids or not all(1 <= i <= ID_MAX for i in ids):
        raise InvalidInput(_("Choose the adopted recommendations the project comes from."))
    title = _clean_title(data.title)
    description = _text(data.description, _("The description")).strip()
    if len(description) > DESCRIPTION_MAX:
        raise InvalidInput(
            _("The description may have at most %(n)d characters.") % {"n": DESCRIPTION_MAX}
        )
    if data.status not in STATUSES:
        raise InvalidInput(_("Unknown project status %(value)s.") % {"value": data.status})
    language = data.language or actor.language
    if language not in LANGUAGES:
        raise InvalidInput(_("Unknown language %(code)s.") % {"code": language})
    started_on = data.started_on or today or clock.today()
    rows = await _adopted_sources(ids, actor)
    countries = [c for c in COUNTRIES if c in {r["country"] for r in rows}]
    _require_manager(actor, countries)
    now = clock.now()
    async with db.write_transaction():
        rows = await _adopted_sources(ids, actor)  # decided on the state as it is now
        inserted = await Project.insert(
            Project(
                title=title,
                description=description,
                language=language,
                scope=" ".join(countries),
                status=data.status,
                started_on=started_on,
                created_by=actor.id,
                created_at=now,
                updated_at=now,
            )
        )
        project_id = int(inserted[0]["id"])
        await ProjectSource.insert(
            *[ProjectSource(project=project_id, recommendation=i, created_at=now) for i in ids]
        )
        events = [
            ProjectCreated(
                country=country,
                project_id=project_id,
                title=title,
                recommendation_ids=tuple(r["id"] for r in rows if r["country"] == country),
                group_ids=tuple(
                    dict.fromkeys(r["working_group"] for r in rows if r["country"] == country)
                ),
            )
            for country in countries
        ]
        await rules.notify(*events)
        await audit.record(
            "project.create",
            actor=actor,
            country=" ".join(countries),
            object_type="project",
            object_id=project_id,
            details={"title": title, "status": data.status, "recommendations": ids},
        )
    rules.emit(*events)
    return project_id


async def add_source(
    rules: Rules, actor: CurrentMember, project_id: int, recommendation_id: int
) -> ProjectSummary:
    """One more adopted recommendation that the project answers."""
    project = await get_project(project_id)
    _require_manager(actor, project.countries)
    if recommendation_id in project.recommendation_ids:
        raise Conflict(_("The project already comes from this recommendation."))
    try:
        async with db.write_transaction():
            (row,) = await _adopted_sources([recommendation_id], actor)
            countries = [c for c in COUNTRIES if c in {*project.countries, row["country"]}]
            _require_manager(actor, countries)
            await ProjectSource.insert(
                ProjectSource(project=project_id, recommendation=recommendation_id)
            )
            await Project.update(
                {Project.scope: " ".join(countries), Project.updated_at: clock.now()}
            ).where(Project.id == project_id)
            await audit.record(
                "project.source",
                actor=actor,
                country=" ".join(countries),
                object_type="project",
                object_id=project_id,
                details={"recommendation": recommendation_id},
            )
    except Exception as exc:
        if db.is_unique_violation(exc):
            raise Conflict(_("The project already comes from this recommendation.")) from None
        raise
    return await get_project(project_id)


async def set_status(actor: CurrentMember, project_id: int, status: str) -> ProjectSummary:
    project = await get_project(project_id)
    _require_manager(actor, project.countries)
    if status not in STATUSES:
        raise InvalidInput(_("Unknown project status %(value)s.") % {"value": status})
    async with db.write_transaction():
        await Project.update({Project.status: status, Project.updated_at: clock.now()}).where(
            Project.id == project_id
        )
        await audit.record(
            "project.status",
            actor=actor,
            country=" ".join(project.countries),
            object_type="project",
            object_id=project_id,
            details={"from": project.status, "to": status},
        )
    return await get_project(project_id)


async def add_milestone(actor: CurrentMember, project_id: int, data: MilestoneIn) -> MilestoneOut:
    project = await get_project(project_id)
    _require_manager(actor, project.countries)
    title = _clean_title(data.title)
    async with db.write_transaction():
        rows = await Milestone.insert(
            Milestone(project=project_id, title=title, due_on=data.due_on, created_at=clock.now())
        )
        await Project.update({Project.updated_at: clock.now()}).where(Project.id == project_id)
        await audit.record(
            "milestone.add",
            actor=actor,
            country=" ".join(project.countries),
            object_type="project",
            object_id=project_id,
            details={
                "milestone": int(rows[0]["id"]),
                "title": title,
                "due_on": data.due_on.isoformat() if data.due_on else None,
            },
        )
    return MilestoneOut(int(rows[0]["id"]), title, data.due_on, None)


async def complete_milestone(
    actor: CurrentMember, milestone_id: int, done_on: date | None = None
) -> MilestoneOut:
    """Mark a milestone done (on ``done_on``, default today); done twice is refused."""
    row = (
        await Milestone.select().where(Milestone.id == milestone_id).first()
        if 1 <= milestone_id <= ID_MAX
        else None
    )
    if row is None:
        raise NotFound(_("There is no milestone %(id)d.") % {"id": milestone_id})
    project = await get_project(row["project"])
    _require_manager(actor, project.countries)
    day = done_on or clock.today()
    if day > clock.today():
        raise InvalidInput(_("A milestone cannot be done in the future."))
    async with db.write_transaction():
        changed = await (
            Milestone.update({Milestone.done_on: day})
            .where((Milestone.id == milestone_id) & Milestone.done_on.is_null())
            .returning(Milestone.id)
        )
        if changed:
            await Project.update({Project.updated_at: clock.now()}).where(
                Project.id == row["project"]
            )
            await audit.record(
                "milestone.done",
                actor=actor,
                country=" ".join(project.countries),
                object_type="project",
                object_id=row["project"],
                details={"milestone": milestone_id, "done_on": day.isoformat()},
            )
    if not changed:
        raise Conflict(_("This milestone is done already."))
    return MilestoneOut(row["id"], row["title"], row["due_on"], day)


@snapshot
async def adoptable(
    actor: CurrentMember | None, language: str | None = None
) -> list[RecommendationInfo]:
    """Adopted recommendations ``actor`` may start a project from (all countries for the
    board, their own for operators)."""
    if actor is None or not (actor.is_board or actor.is_operator()):
        return []
    where = Recommendation.status == "submitted"
    if not actor.is_board:
        where &= Recommendation.country.is_in(actor.operator_countries)
    rows = await Recommendation.select().where(where).order_by(Recommendation.id)
    decisions = await current_decisions([r["id"] for r in rows])
    adopted = [r for r in rows if r["id"] in decisions and decisions[r["id"]].outcome in ADOPTING]
    return await recommendations.infos(adopted, language)
