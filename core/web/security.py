"""Security headers on every response (Litestar has no helper for them)."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


class SecurityHeadersMiddleware(ASGIMiddleware):
    def __init__(self, hsts: bool) -> None:
        self.hsts = hsts

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                headers["content-security-policy"] = CSP
                headers["x-content-type-options"] = "nosniff"
                headers["referrer-policy"] = "same-origin"
                headers["x-frame-options"] = "DENY"
                if self.hsts:
                    headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"
            await send(message)

        await next_app(scope, receive, send_with_headers)
