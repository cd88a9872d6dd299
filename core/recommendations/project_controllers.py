"""Project and record pages and their JSON twins: what adopted recommendations became, and the
public record of every edition (recommendations, bundles and decisions are in ``controllers``)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get, post, put
from litestar.params import FromPath, JSONBody
from litestar.response import Redirect, Template

from core import clock
from core.config import COUNTRIES
from core.errors import DomainError, NotFound
from core.i18n import _
from core.members.controllers import require_member
from core.recommendations import outcomes, pictures, projects, record
from core.recommendations.controllers import (
    DoneIn,
    Req,
    form_day,
    form_int,
    reader_language,
    reading,
)
from core.recommendations.projects import (
    MilestoneIn,
    MilestoneOut,
    ProjectDetail,
    ProjectIn,
    ProjectSummary,
    SourceIn,
    StatusIn,
)
from core.recommendations.record import EditionRecord, Record
from core.web.context import member_of, page
from core.web.deps import MemberDep, RulesDep
from core.web.guards import signed_in
from core.web.twins import twin


async def project_context(
    request: Req, project_id: int, found: ProjectDetail | None = None, **extra: Any
) -> dict[str, Any]:
    viewer = member_of(request)
    if found is None:
        found = await projects.project_detail(project_id, reader_language())
    manager = projects.may_manage(viewer, found.project.countries)
    addable = []
    if manager:
        addable = [
            r
            for r in await projects.adoptable(viewer, reader_language())
            if r.id not in found.project.recommendation_ids
        ]
    return {
        "found": found,
        "project": found.project,
        "may_manage": manager,
        "addable": addable,
        "statuses": projects.STATUSES,
        "status_label": projects.status_label,
        "outcome_label": outcomes.outcome_label,
        "today": clock.today(),
        **extra,
    }


async def project_page(
    request: Req, project_id: int, *, status_code: int = 200, **extra: Any
) -> Template:
    async with reading():
        context = await project_context(request, project_id, **extra)
    return page(request, "project.html", context, status_code=status_code)


async def run_on_project(request: Req, project_id: int, action: Any) -> Any:
    try:
        await action()
    except DomainError as exc:
        return await project_page(
            request, project_id, error=exc.message, status_code=exc.status_code
        )
    return Redirect(f"/projects/{project_id}", status_code=303)


async def project_form_context(request: Req, **extra: Any) -> dict[str, Any]:
    viewer = require_member(request)
    return {
        "adoptable": await projects.adoptable(viewer, reader_language()),
        "statuses": projects.STATUSES,
        "status_label": projects.status_label,
        "outcome_label": outcomes.outcome_label,
        "today": clock.today(),
        **extra,
    }


def record_pictures(found: Record) -> dict[str, Any]:
    """The across-editions charts: participants and AGM voters per edition and country."""
    editions_in = sorted({r.edition for r in found.rows})

    def series(what: str, source: str) -> list[tuple[str, list[tuple[str, int | None]]]]:
        """Per edition, each country's figure; None (no bar) where nothing is known yet."""
        return [
            (
                slug,
                [
                    (r.country, getattr(r, what) if getattr(r, source) else None)
                    for r in found.rows
                    if r.edition == slug
                ],
            )
            for slug in editions_in
        ]

    return {
        "participants_picture": pictures.grouped_bars(
            series("participants", "figures_source"), list(COUNTRIES)
        ),
        "voters_picture": pictures.grouped_bars(
            series("agm_voters", "agm_source"), list(COUNTRIES)
        ),
    }


def edition_pictures(found: EditionRecord) -> dict[str, Any]:
    return {
        "outcomes_picture": pictures.stacked_bars(
            [(c.country, c.outcomes) for c in found.countries], list(record.RECORD_OUTCOMES)
        )
    }


def projects_context(request: Req, found: list[ProjectSummary]) -> dict[str, Any]:
    viewer = member_of(request)
    return {
        "projects": found,
        "status_label": projects.status_label,
        "may_start": viewer is not None and (viewer.is_board or viewer.is_operator()),
    }


