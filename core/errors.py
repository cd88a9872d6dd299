"""One exception hierarchy for domain rules, and its mapping to HTTP.

Services raise ``DomainError`` subclasses with a message meant for the user. JSON routes
(``/api/...``) answer with a problem-details body (RFC 9457); pages answer with the error page,
or re-show their form with the message when the controller catches the error itself.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Template

log = logging.getLogger("sip.errors")


class DomainError(Exception):
    status_code = 400
    title = "Bad request"

    def __init__(self, message: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []


class InvalidInput(DomainError):
    status_code = 400
    title = "Invalid input"


class NotSignedIn(DomainError):
    status_code = 401
    title = "Sign-in required"


class Forbidden(DomainError):
    status_code = 403
    title = "Forbidden"


class NotFound(DomainError):
    status_code = 404
    title = "Not found"


class Conflict(DomainError):
    status_code = 409
    title = "Conflict"


class Gone(DomainError):
    status_code = 410
    title = "Gone"


class TooManyAttempts(DomainError):
    status_code = 429
    title = "Too many attempts"


def wants_json(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/healthz", "/schema")):
        return True
    return "application/json" in request.headers.get("accept", "") and "text/html" not in (
        request.headers.get("accept", "")
    )


def problem(
    request: Request[Any, Any, Any],
    status: int,
    title: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
) -> Response[Any]:
    if "member" not in request.scope.get("state", {}):
        # No route matched, so the request context never ran: take the visitor's language.
        from core.i18n import current_language
        from core.web.context import settings_of, visitor_language

        current_language.set(visitor_language(request, settings_of(request)))
    if wants_json(request):
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": title,
            "status": status,
            "detail": detail,
            "instance": request.url.path,
        }
        if errors:
            body["errors"] = errors
        return Response(body, status_code=status, media_type="application/problem+json")
    return Template(
        template_name="error.html",
        context={
            "status": status,
            "title": title,
            "detail": detail,
            "errors": errors or [],
            "request_path": request.url.path,
        },
        status_code=status,
        media_type=MediaType.HTML,
    )


def handle_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    return problem(request, exc.status_code, exc.title, exc.message, exc.errors)


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    from core.i18n import _

    status = exc.status_code
    detail = exc.detail
    errors: list[dict[str, Any]] = []
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
        errors = [e for e in exc.extra if isinstance(e, dict)]
    if detail == "CSRF token verification failed":
        detail = _(
            "This form has expired or did not come from this site (CSRF check failed). "
            "Go back, reload the page and try again."
        )
    response = problem(request, status, _status_title(status), str(detail), errors)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem(request, 500, "Internal error", "Something went wrong on our side.")


def _status_title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    DomainError: handle_domain_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
