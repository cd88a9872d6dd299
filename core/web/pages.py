"""Pages of the platform as a whole: home, language switch, health."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import JSONBody, URLEncodedBody
from litestar.response import Redirect

from core import clock, db, i18n
from core.config import LANGUAGES
from core.editions import services as editions
from core.editions.services import EditionInfo, PhaseNow
from core.errors import InvalidInput
from core.groups import info_sessions, planning
from core.groups import services as groups
from core.i18n import _
from core.members.model import CurrentMember
from core.members.services import set_language
from core.notifications import inapp
from core.notifications import services as notifications
from core.polls import queries as poll_queries
from core.polls.queries import PollBrief
from core.polls.services import get_poll
from core.recommendations import deciding
from core.rules import Rules
from core.themes import queries as theme_queries
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


class CountryNow(msgspec.Struct, kw_only=True):
    """What is open in a country now: its live edition's phase (until when) and the next."""

    country: str
    edition: str | None = None
    phase: str | None = None
    until: date | None = None
    next_phase: str | None = None
    next_from: date | None = None


class OpenVote(msgspec.Struct, kw_only=True):
    """An open poll the member may vote in; ``voted``: their participation is recorded
    (whether, never how)."""

    poll_id: int
    edition: str
    country: str
    closes_at: datetime
    voted: bool


class ComingVote(msgspec.Struct, kw_only=True):
    poll_id: int
    edition: str
    country: str
    opens_at: datetime
    closes_at: datetime


class ThemeRef(msgspec.Struct, kw_only=True):
    id: int
    title: str
    language: str
    support_count: int


class NextMeeting(msgspec.Struct, kw_only=True):
    number: int
    starts_at: datetime
    ends_at: datetime
    mode: str
    place: str


class MyGroup(msgspec.Struct, kw_only=True):
    id: int
    title: str
    country: str
    part: str  # confirmed, waiting or facilitator
    next_meeting: NextMeeting | None = None


class ComingSession(msgspec.Struct, kw_only=True):
    id: int
    title: str
    language: str
    country: str
    starts_at: datetime
    mode: str
    place: str
    mine: bool


class MemberAgenda(msgspec.Struct, kw_only=True):
    """What is next for the signed-in member (their own things only)."""

    edition: str | None
    now: CountryNow | None
    open_votes: list[OpenVote]
    coming_votes: list[ComingVote]
    proposals: int
    supports: list[ThemeRef]
    groups: list[MyGroup]
    info_sessions: list[ComingSession]
    unread: int


class OperatorAgenda(msgspec.Struct, kw_only=True):
    """What waits for an operator in their countries: counts, and the polls to act on."""

    countries: list[str]
    edition: str | None
    moderation: int
    failed_deliveries: int
    polls_to_open: list[PollBrief]
    polls_to_close: list[PollBrief]
    waiting_registrations: int


class BoardAgenda(msgspec.Struct, kw_only=True):
    awaiting_decision: int


class Home(msgspec.Struct, kw_only=True):
    platform: str
    contact_email: str
    countries: list[CountryInfo]
    member: CurrentMember | None
    now: list[CountryNow] = []
    agenda: MemberAgenda | None = None
    operator: OperatorAgenda | None = None
    board: BoardAgenda | None = None


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


def country_now(found: list[EditionInfo], country: str) -> tuple[EditionInfo | None, CountryNow]:
    live = editions.live_edition(found, country)
    if live is None:
        return None, CountryNow(country=country)
    edition, stand = live
    return edition, _now_of(country, stand)


def _now_of(country: str, stand: PhaseNow) -> CountryNow:
    return CountryNow(
        country=country,
        edition=stand.edition,
        phase=stand.current.phase if stand.current else None,
        until=stand.current.ends_on if stand.current else None,
        next_phase=stand.next.phase if stand.next else None,
        next_from=stand.next.starts_on if stand.next else None,
    )


async def _votes(rules: Rules, member: CurrentMember) -> tuple[list[OpenVote], list[ComingVote]]:
    now = clock.now()
    found = [p for p in await poll_queries.open_polls([member.country]) if p.closes_at > now]
    eligible = [p for p in found if rules.may_vote(member, await get_poll(p.id))]
    voted = await poll_queries.voted_in(member.id, [p.id for p in eligible])
    open_votes = [
        OpenVote(
            poll_id=p.id,
            edition=p.edition,
            country=p.country,
            closes_at=p.closes_at,
            voted=p.id in voted,
        )
        for p in eligible
    ]
    coming = [
        ComingVote(
            poll_id=p.id,
            edition=p.edition,
            country=p.country,
            opens_at=p.opens_at,
            closes_at=p.closes_at,
        )
        for p in await poll_queries.coming_polls([member.country], now)
    ]
    return open_votes, coming


