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
from litestar.params import FromPath, JSONBody
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
from core.recommendations import deciding, outcomes, projects
from core.recommendations import services as recs
from core.recommendations.bundle import BundleDocument, BundleSummary
from core.recommendations.projects import (
    ProjectSummary,
)
from core.recommendations.services import (
    CommentIn,
    CommentOut,
    DecisionIn,
    DecisionOut,
    RecommendationIn,
    RecommendationInfo,
)
from core.tracks import track_of
from core.web.context import member_of, page
from core.web.deps import MemberDep, RulesDep, ViewerDep, rules_of
from core.web.guards import signed_in
from core.web.twins import twin

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


def reader_language() -> str:
    return current_language.get()


def form_int(value: Any, what: str) -> int:
    text = str(value or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        raise InvalidInput(_("Give %(what)s as a whole number.") % {"what": what})
    return int(text)


def form_day(value: Any, what: str) -> date | None:
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
        decided_on=form_day(form.get("decided_on"), _("the day of the decision")),
        supersedes=form_int(supersedes, _("the decision it replaces")) if supersedes else None,
    )


def drafting_open(edition: EditionInfo, country: str) -> bool:
    try:
        recs.require_drafting(edition, country)
    except DomainError:
        return False
    return True


@recs.snapshot
async def detail(rec_id: int, viewer: CurrentMember | None) -> RecommendationDetail:
    info = await recs.get_recommendation(rec_id, viewer, reader_language())
    group = await groups.get_group(info.group_id)
    sees_drafts = await recs.may_see_drafts(viewer, group)
    return RecommendationDetail(
        recommendation=info,
        comments=await recs.comments_of(rec_id) if sees_drafts else [],
        endorsed_by_me=viewer is not None and await recs.endorsed_by(rec_id, viewer.id),
        decisions=await recs.decision_history(rec_id),
        projects=(await projects.projects_of([rec_id])).get(rec_id, []),
    )


async def recommendation_context(
    request: Req, rec_id: int, found: RecommendationDetail | None = None, **extra: Any
) -> dict[str, Any]:
    viewer = member_of(request)
    if found is None:
        found = await detail(rec_id, viewer)
    info = found.recommendation
    group = await groups.get_group(info.group_id)
    edition = await editions.get_edition_by_id(info.edition_id)
    latest = found.decisions[-1] if found.decisions else None
    adopted = latest is not None and latest.outcome in outcomes.ADOPTING
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
        and info.status == outcomes.SUBMITTED
        and info.bundle_id is not None,
        "may_start_project": adopted and projects.may_manage(viewer, [info.country]),
        "outcomes": outcomes.OUTCOMES,
        "outcome_label": outcomes.outcome_label,
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
async def group_context(
    request: Req,
    group_id: int,
    listed: list[RecommendationInfo] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    viewer = member_of(request)
    group = await groups.get_group(group_id)
    edition = await editions.get_edition_by_id(group.edition_id)
    rules = rules_of(request)
    if listed is None:
        listed = await recs.group_recommendations(group, viewer, reader_language())
    return {
        "group": group,
        "edition": edition,
        "recommendations": listed,
        "is_facilitator": recs.is_facilitator(viewer, group),
        "drafting_open": drafting_open(edition, group.country),
        "languages_of_group": track_of(rules.registry, rules.settings, group.country).languages,
        "outcome_label": outcomes.outcome_label,
        **extra,
    }


@recs.snapshot
async def edition_groups(request: Req, edition: EditionInfo) -> dict[str, Any]:
    """The edition's groups with how many recommendations each has submitted."""
    listed = await groups.list_groups(edition.id)
    counts = await recs.submitted_per_group(edition.id)
    return {"edition": edition, "groups": listed, "counts": counts}


def require_bundle_reader(actor: CurrentMember, country: str) -> None:
    if not deciding.may_read_bundles(actor, country):
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
    request: Req,
    edition: EditionInfo,
    country: str,
    doc: BundleDocument | None = None,
    **extra: Any,
) -> dict[str, Any]:
    viewer = require_member(request)
    require_bundle_reader(viewer, country)
    if doc is None:
        doc = await bundles.pending_document(edition, country, reader_language())
    return {
        "edition": edition,
        "country": country,
        "doc": doc,
        "bundles": await bundles.bundles(edition.id, [country]),
        "may_bundle": viewer.is_operator(country),
        "outcome_label": outcomes.outcome_label,
        **extra,
    }


# -- pages made with their JSON twins -----------------------------------------------------------


