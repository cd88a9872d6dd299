"""Theme pages (list, theme, proposing, my proposals, moderation) and their JSON twins."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Redirect, Template

from core import i18n
from core.config import COUNTRIES
from core.editions import services as editions
from core.editions.services import PROPOSALS, phase_label
from core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from core.i18n import N_, _, ngettext
from core.members.model import CurrentMember
from core.rules import Rules
from core.themes import queries, services
from core.themes.queries import ThemeDetail, ThemeFilter, ThemePage, ThemeSummary
from core.themes.services import ID_MAX, ThemeTextIn
from core.web.context import member_of, page, safe_next
from core.web.deps import MemberDep, RulesDep, ViewerDep, rules_of
from core.web.guards import board_or_operator, operator_of_path_country, signed_in
from core.web.twins import keep, kept, twin

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


class ThemeListPage(ThemePage):
    """A page of the theme list; ``supported_by_me``: which of its themes the signed-in
    member supports (empty for visitors)."""

    supported_by_me: list[int] = []


class ModerationQueue(msgspec.Struct):
    country: str
    over_threshold: list[ThemeSummary]
    gathering: list[ThemeSummary]


class ModerationView(msgspec.Struct):
    """What the moderation page shows: one country's queue and the countries one moderates."""

    country: str
    countries: list[str]
    over_threshold: list[ThemeSummary]
    gathering: list[ThemeSummary]


BOARD_THEMES_REFUSAL = N_("Only board members and operators add board themes.")


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


def moderated_country(member: CurrentMember, country: str) -> tuple[str, list[str]]:
    """The country a moderation view shows (the member's first by default) and the countries
    they moderate; members who operate no country, or not that one, are refused."""
    countries = member.operator_countries
    if not countries:
        raise Forbidden(_("Only operators moderate proposals."))
    country = country or countries[0]
    if country not in countries:
        raise Forbidden(_("Only operators of %(countries)s can do this.") % {"countries": country})
    return country, countries


async def theme_page(
    request: Req,
    rules: Rules,
    viewer: CurrentMember | None,
    theme_id: int,
    *,
    status_code: int = 200,
    **extra: Any,
) -> Template:
    theme = await queries.theme_detail(theme_id, language(), viewer)
    context = await theme_context(rules, viewer, theme, **extra)
    return page(request, "theme.html", context, status_code=status_code)


async def theme_context(
    rules: Rules, viewer: CurrentMember | None, theme: ThemeDetail, **extra: Any
) -> dict[str, Any]:
    """What the theme page shows around the theme: its edition, the threshold, what the
    viewer may do (translate, merge into another)."""
    edition = await editions.get_edition_by_id(theme.edition_id)
    country = theme.countries[0]
    threshold = rules.support_threshold(edition, country)
    others: list[ThemeSummary] = []
    if viewer and viewer.is_operator(country) and theme.status == services.SUBMITTED:
        listing = await queries.list_themes(
            edition.id, ThemeFilter(country=country, per_page=100), language()
        )
        others = [
            t for t in listing.items if t.id != theme.id and t.status in ("submitted", "accepted")
        ]
    can_translate = theme.status not in (
        services.DRAFT,
        services.WITHDRAWN,
    ) and services.may_translate(viewer, theme.countries, theme.origin)
    return {
        "can_translate": can_translate,
        "theme": theme,
        "edition": edition,
        "threshold": threshold,
        "proposals_open": edition.current_phase(country) == PROPOSALS,
        "merge_targets": others,
        "phase_label": phase_label,
        **extra,
    }


async def run_action(
    request: Req, rules: Rules, member: CurrentMember, theme_id: int, action: Any
) -> Template | Redirect:
    """Run a theme action from a form; on a refusal show the theme again with the message."""
    try:
        await action()
    except DomainError as exc:
        return await theme_page(
            request, rules, member, theme_id, error=exc.message, status_code=exc.status_code
        )
    return Redirect(f"/themes/{theme_id}", status_code=303)


def confirmed(form: Any) -> bool:
    """Did the confirmation page say yes (field ``confirm=yes``)?"""
    return str(form.get("confirm", "")) == "yes"


