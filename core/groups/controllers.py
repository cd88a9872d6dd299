"""Working-group and info-session pages, the members' calendar and feed, and their JSON twins.

Pages catch a refusal and show their form again with the message (and the refusal's status);
the JSON routes let it become a problem body. Neither writes anything when refused.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import FromPath, JSONBody
from litestar.response import Redirect, Template

from core import clock
from core.editions import services as editions
from core.editions.services import REGISTRATION, EditionInfo
from core.errors import DomainError, InvalidInput, NotFound
from core.groups import calendar, info_sessions, planning, scheduling
from core.groups import services as groups
from core.groups.info_sessions import InfoSessionIn, InfoSessionOut
from core.groups.planning import (
    Availability,
    CountryFigures,
    GroupAttendance,
    MeetingOut,
    SlotIn,
    SlotOut,
)
from core.groups.services import GroupCreate, GroupInfo, RegistrationOut
from core.i18n import _, current_language
from core.members.controllers import require_member
from core.members.model import CurrentMember
from core.members.services import load_member
from core.tracks import track_of
from core.web.context import member_of, page, settings_of
from core.web.deps import MemberDep, RulesDep, ViewerDep, rules_of
from core.web.guards import signed_in
from core.web.twins import twin

Req = Request[Any, Any, Any]


class RegistrationIn(msgspec.Struct):
    """``pledge``: the member accepts the commitment to the whole cycle; ``waiting_list``:
    they accept a place on the waiting list if the group is full."""

    pledge: bool = False
    waiting_list: bool = False


class AnswersIn(msgspec.Struct):
    """Slot id -> yes, maybe ("if need be") or no."""

    answers: dict[int, str]


class PlanIn(msgspec.Struct):
    """The slots of the plan to confirm; left out, the platform's proposal."""

    slot_ids: list[int] | None = None


class AttendanceIn(msgspec.Struct):
    """The participants who were at the meeting; the group's others were not."""

    present: list[int]


class GroupView(msgspec.Struct, kw_only=True):
    """A group as the viewer sees it: their registration, whether registration is open and
    whether they run the group."""

    group: GroupInfo
    registration: RegistrationOut | None
    registration_open: bool
    may_manage: bool
    meetings: list[MeetingOut]


class MyGroup(msgspec.Struct):
    group: GroupInfo
    part: str  # confirmed, waiting or facilitator


class CalendarEntry(msgspec.Struct):
    uid: str
    starts_at: datetime
    ends_at: datetime
    summary: str
    location: str
    url: str


class MyCalendar(msgspec.Struct):
    """The member's meetings and info sessions, and the secret address of their feed."""

    feed_url: str
    entries: list[CalendarEntry]


# -- helpers ---------------------------------------------------------------------------------


