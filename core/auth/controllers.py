"""Sign-in pages and their JSON twins."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.params import FromPath, FromQuery, JSONBody, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.utils.empty import value_or_default
from litestar.utils.scope.state import ScopeState

from core.auth import devices
from core.auth import services as auth
from core.config import Settings
from core.errors import DomainError, InvalidInput, TooManyAttempts
from core.i18n import _
from core.members.model import CurrentMember
from core.members.services import load_member, member_by_email, normalise_email
from core.plugins import PluginRegistry
from core.rules import Rules
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
log = logging.getLogger("sip.sign_in")


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


async def ask_for_sign_in_link(request: Req, email: str) -> BackgroundTask:
    """What is done before the answer to a link request, the same for every address so that
    neither the answer nor its timing says who is a member: check the address's form and count
    the request against the address's limit (``TooManyAttempts`` beyond it, with a message that
    fits a member's address and any other). The returned task does the rest after the answer.
    """
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise InvalidInput(_("Enter the email address you are registered with."))
    settings = settings_of(request)
    sec = settings.security
    window = sec.sign_in_link_request_window_minutes
    if (
        await auth.count_link_request(auth.address_key(email), sec.sign_in_link_requests, window)
        is None
    ):
        raise TooManyAttempts(
            _(
                "If this address is registered, sign-in links have already been sent to it. "
                "Check its mailbox (and the spam folder), or ask for a new one in %(m)d minutes."
            )
            % {"m": window}
        )
    return BackgroundTask(send_sign_in_link, request.app.state.registry, settings, email)


async def send_sign_in_link(registry: PluginRegistry, settings: Settings, email: str) -> None:
    """After the answer: find the member, issue a link within the member's limit, and hand it
    to the member's country's channel; nothing for an address that is not a member's. A failure
    is logged, without the address or the link (the visitor has their answer already)."""
    sec = settings.security
    try:
        member = await member_by_email(email)
        if member is not None:
            await deliver_new_link(registry, settings, member)
        await auth.forget_link_requests(sec.sign_in_link_request_window_minutes)
    except Exception as exc:  # after the answer: nobody else would report it
        log.error("a requested sign-in link could not be issued: %s", type(exc).__name__)


async def deliver_new_link(
    registry: PluginRegistry, settings: Settings, member: CurrentMember
) -> None:
    sec = settings.security
    minutes = sec.sign_in_link_minutes
    token = await auth.issue_sign_in_link(
        member, minutes, sec.sign_in_link_requests, sec.sign_in_link_request_window_minutes
    )
    if token is None:
        log.info(
            "no sign-in link for member %s: %d were sent within %d minutes",
            member.id,
            sec.sign_in_link_requests,
            sec.sign_in_link_request_window_minutes,
        )
        return
    url = f"{settings.platform.base_url.rstrip('/')}/sign-in/link/{token}"
    await Rules(registry, settings).deliver_sign_in_link(member, url, minutes)


async def sign_in(
    request: Req, member_id: int, response: Response[Any], *, method: str
) -> Response[Any]:
    """Start a fresh session (a new id, the old one ended), audited with ``method`` (how the
    member proved who they are), and set its cookie."""
    settings = settings_of(request)
    browser, system = devices.describe(request.headers.get("user-agent"))
    token = await auth.start_session(
        member_id,
        settings.security.session_days,
        request.state.get("session_token"),
        method=method,
        browser=browser,
        system=system,
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
    async def form(
        self, request: Req, next: FromQuery[str] = "", signed_out: FromQuery[str] = ""
    ) -> Template:
        context: dict[str, Any] = {"next": safe_next(next, "")}
        if signed_out == "everywhere":  # after "sign out everywhere" on the account page
            context["notice"] = _("You are signed out on every device.")
        return page(request, "sign_in.html", context)

    @post("/sign-in/link", name="sign_in_link_request")
    async def request_link(
        self,
        request: Req,
        data: URLEncodedBody[LinkRequest],
    ) -> Template:
        context: dict[str, Any] = {"email": data.email.strip()}
        try:
            task = await ask_for_sign_in_link(request, data.email)
        except TooManyAttempts as exc:  # the same for a member's address and any other
            context["limited"] = exc.message
            return page(request, "link_sent.html", context, status_code=exc.status_code)
        except DomainError as exc:
            return page(
                request,
                "sign_in.html",
                {"link_error": exc.message, "email": data.email},
                status_code=exc.status_code,
            )
        context["minutes"] = settings_of(request).security.sign_in_link_minutes
        response = page(request, "link_sent.html", context)
        response.background = task  # the link is made and sent after the answer
        return response

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
        return await sign_in(
            request, member_id, Redirect("/account", status_code=303), method=auth.SIGN_IN_LINK
        )

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
        return await sign_in(
            request, member_id, Redirect(target, status_code=303), method=auth.SIGN_IN_PASSWORD
        )

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

    @post(
        "/sign-in/link",
        status_code=202,
        summary="Send a one-time sign-in link",
        description="The same answer whether or not the address is a member's; the link is "
        "made and sent after the answer. Limited per address and per member (429 beyond).",
    )
    async def request_link(
        self, request: Req, data: JSONBody[LinkRequest]
    ) -> Response[dict[str, str]]:
        task = await ask_for_sign_in_link(request, data.email)
        return Response(
            {"detail": _("If this address is registered, a sign-in link is on its way.")},
            status_code=202,
            background=task,
        )

    @post("/sign-in/link/{token:str}", status_code=200, summary="Use a sign-in link")
    async def use_link(self, request: Req, token: FromPath[str]) -> Response[CurrentMember]:
        member_id = await auth.redeem_sign_in_link(token)
        member = await load_member(member_id)
        assert member is not None
        return await sign_in(request, member_id, Response(member), method=auth.SIGN_IN_LINK)

    @post("/sign-in/password", status_code=200, summary="Sign in with email and password")
    async def password(
        self, request: Req, data: JSONBody[PasswordSignIn]
    ) -> Response[CurrentMember]:
        member_id = await password_sign_in(request, data.email, data.password)
        member = await load_member(member_id)
        assert member is not None
        return await sign_in(request, member_id, Response(member), method=auth.SIGN_IN_PASSWORD)

    @post("/sign-out", status_code=200, summary="Sign out")
    async def sign_out(self, request: Req) -> Response[dict[str, str]]:
        return await sign_out(request, Response({"detail": "signed out"}))
