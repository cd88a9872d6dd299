"""Pages of the platform as a whole: home, language switch, health."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import JSONBody, URLEncodedBody
from litestar.response import Redirect

from core import db
from core.config import LANGUAGES
from core.errors import InvalidInput
from core.i18n import _
from core.members.model import CurrentMember
from core.members.services import set_language
from core.rules import Rules
from core.tracks import AgmDefaults, track_of
from core.web.context import language_cookie, member_of, safe_next, settings_of
from core.web.deps import RulesDep, ViewerDep
from core.web.twins import twin

Req = Request[Any, Any, Any]


class LanguageChoice(msgspec.Struct):
    language: str = ""
    next: str = ""


class CountryInfo(msgspec.Struct):
    code: str
    name: str
    languages: tuple[str, ...]
    localities: tuple[str, ...] = ()  # where working groups can meet
    agm: AgmDefaults | None = None  # how its general meeting usually votes


class Home(msgspec.Struct):
    platform: str
    contact_email: str
    countries: list[CountryInfo]
    member: CurrentMember | None


def home_of(rules: Rules, viewer: CurrentMember | None) -> Home:
    settings = rules.settings
    countries = [
        CountryInfo(
            code=t.code, name=t.name, languages=t.languages, localities=t.localities, agm=t.agm
        )
        for t in (track_of(rules.registry, settings, code) for code in settings.countries)
    ]
    return Home(
        platform=settings.platform.name,
        contact_email=settings.platform.contact_email,
        countries=countries,
        member=viewer,
    )


@twin(
    "/",
    api_path="/api/home",
    name="home",
    template="home.html",
    tags=["platform"],
    summary="The platform, its countries and the signed-in member",
    context=lambda request, found: {"home": found},
)
async def home(rules: RulesDep, viewer: ViewerDep) -> Home:
    return home_of(rules, viewer)


async def choose_language(request: Req, language: str) -> None:
    if language not in LANGUAGES:
        raise InvalidInput(
            _("Choose one of the languages: %(list)s.") % {"list": ", ".join(LANGUAGES)}
        )
    member = member_of(request)
    if member is not None:
        await set_language(member.id, language)


class PlatformPages(Controller):
    include_in_schema = False

    @post("/language", name="language")
    async def language(
        self,
        request: Req,
        data: URLEncodedBody[LanguageChoice],
    ) -> Response[Any]:
        await choose_language(request, data.language)
        response = Redirect(safe_next(data.next, "/"), status_code=303)
        response.set_cookie(language_cookie(settings_of(request), data.language))
        return response


class PlatformAPI(Controller):
    path = "/api"
    tags = ["platform"]

    @post("/language", status_code=200, summary="Choose the interface language")
    async def language(
        self, request: Req, data: JSONBody[LanguageChoice]
    ) -> Response[dict[str, str]]:
        await choose_language(request, data.language)
        response: Response[dict[str, str]] = Response({"language": data.language})
        response.set_cookie(language_cookie(settings_of(request), data.language))
        return response


@get("/healthz", tags=["platform"], summary="Liveness and database check")
async def healthz() -> Response[dict[str, str]]:
    try:
        await db.check()
    except Exception as exc:  # the probe reports any database failure, whatever its kind
        return Response({"status": "error", "database": str(exc)}, status_code=503)
    return Response({"status": "ok", "database": "ok"})