def _int(value: Any, what: str) -> int:
    text = str(value or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        raise InvalidInput(_("Give %(what)s as a whole number.") % {"what": what})
    return int(text)


def _local_start(form: Any, country: str) -> datetime:
    """A day (YYYY-MM-DD) and a start time (HH:MM) from a form, as a naive local time."""
    try:
        day = date.fromisoformat(str(form.get("day", "")).strip())
        start = time.fromisoformat(str(form.get("start", "")).strip())
    except ValueError:
        raise InvalidInput(_("Give the day and the start time of the meeting.")) from None
    return datetime.combine(day, start.replace(tzinfo=None, microsecond=0))


async def sees_links(viewer: CurrentMember | None, group: GroupInfo) -> bool:
    """The links of online meetings are for the group's participants and facilitators."""
    if viewer is None:
        return False
    return groups.may_manage(viewer, group) or await groups.is_participant(viewer.id, group.id)


def without_links(items: list[Any]) -> list[Any]:
    """Meetings or slots with the links of the online ones left out."""
    return [
        msgspec.structs.replace(item, place="") if item.mode == scheduling.ONLINE else item
        for item in items
    ]


def registration_open(edition: EditionInfo, country: str) -> bool:
    return edition.current_phase(country) == REGISTRATION


def base_url(request: Req) -> str:
    return settings_of(request).platform.base_url.rstrip("/")


async def group_context(
    request: Req, group_id: int, found: GroupView | None = None, **extra: Any
) -> dict[str, Any]:
    """Everything the group page shows, as the viewer may see it (``found``: the group as
    the JSON twin gives it, when the page already has it)."""
    viewer = member_of(request)
    group = found.group if found is not None else await groups.get_group(group_id)
    edition = await editions.get_edition_by_id(group.edition_id)
    manager = found.may_manage if found is not None else groups.may_manage(viewer, group)
    rules = rules_of(request)
    attendance = await planning.group_attendance(rules, group)
    if found is not None:
        registration = found.registration
    else:
        registration = await groups.registration_of(viewer.id, group.id) if viewer else None
    return {
        "group": group,
        "edition": edition,
        "registration": registration,
        "registration_open": registration_open(edition, group.country),
        "may_manage": manager,
        "availability": await planning.availability(group, viewer),
        "attendance": attendance,
        "participants": await groups.participants(group.id) if manager else [],
        "waiting": await groups.waiting_list(group.id) if manager else [],
        "records": {
            m.id: await planning.attendance_of(m.id) for m in attendance.meetings if manager
        },
        "now": clock.now(),
        "answers": scheduling.ANSWERS,
        "modes": scheduling.MODES,
        "local_time": groups.local_time,
        "local_day": groups.local_day,
        "meeting_days": groups.meeting_days(edition, group.country),
        **extra,
    }


async def group_page(
    request: Req, group_id: int, *, status_code: int = 200, **extra: Any
) -> Template:
    context = await group_context(request, group_id, **extra)
    return page(request, "group.html", context, status_code=status_code)


async def run_on_group(request: Req, group_id: int, action: Any, **form: Any) -> Any:
    """Run a group action from a form; a refusal shows the group page again with it."""
    try:
        await action()
    except DomainError as exc:
        return await group_page(
            request, group_id, error=exc.message, status_code=exc.status_code, form=form
        )
    return Redirect(f"/groups/{group_id}", status_code=303)


async def groups_context(
    request: Req, edition: EditionInfo, listed: list[GroupInfo] | None = None, **extra: Any
) -> dict[str, Any]:
    viewer = member_of(request)
    rules = rules_of(request)
    language = current_language.get()
    creatable: dict[str, dict[str, Any]] = {}
    for country in viewer.operator_countries if viewer else []:
        track = track_of(rules.registry, rules.settings, country)
        creatable[country] = {
            "themes": await groups.group_themes(edition.id, country, language),
            "localities": track.localities,
            "languages": track.languages,
        }
    if listed is None:
        listed = await groups.list_groups(edition.id)
    mine = {g.id: part for g, part in await planning.my_groups(viewer.id)} if viewer else {}
    return {
        "edition": edition,
        "groups": listed,
        "mine": mine,
        "figures": await planning.edition_figures(edition.id),
        "open": {g.country: registration_open(edition, g.country) for g in listed},
        "creatable": creatable,
        **extra,
    }


def group_create_from_form(form: Any) -> GroupCreate:
    refs = str(form.get("facilitators", "")).replace(",", "\n").splitlines()
    return GroupCreate(
        theme_id=_int(form.get("theme_id"), _("the theme")),
        country=str(form.get("country", "")),
        locality=str(form.get("locality", "")),
        language=str(form.get("language", "")),
        capacity=_int(form.get("capacity"), _("the number of places")),
        meeting_count=_int(
            form.get("meeting_count") or scheduling.DEFAULT_MEETINGS, _("the number of meetings")
        ),
        facilitators=[r.strip() for r in refs if r.strip()],
    )


async def my_calendar(request: Req, member: CurrentMember) -> MyCalendar:
    url = base_url(request)
    entries = await calendar.entries_of(member.id)
    return MyCalendar(
        feed_url=url + await calendar.feed_path(settings_of(request).secret_key, member.id),
        entries=[
            CalendarEntry(e.uid, e.starts_at, e.ends_at, e.summary, e.location, url + e.path)
            for e in entries
        ],
    )


# -- pages made with their JSON twins ---------------------------------------------------------


async def group_list_context(request: Req, listed: list[GroupInfo]) -> dict[str, Any]:
    edition = await editions.get_edition(request.path_params["slug"])
    return await groups_context(request, edition, listed)


@twin(
    "/editions/{slug:str}/groups",
    name="groups",
    template="groups.html",
    tags=["working groups"],
    summary="An edition's working groups",
    context=group_list_context,
)
async def group_list(slug: FromPath[str]) -> list[GroupInfo]:
    edition = await editions.get_edition(slug)
    return await groups.list_groups(edition.id)


async def group_show_context(request: Req, found: GroupView) -> dict[str, Any]:
    return await group_context(request, found.group.id, found)


@twin(
    "/groups/{group_id:int}",
    name="group",
    template="group.html",
    tags=["working groups"],
    summary="A working group, as the signed-in member sees it",
    context=group_show_context,
)
async def group_show(viewer: ViewerDep, group_id: FromPath[int]) -> GroupView:
    group = await groups.get_group(group_id)
    edition = await editions.get_edition_by_id(group.edition_id)
    meetings = await planning.meetings_of(group_id)
    return GroupView(
        group=group,
        registration=await groups.registration_of(viewer.id, group_id) if viewer else None,
        registration_open=registration_open(edition, group.country),
        may_manage=groups.may_manage(viewer, group),
        meetings=meetings if await sees_links(viewer, group) else without_links(meetings),
    )


async def my_groups_context(request: Req, mine: list[MyGroup]) -> dict[str, Any]:
    return {
        "mine": [(m.group, m.part) for m in mine],
        "calendar": await my_calendar(request, require_member(request)),
        "local_time": groups.local_time,
    }


@twin(
    "/my/groups",
    name="my_groups",
    template="group_mine.html",
    tags=["working groups"],
    summary="The signed-in member's working groups",
    context=my_groups_context,
    guards=[signed_in],
    api_path="/api/me/groups",
)
async def my_group_list(member: MemberDep) -> list[MyGroup]:
    return [MyGroup(g, part) for g, part in await planning.my_groups(member.id)]


async def info_sessions_context(
    request: Req,
    edition: EditionInfo,
    sessions: list[InfoSessionOut] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    if sessions is None:
        sessions = await info_sessions.list_info_sessions(edition.id, member_of(request))
    return {
        "edition": edition,
        "sessions": sessions,
        "local_time": groups.local_time,
        "modes": scheduling.MODES,
        **extra,
    }


async def info_session_list_context(request: Req, sessions: list[InfoSessionOut]) -> dict[str, Any]:
    edition = await editions.get_edition(request.path_params["slug"])
    return await info_sessions_context(request, edition, sessions)


@twin(
    "/editions/{slug:str}/info-sessions",
    name="info_sessions",
    template="info_sessions.html",
    tags=["info sessions"],
    summary="An edition's info sessions",
    context=info_session_list_context,
)
async def info_session_list(viewer: ViewerDep, slug: FromPath[str]) -> list[InfoSessionOut]:
    edition = await editions.get_edition(slug)
    return await info_sessions.list_info_sessions(edition.id, viewer)


async def info_session_context(
    request: Req, session: InfoSessionOut, **extra: Any
) -> dict[str, Any]:
    """The info session's page: the session as the viewer may see it and, for the operators
    of its country, who registered."""
    viewer = member_of(request)
    operator = viewer is not None and viewer.is_operator(session.country)
    return {
        "session": session,
        "local_time": groups.local_time,
        "registrants": await info_sessions.registrants(session.id) if operator else [],
        "is_operator": operator,
        "started": session.starts_at <= clock.now(),
        "local_clock": groups.local_clock,
        **extra,
    }


async def info_session_show_context(request: Req, session: InfoSessionOut) -> dict[str, Any]:
    return await info_session_context(request, session)


@twin(
    "/info-sessions/{session_id:int}",
    name="info_session",
    template="info_session.html",
    tags=["info sessions"],
    summary="An info session",
    context=info_session_show_context,
)
async def info_session_show(viewer: ViewerDep, session_id: FromPath[int]) -> InfoSessionOut:
    return await info_sessions.get_info_session(session_id, viewer)


# -- pages -----------------------------------------------------------------------------------


class GroupPages(Controller):
    include_in_schema = False

    @post("/editions/{slug:str}/groups", name="group_create", guards=[signed_in])
    async def create(
        self, request: Req, member: MemberDep, rules: RulesDep, slug: FromPath[str]
    ) -> Template | Redirect:
        edition = await editions.get_edition(slug)
        form = await request.form()
        try:
            group_id = await groups.create_group(
                rules, member, edition.id, group_create_from_form(form)
            )
        except DomainError as exc:
            context = await groups_context(request, edition, error=exc.message, form=dict(form))
            return page(request, "groups.html", context, status_code=exc.status_code)
        return Redirect(f"/groups/{group_id}", status_code=303)

    @post("/groups/{group_id:int}/register", name="group_register", guards=[signed_in])
    async def register(
        self, request: Req, member: MemberDep, rules: RulesDep, group_id: FromPath[int]
    ) -> Any:
        form = await request.form()
        return await run_on_group(
            request,
            group_id,
            lambda: groups.register(
                rules,
                member,
                group_id,
                pledge=form.get("pledge") == "yes",
                waiting_list=form.get("waiting_list") == "yes",
            ),
        )

    @post("/groups/{group_id:int}/withdraw", name="group_withdraw", guards=[signed_in])
    async def withdraw(
        self, request: Req, member: MemberDep, rules: RulesDep, group_id: FromPath[int]
    ) -> Any:
        return await run_on_group(
            request, group_id, lambda: groups.withdraw(rules, member, group_id)
        )

    @post("/groups/{group_id:int}/slots", name="group_slot_add", guards=[signed_in])
    async def add_slot(self, request: Req, member: MemberDep, group_id: FromPath[int]) -> Any:
        form = await request.form()

        async def action() -> None:
            group = await groups.get_group(group_id)
            await planning.add_slot(
                member,
                group_id,
                SlotIn(
                    starts_at=_local_start(form, group.country),
                    duration_minutes=_int(form.get("duration"), _("the duration")),
                    mode=str(form.get("mode", "")),
                    place=str(form.get("place", "")),
                ),
            )

        return await run_on_group(request, group_id, action, **dict(form))

    @post(
        "/groups/{group_id:int}/slots/{slot_id:int}/remove",
        name="group_slot_remove",
        guards=[signed_in],
    )
    async def remove_slot(
        self, request: Req, member: MemberDep, group_id: FromPath[int], slot_id: FromPath[int]
    ) -> Any:
        return await run_on_group(
            request, group_id, lambda: planning.remove_slot(member, group_id, slot_id)
        )

    @post("/groups/{group_id:int}/availability", name="group_availability", guards=[signed_in])
    async def answer(self, request: Req, member: MemberDep, group_id: FromPath[int]) -> Any:
        form = await request.form()

        async def action() -> None:
            answers = {}
            for key, value in form.items():
                if key.startswith("slot_"):
                    answers[_int(key.removeprefix("slot_"), _("the slot"))] = str(value)
            await planning.answer_slots(member, group_id, answers)

        return await run_on_group(request, group_id, action)

    @post("/groups/{group_id:int}/plan", name="group_plan_confirm", guards=[signed_in])
    async def confirm(
        self, request: Req, member: MemberDep, rules: RulesDep, group_id: FromPath[int]
    ) -> Any:
        form = await request.form()

        async def action() -> None:
            chosen = [_int(v, _("the slot")) for v in form.getall("slot")] if "slot" in form else []
            await planning.confirm_plan(rules, member, group_id, chosen or None)

        return await run_on_group(request, group_id, action)

    @post(
        "/groups/{group_id:int}/meetings/{meeting_id:int}/attendance",
        name="group_attendance",
        guards=[signed_in],
    )
    async def attendance(
        self, request: Req, member: MemberDep, group_id: FromPath[int], meeting_id: FromPath[int]
    ) -> Any:
        form = await request.form()

        async def action() -> None:
            present = (
                [_int(v, _("a participant")) for v in form.getall("present")]
                if "present" in form
                else []
            )
            meeting = await _meeting_of_group(group_id, meeting_id)
            await planning.record_attendance(member, meeting, present)

        return await run_on_group(request, group_id, action)

    @post("/my/calendar-feed", name="my_calendar_feed_reset", guards=[signed_in])
    async def reset_feed(self, request: Req, member: MemberDep) -> Redirect:
        await calendar.reset_feed(settings_of(request).secret_key, member.id)
        return Redirect("/my/groups", status_code=303)

    @get("/calendar/{feed:str}", name="calendar_feed")
    async def feed(self, request: Req, feed: FromPath[str]) -> Response[bytes]:
        """The member's meetings and info sessions as iCalendar, for calendar apps (no
        session: the address is the secret)."""
        secret = settings_of(request).secret_key
        member_id = await calendar.member_of_feed(secret, feed)
        if member_id is None:
            raise NotFound(_("There is no such calendar."))
        member = await load_member(member_id)
        language = member.language if member else current_language.get()
        token = current_language.set(language)
        try:
            entries = await calendar.entries_of(member_id)
            body = calendar.ical(
                entries,
                name=_("%(platform)s: my meetings")
                % {"platform": settings_of(request).platform.name},
                base_url=base_url(request),
            )
        finally:
            current_language.reset(token)
        return Response(
            body,
            media_type="text/calendar; charset=utf-8",
            headers={"cache-control": "private, max-age=300"},
        )


async def _meeting_of_group(group_id: int, meeting_id: int) -> int:
    if not any(m.id == meeting_id for m in await planning.meetings_of(group_id)):
        raise NotFound(_("There is no meeting %(id)d.") % {"id": meeting_id})
    return meeting_id


class InfoSessionPages(Controller):
    include_in_schema = False

    @post("/editions/{slug:str}/info-sessions", name="info_session_create", guards=[signed_in])
    async def create(
        self, request: Req, member: MemberDep, slug: FromPath[str]
    ) -> Template | Redirect:
        edition = await editions.get_edition(slug)
        form = await request.form()
        try:
            country = str(form.get("country", ""))
            session_id = await info_sessions.create_info_session(
                member,
                edition.id,
                InfoSessionIn(
                    country=country,
                    title=str(form.get("title", "")),
                    description=str(form.get("description", "")),
                    language=str(form.get("language", "")),
                    starts_at=_local_start(form, country),
                    duration_minutes=_int(form.get("duration"), _("the duration")),
                    mode=str(form.get("mode", "")),
                    place=str(form.get("place", "")),
                    capacity=_int(form.get("capacity"), _("the number of places")),
                ),
            )
        except DomainError as exc:
            context = await info_sessions_context(
                request, edition, error=exc.message, form=dict(form)
            )
            return page(request, "info_sessions.html", context, status_code=exc.status_code)
        return Redirect(f"/info-sessions/{session_id}", status_code=303)

    @post(
        "/info-sessions/{session_id:int}/register", name="info_session_register", guards=[signed_in]
    )
    async def register(
        self, request: Req, member: MemberDep, rules: RulesDep, session_id: FromPath[int]
    ) -> Any:
        return await self._act(
            request,
            session_id,
            lambda: info_sessions.register(rules, member, session_id),
        )

    @post(
        "/info-sessions/{session_id:int}/unregister",
        name="info_session_unregister",
        guards=[signed_in],
    )
    async def unregister(self, request: Req, member: MemberDep, session_id: FromPath[int]) -> Any:
        return await self._act(
            request, session_id, lambda: info_sessions.unregister(member, session_id)
        )

    async def _act(self, request: Req, session_id: int, step: Any) -> Any:
        """Run a member's step from the session's page; on a refusal show the page again."""
        try:
            await step()
        except DomainError as exc:
            session = await info_sessions.get_info_session(session_id, member_of(request))
            context = await info_session_context(request, session, error=exc.message)
            return page(request, "info_session.html", context, status_code=exc.status_code)
        return Redirect(f"/info-sessions/{session_id}", status_code=303)


# -- JSON ------------------------------------------------------------------------------------


class GroupsAPI(Controller):
    path = "/api"
    tags = ["working groups"]

    @post(
        "/editions/{slug:str}/groups",
        status_code=201,
        summary="Create a working group (operators of its country)",
        guards=[signed_in],
    )
    async def create(
        self,
        member: MemberDep,
        rules: RulesDep,
        slug: FromPath[str],
        data: JSONBody[GroupCreate],
    ) -> GroupInfo:
        edition = await editions.get_edition(slug)
        group_id = await groups.create_group(rules, member, edition.id, data)
        return await groups.get_group(group_id)

    @get(
        "/editions/{slug:str}/groups/figures",
        summary="Places, registrations, meetings and attendance per country",
    )
    async def figures(self, slug: FromPath[str]) -> list[CountryFigures]:
        edition = await editions.get_edition(slug)
        return await planning.edition_figures(edition.id)

    @post(
        "/groups/{group_id:int}/registration",
        status_code=201,
        summary="Register for a working group, accepting the commitment (pledge: true)",
        guards=[signed_in],
    )
    async def register(
        self,
        member: MemberDep,
        rules: RulesDep,
        group_id: FromPath[int],
        data: JSONBody[RegistrationIn],
    ) -> RegistrationOut:
        return await groups.register(
            rules,
            member,
            group_id,
            pledge=data.pledge,
            waiting_list=data.waiting_list,
        )

    @post(
        "/groups/{group_id:int}/withdrawal",
        status_code=200,
        summary="Withdraw from a working group; the first on its waiting list gets the place",
        guards=[signed_in],
    )
    async def withdraw(
        self, member: MemberDep, rules: RulesDep, group_id: FromPath[int]
    ) -> RegistrationOut:
        return await groups.withdraw(rules, member, group_id)

    @get(
        "/groups/{group_id:int}/availability",
        summary="The candidate slots, their answers and the proposed plan",
    )
    async def availability(self, request: Req, group_id: FromPath[int]) -> Availability:
        group = await groups.get_group(group_id)
        viewer = member_of(request)
        found = await planning.availability(group, viewer)
        if await sees_links(viewer, group):
            return found
        return msgspec.structs.replace(found, slots=without_links(found.slots))

    @put(
        "/groups/{group_id:int}/availability",
        summary="Answer the slots (participants)",
        guards=[signed_in],
    )
    async def answer(
        self, member: MemberDep, group_id: FromPath[int], data: JSONBody[AnswersIn]
    ) -> Availability:
        await planning.answer_slots(member, group_id, data.answers)
        return await planning.availability(await groups.get_group(group_id), member)

    @post(
        "/groups/{group_id:int}/slots",
        status_code=201,
        summary="Propose a candidate slot (facilitators)",
        guards=[signed_in],
    )
    async def add_slot(
        self, member: MemberDep, group_id: FromPath[int], data: JSONBody[SlotIn]
    ) -> SlotOut:
        return await planning.add_slot(member, group_id, data)

    @delete(
        "/groups/{group_id:int}/slots/{slot_id:int}",
        status_code=204,
        summary="Take back a candidate slot (facilitators)",
        guards=[signed_in],
    )
    async def remove_slot(
        self, member: MemberDep, group_id: FromPath[int], slot_id: FromPath[int]
    ) -> None:
        await planning.remove_slot(member, group_id, slot_id)

    @post(
        "/groups/{group_id:int}/plan",
        status_code=201,
        summary="Confirm the plan of meetings (facilitators); without slot_ids, the proposal",
        guards=[signed_in],
    )
    async def confirm(
        self,
        member: MemberDep,
        rules: RulesDep,
        group_id: FromPath[int],
        data: JSONBody[PlanIn],
    ) -> list[MeetingOut]:
        return await planning.confirm_plan(rules, member, group_id, data.slot_ids)

    @get("/groups/{group_id:int}/meetings", summary="A working group's meetings")
    async def meetings(self, request: Req, group_id: FromPath[int]) -> list[MeetingOut]:
        group = await groups.get_group(group_id)
        meetings = await planning.meetings_of(group_id)
        return meetings if await sees_links(member_of(request), group) else without_links(meetings)

    @put(
        "/meetings/{meeting_id:int}/attendance",
        summary="Record who came to a meeting (facilitators)",
        guards=[signed_in],
    )
    async def record(
        self,
        member: MemberDep,
        meeting_id: FromPath[int],
        data: JSONBody[AttendanceIn],
    ) -> MeetingOut:
        return await planning.record_attendance(member, meeting_id, data.present)

    @get(
        "/groups/{group_id:int}/attendance",
        summary="Attendance per meeting and participant, with the flags (facilitators)",
    )
    async def attendance(self, request: Req, group_id: FromPath[int]) -> GroupAttendance:
        group = await groups.get_group(group_id)
        groups.require_manager(require_member(request), group)
        return await planning.group_attendance(rules_of(request), group)

    @get(
        "/me/calendar",
        summary="The member's meetings and info sessions, and the feed address",
        guards=[signed_in],
    )
    async def calendar(self, request: Req, member: MemberDep) -> MyCalendar:
        return await my_calendar(request, member)

    @post(
        "/me/calendar/feed",
        status_code=200,
        summary="A new secret feed address (the old one stops working)",
        guards=[signed_in],
    )
    async def reset_feed(self, request: Req, member: MemberDep) -> MyCalendar:
        await calendar.reset_feed(settings_of(request).secret_key, member.id)
        return await my_calendar(request, member)


class InfoSessionsAPI(Controller):
    path = "/api"
    tags = ["info sessions"]

    @post(
        "/editions/{slug:str}/info-sessions",
        status_code=201,
        summary="Publish an info session (operators of its country)",
        guards=[signed_in],
    )
    async def create(
        self, member: MemberDep, slug: FromPath[str], data: JSONBody[InfoSessionIn]
    ) -> InfoSessionOut:
        edition = await editions.get_edition(slug)
        session_id = await info_sessions.create_info_session(member, edition.id, data)
        return await info_sessions.get_info_session(session_id, member)

    @post(
        "/info-sessions/{session_id:int}/registration",
        status_code=201,
        summary="Register for an info session (a reminder comes the day before)",
        guards=[signed_in],
    )
    async def register(
        self, member: MemberDep, rules: RulesDep, session_id: FromPath[int]
    ) -> InfoSessionOut:
        return await info_sessions.register(rules, member, session_id)

    @delete(
        "/info-sessions/{session_id:int}/registration",
        status_code=200,
        summary="Take back a registration before the session starts",
        guards=[signed_in],
    )
    async def unregister(self, member: MemberDep, session_id: FromPath[int]) -> InfoSessionOut:
        return await info_sessions.unregister(member, session_id)