async def decision_consequences(
    member: CurrentMember, theme: ThemeDetail, step: str, reason: str, into: int
) -> tuple[str, list[str], str]:
    """The heading, consequences and button of a moderation step's confirmation page; refused
    as the step would be (operators of all the theme's countries, a submitted proposal, a
    reason of the right length, a target of the same edition and countries)."""
    if not all(member.is_operator(c) for c in theme.countries):
        raise Forbidden(
            _("Only operators of %(countries)s can do this.")
            % {"countries": ", ".join(theme.countries)}
        )
    supports = ngettext(
        "It has %(num)d support.", "It has %(num)d supports.", theme.support_count
    ) % {"num": theme.support_count}
    final = _("The proposer is told at once; the decision cannot be taken back.")
    if step == "accept":
        if theme.status != services.SUBMITTED:
            raise Conflict(_("Only a submitted proposal can be accepted."))
        return (
            _("Accept “%(title)s” for the ballot?") % {"title": theme.title},
            [
                _("The proposal goes on the ballot of the general meeting as it is."),
                supports,
                final,
            ],
            _("Yes, accept it for the ballot"),
        )
    if step == "reject":
        if theme.status != services.SUBMITTED:
            raise Conflict(_("Only a submitted proposal can be rejected."))
        if not services.REASON_MIN <= len(reason.strip()) <= services.REASON_MAX:
            raise InvalidInput(
                _("Give the proposer a reason (%(min)d to %(max)d characters).")
                % {"min": services.REASON_MIN, "max": services.REASON_MAX}
            )
        return (
            _("Reject “%(title)s”?") % {"title": theme.title},
            [
                _("The proposal does not go on the ballot; its supports no longer count."),
                supports,
                final,
                _("The proposer reads this reason:"),
            ],
            _("Yes, reject it"),
        )
    if theme.id == into:
        raise InvalidInput(_("A theme cannot be merged into itself."))
    if theme.status != services.SUBMITTED:
        raise Conflict(_("Only a submitted proposal can be merged."))
    target = await queries.theme_detail(into, language(), member)
    if target.edition_id != theme.edition_id:
        raise InvalidInput(_("Both themes must belong to the same edition."))
    if not set(theme.countries) <= set(target.countries):
        raise InvalidInput(_("The target theme must run in the same countries."))
    if target.status not in (services.SUBMITTED, services.ACCEPTED):
        raise Conflict(_("Merge into a submitted or accepted theme."))
    return (
        _("Merge “%(title)s” into “%(target)s”?") % {"title": theme.title, "target": target.title},
        [
            ngettext(
                "Its %(num)d support carries over to “%(target)s”, which has %(has)d now "
                "(a member who supports both counts once).",
                "Its %(num)d supports carry over to “%(target)s”, which has %(has)d now "
                "(a member who supports both counts once).",
                theme.support_count,
            )
            % {"num": theme.support_count, "target": target.title, "has": target.support_count},
            _("The proposal stops as a theme of its own."),
            final,
        ],
        _("Yes, merge them"),
    )


async def confirm_decision(
    request: Req,
    rules: Rules,
    member: CurrentMember,
    theme_id: int,
    step: str,
    reason: str = "",
    into: int = 0,
) -> Template:
    """The confirmation page of a moderation step (``accept``, ``reject``, ``merge``): it
    names the theme, the target, the reason, and posts the same fields with confirm=yes. A
    step that would be refused shows the theme again with the message; nothing changes."""
    try:
        theme = await queries.theme_detail(theme_id, language(), member)
        heading, consequences, button = await decision_consequences(
            member, theme, step, reason, into
        )
    except DomainError as exc:
        return await theme_page(
            request, rules, member, theme_id, error=exc.message, status_code=exc.status_code
        )
    fields = {"reject": [("reason", reason)], "merge": [("into", str(into))]}.get(step, [])
    return page(
        request,
        "confirm.html",
        {
            "heading": heading,
            "consequences": consequences,
            "quote": reason.strip() if step == "reject" else "",
            "action": f"/themes/{theme_id}/{step}",
            "button": button,
            "cancel": f"/themes/{theme_id}",
            "fields": fields,
            "danger": step != "accept",
        },
    )


def moderation_context(request: Req, view: ModerationView) -> dict[str, Any]:
    return {
        "country": view.country,
        "over": view.over_threshold,
        "gathering": view.gathering,
        "countries": view.countries,
    }