async def _groups(
    member: CurrentMember, edition: EditionInfo | None, language: str
) -> list[MyGroup]:
    """The member's groups of the live edition, and those of any edition still to meet."""
    now = clock.now()
    mine = []
    for group, part in await planning.my_groups(member.id, language):
        # Only those with a place meet (an online meeting's link is theirs alone).
        planned = await planning.meetings_of(group.id) if part != "waiting" else []
        coming = [m for m in planned if m.starts_at > now]
        meeting = coming[0] if coming else None
        if meeting is None and (edition is None or group.edition_id != edition.id):
            continue
        mine.append(
            MyGroup(
                id=group.id,
                title=group.title,
                country=group.country,
                part=part,
                next_meeting=NextMeeting(
                    number=meeting.number,
                    starts_at=meeting.starts_at,
                    ends_at=meeting.ends_at,
                    mode=meeting.mode,
                    place=meeting.place,
                )
                if meeting
                else None,
            )
        )
    return mine


async def _sessions(member: CurrentMember, edition: EditionInfo) -> list[ComingSession]:
    now = clock.now()
    return [
        ComingSession(
            id=s.id,
            title=s.title,
            language=s.language,
            country=s.country,
            starts_at=s.starts_at,
            mode=s.mode,
            place=s.place,
            mine=s.mine,
        )
        for s in await info_sessions.list_info_sessions(edition.id, member)
        if s.country == member.country and s.starts_at > now
    ][:5]


async def member_agenda(
    rules: Rules, member: CurrentMember, found: list[EditionInfo]
) -> MemberAgenda:
    """What is next for the member: their votes, proposals, supports, groups, sessions."""
    language = i18n.current_language.get()
    edition, now = country_now(found, member.country)
    open_votes, coming_votes = await _votes(rules, member)
    supports = (
        [
            ThemeRef(id=t.id, title=t.title, language=t.language, support_count=t.support_count)
            for t in await theme_queries.supported_by(member.id, edition.id, language)
        ]
        if edition
        else []
    )
    return MemberAgenda(
        edition=edition.slug if edition else None,
        now=now,
        open_votes=open_votes,
        coming_votes=coming_votes,
        proposals=await theme_queries.proposals_count(member.id),
        supports=supports,
        groups=await _groups(member, edition, language),
        info_sessions=await _sessions(member, edition) if edition else [],
        unread=await inapp.unread_count(member.id),
    )


async def operator_agenda(member: CurrentMember, found: list[EditionInfo]) -> OperatorAgenda:
    """What waits for an operator in the countries they run (counts, never names)."""
    countries = member.operator_countries
    now = clock.now()
    live = next((e for e in (country_now(found, c)[0] for c in countries) if e is not None), None)
    return OperatorAgenda(
        countries=countries,
        edition=live.slug if live else None,
        moderation=await theme_queries.submitted_count(countries),
        failed_deliveries=await notifications.failed_count(countries),
        polls_to_open=await poll_queries.polls_to_open(countries, now),
        polls_to_close=await poll_queries.polls_to_close(countries, now),
        waiting_registrations=await groups.waiting_count(countries),
    )


@twin(
    "/",
    api_path="/api/home",
    name="home",
    template="home.html",
    tags=["platform"],
    summary="The platform, its countries and the signed-in member",
    context=lambda request, found: {"home": found, "phase_label": editions.phase_label},
)
async def home(rules: RulesDep, viewer: ViewerDep) -> Home:
    found = await editions.list_editions()
    shown = home_of(rules, viewer)
    shown.now = [country_now(found, c.code)[1] for c in shown.countries]
    if viewer is None:
        return shown
    shown.agenda = await member_agenda(rules, viewer, found)
    if viewer.is_operator():
        shown.operator = await operator_agenda(viewer, found)
    if viewer.is_board:
        shown.board = BoardAgenda(awaiting_decision=len(await deciding.awaiting_decision()))
    return shown


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
