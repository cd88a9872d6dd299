"""Per-request context: who is signed in, which language, and page rendering.

``RequestContextMiddleware`` runs before the CSRF check, so even an error page raised there is
in the visitor's language. It puts the member on ``request.state.member``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import MediaType, Request
from litestar.datastructures import Cookie
from litestar.middleware import ASGIMiddleware
from litestar.response import Template
from litestar.types import ASGIApp, Receive, Scope, Send

from core import i18n
from core.auth import services as auth
from core.config import LANGUAGES, Settings
from core.members.model import CurrentMember

LANGUAGE_COOKIE = "sip_lang"


def settings_of(request: Request[Any, Any, Any]) -> Settings:
    """The settings in force: config.toml's with the operators' plugin switches applied."""
    live = request.app.state.get("live")
    return live.settings if live is not None else request.app.state.settings


def session_cookie_name(settings: Settings) -> str:
    # __Host- binds the cookie to this exact host over HTTPS (no subdomain can plant one).
    return "__Host-sip_session" if settings.cookies_secure else "sip_session"


def session_cookie(settings: Settings, token: str | None) -> Cookie:
    """The session cookie to set (or, with no token, to delete)."""
    return Cookie(
        key=session_cookie_name(settings),
        value=token or "",
        path="/",
        httponly=True,
        secure=settings.cookies_secure,
        samesite="lax",
        max_age=settings.security.session_days * 86400 if token else 0,
    )


def language_cookie(settings: Settings, language: str) -> Cookie:
    return Cookie(
        key=LANGUAGE_COOKIE,
        value=language,
        path="/",
        httponly=True,
        secure=settings.cookies_secure,
        samesite="lax",
        max_age=365 * 86400,
    )


def member_of(request: Request[Any, Any, Any]) -> CurrentMember | None:
    return getattr(request.state, "member", None)


def client_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths are followed after a form (no open redirect)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def visitor_language(request: Request[Any, Any, Any], settings: Settings) -> str:
    """The language cookie, else the browser's Accept-Language, else the platform default."""
    language = request.cookies.get(LANGUAGE_COOKIE, "")
    if language in LANGUAGES:
        return language
    return i18n.negotiate(
        request.headers.get("accept-language"), settings.platform.default_language
    )


class RequestContextMiddleware(ASGIMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        app = scope["litestar_app"]
        settings: Settings = app.state.settings
        request: Request[Any, Any, Any] = Request(scope)
        member = None
        token = request.cookies.get(session_cookie_name(settings))
        if token:
            member = await auth.session_member(token)
        scope.setdefault("state", {})
        scope["state"]["member"] = member
        scope["state"]["session_token"] = token if member else None
        language = member.language if member else visitor_language(request, settings)
        reset = i18n.current_language.set(language)
        try:
            await next_app(scope, receive, send)
        finally:
            i18n.current_language.reset(reset)


def page(
    request: Request[Any, Any, Any],
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> Template:
    """Render a page with what every page needs (member, settings, current path)."""
    return Template(
        template_name=template,
        context={"request_path": request.url.path, **(context or {})},
        status_code=status_code,
        media_type=MediaType.HTML,
    )
