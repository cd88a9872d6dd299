"""Account pages, the member import, and their JSON twins."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery, JSONBody, MultipartBody, URLEncodedBody
from litestar.response import Redirect, Template

from core.auth import devices
from core.auth import services as auth
from core.errors import DomainError, Forbidden, InvalidInput, NotSignedIn
from core.events import MembersImported
from core.i18n import _, ngettext
from core.members import importer
from core.members.model import CurrentMember
from core.members.services import load_member, set_language
from core.rules import Rules
from core.web.context import member_of, page, session_cookie, settings_of
from core.web.deps import MemberDep
from core.web.errors import problem
from core.web.guards import operator, signed_in
from core.web.twins import twin

Req = Request[Any, Any, Any]


class LanguageChange(msgspec.Struct):
    language: str = ""
    next: str = ""


class PasswordChange(msgspec.Struct):
    password: str = ""
    confirm: str = ""


class ImportForm(msgspec.Struct):
    file: UploadFile | None = None
    mode: str = "partial"  # "full": a full register (its absent members leave)


class ChangedMemberOut(msgspec.Struct):
    member_number: str
    name: str
    fields: list[str] = []


class RoleAffectedOut(msgspec.Struct):
    member_number: str
    name: str
    roles: list[tuple[str, str]]
    why: str  # "leaves" or "email"


class ImportPreview(msgspec.Struct):
    """A checked file compared with the register, waiting to be confirmed or cancelled.

    ``full``: a full register (members of ``countries`` it does not list leave); else a
    partial import (additions and updates only). The lists hold the first
    ``importer.PREVIEW_LISTED`` members; the figures count them all."""

    id: int
    state: str
    full: bool
    mode: str  # the mode in words, in the reader's language
    countries: list[str]
    rows: int
    new: int
    changed: int
    unchanged: int
    left: int
    returning: int
    roles_affected_count: int
    new_members: list[ChangedMemberOut]
    changed_members: list[ChangedMemberOut]
    leaving_members: list[ChangedMemberOut]
    returning_members: list[ChangedMemberOut]
    roles_affected: list[RoleAffectedOut]


class RowErrorOut(msgspec.Struct):
    line: int
    reason: str


class ImportResult(msgspec.Struct):
    rows: int
    created: int
    updated: int
    unchanged: int
    errors: list[RowErrorOut]


class ImportRefused(InvalidInput):
    """A file with problems: the first ``importer.MAX_ERRORS`` listed, all of them counted."""

    def __init__(self, message: str, *, errors: list[dict[str, Any]], error_count: int) -> None:
        super().__init__(message, errors=errors)
        self.error_count = error_count


class SessionOut(msgspec.Struct):
    """One of the member's signed-in devices. ``id`` is the session's number, not its secret."""

    id: int
    device: str  # browser and system in words, in the member's language
    browser: str
    system: str
    signed_in_at: datetime
    last_seen_at: datetime
    current: bool  # the device asking


async def my_sessions(request: Req, member: CurrentMember) -> list[SessionOut]:
    views = await auth.member_sessions(member.id, request.state.get("session_token"))
    return [
        SessionOut(
            id=v.id,
            device=devices.label(v.browser, v.system),
            browser=v.browser,
            system=v.system,
            signed_in_at=v.signed_in_at,
            last_seen_at=v.last_seen_at,
            current=v.current,
        )
        for v in views
    ]


async def account_page(
    request: Req,
    member: CurrentMember,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> Template:
    sessions = await my_sessions(request, member)
    return page(
        request,
        "account.html",
        {"sessions": sessions, **(context or {})},
        status_code=status_code,
    )


async def end_my_session(request: Req, member: CurrentMember, session_id: int) -> bool:
    """End one of the member's sessions (404 for anyone else's); True when it was this one."""
    ended = await auth.end_member_session(member.id, session_id)
    token = request.state.get("session_token")
    return bool(token) and ended == auth.token_hash(token)


def require_member(request: Req) -> CurrentMember:
    member = member_of(request)
    if member is None:
        raise NotSignedIn(_("Sign in to see this page."))
    return member


def require_operator(request: Req) -> CurrentMember:
    member = require_member(request)
    if not member.is_operator():
        raise Forbidden(_("Only operators of the cooperative life team can do this."))
    return member


async def run_import(request: Req, operator: CurrentMember, data: bytes) -> ImportResult:
    """Import ``data``; raises ``ImportRefused`` listing the first problems when there are any.

    The file is decoded and checked in a worker thread (``importer.import_members``): the
    server goes on answering other requests meanwhile."""
    try:
        text = await asyncio.to_thread(importer.decode, data)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    report = await importer.import_members(
        text,
        allowed_countries=operator.operator_countries,
        actor=operator,
        registry=request.app.state.registry,
        settings=settings_of(request),
    )
    result = ImportResult(
        rows=report.rows,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        errors=[RowErrorOut(e.line, e.reason) for e in report.errors],
    )
    if not report.ok:
        n = report.error_count
        raise ImportRefused(
            ngettext(
                "Nothing was imported: %(n)d row needs correcting.",
                "Nothing was imported: %(n)d rows need correcting.",
                n,
            )
            % {"n": n},
            errors=[msgspec.to_builtins(e) for e in result.errors],
            error_count=n,
        )
    for country, (created, updated) in report.by_country.items():
        Rules(request.app.state.registry, settings_of(request)).emit(
            MembersImported(
                country=country, created=created, updated=updated, actor_id=operator.id
            ),
        )
    return result


def mode_words(full: bool) -> str:
    if full:
        return _(
            "Full register: members of %(countries)s it does not list are marked as having left."
        )
    return _("Partial import: additions and updates only; nobody is marked as having left.")


def preview_out(info: importer.RegisterImportInfo) -> ImportPreview:
    summary = info.summary

    def members(key: str) -> list[ChangedMemberOut]:
        return [
            ChangedMemberOut(m["member_number"], m["name"], list(m.get("fields", [])))
            for m in summary.get(key, [])
        ]

    return ImportPreview(
        id=info.id,
        state=info.state,
        full=info.full,
        mode=mode_words(info.full) % {"countries": ", ".join(info.countries)}
        if info.full
        else mode_words(False),
        countries=info.countries,
        rows=int(summary.get("rows", 0)),
        new=info.figures["new"],
        changed=info.figures["changed"],
        unchanged=info.figures["unchanged"],
        left=info.figures["left"],
        returning=info.figures["returning"],
        roles_affected_count=int(summary.get("roles_affected_count", 0)),
        new_members=members("new_members"),
        changed_members=members("changed_members"),
        leaving_members=members("leaving_members"),
        returning_members=members("returning_members"),
        roles_affected=[
            RoleAffectedOut(r["member_number"], r["name"], [tuple(x) for x in r["roles"]], r["why"])
            for r in summary.get("roles_affected", [])
        ],
    )


async def run_preview(
    request: Req, operator: CurrentMember, data: bytes, *, full: bool
) -> ImportPreview:
    """Check ``data`` and store a preview; raises ``ImportRefused`` listing the first
    problems when there are any (nothing is stored then)."""
    try:
        text = await asyncio.to_thread(importer.decode, data)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    report, info = await importer.preview_import(
        text, full=full, allowed_countries=operator.operator_countries, actor=operator
    )
    if info is None:
        n = report.error_count
        raise ImportRefused(
            ngettext(
                "Nothing was imported: %(n)d row needs correcting.",
                "Nothing was imported: %(n)d rows need correcting.",
                n,
            )
            % {"n": n},
            errors=[{"line": e.line, "reason": e.reason} for e in report.errors],
            error_count=n,
        )
    return preview_out(info)


async def run_confirm(request: Req, operator: CurrentMember, import_id: int) -> ImportPreview:
    """Apply a preview, once (a second confirmation: 409, nothing changed), and tell each
    country's plugins what changed."""
    report, info = await importer.confirm_import(
        import_id,
        actor=operator,
        registry=request.app.state.registry,
        settings=settings_of(request),
    )
    for country, (created, updated) in report.by_country.items():
        Rules(request.app.state.registry, settings_of(request)).emit(
            MembersImported(
                country=country, created=created, updated=updated, actor_id=operator.id
            ),
        )
    return preview_out(info)