@twin(
    "/projects",
    name="projects",
    template="projects.html",
    tags=["projects"],
    summary="Every project, its status and progress",
    context=projects_context,
)
async def project_list() -> list[ProjectSummary]:
    return await projects.list_projects()


async def project_show_context(request: Req, found: ProjectDetail) -> dict[str, Any]:
    return await project_context(request, found.project.id, found)


@twin(
    "/projects/{project_id:int}",
    name="project",
    template="project.html",
    tags=["projects"],
    summary="A project, its milestones and its whole lineage",
    context=project_show_context,
)
async def project_show(project_id: FromPath[int]) -> ProjectDetail:
    return await projects.project_detail(project_id, reader_language())


class ProjectPages(Controller):
    include_in_schema = False

    @get("/projects/new", name="project_new")
    async def new(self, request: Req) -> Template:
        chosen = request.query_params.get("recommendation", "")
        form = {"recommendation": [chosen]} if chosen else {}
        return page(request, "project_form.html", await project_form_context(request, form=form))

    @post("/projects", name="project_create", guards=[signed_in])
    async def create(self, request: Req, member: MemberDep, rules: RulesDep) -> Template | Redirect:
        form = await request.form()
        try:
            data = ProjectIn(
                title=str(form.get("title", "")),
                description=str(form.get("description", "")),
                language=str(form.get("language", "")),
                status=str(form.get("status", "") or projects.PLANNED),
                started_on=form_day(form.get("started_on"), _("the start of the project")),
                recommendation_ids=[
                    form_int(v, _("a recommendation")) for v in form.getall("recommendation")
                ]
                if "recommendation" in form
                else [],
            )
            project_id = await projects.create_project(rules, member, data)
        except DomainError as exc:
            values = {k: v for k, v in form.items()}
            values["recommendation"] = (
                form.getall("recommendation") if "recommendation" in form else []
            )
            context = await project_form_context(request, error=exc.message, form=values)
            return page(request, "project_form.html", context, status_code=exc.status_code)
        return Redirect(f"/projects/{project_id}", status_code=303)

    @post("/projects/{project_id:int}/status", name="project_status", guards=[signed_in])
    async def status(self, request: Req, member: MemberDep, project_id: FromPath[int]) -> Any:
        form = await request.form()
        return await run_on_project(
            request,
            project_id,
            lambda: projects.set_status(member, project_id, str(form.get("status", ""))),
        )

    @post("/projects/{project_id:int}/milestones", name="project_milestone", guards=[signed_in])
    async def milestone(self, request: Req, member: MemberDep, project_id: FromPath[int]) -> Any:
        form = await request.form()

        async def action() -> None:
            data = MilestoneIn(
                title=str(form.get("title", "")),
                due_on=form_day(form.get("due_on"), _("the due date")),
            )
            await projects.add_milestone(member, project_id, data)

        return await run_on_project(request, project_id, action)

    @post(
        "/projects/{project_id:int}/milestones/{milestone_id:int}/done",
        name="project_milestone_done",
        guards=[signed_in],
    )
    async def done(
        self,
        request: Req,
        member: MemberDep,
        project_id: FromPath[int],
        milestone_id: FromPath[int],
    ) -> Any:
        form = await request.form()

        async def action() -> None:
            if not any(m.id == milestone_id for m in await projects.milestones_of(project_id)):
                raise NotFound(_("There is no milestone %(id)d.") % {"id": milestone_id})
            await projects.complete_milestone(
                member, milestone_id, form_day(form.get("done_on"), _("the day it was done"))
            )

        return await run_on_project(request, project_id, action)

    @post("/projects/{project_id:int}/sources", name="project_source", guards=[signed_in])
    async def source(
        self, request: Req, member: MemberDep, rules: RulesDep, project_id: FromPath[int]
    ) -> Any:
        form = await request.form()

        async def action() -> None:
            await projects.add_source(
                rules,
                member,
                project_id,
                form_int(form.get("recommendation"), _("a recommendation")),
            )

        return await run_on_project(request, project_id, action)


def record_context(request: Req, found: Record) -> dict[str, Any]:
    return {"record": found, **record_pictures(found)}


