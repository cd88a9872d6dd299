"""Recommendation, bundle, project and record pages, and their JSON twins.

Pages catch a refusal and show their form again with the message (and the refusal's status);
the JSON routes let it become a problem body. Neither writes anything when refused. The record
pages are public.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Redirect, Template

from core import clock, db
from core.config import COUNTRIES
from core.editions import services as editions
from core.editions.services import RECOMMENDATIONS, EditionInfo, phase_label
from core.errors import DomainError, Forbidden, InvalidInput, NotFound
from core.groups import services as groups
from core.i18n import _, current_language
from core.members.controllers import require_member
from core.members.model import CurrentMember
from core.recommendations import bundle as bundles
from core.recommendations import pictures, projects, record
from core.recommendations import services as recs
from core.recommendations.bundle import BundleDocument, BundleSummary
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
from core.recommendations.services import (
    CommentIn,
    CommentOut,
    DecisionIn,
    DecisionOut,
    RecommendationIn,
    RecommendationInfo,
)
from core.recommendations.tables import Recommendation
from core.themes.controllers import rules_of
from core.tracks import track_of
from core.web.context import member_of, page

Req = Request[Any, Any, Any]


class RecommendationDetail(msgspec.Struct):
    """A recommendation as the viewer may see it: comments only for the group (and the
    operators of its country), the board's decision with its whole history, its projects."""

    recommendation: RecommendationInfo
    comments: list[CommentOut]
    endorsed_by_me: bool
    decisions: list[DecisionOut]
    projects: list[ProjectSummary]


class EndorsementCount(msgspec.Struct):
    recommendation_id: int
    endorsements: int
    endorsed_by_me: bool


class DoneIn(msgspec.Struct):
    done_on: date | None = None


# -- helpers -----------------------------------------------------------------------------------


def _language() -> str:
    return current_language.get()