@twin(
    "/moderation",
    name="moderation",
    template="moderation.html",
    tags=["themes"],
    summary="What the moderation page shows: the queue of one of the operator's countries "
    "(the first by default) and the countries they moderate",
    context=moderation_context,
    guards=[signed_in],
)
async def moderation(member: MemberDep, country: FromQuery[str] = "") -> ModerationView:
    country, countries = moderated_country(member, country)
    over, gathering = await queries.moderation_queue(member, country, language())
    return ModerationView(
        country=country, countries=countries, over_threshold=over, gathering=gathering
    )


async def themes_shown(
    request: Req, result: ThemeListPage, arguments: dict[str, Any], error: str | None = None
) -> dict[str, Any]:
    query = request.url.query
    return {
        "edition": kept("edition") or await editions.get_edition(arguments["slug"]),
        "result": result,
        "here": request.url.path + (f"?{query}" if query else ""),
        "filters": theme_filters(arguments),
        "error": error,
        "countries": COUNTRIES,
        "phase_label": phase_label,
    }


async def themes_refused(request: Req, exc: DomainError, arguments: dict[str, Any]) -> Any:
    """Bad search words or filters: the list again, empty, with the message."""
    if isinstance(exc, NotFound):
        raise exc
    empty = ThemeListPage(items=[], total=0, page=1, per_page=arguments["per_page"])
    return await themes_shown(request, empty, arguments, exc.message)


def theme_filters(arguments: dict[str, Any]) -> ThemeFilter:
    """The list's filters; without a country a signed-in member sees their own country's
    themes (``country=`` with nothing chosen: every country)."""
    country, viewer = arguments["country"], arguments["viewer"]
    if country is None and viewer is not None:
        country = viewer.country
    return filters_from(
        country,
        arguments["q"],
        arguments["origin"],
        arguments["status"],
        arguments["sort"],
        arguments["page"],
        arguments["per_page"],
    )


@twin(
    "/editions/{slug:str}/themes",
    name="themes",
    template="themes.html",
    tags=["themes"],
    summary="An edition's themes: search, filter, sort, pages",
    context=themes_shown,
    refusal=themes_refused,
)
async def theme_list(
    viewer: ViewerDep,
    slug: FromPath[str],
    country: FromQuery[str | None] = None,
    q: FromQuery[str] = "",
    origin: FromQuery[str | None] = None,
    status: FromQuery[str | None] = None,
    sort: FromQuery[str] = "supports",
    page: FromQuery[int] = 1,
    per_page: FromQuery[int] = 20,
) -> ThemeListPage:
    edition = await editions.get_edition(slug)
    keep("edition", edition)
    filters = theme_filters(
        {
            "viewer": viewer,
            "country": country,
            "q": q,
            "origin": origin,
            "status": status,
            "sort": sort,
            "page": page,
            "per_page": per_page,
        }
    )
    found = await queries.list_themes(edition.id, filters, language())
    supported = (
        await queries.supported_among(viewer.id, [t.id for t in found.items]) if viewer else set()
    )
    return ThemeListPage(
        items=found.items,
        total=found.total,
        page=found.page,
        per_page=found.per_page,
        supported_by_me=sorted(supported),
    )


def back_to(target: Any, default: str) -> str:
    """Where a support form goes back to: a same-site path only (``next``), else ``default``."""
    target = str(target or "")
    if "\\" in target or any(ord(c) < 32 for c in target):
        return default
    return safe_next(target, default)


async def theme_shown(request: Req, theme: ThemeDetail) -> dict[str, Any]:
    return await theme_context(rules_of(request), member_of(request), theme)


@twin(
    "/themes/{theme_id:int}",
    name="theme",
    template="theme.html",
    tags=["themes"],
    summary="One theme",
    context=theme_shown,
)
async def theme_show(viewer: ViewerDep, theme_id: FromPath[int]) -> ThemeDetail:
    return await queries.theme_detail(theme_id, language(), viewer)


@twin(
    "/my/proposals",
    api_path="/api/me/proposals",
    name="my_proposals",
    template="my_proposals.html",
    tags=["themes"],
    summary="The signed-in member's proposals, drafts included",
    context=lambda request, found: {"proposals": found},
    guards=[signed_in],
)
async def my_proposals(member: MemberDep) -> list[ThemeSummary]:
    return await queries.my_proposals(member, language())