@twin(
    "/record",
    name="record",
    template="record.html",
    tags=["record"],
    summary="The public record: every edition per country, with the totals",
    context=record_context,
)
async def record_across() -> Record:
    return await record.record(reader_language())


def edition_record_context(request: Req, found: EditionRecord) -> dict[str, Any]:
    """The page's ``?theme=`` lists only the recommendations on that theme (what became of
    it); the JSON twin gives them all."""
    try:
        theme: int | None = int(request.query_params["theme"])
    except (KeyError, ValueError):
        theme = None
    chosen = next(
        (t for c in found.countries for t in c.themes if theme is not None and t.id == theme),
        None,
    )
    return {
        "found": found,
        "listed": [r for r in found.recommendations if theme is None or r.theme_id == theme],
        "theme_filter": chosen,
        "outcome_label": outcomes.outcome_label,
        "status_label": projects.status_label,
        "keys": record.RECORD_OUTCOMES,
        **edition_pictures(found),
    }


@twin(
    "/record/{slug:str}",
    name="record_edition",
    template="record_edition.html",
    tags=["record"],
    summary="One edition's record: themes, AGM, participants, recommendations and outcomes",
    context=edition_record_context,
)
async def record_of_edition(slug: FromPath[str]) -> EditionRecord:
    return await record.edition_record_of(slug, reader_language())


class RecordPages(Controller):
    include_in_schema = False

    @get("/record.csv", name="record_csv")
    async def csv(self) -> Response[str]:
        return Response(
            record.record_csv(await record.record(reader_language())),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": 'attachment; filename="sip-record.csv"'},
        )

    @get("/record/{slug:str}/recommendations.csv", name="record_edition_csv")
    async def edition_csv(self, slug: FromPath[str]) -> Response[str]:
        found = await record.edition_record_of(slug, reader_language())
        return Response(
            record.recommendations_csv(found),
            media_type="text/csv; charset=utf-8",
            headers={
                "content-disposition": (
                    f'attachment; filename="sip-{found.edition}-recommendations.csv"'
                )
            },
        )


class ProjectsAPI(Controller):
    path = "/api"
    tags = ["projects"]

    @post(
        "/projects",
        status_code=201,
        summary="Set up a project from adopted recommendations (board, their countries' operators)",
        guards=[signed_in],
    )
    async def create(
        self, member: MemberDep, rules: RulesDep, data: JSONBody[ProjectIn]
    ) -> ProjectDetail:
        project_id = await projects.create_project(rules, member, data)
        return await projects.project_detail(project_id, reader_language())

    @put(
        "/projects/{project_id:int}/status", summary="Change a project's status", guards=[signed_in]
    )
    async def status(
        self, member: MemberDep, project_id: FromPath[int], data: JSONBody[StatusIn]
    ) -> ProjectSummary:
        return await projects.set_status(member, project_id, data.status)

    @post(
        "/projects/{project_id:int}/milestones",
        status_code=201,
        summary="Add a milestone",
        guards=[signed_in],
    )
    async def milestone(
        self,
        member: MemberDep,
        project_id: FromPath[int],
        data: JSONBody[MilestoneIn],
    ) -> MilestoneOut:
        return await projects.add_milestone(member, project_id, data)

    @post(
        "/milestones/{milestone_id:int}/done",
        status_code=200,
        summary="Mark a milestone done",
        guards=[signed_in],
    )
    async def done(
        self, member: MemberDep, milestone_id: FromPath[int], data: JSONBody[DoneIn]
    ) -> MilestoneOut:
        return await projects.complete_milestone(member, milestone_id, data.done_on)

    @post(
        "/projects/{project_id:int}/sources",
        status_code=201,
        summary="One more adopted recommendation the project answers",
        guards=[signed_in],
    )
    async def source(
        self,
        member: MemberDep,
        rules: RulesDep,
        project_id: FromPath[int],
        data: JSONBody[SourceIn],
    ) -> ProjectSummary:
        return await projects.add_source(rules, member, project_id, data.recommendation_id)