async def preview_page(
    request: Req,
    import_id: int,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> Template:
    operator = require_operator(request)
    info = await importer.load_import(import_id)
    importer.require_scope(info, operator)
    return page(
        request,
        "members_import_preview.html",
        {"preview": preview_out(info), "listed": importer.PREVIEW_LISTED, **(context or {})},
        status_code=status_code,
    )


async def account_shown(request: Req, member: CurrentMember) -> dict[str, Any]:
    """The account page: the member, their sessions (``/api/account/sessions``), and a notice
    after a device's "sign out"."""
    shown: dict[str, Any] = {
        "sessions": await my_sessions(request, member),
    }
    if request.query_params.get("signed_out") == "device":
        shown["notice"] = _("That device is signed out.")
    return shown


@twin(
    "/account",
    api_path="/api/me",
    name="account",
    template="account.html",
    tags=["members"],
    summary="The signed-in member",
    context=account_shown,
    guards=[signed_in],
)
async def account(member: MemberDep) -> CurrentMember:
    return member


async def import_preview_shown(request: Req, found: ImportPreview) -> dict[str, Any]:
    return {"preview": found, "listed": importer.PREVIEW_LISTED}


@twin(
    "/members/import/{import_id:int}",
    api_path="/api/members/import/{import_id:int}",
    name="members_import_preview",
    template="members_import_preview.html",
    tags=["members"],
    summary="A member import's preview (or what became of it: its state)",
    context=import_preview_shown,
    guards=[operator],
)
async def import_preview(member: MemberDep, import_id: FromPath[int]) -> ImportPreview:
    info = await importer.load_import(import_id)
    importer.require_scope(info, member)
    return preview_out(info)


class AccountPages(Controller):
    include_in_schema = False

    @post("/account/password", name="account_password", guards=[signed_in])
    async def password(
        self,
        request: Req,
        member: MemberDep,
        data: URLEncodedBody[PasswordChange],
    ) -> Template:
        try:
            ended = await auth.set_password(
                member.id,
                data.password,
                data.confirm,
                keep_session=request.state.get("session_token"),
                actor=member,
            )
        except DomainError as exc:
            return await account_page(
                request, member, {"password_error": exc.message}, status_code=400
            )
        request.state.member = member = await load_member(member.id) or member
        notice = _("Your password is saved.")
        if ended:
            notice += " " + ngettext(
                "Your other signed-in device is signed out.",
                "Your %(num)d other signed-in devices are signed out.",
                ended,
            ) % {"num": ended}
        return await account_page(request, member, {"notice": notice})

    @post(
        "/account/sessions/{web_session_id:int}/end", name="account_session_end", guards=[signed_in]
    )
    async def end_session(
        self, request: Req, member: MemberDep, web_session_id: FromPath[int]
    ) -> Response[Any]:
        if await end_my_session(request, member, web_session_id):
            response: Response[Any] = Redirect("/", status_code=303)
            response.set_cookie(session_cookie(settings_of(request), None))
            return response
        return Redirect("/account?signed_out=device", status_code=303)

    @post("/account/sessions/end-all", name="account_sessions_end_all", guards=[signed_in])
    async def end_all_sessions(self, request: Req, member: MemberDep) -> Response[Any]:
        await auth.end_member_sessions(member.id)
        response: Response[Any] = Redirect("/sign-in?signed_out=everywhere", status_code=303)
        response.set_cookie(session_cookie(settings_of(request), None))
        return response

    @get("/members/import", name="members_import", guards=[operator])
    async def import_form(self, request: Req, member: MemberDep) -> Template:
        return page(request, "members_import.html", {"columns": importer.COLUMNS})

    @post("/members/import", name="members_import_post", guards=[operator])
    async def import_upload(
        self,
        request: Req,
        member: MemberDep,
        data: MultipartBody[ImportForm],
    ) -> Response[Any]:
        full = data.mode == "full"
        context: dict[str, Any] = {"columns": importer.COLUMNS, "full": full}
        if data.file is None or not data.file.filename:
            context["error"] = _("Choose a CSV file to import.")
            return page(request, "members_import.html", context, status_code=400)
        try:
            preview = await run_preview(request, member, await data.file.read(), full=full)
        except DomainError as exc:
            context.update(error=exc.message, row_errors=exc.errors)
            if isinstance(exc, ImportRefused):
                context["more_errors"] = exc.error_count - len(exc.errors)
            return page(request, "members_import.html", context, status_code=exc.status_code)
        return Redirect(f"/members/import/{preview.id}", status_code=303)

    @post(
        "/members/import/{import_id:int}/confirm",
        name="members_import_confirm",
        guards=[operator],
    )
    async def import_confirm(
        self, request: Req, member: MemberDep, import_id: FromPath[int]
    ) -> Response[Any]:
        try:
            await run_confirm(request, member, import_id)
        except DomainError as exc:
            return await preview_page(
                request, import_id, {"error": exc.message}, status_code=exc.status_code
            )
        return Redirect(f"/members/import/{import_id}", status_code=303)

    @post(
        "/members/import/{import_id:int}/cancel",
        name="members_import_cancel",
        guards=[operator],
    )
    async def import_cancel(
        self, request: Req, member: MemberDep, import_id: FromPath[int]
    ) -> Response[Any]:
        try:
            await importer.cancel_import(import_id, actor=member)
        except DomainError as exc:
            return await preview_page(
                request, import_id, {"error": exc.message}, status_code=exc.status_code
            )
        return Redirect(f"/members/import/{import_id}", status_code=303)


class MembersAPI(Controller):
    path = "/api"
    tags = ["members"]

    @put(
        "/me/language", summary="Set the signed-in member's interface language", guards=[signed_in]
    )
    async def language(self, member: MemberDep, data: JSONBody[LanguageChange]) -> CurrentMember:
        await set_language(member.id, data.language)
        updated = await load_member(member.id)
        assert updated is not None
        return updated

    @post(
        "/me/password",
        status_code=200,
        summary="Set or change the member's password",
        description="Every other session of the member ends; this one goes on.",
        guards=[signed_in],
    )
    async def password(
        self, request: Req, member: MemberDep, data: JSONBody[PasswordChange]
    ) -> dict[str, str]:
        await auth.set_password(
            member.id,
            data.password,
            data.confirm,
            keep_session=request.state.get("session_token"),
            actor=member,
        )
        return {"detail": _("Your password is saved.")}

    @get(
        "/account/sessions",
        summary="The member's signed-in devices (this one first)",
        guards=[signed_in],
    )
    async def sessions(self, request: Req, member: MemberDep) -> list[SessionOut]:
        return await my_sessions(request, member)

    @delete(
        "/account/sessions/{web_session_id:int}",
        status_code=200,
        summary="Sign one of the member's devices out",
        description="Another member's session is 404. Ending this device's own session signs "
        "it out (its cookie is cleared).",
        guards=[signed_in],
    )
    async def end_session(
        self, request: Req, member: MemberDep, web_session_id: FromPath[int]
    ) -> Response[dict[str, str]]:
        response = Response({"detail": _("That device is signed out.")})
        if await end_my_session(request, member, web_session_id):
            response.set_cookie(session_cookie(settings_of(request), None))
        return response

    @post(
        "/account/sessions/end-all",
        status_code=200,
        summary="Sign out everywhere: every session of the member ends, this one too",
        guards=[signed_in],
    )
    async def end_all_sessions(self, request: Req, member: MemberDep) -> Response[dict[str, str]]:
        await auth.end_member_sessions(member.id)
        response = Response({"detail": _("You are signed out on every device.")})
        response.set_cookie(session_cookie(settings_of(request), None))
        return response

    @post(
        "/members/import",
        status_code=200,
        summary="Import members from CSV (operators; all rows or none)",
        description="Send the CSV as the request body (text/csv). Columns: "
        + ",".join(importer.COLUMNS)
        + ". With full=true the file is the full register: the answer is a preview (its id "
        "and figures: new, changed, leaving, returning, roles affected), applied only by "
        "POST /api/members/import/{id}/confirm; the members of your countries it does not "
        "list are then marked as having left. With preview=true a partial import is "
        "previewed the same way. Without either, a partial import (additions and updates "
        "only) is applied at once.",
        guards=[operator],
    )
    async def import_csv(
        self,
        request: Req,
        member: MemberDep,
        full: FromQuery[bool] = False,
        preview: FromQuery[bool] = False,
    ) -> Response[Any]:
        try:
            if full or preview:
                shown = await run_preview(request, member, await request.body(), full=full)
                return Response(shown, status_code=201)
            return Response(await run_import(request, member, await request.body()))
        except ImportRefused as exc:
            # The problem, with ``errors`` (the first ones, by line) and ``error_count`` (all).
            refused = problem(request, exc.status_code, exc.title, exc.message, exc.errors)
            return Response(
                {**refused.content, "error_count": exc.error_count},
                status_code=exc.status_code,
                media_type=refused.media_type,
            )

    @get("/members/import/columns", summary="The columns a member import expects")
    async def columns(self) -> list[str]:
        return list(importer.COLUMNS)

    @post(
        "/members/import/{import_id:int}/confirm",
        status_code=200,
        summary="Apply a previewed member import (once: a second confirmation is 409)",
        guards=[operator],
    )
    async def import_confirm(
        self, request: Req, member: MemberDep, import_id: FromPath[int]
    ) -> ImportPreview:
        return await run_confirm(request, member, import_id)

    @post(
        "/members/import/{import_id:int}/cancel",
        status_code=200,
        summary="Cancel a previewed member import (the register is not touched)",
        guards=[operator],
    )
    async def import_cancel(
        self, request: Req, member: MemberDep, import_id: FromPath[int]
    ) -> ImportPreview:
        await importer.cancel_import(import_id, actor=member)
        return preview_out(await importer.load_import(import_id))
