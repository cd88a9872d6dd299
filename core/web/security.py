"""Security headers on every response, 404s included (Litestar has no helper for them).

A ``before_send`` hook rather than a middleware: route-not-found answers never reach the
middleware stack, but every message passes ``before_send``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def security_headers(hsts: bool) -> Callable[[Message, Scope], Awaitable[None]]:
    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] == "http.response.start":
            headers = MutableScopeHeaders.from_message(message)
            headers["content-security-policy"] = CSP
            headers["x-content-type-options"] = "nosniff"
            headers["referrer-policy"] = "same-origin"
            headers["x-frame-options"] = "DENY"
            if hsts:
                headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"

    return before_send