class ThemePages(Controller):
    include_in_schema = False

    @get("/editions/{slug:str}/propose", name="theme_propose", guards=[signed_in])
    async def propose_form(self, request: Req, member: MemberDep, slug: FromPath[str]) -> Template:
        edition = await editions.get_edition(slug)
        error = None
        try:
            editions.require_phase(edition, member.country, PROPOSALS)
        except DomainError as exc:
            error = exc.message
        return page(
            request, "theme_form.html", {"edition": edition, "error": error, "mode": "propose"}
        )

    @post("/editions/{slug:str}/propose", name="theme_propose_save", guards=[signed_in])
    async def propose(
        self, request: Req, member: MemberDep, rules: RulesDep, slug: FromPath[str]
    ) -> Template | Redirect:
        edition = await editions.get_edition(slug)
        form = dict(await request.form())
        try:
            theme_id = await services.propose(
                rules, member, edition.id, text_from_form(form, member.language)
            )
        except DomainError as exc:
            return page(
                request,
                "theme_form.html",
                {"edition": edition, "error": exc.message, "form": form, "mode": "propose"},
                status_code=exc.status_code,
            )
        return Redirect(f"/themes/{theme_id}", status_code=303)

    @get(
        "/editions/{slug:str}/board-theme",
        name="board_theme",
        guards=[board_or_operator(BOARD_THEMES_REFUSAL)],
    )
    async def board_form(self, request: Req, slug: FromPath[str]) -> Template:
        edition = await editions.get_edition(slug)
        return page(request, "theme_form.html", {"edition": edition, "mode": "board"})

    @post("/editions/{slug:str}/board-theme", name="board_theme_save", guards=[signed_in])
    async def board(
        self, request: Req, member: MemberDep, rules: RulesDep, slug: FromPath[str]
    ) -> Template | Redirect:
        edition = await editions.get_edition(slug)
        form = await request.form()
        data = dict(form)
        try:
            theme_id = await services.add_board_theme(
                rules,
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

    @get("/themes/{theme_id:int}/edit", name="theme_edit", guards=[signed_in])
    async def edit_form(self, request: Req, member: MemberDep, theme_id: FromPath[int]) -> Template:
        theme = await queries.theme_detail(theme_id, language(), member)
        services.require_proposer(member, theme.proposer_id)
        edition = await editions.get_edition_by_id(theme.edition_id)
        form = {"title": theme.title, "description": theme.description, "language": theme.language}
        return page(
            request,
            "theme_form.html",
            {"edition": edition, "form": form, "mode": "edit", "theme": theme},
        )

    @post("/themes/{theme_id:int}/edit", name="theme_edit_save", guards=[signed_in])
    async def edit(
        self, request: Req, member: MemberDep, rules: RulesDep, theme_id: FromPath[int]
    ) -> Template | Redirect:
        form = dict(await request.form())
        try:
            await services.edit_draft(
                rules, member, theme_id, text_from_form(form, member.language)
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

    @post("/themes/{theme_id:int}/submit", name="theme_submit", guards=[signed_in])
    async def submit(
        self, request: Req, member: MemberDep, rules: RulesDep, theme_id: FromPath[int]
    ) -> Template | Redirect:
        return await run_action(
            request, rules, member, theme_id, lambda: services.submit(rules, member, theme_id)
        )

    @post("/themes/{theme_id:int}/withdraw", name="theme_withdraw", guards=[signed_in])
    async def withdraw(
        self, request: Req, member: MemberDep, rules: RulesDep, theme_id: FromPath[int]
    ) -> Template | Redirect:
        result = await run_action(
            request, rules, member, theme_id, lambda: services.withdraw(rules, member, theme_id)
        )
        return (
            Redirect("/my/proposals", status_code=303) if isinstance(result, Redirect) else result
        )

    @post("/themes/{theme_id:int}/support", name="theme_support", guards=[signed_in])
    async def support(
        self, request: Req, member: MemberDep, rules: RulesDep, theme_id: FromPath[int]
    ) -> Template | Redirect:
        target = back_to((await request.form()).get("next"), f"/themes/{theme_id}")
        result = await run_action(
            request, rules, member, theme_id, lambda: services.support(rules, member, theme_id)
        )
        return Redirect(target, status_code=303) if isinstance(result, Redirect) else result

    @post("/themes/{theme_id:int}/unsupport", name="theme_unsupport", guards=[signed_in])
    async def unsupport(
        self, request: Req, member: MemberDep, rules: RulesDep, theme_id: FromPath[int]
    ) -> Template | Redirect:
        target = back_to((await request.form()).get("next"), f"/themes/{theme_id}")
        result = await run_action(
            request,
            rules,
            member,
            theme_id,
            lambda: services.withdraw_support(rules, member, theme_id),
        )
        return Redirect(target, status_code=303) if isinstance(result, Redirect) else result

    @post("/themes/{theme_id:int}/accept", name="theme_accept", guards=[signed_in])
    async def accept(
        self, request: Req, member: MemberDep, rules: RulesDep, theme_id: FromPath[int]
    ) -> Template | Redirect:
        """Without confirm=yes: what accepting does, to confirm (nothing changes)."""
        if not confirmed(await request.form()):
            return await confirm_decision(request, rules, member, theme_id, "accept")
        return await run_action(
            request, rules, member, theme_id, lambda: services.accept(rules, member, theme_id)
        )

    @post("/themes/{theme_id:int}/reject", name="theme_reject", guards=[signed_in])
    async def reject(
        self, request: Req, member: MemberDep, rules: RulesDep, theme_id: FromPath[int]
    ) -> Template | Redirect:
        """Without confirm=yes: what rejecting does, with the reason, to confirm."""
        form = await request.form()
        reason = str(form.get("reason", ""))
        if not confirmed(form):
            return await confirm_decision(request, rules, member, theme_id, "reject", reason)
        return await run_action(
            request,
            rules,
            member,
            theme_id,
            lambda: services.reject(rules, member, theme_id, reason),
        )

    @post("/themes/{theme_id:int}/texts", name="theme_text", guards=[signed_in])
    async def text(
        self, request: Req, member: MemberDep, rules: RulesDep, theme_id: FromPath[int]
    ) -> Template | Redirect:
        form = dict(await request.form())
        text = ThemeTextIn(
            title=str(form.get("title", "")),
            description=str(form.get("description", "")),
            language=str(form.get("language", "")),
        )
        return await run_action(
            request,
            rules,
            member,
            theme_id,
            lambda: services.set_text(rules, member, theme_id, text),
        )

    @post("/themes/{theme_id:int}/merge", name="theme_merge", guards=[signed_in])
    async def merge(
        self, request: Req, member: MemberDep, rules: RulesDep, theme_id: FromPath[int]
    ) -> Template | Redirect:
        """Without confirm=yes: what merging does, with both themes, to confirm."""
        form = await request.form()
        raw = str(form.get("into", ""))

        async def action() -> None:
            if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= ID_MAX):
                raise InvalidInput(_("Choose the theme to merge into."))
            await services.merge(rules, member, theme_id, int(raw))

        if not confirmed(form):
            if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= ID_MAX):
                return await run_action(request, rules, member, theme_id, action)  # refused
            return await confirm_decision(request, rules, member, theme_id, "merge", into=int(raw))
        return await run_action(request, rules, member, theme_id, action)