async def edition_recommendations_context(
    request: Req, found: list[RecommendationInfo]
) -> dict[str, Any]:
    # The page lists the edition's groups with their counts; its twin, the recommendations.
    edition = await editions.get_edition(request.path_params["slug"])
    return await edition_groups(request, edition)


@twin(
    "/editions/{slug:str}/recommendations",
    name="edition_recommendations",
    template="recommendations_edition.html",
    tags=["recommendations"],
    summary="An edition's submitted recommendations, with the board's current decisions",
    context=edition_recommendations_context,
)
async def edition_recommendation_list(slug: FromPath[str]) -> list[RecommendationInfo]:
    edition = await editions.get_edition(slug)
    return await recs.edition_recommendations(edition.id, reader_language())


async def group_recommendations_context(
    request: Req, found: list[RecommendationInfo]
) -> dict[str, Any]:
    return await group_context(request, request.path_params["group_id"], found)


@twin(
    "/groups/{group_id:int}/recommendations",
    name="group_recommendations",
    template="recommendations.html",
    tags=["recommendations"],
    summary="A working group's recommendations (drafts for the group only)",
    context=group_recommendations_context,
)
async def group_recommendation_list(
    viewer: ViewerDep, group_id: FromPath[int]
) -> list[RecommendationInfo]:
    group = await groups.get_group(group_id)
    return await recs.group_recommendations(group, viewer, reader_language())


async def recommendation_show_context(request: Req, found: RecommendationDetail) -> dict[str, Any]:
    async with reading():
        return await recommendation_context(request, found.recommendation.id, found)


@twin(
    "/recommendations/{rec_id:int}",
    name="recommendation",
    template="recommendation.html",
    tags=["recommendations"],
    summary="A recommendation, its decisions and projects",
    context=recommendation_show_context,
)
async def recommendation_show(viewer: ViewerDep, rec_id: FromPath[int]) -> RecommendationDetail:
    return await detail(rec_id, viewer)


async def bundle_list_context(request: Req, found: list[BundleSummary]) -> dict[str, Any]:
    member = require_member(request)
    waiting = []
    for edition in await editions.list_editions():
        for country in member.operator_countries:
            rows = await deciding.pending_rows(edition.id, country)
            if rows:
                waiting.append((edition, country, len(rows)))
    return {
        "waiting": waiting,
        "bundles": found,
        "awaiting": await deciding.awaiting_decision(reader_language()) if member.is_board else [],
        "outcome_label": outcomes.outcome_label,
    }


@twin(
    "/bundles",
    name="bundles",
    template="bundles.html",
    tags=["bundles"],
    summary="The bundles handed to the board (operators: their countries)",
    context=bundle_list_context,
    guards=[signed_in],
)
async def bundle_list(member: MemberDep) -> list[BundleSummary]:
    if not (member.is_board or member.is_operator()):
        raise Forbidden(_("Only board members and operators read the bundles."))
    return await bundles.bundles(None, None if member.is_board else member.operator_countries)


async def bundle_pending_context(request: Req, doc: BundleDocument) -> dict[str, Any]:
    edition = await editions.get_edition(request.path_params["slug"])
    return await pending_context(request, edition, request.path_params["country"], doc)


@twin(
    "/editions/{slug:str}/bundles/{country:str}",
    name="bundle_pending",
    template="bundle_pending.html",
    tags=["bundles"],
    summary="The submitted recommendations waiting for a bundle, as the board will read them",
    context=bundle_pending_context,
    guards=[signed_in],
    api_path="/api/editions/{slug:str}/bundles/{country:str}/pending",
)
async def bundle_pending(
    member: MemberDep, slug: FromPath[str], country: FromPath[str]
) -> BundleDocument:
    require_bundle_reader(member, check_country(country))
    edition = await editions.get_edition(slug)
    return await bundles.pending_document(edition, country, reader_language())


def bundle_show_context(request: Req, doc: BundleDocument) -> dict[str, Any]:
    return {"doc": doc, "outcome_label": outcomes.outcome_label}


@twin(
    "/bundles/{bundle_id:int}",
    name="bundle",
    template="bundle.html",
    tags=["bundles"],
    summary="A bundle: by theme and group, with attendance",
    context=bundle_show_context,
    guards=[signed_in],
)
async def bundle_show(member: MemberDep, bundle_id: FromPath[int]) -> BundleDocument:
    row = await bundles.bundle_row(bundle_id)
    require_bundle_reader(member, row["country"])
    return await bundles.bundle_document(bundle_id, reader_language())


# -- pages -------------------------------------------------------------------------------------


