"""Theme pages (list, theme, proposing, my proposals, moderation) and their JSON twins."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Redirect, Template

from core import i18n
from core.config import COUNTRIES
from core.editions import services as editions
from core.editions.services import PROPOSALS, phase_label
from core.errors import DomainError, Forbidden, InvalidInput
from core.i18n import _
from core.members.controllers import require_member
from core.themes import queries, services
from core.themes.queries import ThemeDetail, ThemeFilter, ThemePage, ThemeSummary
from core.themes.services import ID_MAX, Rules, ThemeTextIn
from core.web.context import member_of, page, settings_of

Req = Request[Any, Any, Any]


class BoardThemeIn(msgspec.Struct):
    title: str
    description: str = ""
    language: str = ""
    countries: list[str] = []


class RejectIn(msgspec.Struct):
    reason: str = ""


class MergeIn(msgspec.Struct):
    into: int


class SupportCount(msgspec.Struct):
    theme_id: int
    support_count: int
    supported_by_me: bool


class ModerationQueue(msgspec.Struct):
    country: str
    over_threshold: list[ThemeSummary]
    gathering: list[ThemeSummary]


def rules_of(request: Req) -> Rules:
    return Rules(registry=request.app.state.registry, settings=settings_of(request))


def language() -> str:
    return i18n.current_language.get()


def filters_from(
    country: str | None,
    q: str,
    origin: str | None,
    status: str | None,
    sort: str,
    page_number: int,
    per_page: int,
) -> ThemeFilter:
    return ThemeFilter(
        country=country or None,
        q=q,
        origin=origin or None,
        status=status or None,
        sort=sort or "supports",
        page=page_number,
        per_page=per_page,
    )


def text_from_form(form: dict[str, Any], fallback_language: str) -> ThemeTextIn:
    return ThemeTextIn(
        title=str(form.get("title", "")),
        description=str(form.get("description", "")),
        language=str(form.get("language", "")) or fallback_language,
    )


async def theme_page(
    request: Req, theme_id: int, *, status_code: int = 200, **extra: Any
) -> Template:
    viewer = member_of(request)
    theme = await queries.theme_detail(theme_id, language(), viewer)
    edition = await editions.get_edition_by_id(theme.edition_id)
    country = theme.countries[0]
    threshold = rules_of(request).threshold(edition, country)
    others: list[ThemeSummary] = []
    if viewer and viewer.is_operator(country) and theme.status == services.SUBMITTED:
        listing = await queries.list_themes(
            edition.id, ThemeFilter(country=country, per_page=100), language()
        )
        others = [
            t for t in listing.items if t.id != theme.id and t.status in ("submitted", "accepted")
        ]
    can_translate = (
        viewer is not None
        and theme.status not in ("draft", "withdrawn")
        and (
            all(viewer.is_operator(c) for c in theme.countries)
            or (theme.origin == "board" and viewer.is_board)
        )
    )
    context = {
        "can_translate": can_translate,
        "theme": theme,
        "edition": edition,
        "threshold": threshold,
        "proposals_open": edition.current_phase(country) == PROPOSALS,
        "merge_targets": others,
        "phase_label": phase_label,
        **extra,
    }
    return page(request, "theme.html", context, status_code=status_code)


async def run_action(request: Req, theme_id: int, action: Any) -> Template | Redirect:
    """Run a theme action from a form; on a refusal show the theme again with the message."""
    try:
        await action()
    except DomainError as exc:
        return await theme_page(request, theme_id, error=exc.message, status_code=exc.status_code)
    return Redirect(f"/themes/{theme_id}", status_code=303)


class ThemePages(Controller):
    include_in_schema = False

    @get("/editions/{slug:str}/themes", name="themes")
    async def list(
        self,
        request: Req,
        slug: FromPath[str],
        country: FromQuery[str] = "",
        q: FromQuery[str] = "",
        origin: FromQuery[str] = "",
        status: FromQuery[str] = "",
        sort: FromQuery[str] = "supports",
        page_number: Annotated[int, QueryParameter(name="page")] = 1,
    ) -> Template:
        edition = await editions.get_edition(slug)
        viewer = member_of(request)
        if not country and viewer:
            country = viewer.country
        filters = filters_from(country, q, origin, status, sort, page_number, 20)
        try:
            result = await queries.list_themes(edition.id, filters, language())
            error = None
        except DomainError as exc:
            result, error = ThemePage(items=[], total=0, page=1, per_page=20), exc.message
        return page(
            request,
            "themes.html",
            {
                "edition": edition,
                "result": result,
                "filters": filters,
                "error": error,
                "countries": COUNTRIES,
                "phase_label": phase_label,
            },
            status_code=400 if error else 200,
        )

    @get("/editions/{slug:str}/propose", name="theme_propose")
    async def propose_form(self, request: Req, slug: FromPath[str]) -> Template:
        member = require_member(request)
        edition = await editions.get_edition(slug)
        error = None
        try:
            editions.require_phase(edition, member.country, PROPOSALS)
        except DomainError as exc:
            error = exc.message
        return page(
            request, "theme_form.html", {"edition": edition, "error": error, "mode": "propose"}
        )

    @post("/editions/{slug:str}/propose", name="theme_propose_save")
    async def propose(self, request: Req, slug: FromPath[str]) -> Template | Redirect:
        member = require_member(request)
        edition = await editions.get_edition(slug)
        form = dict(await request.form())
        try:
            theme_id = await services.propose(
                rules_of(request), member, edition.id, text_from_form(form, member.language)
            )
        except DomainError as exc:
            return page(
                request,
                "theme_form.html",
                {"edition": edition, "error": exc.message, "form": form, "mode": "propose"},
                status_code=exc.status_code,
            )
        return Redirect(f"/themes/{theme_id}", status_code=303)

    @get("/editions/{slug:str}/board-theme", name="board_theme")
    async def board_form(self, request: Req, slug: FromPath[str]) -> Template:
        member = require_member(request)
        if not (member.is_board or member.is_operator()):
            raise Forbidden(_("Only board members and operators add board themes."))
        edition = await editions.get_edition(slug)
        return page(request, "theme_form.html", {"edition": edition, "mode": "board"})

    @post("/editions/{slug:str}/board-theme", name="board_theme_save")
    async def board(self, request: Req, slug: FromPath[str]) -> Template | Redirect:
        member = require_member(request)
        edition = await editions.get_edition(slug)
        form = await request.form()
        data = dict(form)
        try:
            theme_id = await services.add_board_theme(
                rules_of(request),
                member,
                edition.id,
                form.getall("countries") if "countries" in form else [],
                text_from_form(data, member.language),
            )
        except DomainError as exc:
            return page(
                request,
                "theme_form.html",
                {"edition": edition, "error": exc.message, "form": data, "mode": "board"},
                status_code=exc.status_code,
            )
        return Redirect(f"/themes/{theme_id}", status_code=303)

    @get("/themes/{theme_id:int}", name="theme")
    async def show(self, request: Req, theme_id: FromPath[int]) -> Template:
        return await theme_page(request, theme_id)

    @get("/themes/{theme_id:int}/edit", name="theme_edit")
    async def edit_form(self, request: Req, theme_id: FromPath[int]) -> Template:
        member = require_member(request)
        theme = await queries.theme_detail(theme_id, language(), member)
        if theme.proposer_id != member.id:
            raise Forbidden(_("Only the member who proposed this theme can change it."))
        edition = await editions.get_edition_by_id(theme.edition_id)
        form = {"title": theme.title, "description": theme.description, "language": theme.language}
        return page(
            request,
            "theme_form.html",
            {"edition": edition, "form": form, "mode": "edit", "theme": theme},
        )

    @post("/themes/{theme_id:int}/edit", name="theme_edit_save")
    async def edit(self, request: Req, theme_id: FromPath[int]) -> Template | Redirect:
        member = require_member(request)
        form = dict(await request.form())
        try:
            await services.edit_draft(
                rules_of(request), member, theme_id, text_from_form(form, member.language)
            )
        except DomainError as exc:
            theme = await queries.theme_detail(theme_id, language(), member)
            edition = await editions.get_edition_by_id(theme.edition_id)
            return page(
                request,
                "theme_form.html",
                {
                    "edition": edition,
                    "form": form,
                    "mode": "edit",
                    "theme": theme,
                    "error": exc.message,
                },
                status_code=exc.status_code,
            )
        return Redirect(f"/themes/{theme_id}", status_code=303)

    @post("/themes/{theme_id:int}/submit", name="theme_submit")
    async def submit(self, request: Req, theme_id: FromPath[int]) -> Template | Redirect:
        member = require_member(request)
        return await run_action(
            request, theme_id, lambda: services.submit(rules_of(request), member, theme_id)
        )

    @post("/themes/{theme_id:int}/withdraw", name="theme_withdraw")
    async def withdraw(self, request: Req, theme_id: FromPath[int]) -> Template | Redirect:
        member = require_member(request)
        result = await run_action(
            request, theme_id, lambda: services.withdraw(rules_of(request), member, theme_id)
        )
        return (
            Redirect("/my/proposals", status_code=303) if isinstance(result, Redirect) else result
        )

    @post("/themes/{theme_id:int}/support", name="theme_support")
    async def support(self, request: Req, theme_id: FromPath[int]) -> Template | Redirect:
        member = require_member(request)
        return await run_action(
            request, theme_id, lambda: services.support(rules_of(request), member, theme_id)
        )

    @post("/themes/{theme_id:int}/unsupport", name="theme_unsupport")
    async def unsupport(self, request: Req, theme_id: FromPath[int]) -> Template | Redirect:
        member = require_member(request)
        return await run_action(
            request,
            theme_id,
            lambda: services.withdraw_support(rules_of(request), member, theme_id),
        )

    @post("/themes/{theme_id:int}/accept", name="theme_accept")
    async def accept(self, request: Req, theme_id: FromPath[int]) -> Template | Redirect:
        member = require_member(request)
        return await run_action(
            request, theme_id, lambda: services.accept(rules_of(request), member, theme_id)
        )

    @post("/themes/{theme_id:int}/reject", name="theme_reject")
    async def reject(self, request: Req, theme_id: FromPath[int]) -> Template | Redirect:
        member = require_member(request)
        reason = str((await request.form()).get("reason", ""))
        return await run_action(
            request,
            theme_id,
            lambda: services.reject(rules_of(request), member, theme_id, reason),
        )

    @post("/themes/{theme_id:int}/texts", name="theme_text")
    async def text(self, request: Req, theme_id: FromPath[int]) -> Template | Redirect:
        member = require_member(request)
        form = dict(await request.form())
        text = ThemeTextIn(
            title=str(form.get("title", "")),
            description=str(form.get("description", "")),
            language=str(form.get("language", "")),
        )
        return await run_action(
            request, theme_id, lambda: services.set_text(rules_of(request), member, theme_id, text)
        )

    @post("/themes/{theme_id:int}/merge", name="theme_merge")
    async def merge(self, request: Req, theme_id: FromPath[int]) -> Template | Redirect:
        member = require_member(request)
        raw = str((await request.form()).get("into", ""))

        async def action() -> None:
            if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= ID_MAX):
                raise InvalidInput(_("Choose the theme to merge into."))
            await services.merge(rules_of(request), member, theme_id, int(raw))

        return await run_action(request, theme_id, action)

    @get("/my/proposals", name="my_proposals")
    async def mine(self, request: Req) -> Template:
        member = require_member(request)
        return page(
            request,
            "my_proposals.html",
            {"proposals": await queries.my_proposals(member, language())},
        )

    @get("/moderation", name="moderation")
    async def moderation(self, request: Req, country: FromQuery[str] = "") -> Template:
        member = require_member(request)
        countries = member.operator_countries
        if not countries:
            raise Forbidden(_("Only operators moderate proposals."))
        country = country or countries[0]
        if country not in countries:
            raise Forbidden(
                _("Only operators of %(countries)s can do this.") % {"countries": country}
            )
        over, gathering = await queries.moderation_queue(member, country, language())
        return page(
            request,
            "moderation.html",
            {"country": country, "over": over, "gathering": gathering, "countries": countries},
        )


class ThemesAPI(Controller):
    path = "/api"
    tags = ["themes"]

    @get("/editions/{slug:str}/themes", summary="An edition's themes: search, filter, sort, pages")
    async def list(
        self,
        request: Req,
        slug: FromPath[str],
        country: FromQuery[str | None] = None,
        q: FromQuery[str] = "",
        origin: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        sort: FromQuery[str] = "supports",
        page: FromQuery[int] = 1,
        per_page: FromQuery[int] = 20,
    ) -> ThemePage:
        edition = await editions.get_edition(slug)
        filters = filters_from(country, q, origin, status, sort, page, per_page)
        return await queries.list_themes(edition.id, filters, language())

    @post("/editions/{slug:str}/themes", status_code=201, summary="Propose a theme (a draft)")
    async def propose(
        self, request: Req, slug: FromPath[str], data: JSONBody[ThemeTextIn]
    ) -> ThemeDetail:
        member = require_member(request)
        edition = await editions.get_edition(slug)
        theme_id = await services.propose(rules_of(request), member, edition.id, data)
        return await queries.theme_detail(theme_id, language(), member)

    @post(
        "/editions/{slug:str}/board-themes",
        status_code=201,
        summary="Add a board theme (board members, operators of its countries)",
    )
    async def board(
        self, request: Req, slug: FromPath[str], data: JSONBody[BoardThemeIn]
    ) -> ThemeDetail:
        member = require_member(request)
        edition = await editions.get_edition(slug)
        theme_id = await services.add_board_theme(
            rules_of(request),
            member,
            edition.id,
            data.countries,
            ThemeTextIn(title=data.title, description=data.description, language=data.language),
        )
        return await queries.theme_detail(theme_id, language(), member)

    @get("/themes/{theme_id:int}", summary="One theme")
    async def show(self, request: Req, theme_id: FromPath[int]) -> ThemeDetail:
        return await queries.theme_detail(theme_id, language(), member_of(request))

    @put("/themes/{theme_id:int}", summary="Edit a draft proposal (its author)")
    async def edit(
        self, request: Req, theme_id: FromPath[int], data: JSONBody[ThemeTextIn]
    ) -> ThemeDetail:
        member = require_member(request)
        await services.edit_draft(rules_of(request), member, theme_id, data)
        return await queries.theme_detail(theme_id, language(), member)

    @post("/themes/{theme_id:int}/submit", status_code=200, summary="Submit a draft proposal")
    async def submit(self, request: Req, theme_id: FromPath[int]) -> ThemeDetail:
        member = require_member(request)
        await services.submit(rules_of(request), member, theme_id)
        return await queries.theme_detail(theme_id, language(), member)

    @post("/themes/{theme_id:int}/withdraw", status_code=200, summary="Withdraw a proposal")
    async def withdraw(self, request: Req, theme_id: FromPath[int]) -> ThemeDetail:
        member = require_member(request)
        await services.withdraw(rules_of(request), member, theme_id)
        return await queries.theme_detail(theme_id, language(), member)

    @post("/themes/{theme_id:int}/support", status_code=200, summary="Support a proposal")
    async def support(self, request: Req, theme_id: FromPath[int]) -> SupportCount:
        member = require_member(request)
        count = await services.support(rules_of(request), member, theme_id)
        return SupportCount(theme_id=theme_id, support_count=count, supported_by_me=True)

    @delete("/themes/{theme_id:int}/support", status_code=200, summary="Take a support back")
    async def unsupport(self, request: Req, theme_id: FromPath[int]) -> SupportCount:
        member = require_member(request)
        count = await services.withdraw_support(rules_of(request), member, theme_id)
        return SupportCount(theme_id=theme_id, support_count=count, supported_by_me=False)

    @post("/themes/{theme_id:int}/accept", status_code=200, summary="Accept for the ballot")
    async def accept(self, request: Req, theme_id: FromPath[int]) -> ThemeDetail:
        member = require_member(request)
        await services.accept(rules_of(request), member, theme_id)
        return await queries.theme_detail(theme_id, language(), member)

    @post("/themes/{theme_id:int}/reject", status_code=200, summary="Reject, with a reason")
    async def reject(
        self, request: Req, theme_id: FromPath[int], data: JSONBody[RejectIn]
    ) -> ThemeDetail:
        member = require_member(request)
        await services.reject(rules_of(request), member, theme_id, data.reason)
        return await queries.theme_detail(theme_id, language(), member)

    @put(
        "/themes/{theme_id:int}/texts/{language:str}",
        summary="Add or correct a translation (operators; board members for board themes)",
    )
    async def text(
        self,
        request: Req,
        theme_id: FromPath[int],
        language: FromPath[str],
        data: JSONBody[ThemeTextIn],
    ) -> ThemeDetail:
        member = require_member(request)
        text = ThemeTextIn(title=data.title, description=data.description, language=language)
        await services.set_text(rules_of(request), member, theme_id, text)
        return await queries.theme_detail(theme_id, language, member)

    @post("/themes/{theme_id:int}/merge", status_code=200, summary="Merge into another theme")
    async def merge(
        self, request: Req, theme_id: FromPath[int], data: JSONBody[MergeIn]
    ) -> ThemeDetail:
        member = require_member(request)
        await services.merge(rules_of(request), member, theme_id, data.into)
        return await queries.theme_detail(data.into, language(), member)

    @get("/me/proposals", summary="The signed-in member's proposals, drafts included")
    async def mine(self, request: Req) -> list[ThemeSummary]:
        return await queries.my_proposals(require_member(request), language())

    @get("/moderation/{country:str}", summary="The operators' queue of one country")
    async def moderation(self, request: Req, country: FromPath[str]) -> ModerationQueue:
        member = require_member(request)
        if country not in COUNTRIES:
            raise InvalidInput(_("Unknown country %(code)s.") % {"code": country})
        if not member.is_operator(country):
            raise Forbidden(
                _("Only operators of %(countries)s can do this.") % {"countries": country}
            )
        over, gathering = await queries.moderation_queue(member, country, language())
        return ModerationQueue(country=country, over_threshold=over, gathering=gathering)