class ThemesAPI(Controller):
    path = "/api"
    tags = ["themes"]

    @post(
        "/editions/{slug:str}/themes",
        status_code=201,
        summary="Propose a theme (a draft)",
        guards=[signed_in],
    )
    async def propose(
        self, member: MemberDep, rules: RulesDep, slug: FromPath[str], data: JSONBody[ThemeTextIn]
    ) -> ThemeDetail:
        edition = await editions.get_edition(slug)
        theme_id = await services.propose(rules, member, edition.id, data)
        return await queries.theme_detail(theme_id, language(), member)

    @post(
        "/editions/{slug:str}/board-themes",
        status_code=201,
        summary="Add a board theme (board members, operators of its countries)",
        guards=[signed_in],
    )
    async def board(
        self, member: MemberDep, rules: RulesDep, slug: FromPath[str], data: JSONBody[BoardThemeIn]
    ) -> ThemeDetail:
        edition = await editions.get_edition(slug)
        theme_id = await services.add_board_theme(
            rules,
            member,
            edition.id,
            data.countries,
            ThemeTextIn(title=data.title, description=data.description, language=data.language),
        )
        return await queries.theme_detail(theme_id, language(), member)

    @put("/themes/{theme_id:int}", summary="Edit a draft proposal (its author)", guards=[signed_in])
    async def edit(
        self,
        member: MemberDep,
        rules: RulesDep,
        theme_id: FromPath[int],
        data: JSONBody[ThemeTextIn],
    ) -> ThemeDetail:
        await services.edit_draft(rules, member, theme_id, data)
        return await queries.theme_detail(theme_id, language(), member)

    @post(
        "/themes/{theme_id:int}/submit",
        status_code=200,
        summary="Submit a draft proposal",
        guards=[signed_in],
    )
    async def submit(
        self, member: MemberDep, rules: RulesDep, theme_id: FromPath[int]
    ) -> ThemeDetail:
        await services.submit(rules, member, theme_id)
        return await queries.theme_detail(theme_id, language(), member)

    @post(
        "/themes/{theme_id:int}/withdraw",
        status_code=200,
        summary="Withdraw a proposal",
        guards=[signed_in],
    )
    async def withdraw(
        self, member: MemberDep, rules: RulesDep, theme_id: FromPath[int]
    ) -> ThemeDetail:
        await services.withdraw(rules, member, theme_id)
        return await queries.theme_detail(theme_id, language(), member)

    @post(
        "/themes/{theme_id:int}/support",
        status_code=200,
        summary="Support a proposal",
        guards=[signed_in],
    )
    async def support(
        self, member: MemberDep, rules: RulesDep, theme_id: FromPath[int]
    ) -> SupportCount:
        count = await services.support(rules, member, theme_id)
        return SupportCount(theme_id=theme_id, support_count=count, supported_by_me=True)

    @delete(
        "/themes/{theme_id:int}/support",
        status_code=200,
        summary="Take a support back",
        guards=[signed_in],
    )
    async def unsupport(
        self, member: MemberDep, rules: RulesDep, theme_id: FromPath[int]
    ) -> SupportCount:
        count = await services.withdraw_support(rules, member, theme_id)
        return SupportCount(theme_id=theme_id, support_count=count, supported_by_me=False)

    @post(
        "/themes/{theme_id:int}/accept",
        status_code=200,
        summary="Accept for the ballot",
        guards=[signed_in],
    )
    async def accept(
        self, member: MemberDep, rules: RulesDep, theme_id: FromPath[int]
    ) -> ThemeDetail:
        await services.accept(rules, member, theme_id)
        return await queries.theme_detail(theme_id, language(), member)

    @post(
        "/themes/{theme_id:int}/reject",
        status_code=200,
        summary="Reject, with a reason",
        guards=[signed_in],
    )
    async def reject(
        self, member: MemberDep, rules: RulesDep, theme_id: FromPath[int], data: JSONBody[RejectIn]
    ) -> ThemeDetail:
        await services.reject(rules, member, theme_id, data.reason)
        return await queries.theme_detail(theme_id, language(), member)

    @put(
        "/themes/{theme_id:int}/texts/{language:str}",
        summary="Add or correct a translation (operators; board members for board themes)",
        guards=[signed_in],
    )
    async def text(
        self,
        member: MemberDep,
        rules: RulesDep,
        theme_id: FromPath[int],
        language: FromPath[str],
        data: JSONBody[ThemeTextIn],
    ) -> ThemeDetail:
        text = ThemeTextIn(title=data.title, description=data.description, language=language)
        await services.set_text(rules, member, theme_id, text)
        return await queries.theme_detail(theme_id, language, member)

    @post(
        "/themes/{theme_id:int}/merge",
        status_code=200,
        summary="Merge into another theme",
        guards=[signed_in],
    )
    async def merge(
        self, member: MemberDep, rules: RulesDep, theme_id: FromPath[int], data: JSONBody[MergeIn]
    ) -> ThemeDetail:
        await services.merge(rules, member, theme_id, data.into)
        return await queries.theme_detail(data.into, language(), member)

    @get(
        "/moderation/{country:str}",
        summary="The operators' queue of one country",
        guards=[operator_of_path_country],
    )
    async def moderation(self, member: MemberDep, country: FromPath[str]) -> ModerationQueue:
        over, gathering = await queries.moderation_queue(member, country, language())
        return ModerationQueue(country=country, over_threshold=over, gathering=gathering)