def _int(value: Any, what: str) -> int:
    text = str(value or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        raise InvalidInput(_("Give %(what)s as a whole number.") % {"what": what})
    return int(text)


def _day(value: Any, what: str) -> date | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(_("Give %(what)s as a date (YYYY-MM-DD).") % {"what": what}) from None


def recommendation_from_form(form: Any) -> RecommendationIn:
    return RecommendationIn(
        title=str(form.get("title", "")),
        text=str(form.get("text", "")),
        rationale=str(form.get("rationale", "")),
        language=str(form.get("language", "")),
    )


def decision_from_form(form: Any) -> DecisionIn:
    supersedes = str(form.get("supersedes", "")).strip()
    return DecisionIn(
        outcome=str(form.get("outcome", "")),
        rationale=str(form.get("rationale", "")),
        decided_on=_day(form.get("decided_on"), _("the day of the decision")),
        supersedes=_int(supersedes, _("the decision it replaces")) if supersedes else None,
    )


def drafting_open(edition: EditionInfo, country: str) -> bool:
    try:
        recs.require_drafting(edition, country)
    except DomainError:
        return False
    return True


@recs.snapshot
async def detail(rec_id: int, viewer: CurrentMember | None) -> RecommendationDetail:
    info = await recs.get_recommendation(rec_id, viewer, _language())
    group = await groups.get_group(info.group_id)
    sees_drafts = await recs.may_see_drafts(viewer, group)
    return RecommendationDetail(
        recommendation=info,
        comments=await recs.comments_of(rec_id) if sees_drafts else [],
        endorsed_by_me=viewer is not None and await recs.endorsed_by(rec_id, viewer.id),
        decisions=await recs.decision_history(rec_id),
        projects=(await projects.projects_of([rec_id])).get(rec_id, []),
    )


async def recommendation_context(request: Req, rec_id: int, **extra: Any) -> dict[str, Any]:
    viewer = member_of(request)
    found = await detail(rec_id, viewer)
    info = found.recommendation
    group = await groups.get_group(info.group_id)
    edition = await editions.get_edition_by_id(info.edition_id)
    latest = found.decisions[-1] if found.decisions else None
    adopted = latest is not None and latest.outcome in recs.ADOPTING
    return {
        "rec": info,
        "detail": found,
        "group": group,
        "edition": edition,
        "latest": latest,
        "in_group": await recs.in_group(viewer, group),
        "sees_drafts": await recs.may_see_drafts(viewer, group),
        "is_facilitator": recs.is_facilitator(viewer, group),
        "endorsers": await recs.endorsers(rec_id) if await recs.in_group(viewer, group) else [],
        "drafting_open": drafting_open(edition, info.country),
        "submission_open": edition.current_phase(info.country) == RECOMMENDATIONS,
        "recommendations_phase": phase_label(RECOMMENDATIONS),
        "may_decide": viewer is not None
        and viewer.is_board
        and info.status == recs.SUBMITTED
        and info.bundle_id is not None,
        "may_start_project": adopted and projects.may_manage(viewer, [info.country]),
        "outcomes": recs.OUTCOMES,
        "outcome_label": recs.outcome_label,
        "status_label": projects.status_label,
        "today": clock.today(),
        "languages_of_group": track_of(
            rules_of(request).registry, rules_of(request).settings, group.country
        ).languages,
        **extra,
    }


def reading() -> Any:
    """A read transaction: one snapshot for a page's many reads (and, on SQLite, one
    connection instead of one per query)."""
    return db.engine().transaction()


async def recommendation_page(
    request: Req, rec_id: int, *, status_code: int = 200, **extra: Any
) -> Template:
    async with reading():
        context = await recommendation_context(request, rec_id, **extra)
    return page(request, "recommendation.html", context, status_code=status_code)


async def run_on_recommendation(request: Req, rec_id: int, action: Any, **extra: Any) -> Any:
    """Run an action from a form; a refusal shows the recommendation page again with it."""
    try:
        await action()
    except DomainError as exc:
        return await recommendation_page(
            request, rec_id, error=exc.message, status_code=exc.status_code, **extra
        )
    return Redirect(f"/recommendations/{rec_id}", status_code=303)


@recs.snapshot
async def group_context(request: Req, group_id: int, **extra: Any) -> dict[str, Any]:
    viewer = member_of(request)
    group = await groups.get_group(group_id)
    edition = await editions.get_edition_by_id(group.edition_id)
    rules = rules_of(request)
    return {
        "group": group,
        "edition": edition,
        "recommendations": await recs.group_recommendations(group, viewer, _language()),
        "is_facilitator": recs.is_facilitator(viewer, group),
        "drafting_open": drafting_open(edition, group.country),
        "languages_of_group": track_of(rules.registry, rules.settings, group.country).languages,
        "outcome_label": recs.outcome_label,
        **extra,
    }


@recs.snapshot
async def edition_groups(request: Req, edition: EditionInfo) -> dict[str, Any]:
    """The edition's groups with how many recommendations each has submitted."""
    listed = await groups.list_groups(edition.id)
    counts: dict[int, int] = {}
    for r in await Recommendation.select(Recommendation.working_group).where(
        (Recommendation.edition == edition.id) & (Recommendation.status == recs.SUBMITTED)
    ):
        counts[r["working_group"]] = counts.get(r["working_group"], 0) + 1
    return {"edition": edition, "groups": listed, "counts": counts}


def require_bundle_reader(actor: CurrentMember, country: str) -> None:
    if not recs.may_read_bundles(actor, country):
        raise Forbidden(
            _("Only board members and the operators of %(country)s read its bundles.")
            % {"country": country}
        )


def check_country(country: str) -> str:
    if country not in COUNTRIES:
        raise NotFound(_("Unknown country %(code)s.") % {"code": country})
    return country


@recs.snapshot
async def pending_context(
    request: Req, edition: EditionInfo, country: str, **extra: Any
) -> dict[str, Any]:
    viewer = require_member(request)
    require_bundle_reader(viewer, country)
    return {
        "edition": edition,
        "country": country,
        "doc": await bundles.pending_document(edition, country, _language()),
        "bundles": await bundles.bundles(edition.id, [country]),
        "may_bundle": viewer.is_operator(country),
        "outcome_label": recs.outcome_label,
        **extra,
    }


async def project_context(request: Req, project_id: int, **extra: Any) -> dict[str, Any]:
    viewer = member_of(request)
    found = await projects.project_detail(project_id, _language())
    manager = projects.may_manage(viewer, found.project.countries)
    addable = []
    if manager:
        addable = [
            r
            for r in await projects.adoptable(viewer, _language())
            if r.id not in found.project.recommendation_ids
        ]
    return {
        "found": found,
        "project": found.project,
        "may_manage": manager,
        "addable": addable,
        "statuses": projects.STATUSES,
        "status_label": projects.status_label,
        "outcome_label": recs.outcome_label,
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
        "adoptable": await projects.adoptable(viewer, _language()),
        "statuses": projects.STATUSES,
        "status_label": projects.status_label,
        "outcome_label": recs.outcome_label,
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


# -- pages -------------------------------------------------------------------------------------


class RecommendationPages(Controller):
    include_in_schema = False

    @get("/editions/{slug:str}/recommendations", name="edition_recommendations")
    async def edition(self, request: Req, slug: FromPath[str]) -> Template:
        edition = await editions.get_edition(slug)
        return page(request, "recommendations_edition.html", await edition_groups(request, edition))

    @get("/groups/{group_id:int}/recommendations", name="group_recommendations")
    async def group(self, request: Req, group_id: FromPath[int]) -> Template:
        return page(request, "recommendations.html", await group_context(request, group_id))

    @post("/groups/{group_id:int}/recommendations", name="recommendation_draft")
    async def draft(self, request: Req, group_id: FromPath[int]) -> Template | Redirect:
        member = require_member(request)
        form = await request.form()
        try:
            rec_id = await recs.draft(
                rules_of(request), member, group_id, recommendation_from_form(form)
            )
        except DomainError as exc:
            context = await group_context(request, group_id, error=exc.message, form=dict(form))
            return page(request, "recommendations.html", context, status_code=exc.status_code)
        return Redirect(f"/recommendations/{rec_id}", status_code=303)

    @get("/recommendations/{rec_id:int}", name="recommendation")
    async def show(self, request: Req, rec_id: FromPath[int]) -> Template:
        return await recommendation_page(request, rec_id)

    @post("/recommendations/{rec_id:int}/edit", name="recommendation_edit")
    async def edit(self, request: Req, rec_id: FromPath[int]) -> Any:
        member = require_member(request)
        form = await request.form()
        return await run_on_recommendation(
            request,
            rec_id,
            lambda: recs.edit(rules_of(request), member, rec_id, recommendation_from_form(form)),
            edit_form=dict(form),
        )

    @post("/recommendations/{rec_id:int}/comments", name="recommendation_comment")
    async def comment(self, request: Req, rec_id: FromPath[int]) -> Any:
        member = require_member(request)
        form = await request.form()
        return await run_on_recommendation(
            request,
            rec_id,
            lambda: recs.comment(rules_of(request), member, rec_id, str(form.get("body", ""))),
            comment_form=dict(form),
        )

    @post("/recommendations/{rec_id:int}/{action:str}", name="recommendation_action")
    async def act(self, request: Req, rec_id: FromPath[int], action: FromPath[str]) -> Any:
        member = require_member(request)
        rules = rules_of(request)
        steps = {
            "endorse": lambda: recs.endorse(rules, member, rec_id),
            "unendorse": lambda: recs.withdraw_endorsement(rules, member, rec_id),
            "submit": lambda: recs.submit(rules, member, rec_id),
        }
        if action not in steps:
            raise NotFound(_("Unknown action."))
        return await run_on_recommendation(request, rec_id, steps[action])

    @post("/recommendations/{rec_id:int}/decisions", name="recommendation_decide")
    async def decide(self, request: Req, rec_id: FromPath[int]) -> Any:
        member = require_member(request)
        form = await request.form()

        async def action() -> None:
            await recs.record_decision(rules_of(request), member, rec_id, decision_from_form(form))

        return await run_on_recommendation(request, rec_id, action, decision_form=dict(form))


class BundlePages(Controller):
    include_in_schema = False

    @get("/bundles", name="bundles")
    async def hub(self, request: Req) -> Template:
        viewer = require_member(request)
        if not (viewer.is_board or viewer.is_operator()):
            raise Forbidden(_("Only board members and operators read the bundles."))
        waiting = []
        for edition in await editions.list_editions():
            for country in viewer.operator_countries:
                rows = await recs.pending_rows(edition.id, country)
                if rows:
                    waiting.append((edition, country, len(rows)))
        return page(
            request,
            "bundles.html",
            {
                "waiting": waiting,
                "bundles": await bundles.bundles(
                    None, None if viewer.is_board else viewer.operator_countries
                ),
                "awaiting": await recs.awaiting_decision(_language()) if viewer.is_board else [],
                "outcome_label": recs.outcome_label,
            },
        )

    @get("/editions/{slug:str}/bundles/{country:str}", name="bundle_pending")
    async def pending(self, request: Req, slug: FromPath[str], country: FromPath[str]) -> Template:
        edition = await editions.get_edition(slug)
        context = await pending_context(request, edition, check_country(country))
        return page(request, "bundle_pending.html", context)

    @post("/editions/{slug:str}/bundles/{country:str}", name="bundle_create")
    async def create(
        self, request: Req, slug: FromPath[str], country: FromPath[str]
    ) -> Template | Redirect:
        member = require_member(request)
        edition = await editions.get_edition(slug)
        try:
            bundle_id = await recs.create_bundle(
                rules_of(request), member, edition.id, check_country(country)
            )
        except DomainError as exc:
            context = await pending_context(request, edition, country, error=exc.message)
            return page(request, "bundle_pending.html", context, status_code=exc.status_code)
        return Redirect(f"/bundles/{bundle_id}", status_code=303)

    @get("/bundles/{bundle_id:int}", name="bundle")
    async def show(self, request: Req, bundle_id: FromPath[int]) -> Template:
        viewer = require_member(request)
        row = await bundles.bundle_row(bundle_id)
        require_bundle_reader(viewer, row["country"])
        doc = await bundles.bundle_document(bundle_id, _language())
        return page(request, "bundle.html", {"doc": doc, "outcome_label": recs.outcome_label})

    @get("/bundles/{bundle_id:int}/bundle.csv", name="bundle_csv")
    async def csv(self, request: Req, bundle_id: FromPath[int]) -> Response[str]:
        viewer = require_member(request)
        row = await bundles.bundle_row(bundle_id)
        require_bundle_reader(viewer, row["country"])
        doc = await bundles.bundle_document(bundle_id, _language())
        return Response(
            bundles.bundle_csv(doc),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="bundle-{bundle_id}.csv"'},
        )

    @get("/bundles/{bundle_id:int}/bundle.json", name="bundle_json")
    async def json(self, request: Req, bundle_id: FromPath[int]) -> Response[bytes]:
        viewer = require_member(request)
        row = await bundles.bundle_row(bundle_id)
        require_bundle_reader(viewer, row["country"])
        doc = await bundles.bundle_document(bundle_id, _language())
        return Response(
            bundles.bundle_json(doc),
            media_type="application/json",
            headers={"content-disposition": f'attachment; filename="bundle-{bundle_id}.json"'},
        )


class ProjectPages(Controller):
    include_in_schema = False

    @get("/projects", name="projects")
    async def list(self, request: Req) -> Template:
        viewer = member_of(request)
        return page(
            request,
            "projects.html",
            {
                "projects": await projects.list_projects(),
                "status_label": projects.status_label,
                "may_start": viewer is not None and (viewer.is_board or viewer.is_operator()),
            },
        )

    @get("/projects/new", name="project_new")
    async def new(self, request: Req) -> Template:
        chosen = request.query_params.get("recommendation", "")
        form = {"recommendation": [chosen]} if chosen else {}
        return page(request, "project_form.html", await project_form_context(request, form=form))

    @post("/projects", name="project_create")
    async def create(self, request: Req) -> Template | Redirect:
        member = require_member(request)
        form = await request.form()
        try:
            data = ProjectIn(
                title=str(form.get("title", "")),
                description=str(form.get("description", "")),
                language=str(form.get("language", "")),
                status=str(form.get("status", "") or projects.PLANNED),
                started_on=_day(form.get("started_on"), _("the start of the project")),
                recommendation_ids=[
                    _int(v, _("a recommendation")) for v in form.getall("recommendation")
                ]
                if "recommendation" in form
                else [],
            )
            project_id = await projects.create_project(rules_of(request), member, data)
        except DomainError as exc:
            values = {k: v for k, v in form.items()}
            values["recommendation"] = (
                form.getall("recommendation") if "recommendation" in form else []
            )
            context = await project_form_context(request, error=exc.message, form=values)
            return page(request, "project_form.html", context, status_code=exc.status_code)
        return Redirect(f"/projects/{project_id}", status_code=303)

    @get("/projects/{project_id:int}", name="project")
    async def show(self, request: Req, project_id: FromPath[int]) -> Template:
        return await project_page(request, project_id)

    @post("/projects/{project_id:int}/status", name="project_status")
    async def status(self, request: Req, project_id: FromPath[int]) -> Any:
        member = require_member(request)
        form = await request.form()
        return await run_on_project(
            request,
            project_id,
            lambda: projects.set_status(member, project_id, str(form.get("status", ""))),
        )

    @post("/projects/{project_id:int}/milestones", name="project_milestone")
    async def milestone(self, request: Req, project_id: FromPath[int]) -> Any:
        member = require_member(request)
        form = await request.form()

        async def action() -> None:
            data = MilestoneIn(
                title=str(form.get("title", "")),
                due_on=_day(form.get("due_on"), _("the due date")),
            )
            await projects.add_milestone(member, project_id, data)

        return await run_on_project(request, project_id, action)

    @post(
        "/projects/{project_id:int}/milestones/{milestone_id:int}/done",
        name="project_milestone_done",
    )
    async def done(
        self, request: Req, project_id: FromPath[int], milestone_id: FromPath[int]
    ) -> Any:
        member = require_member(request)
        form = await request.form()

        async def action() -> None:
            if not any(m.id == milestone_id for m in await projects.milestones_of(project_id)):
                raise NotFound(_("There is no milestone %(id)d.") % {"id": milestone_id})
            await projects.complete_milestone(
                member, milestone_id, _day(form.get("done_on"), _("the day it was done"))
            )

        return await run_on_project(request, project_id, action)

    @post("/projects/{project_id:int}/sources", name="project_source")
    async def source(self, request: Req, project_id: FromPath[int]) -> Any:
        member = require_member(request)
        form = await request.form()

        async def action() -> None:
            await projects.add_source(
                rules_of(request),
                member,
                project_id,
                _int(form.get("recommendation"), _("a recommendation")),
            )

        return await run_on_project(request, project_id, action)


class RecordPages(Controller):
    include_in_schema = False

    @get("/record", name="record")
    async def across(self, request: Req) -> Template:
        found = await record.record(_language())
        return page(request, "record.html", {"record": found, **record_pictures(found)})

    @get("/record.csv", name="record_csv")
    async def csv(self) -> Response[str]:
        return Response(
            record.record_csv(await record.record(_language())),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": 'attachment; filename="sip-record.csv"'},
        )

    @get("/record/{slug:str}", name="record_edition")
    async def edition(
        self, request: Req, slug: FromPath[str], theme: FromQuery[int | None] = None
    ) -> Template:
        """The edition's record; ``?theme=`` lists only the recommendations on that theme
        (what became of it)."""
        found = await record.edition_record_of(slug, _language())
        chosen = next(
            (t for c in found.countries for t in c.themes if theme is not None and t.id == theme),
            None,
        )
        listed = [r for r in found.recommendations if theme is None or r.theme_id == theme]
        return page(
            request,
            "record_edition.html",
            {
                "found": found,
                "listed": listed,
                "theme_filter": chosen,
                "outcome_label": recs.outcome_label,
                "status_label": projects.status_label,
                "keys": record.RECORD_OUTCOMES,
                **edition_pictures(found),
            },
        )

    @get("/record/{slug:str}/recommendations.csv", name="record_edition_csv")
    async def edition_csv(self, slug: FromPath[str]) -> Response[str]:
        found = await record.edition_record_of(slug, _language())
        return Response(
            record.recommendations_csv(found),
            media_type="text/csv; charset=utf-8",
            headers={
                "content-disposition": (
                    f'attachment; filename="sip-{found.edition}-recommendations.csv"'
                )
            },
        )


# -- JSON --------------------------------------------------------------------------------------


class RecommendationsAPI(Controller):
    path = "/api"
    tags = ["recommendations"]

    @get(
        "/editions/{slug:str}/recommendations",
        summary="An edition's submitted recommendations, with the board's current decisions",
    )
    async def edition(self, slug: FromPath[str]) -> list[RecommendationInfo]:
        edition = await editions.get_edition(slug)
        rows = await (
            Recommendation.select()
            .where(
                (Recommendation.edition == edition.id) & (Recommendation.status == recs.SUBMITTED)
            )
            .order_by(Recommendation.id)
        )
        return await recs.infos(rows, _language())

    @get(
        "/groups/{group_id:int}/recommendations",
        summary="A working group's recommendations (drafts for the group only)",
    )
    async def group(self, request: Req, group_id: FromPath[int]) -> list[RecommendationInfo]:
        group = await groups.get_group(group_id)
        return await recs.group_recommendations(group, member_of(request), _language())

    @post(
        "/groups/{group_id:int}/recommendations",
        status_code=201,
        summary="Draft a recommendation (the group's facilitators)",
    )
    async def draft(
        self, request: Req, group_id: FromPath[int], data: JSONBody[RecommendationIn]
    ) -> RecommendationDetail:
        member = require_member(request)
        rec_id = await recs.draft(rules_of(request), member, group_id, data)
        return await detail(rec_id, member)

    @get("/recommendations/{rec_id:int}", summary="A recommendation, its decisions and projects")
    async def show(self, request: Req, rec_id: FromPath[int]) -> RecommendationDetail:
        return await detail(rec_id, member_of(request))

    @put("/recommendations/{rec_id:int}", summary="Rewrite a draft (the group's facilitators)")
    async def edit(
        self, request: Req, rec_id: FromPath[int], data: JSONBody[RecommendationIn]
    ) -> RecommendationDetail:
        member = require_member(request)
        await recs.edit(rules_of(request), member, rec_id, data)
        return await detail(rec_id, member)

    @post(
        "/recommendations/{rec_id:int}/comments",
        status_code=201,
        summary="Comment on a draft (the group's participants and facilitators)",
    )
    async def comment(
        self, request: Req, rec_id: FromPath[int], data: JSONBody[CommentIn]
    ) -> RecommendationDetail:
        member = require_member(request)
        await recs.comment(rules_of(request), member, rec_id, data.body)
        return await detail(rec_id, member)

    @post(
        "/recommendations/{rec_id:int}/endorsement",
        status_code=200,
        summary="Endorse a draft (the group's participants and facilitators), once",
    )
    async def endorse(self, request: Req, rec_id: FromPath[int]) -> EndorsementCount:
        member = require_member(request)
        count = await recs.endorse(rules_of(request), member, rec_id)
        return EndorsementCount(rec_id, count, True)

    @delete(
        "/recommendations/{rec_id:int}/endorsement",
        status_code=200,
        summary="Take an endorsement back while the recommendation is a draft",
    )
    async def unendorse(self, request: Req, rec_id: FromPath[int]) -> EndorsementCount:
        member = require_member(request)
        count = await recs.withdraw_endorsement(rules_of(request), member, rec_id)
        return EndorsementCount(rec_id, count, False)

    @post(
        "/recommendations/{rec_id:int}/submission",
        status_code=200,
        summary="Submit a draft in the recommendations phase (the group's facilitators)",
    )
    async def submit(self, request: Req, rec_id: FromPath[int]) -> RecommendationDetail:
        member = require_member(request)
        await recs.submit(rules_of(request), member, rec_id)
        return await detail(rec_id, member)

    @get(
        "/recommendations/{rec_id:int}/decisions",
        summary="The board's decision on a recommendation: every entry, the current one last",
    )
    async def decisions(self, request: Req, rec_id: FromPath[int]) -> list[DecisionOut]:
        await recs.get_recommendation(rec_id, member_of(request))
        return await recs.decision_history(rec_id)

    @post(
        "/recommendations/{rec_id:int}/decisions",
        status_code=201,
        summary="Record the board's decision (board members): a new entry superseding the latest",
    )
    async def decide(
        self, request: Req, rec_id: FromPath[int], data: JSONBody[DecisionIn]
    ) -> DecisionOut:
        return await recs.record_decision(rules_of(request), require_member(request), rec_id, data)

    @get(
        "/board/recommendations",
        summary="Bundled recommendations awaiting the board's decision (board members)",
    )
    async def awaiting(self, request: Req) -> list[RecommendationInfo]:
        if not require_member(request).is_board:
            raise Forbidden(_("Only board members record the board's decisions."))
        return await recs.awaiting_decision(_language())


class BundlesAPI(Controller):
    path = "/api"
    tags = ["bundles"]

    @get("/bundles", summary="The bundles handed to the board (operators: their countries)")
    async def list(self, request: Req) -> list[BundleSummary]:
        viewer = require_member(request)
        if not (viewer.is_board or viewer.is_operator()):
            raise Forbidden(_("Only board members and operators read the bundles."))
        return await bundles.bundles(None, None if viewer.is_board else viewer.operator_countries)

    @get(
        "/editions/{slug:str}/bundles/{country:str}/pending",
        summary="The submitted recommendations waiting for a bundle, as the board will read them",
    )
    async def pending(
        self, request: Req, slug: FromPath[str], country: FromPath[str]
    ) -> BundleDocument:
        viewer = require_member(request)
        require_bundle_reader(viewer, check_country(country))
        edition = await editions.get_edition(slug)
        return await bundles.pending_document(edition, country, _language())

    @post(
        "/editions/{slug:str}/bundles/{country:str}",
        status_code=201,
        summary="Bundle the country's submitted recommendations for the board (its operators)",
    )
    async def create(
        self, request: Req, slug: FromPath[str], country: FromPath[str]
    ) -> BundleDocument:
        member = require_member(request)
        edition = await editions.get_edition(slug)
        bundle_id = await recs.create_bundle(
            rules_of(request), member, edition.id, check_country(country)
        )
        return await bundles.bundle_document(bundle_id, _language())

    @get("/bundles/{bundle_id:int}", summary="A bundle: by theme and group, with attendance")
    async def show(self, request: Req, bundle_id: FromPath[int]) -> BundleDocument:
        viewer = require_member(request)
        row = await bundles.bundle_row(bundle_id)
        require_bundle_reader(viewer, row["country"])
        return await bundles.bundle_document(bundle_id, _language())


class ProjectsAPI(Controller):
    path = "/api"
    tags = ["projects"]

    @get("/projects", summary="Every project, its status and progress")
    async def list(self) -> list[ProjectSummary]:
        return await projects.list_projects()

    @post(
        "/projects",
        status_code=201,
        summary="Set up a project from adopted recommendations (board, their countries' operators)",
    )
    async def create(self, request: Req, data: JSONBody[ProjectIn]) -> ProjectDetail:
        project_id = await projects.create_project(rules_of(request), require_member(request), data)
        return await projects.project_detail(project_id, _language())

    @get("/projects/{project_id:int}", summary="A project, its milestones and its whole lineage")
    async def show(self, project_id: FromPath[int]) -> ProjectDetail:
        return await projects.project_detail(project_id, _language())

    @put("/projects/{project_id:int}/status", summary="Change a project's status")
    async def status(
        self, request: Req, project_id: FromPath[int], data: JSONBody[StatusIn]
    ) -> ProjectSummary:
        return await projects.set_status(require_member(request), project_id, data.status)

    @post("/projects/{project_id:int}/milestones", status_code=201, summary="Add a milestone")
    async def milestone(
        self, request: Req, project_id: FromPath[int], data: JSONBody[MilestoneIn]
    ) -> MilestoneOut:
        return await projects.add_milestone(require_member(request), project_id, data)

    @post("/milestones/{milestone_id:int}/done", status_code=200, summary="Mark a milestone done")
    async def done(
        self, request: Req, milestone_id: FromPath[int], data: JSONBody[DoneIn]
    ) -> MilestoneOut:
        return await projects.complete_milestone(
            require_member(request), milestone_id, data.done_on
        )

    @post(
        "/projects/{project_id:int}/sources",
        status_code=201,
        summary="One more adopted recommendation the project answers",
    )
    async def source(
        self, request: Req, project_id: FromPath[int], data: JSONBody[SourceIn]
    ) -> ProjectSummary:
        return await projects.add_source(
            rules_of(request), require_member(request), project_id, data.recommendation_id
        )


class RecordAPI(Controller):
    path = "/api"
    tags = ["record"]

    @get("/record", summary="The public record: every edition per country, with the totals")
    async def across(self) -> Record:
        return await record.record(_language())

    @get(
        "/record/{slug:str}",
        summary="One edition's record: themes, AGM, participants, recommendations and outcomes",
    )
    async def edition(self, slug: FromPath[str]) -> EditionRecord:
        return await record.edition_record_of(slug, _language())
