"""Edition pages (list, calendar, operators' calendar editing) and their JSON twins."""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.params import FromPath, JSONBody
from litestar.response import Redirect, Template

from core import clock, i18n
from core.config import COUNTRIES
from core.editions import services as editions
from core.editions.services import PHASES, EditionInfo, PhaseWindow, phase_label
from core.errors import DomainError, Forbidden, InvalidInput
from core.groups.planning import edition_figures
from core.i18n import _
from core.members.controllers import require_member
from core.members.model import CurrentMember
from core.themes.queries import extensions_in
from core.web.context import page
from core.web.deps import MemberDep
from core.web.guards import signed_in
from core.web.twins import twin

Req = Request[Any, Any, Any]


class EditionCreate(msgspec.Struct):
    slug: str


class CalendarIn(msgspec.Struct):
    phases: list[PhaseWindow]


def require_operator_of(request: Req, country: str) -> CurrentMember:
    member = require_member(request)
    if country not in COUNTRIES:
        raise InvalidInput(_("Unknown country %(code)s.") % {"code": country})
    if not member.is_operator(country):
        raise Forbidden(_("Only operators of %(countries)s can do this.") % {"countries": country})
    return member


def calendar_from_form(form: dict[str, Any]) -> list[PhaseWindow]:
    """Read ``<phase>_start`` / ``<phase>_end`` pairs; a phase left empty is left out."""
    windows = []
    for phase in PHASES:
        start, end = form.get(f"{phase}_start", ""), form.get(f"{phase}_end", "")
        if not start and not end:
            continue
        try:
            windows.append(PhaseWindow(phase, date.fromisoformat(start), date.fromisoformat(end)))
        except ValueError:
            raise InvalidInput(
                _("Give %(phase)s a start and an end date.") % {"phase": phase_label(phase)}
            ) from None
    return windows


def edition_context(edition: EditionInfo) -> dict[str, Any]:
    return {
        "edition": edition,
        "phases": PHASES,
        "phase_label": phase_label,
        "today": clock.today(),
    }


def editions_context(request: Req, found: list[EditionInfo]) -> dict[str, Any]:
    return {"editions": found, "phase_label": phase_label}


@twin(
    "/editions",
    name="editions",
    template="editions.html",
    tags=["editions"],
    summary="Every edition with its calendars and current phase per country",
    context=editions_context,
)
async def edition_list() -> list[EditionInfo]:
    return await editions.list_editions()


async def edition_page_context(request: Req, edition: EditionInfo) -> dict[str, Any]:
    today = clock.today()
    return {
        **edition_context(edition),
        "stands": {
            c.country: editions.now_and_next(edition, c.country, today) for c in edition.calendars
        },
        "extensions": await extensions_in(edition.id, i18n.current_language.get()),
        "group_figures": await edition_figures(edition.id),
    }


@twin(
    "/editions/{slug:str}",
    name="edition",
    template="edition.html",
    tags=["editions"],
    summary="One edition: its calendar per country and what is open now",
    context=edition_page_context,
)
async def edition_show(slug: FromPath[str]) -> EditionInfo:
    return await editions.get_edition(slug)


class EditionPages(Controller):
    include_in_schema = False

    @get("/editions/new", name="edition_new", guards=[signed_in])
    async def new(self, request: Req, member: MemberDep) -> Template:
        if not member.is_operator():
            raise Forbidden(_("Only operators can create an edition."))
        return page(request, "edition_new.html")

    @post("/editions", name="edition_create", guards=[signed_in])
    async def create(self, request: Req, member: MemberDep) -> Template | Redirect:
        if not member.is_operator():
            raise Forbidden(_("Only operators can create an edition."))
        slug = str((await request.form()).get("slug", "")).strip()
        try:
            await editions.create_edition(slug, actor=member)
        except DomainError as exc:
            return page(
                request, "edition_new.html", {"error": exc.message, "slug": slug}, status_code=400
            )
        return Redirect(f"/editions/{slug}", status_code=303)

    @get("/editions/{slug:str}/calendar/{country:str}", name="edition_calendar")
    async def calendar_form(
        self, request: Req, slug: FromPath[str], country: FromPath[str]
    ) -> Template:
        require_operator_of(request, country)
        edition = await editions.get_edition(slug)
        return page(request, "calendar_form.html", {**edition_context(edition), "country": country})

    @post("/editions/{slug:str}/calendar/{country:str}", name="edition_calendar_save")
    async def calendar_save(
        self, request: Req, slug: FromPath[str], country: FromPath[str]
    ) -> Template | Redirect:
        member = require_operator_of(request, country)
        edition = await editions.get_edition(slug)
        form = dict(await request.form())
        try:
            await editions.set_calendar(edition.id, country, calendar_from_form(form), actor=member)
        except DomainError as exc:
            return page(
                request,
                "calendar_form.html",
                {
                    **edition_context(edition),
                    "country": country,
                    "error": exc.message,
                    "form": form,
                },
                status_code=exc.status_code,
            )
        return Redirect(f"/editions/{slug}", status_code=303)


class EditionsAPI(Controller):
    path = "/api/editions"
    tags = ["editions"]

    @post("/", status_code=201, summary="Create an edition (operators)", guards=[signed_in])
    async def create(self, member: MemberDep, data: JSONBody[EditionCreate]) -> EditionInfo:
        if not member.is_operator():
            raise Forbidden(_("Only operators can create an edition."))
        await editions.create_edition(data.slug, actor=member)
        return await editions.get_edition(data.slug.strip())

    @put(
        "/{slug:str}/calendar/{country:str}",
        summary="Set a country's calendar of phases (operators of that country)",
    )
    async def calendar(
        self, request: Req, slug: FromPath[str], country: FromPath[str], data: JSONBody[CalendarIn]
    ) -> EditionInfo:
        member = require_operator_of(request, country)
        edition = await editions.get_edition(slug)
        await editions.set_calendar(edition.id, country, data.phases, actor=member)
        return await editions.get_edition(slug)
