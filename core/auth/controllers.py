"""Sign-in pages and their JSON twins."""

from __future__ import annotations

import inspect
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.utils.empty import value_or_default
from litestar.utils.scope.state import ScopeState

from core.auth import services as auth
from core.errors import DomainError, InvalidInput
from core.i18n import _
from core.members.model import CurrentMember
from core.members.services import load_member, member_by_email
from core.web.context import (
    client_address,
    language_cookie,
    member_of,
    page,
    safe_next,
    session_cookie,
    settings_of,
)

Req = Request[Any, Any, Any]


class LinkRequest(msgspec.Struct):
    email: str = ""


class PasswordSignIn(msgspec.Struct):
    email: str = ""
    password: str = ""
    next: str = ""


class SessionInfo(msgspec.Struct):
    signed_in: bool
    member: CurrentMember | None
    language: str
    csrf_token: str | None


async def send_sign_in_link(request: Req, email: str) -> None:
    """Create a link and hand it to the member's country's channel; silent for unknown emails
    so the form does not reveal who is a member."""
    email = email.strip()
    if "@" not in email or len(email) > 254:
        raise InvalidInput(_("Enter the email address you are registered with."))
    member = await member_by_email(email)
    if member is None:
        return
    settings = settings_of(request)
    minutes = settings.security.sign_in_link_minutes
    token = await auth.create_sign_in_link(member.id, minutes)
    url = f"{settings.platform.base_url.rstrip('/')}/sign-in/link/{token}"
    registry = request.app.state.registry
    sent = registry.for_country(member.country).deliver_sign_in_link(
        member=member, url=url, expires_minutes=minutes, settings=settings
    )
    if inspect.isawaitable(sent):  # a channel that sends asynchronously (notify_email)
        await sent


async def sign_in(request: Req, member_id: int, response: Response[Any]) -> Response[Any]:
    """Start a fresh session (a new id, the old one ended) and set its cookie."""
    settings = settings_of(request)
    token = await auth.start_session(
        member_id, settings.security.session_days, request.state.get("session_token")
    )
    response.set_cookie(session_cookie(settings, token))
    member = await load_member(member_id)
    if member is not None:  # pages that run before sign-in is known (404s) follow it too
        response.set_cookie(language_cookie(settings, member.language))
    return response


async def password_sign_in(request: Req, email: str, password: str) -> int:
    settings = settings_of(request)
    sec = settings.security
    address = client_address(request)
    if not email.strip() or not password:
        raise InvalidInput(_("Enter your email address and your password."))
    return await auth.password_attempt(
        email,
        password,
        address,
        sec.failed_sign_ins_per_account,
        sec.failed_sign_ins_per_address,
        sec.failed_sign_in_window_minutes,
    )


async def sign_out(request: Req, response: Response[Any]) -> Response[Any]:
    token = request.state.get("session_token")
    if token:
        await auth.end_session(token)
    response.set_cookie(session_cookie(settings_of(request), None))
    return response


class SignInPages(Controller):
    include_in_schema = False

    @get("/sign-in", name="sign_in")
    async def form(self, request: Req, next: FromQuery[str] = "") -> Template:
        return page(request, "sign_in.html", {"next": safe_next(next, "")})

    @post("/sign-in/link", name="sign_in_link_request")
    async def request_link(
        self,
        request: Req,
        data: URLEncodedBody[LinkRequest],
    ) -> Template:
        try:
            await send_sign_in_link(request, data.email)
        except DomainError as exc:
            return page(
                request,
                "sign_in.html",
                {"link_error": exc.message, "email": data.email},
                status_code=exc.status_code,
            )
        minutes = settings_of(request).security.sign_in_link_minutes
        return page(request, "link_sent.html", {"email": data.email.strip(), "minutes": minutes})

    @get("/sign-in/link/{token:str}", name="sign_in_link")
    async def confirm_link(self, request: Req, token: FromPath[str]) -> Template:
        # Opening the link does not use it (mail scanners open links); the button does.
        status = await auth.link_status(token)
        if status != "valid":
            detail = {
                "used": _("This sign-in link has already been used. Ask for a new one."),
                "expired": _("This sign-in link has expired. Ask for a new one."),
                "unknown": _("This sign-in link is not valid. Ask for a new one."),
            }[status]
            code = 404 if status == "unknown" else 410
            return page(request, "sign_in.html", {"link_error": detail}, status_code=code)
        return page(request, "link_confirm.html", {"token": token})

    @post("/sign-in/link/{token:str}", name="sign_in_link_use")
    async def use_link(self, request: Req, token: FromPath[str]) -> Response[Any]:
        try:
            member_id = await auth.redeem_sign_in_link(token)
        except DomainError as exc:
            return page(
                request, "sign_in.html", {"link_error": exc.message}, status_code=exc.status_code
            )
        return await sign_in(request, member_id, Redirect("/account", status_code=303))

    @post("/sign-in/password", name="sign_in_password")
    async def password(
        self,
        request: Req,
        data: URLEncodedBody[PasswordSignIn],
    ) -> Response[Any]:
        try:
            member_id = await password_sign_in(request, data.email, data.password)
        except DomainError as exc:
            return page(
                request,
                "sign_in.html",
                {"password_error": exc.message, "email": data.email, "next": data.next},
                status_code=exc.status_code,
            )
        target = safe_next(data.next, "/")
        return await sign_in(request, member_id, Redirect(target, status_code=303))

    @post("/sign-out", name="sign_out")
    async def sign_out(self, request: Req) -> Response[Any]:
        return await sign_out(request, Redirect("/", status_code=303))


class SignInAPI(Controller):
    path = "/api"
    tags = ["sign-in"]

    @get("/session", summary="Who is signed in, the language, and the CSRF token to send")
    async def session(self, request: Req) -> SessionInfo:
        from core.i18n import current_language

        member = member_of(request)
        return SessionInfo(
            signed_in=member is not None,
            member=member,
            language=current_language.get(),
            csrf_token=value_or_default(ScopeState.from_scope(request.scope).csrf_token, None),
        )

    @post("/sign-in/link", status_code=202, summary="Send a one-time sign-in link")
    async def request_link(self, request: Req, data: JSONBody[LinkRequest]) -> dict[str, str]:
        await send_sign_in_link(request, data.email)
        return {"detail": _("If this address is registered, a sign-in link is on its way.")}

    @post("/sign-in/link/{token:str}", status_code=200, summary="Use a sign-in link")
    async def use_link(self, request: Req, token: FromPath[str]) -> Response[CurrentMember]:
        member_id = await auth.redeem_sign_in_link(token)
        member = await load_member(member_id)
        assert member is not None
        return await sign_in(request, member_id, Response(member))

    @post("/sign-in/password", status_code=200, summary="Sign in with email and password")
    async def password(
        self, request: Req, data: JSONBody[PasswordSignIn]
    ) -> Response[CurrentMember]:
        member_id = await password_sign_in(request, data.email, data.password)
        member = await load_member(member_id)
        assert member is not None
        return await sign_in(request, member_id, Response(member))

    @post("/sign-out", status_code=200, summary="Sign out")
    async def sign_out(self, request: Req) -> Response[dict[str, str]]:
        return await sign_out(request, Response({"detail": "signed out"}))