class RecommendationPages(Controller):
    include_in_schema = False

    @post("/groups/{group_id:int}/recommendations", name="recommendation_draft", guards=[signed_in])
    async def draft(
        self, request: Req, member: MemberDep, rules: RulesDep, group_id: FromPath[int]
    ) -> Template | Redirect:
        form = await request.form()
        try:
            rec_id = await recs.draft(rules, member, group_id, recommendation_from_form(form))
        except DomainError as exc:
            context = await group_context(request, group_id, error=exc.message, form=dict(form))
            return page(request, "recommendations.html", context, status_code=exc.status_code)
        return Redirect(f"/recommendations/{rec_id}", status_code=303)

    @post("/recommendations/{rec_id:int}/edit", name="recommendation_edit", guards=[signed_in])
    async def edit(
        self, request: Req, member: MemberDep, rules: RulesDep, rec_id: FromPath[int]
    ) -> Any:
        form = await request.form()
        return await run_on_recommendation(
            request,
            rec_id,
            lambda: recs.edit(rules, member, rec_id, recommendation_from_form(form)),
            edit_form=dict(form),
        )

    @post(
        "/recommendations/{rec_id:int}/comments", name="recommendation_comment", guards=[signed_in]
    )
    async def comment(
        self, request: Req, member: MemberDep, rules: RulesDep, rec_id: FromPath[int]
    ) -> Any:
        form = await request.form()
        return await run_on_recommendation(
            request,
            rec_id,
            lambda: recs.comment(rules, member, rec_id, str(form.get("body", ""))),
            comment_form=dict(form),
        )

    @post(
        "/recommendations/{rec_id:int}/endorse", name="recommendation_endorse", guards=[signed_in]
    )
    async def endorse(
        self, request: Req, member: MemberDep, rules: RulesDep, rec_id: FromPath[int]
    ) -> Any:
        return await run_on_recommendation(
            request, rec_id, lambda: recs.endorse(rules, member, rec_id)
        )

    @post(
        "/recommendations/{rec_id:int}/unendorse",
        name="recommendation_unendorse",
        guards=[signed_in],
    )
    async def unendorse(
        self, request: Req, member: MemberDep, rules: RulesDep, rec_id: FromPath[int]
    ) -> Any:
        return await run_on_recommendation(
            request, rec_id, lambda: recs.withdraw_endorsement(rules, member, rec_id)
        )

    @post("/recommendations/{rec_id:int}/submit", name="recommendation_submit", guards=[signed_in])
    async def submit(
        self, request: Req, member: MemberDep, rules: RulesDep, rec_id: FromPath[int]
    ) -> Any:
        return await run_on_recommendation(
            request, rec_id, lambda: recs.submit(rules, member, rec_id)
        )

    @post(
        "/recommendations/{rec_id:int}/decisions", name="recommendation_decide", guards=[signed_in]
    )
    async def decide(
        self, request: Req, member: MemberDep, rules: RulesDep, rec_id: FromPath[int]
    ) -> Any:
        form = await request.form()

        async def action() -> None:
            await deciding.record_decision(rules, member, rec_id, decision_from_form(form))

        return await run_on_recommendation(request, rec_id, action, decision_form=dict(form))


class BundlePages(Controller):
    include_in_schema = False

    @post("/editions/{slug:str}/bundles/{country:str}", name="bundle_create", guards=[signed_in])
    async def create(
        self,
        request: Req,
        member: MemberDep,
        rules: RulesDep,
        slug: FromPath[str],
        country: FromPath[str],
    ) -> Template | Redirect:
        edition = await editions.get_edition(slug)
        try:
            bundle_id = await deciding.create_bundle(
                rules, member, edition.id, check_country(country)
            )
        except DomainError as exc:
            context = await pending_context(request, edition, country, error=exc.message)
            return page(request, "bundle_pending.html", context, status_code=exc.status_code)
        return Redirect(f"/bundles/{bundle_id}", status_code=303)

    @get("/bundles/{bundle_id:int}/bundle.csv", name="bundle_csv", guards=[signed_in])
    async def csv(self, member: MemberDep, bundle_id: FromPath[int]) -> Response[str]:
        row = await bundles.bundle_row(bundle_id)
        require_bundle_reader(member, row["country"])
        doc = await bundles.bundle_document(bundle_id, reader_language())
        return Response(
            bundles.bundle_csv(doc),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="bundle-{bundle_id}.csv"'},
        )

    @get("/bundles/{bundle_id:int}/bundle.json", name="bundle_json", guards=[signed_in])
    async def json(self, member: MemberDep, bundle_id: FromPath[int]) -> Response[bytes]:
        row = await bundles.bundle_row(bundle_id)
        require_bundle_reader(member, row["country"])
        doc = await bundles.bundle_document(bundle_id, reader_language())
        return Response(
            bundles.bundle_json(doc),
            media_type="application/json",
            headers={"content-disposition": f'attachment; filename="bundle-{bundle_id}.json"'},
        )


