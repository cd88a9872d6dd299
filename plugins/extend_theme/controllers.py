"""The operators' extension page (list and extend form) and its JSON twin.

The routes exist as soon as one country enables the plugin; every request is checked against
the countries that enable it, so a country without it sees nothing of it and can do nothing.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Redirect, Template

from core import i18n
from core.config import COUNTRIES
from core.editions import services as editions
from core.editions.services import EditionInfo
from core.errors import DomainError, Forbidden, InvalidInput, NotFound
from core.i18n import _, country_name
from core.members.model import CurrentMember
from core.themes import queries
from core.themes.queries import ThemeDetail
from core.themes.services import ID_MAX
from core.web.context import page
from core.web.deps import MemberDep, RulesDep, rules_of
from core.web.guards import signed_in
from plugins.extend_theme import services
from plugins.extend_theme.services import ExtensionList, NotEnabled

Req = Request[Any, Any, Any]
TEMPLATE = "extend_theme/extensions.html"


class ExtensionIn(msgspec.Struct):
    theme_id: int
    countries: list[str]
    rationale: str = ""


def reviewer_countries(
    request: Req, member: CurrentMember, country: str | None = None
) -> list[str]:
    """The countries ``member`` reviews extensions for (one, when ``country`` is given); a
    member who may review none is refused with the reason."""
    if not services.enabled_countries(request.app.state.registry):
        # Installed, enabled nowhere: its pages are not there (an operator may enable it).
        raise NotFound(_("Extending themes is not enabled in any country."))
    if not (member.is_board or member.is_operator()):
        raise Forbidden(_("Only the board and operators extend themes."))
    allowed = services.countries_of(request.app.state.registry, member)
    if country is not None:
        if country not in COUNTRIES:
            raise InvalidInput(_("Unknown country %(code)s.") % {"code": country})
        if country not in services.enabled_countries(request.app.state.registry):
            raise NotEnabled(country)
        if country not in allowed:
            raise Forbidden(
                _("Only operators of %(countries)s can do this.")
                % {"countries": country_name(country)}
            )
        return [country]
    if not allowed:
        raise NotEnabled((member.operator_countries or list(COUNTRIES))[0])
    return allowed


async def page_of(
    request: Req,
    edition: EditionInfo,
    member: CurrentMember,
    *,
    status_code: int = 200,
    **extra: Any,
) -> Template:
    countries = reviewer_countries(request, member)
    listing = await services.review(
        rules_of(request), edition, countries, i18n.current_language.get()
    )
    return page(
        request,
        TEMPLATE,
        {"edition": edition, "listing": listing, "countries": countries, **extra},
        status_code=status_code,
    )


class ExtensionPages(Controller):
    include_in_schema = False

    @get("/editions/{slug:str}/extensions", name="extensions", guards=[signed_in])
    async def show(self, request: Req, member: MemberDep, slug: FromPath[str]) -> Template:
        edition = await editions.get_edition(slug)
        return await page_of(request, edition, member)

    @post("/editions/{slug:str}/extensions", name="extensions_extend", guards=[signed_in])
    async def extend(
        self, request: Req, member: MemberDep, rules: RulesDep, slug: FromPath[str]
    ) -> Template | Redirect:
        edition = await editions.get_edition(slug)
        reviewer_countries(request, member)  # a member who may not gets no form back
        form = await request.form()
        raw = str(form.get("theme", ""))
        rationale = str(form.get("rationale", ""))
        try:
            if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= ID_MAX):
                raise InvalidInput(_("Choose the theme to extend."))
            theme_id = await services.extend_theme(
                rules,
                member,
                int(raw),
                edition.id,
                form.getall("countries") if "countries" in form else [],
                rationale,
            )
        except DomainError as exc:
            return await page_of(
                request,
                edition,
                member,
                status_code=exc.status_code,
                error=exc.message,
                form={"theme": raw, "rationale": rationale},
            )
        return Redirect(f"/themes/{theme_id}", status_code=303)


class ExtensionsAPI(Controller):
    path = "/api"
    tags = ["themes"]

    @get(
        "/editions/{slug:str}/extensions",
        summary="Themes of the previous edition and where each may be extended (operators, board)",
        guards=[signed_in],
    )
    async def list(
        self,
        request: Req,
        member: MemberDep,
        rules: RulesDep,
        slug: FromPath[str],
        country: FromQuery[str | None] = None,
    ) -> ExtensionList:
        edition = await editions.get_edition(slug)
        countries = reviewer_countries(request, member, country)
        return await services.review(rules, edition, countries, i18n.current_language.get())

    @post(
        "/editions/{slug:str}/extensions",
        status_code=201,
        summary="Extend a theme of the previous edition into this one, without an AGM vote",
        guards=[signed_in],
    )
    async def extend(
        self,
        member: MemberDep,
        rules: RulesDep,
        slug: FromPath[str],
        data: JSONBody[ExtensionIn],
    ) -> ThemeDetail:
        edition = await editions.get_edition(slug)
        theme_id = await services.extend_theme(
            rules, member, data.theme_id, edition.id, data.countries, data.rationale
        )
        return await queries.theme_detail(theme_id, i18n.current_language.get(), member)