# -- JSON --------------------------------------------------------------------------------------


class RecommendationsAPI(Controller):
    path = "/api"
    tags = ["recommendations"]

    @post(
        "/groups/{group_id:int}/recommendations",
        status_code=201,
        summary="Draft a recommendation (the group's facilitators)",
        guards=[signed_in],
    )
    async def draft(
        self,
        member: MemberDep,
        rules: RulesDep,
        group_id: FromPath[int],
        data: JSONBody[RecommendationIn],
    ) -> RecommendationDetail:
        rec_id = await recs.draft(rules, member, group_id, data)
        return await detail(rec_id, member)

    @put(
        "/recommendations/{rec_id:int}",
        summary="Rewrite a draft (the group's facilitators)",
        guards=[signed_in],
    )
    async def edit(
        self,
        member: MemberDep,
        rules: RulesDep,
        rec_id: FromPath[int],
        data: JSONBody[RecommendationIn],
    ) -> RecommendationDetail:
        await recs.edit(rules, member, rec_id, data)
        return await detail(rec_id, member)

    @post(
        "/recommendations/{rec_id:int}/comments",
        status_code=201,
        summary="Comment on a draft (the group's participants and facilitators)",
        guards=[signed_in],
    )
    async def comment(
        self,
        member: MemberDep,
        rules: RulesDep,
        rec_id: FromPath[int],
        data: JSONBody[CommentIn],
    ) -> RecommendationDetail:
        await recs.comment(rules, member, rec_id, data.body)
        return await detail(rec_id, member)

    @post(
        "/recommendations/{rec_id:int}/endorsement",
        status_code=200,
        summary="Endorse a draft (the group's participants and facilitators), once",
        guards=[signed_in],
    )
    async def endorse(
        self, member: MemberDep, rules: RulesDep, rec_id: FromPath[int]
    ) -> EndorsementCount:
        count = await recs.endorse(rules, member, rec_id)
        return EndorsementCount(rec_id, count, True)

    @delete(
        "/recommendations/{rec_id:int}/endorsement",
        status_code=200,
        summary="Take an endorsement back while the recommendation is a draft",
        guards=[signed_in],
    )
    async def unendorse(
        self, member: MemberDep, rules: RulesDep, rec_id: FromPath[int]
    ) -> EndorsementCount:
        count = await recs.withdraw_endorsement(rules, member, rec_id)
        return EndorsementCount(rec_id, count, False)

    @post(
        "/recommendations/{rec_id:int}/submission",
        status_code=200,
        summary="Submit a draft in the recommendations phase (the group's facilitators)",
        guards=[signed_in],
    )
    async def submit(
        self, member: MemberDep, rules: RulesDep, rec_id: FromPath[int]
    ) -> RecommendationDetail:
        await recs.submit(rules, member, rec_id)
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
        guards=[signed_in],
    )
    async def decide(
        self,
        member: MemberDep,
        rules: RulesDep,
        rec_id: FromPath[int],
        data: JSONBody[DecisionIn],
    ) -> DecisionOut:
        return await deciding.record_decision(rules, member, rec_id, data)

    @get(
        "/board/recommendations",
        summary="Bundled recommendations awaiting the board's decision (board members)",
        guards=[signed_in],
    )
    async def awaiting(self, member: MemberDep) -> list[RecommendationInfo]:
        if not member.is_board:
            raise Forbidden(_("Only board members record the board's decisions."))
        return await deciding.awaiting_decision(reader_language())


class BundlesAPI(Controller):
    path = "/api"
    tags = ["bundles"]

    @post(
        "/editions/{slug:str}/bundles/{country:str}",
        status_code=201,
        summary="Bundle the country's submitted recommendations for the board (its operators)",
        guards=[signed_in],
    )
    async def create(
        self,
        member: MemberDep,
        rules: RulesDep,
        slug: FromPath[str],
        country: FromPath[str],
    ) -> BundleDocument:
        edition = await editions.get_edition(slug)
        bundle_id = await deciding.create_bundle(rules, member, edition.id, check_country(country))
        return await bundles.bundle_document(bundle_id, reader_language())
