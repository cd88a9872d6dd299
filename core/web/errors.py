"""The domain errors (``core/errors.py``) and Litestar's refusals, mapped to HTTP: a
problem-details body (RFC 9457) for JSON routes, the error page for pages."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Template

from core.errors import DomainError
from core.i18n import N_, _, current_language
from core.web.context import settings_of, visitor_language
from core.web.limits import too_many_fields

log = logging.getLogger("sip.errors")


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
    _ensure_language(request)
    title = _(title)  # a marked constant: translated now, in the request's language
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
    _ensure_language(request)  # before the detail below is translated
    status = exc.status_code
    detail = exc.detail
    errors: list[dict[str, Any]] = []
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
        errors = [e for e in exc.extra if isinstance(e, dict)]
    if detail == _http_phrase(status):
        detail = _(_status_title(status))  # Litestar's default detail: the status phrase
    elif isinstance(exc, ValidationException) and detail.startswith(VALIDATION_FAILED):
        detail = _("Validation failed for %(request)s") % {
            "request": detail.removeprefix(VALIDATION_FAILED)
        }
    elif status == 400 and detail == MULTIPART_TOO_MANY_PARTS:
        detail = too_many_fields(request.app.state.settings.limits).message
    elif detail == "CSRF token verification failed":
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
    _ensure_language(request)
    return problem(request, 500, N_("Internal error"), _("Something went wrong on our side."))


# Litestar's own detail for a request whose parameters or body do not match (method and path
# follow). In English the detail stays exactly as Litestar wrote it.
VALIDATION_FAILED = "Validation failed for "

# Litestar's detail (with 400) for a multipart form of more parts than its
# ``multipart_form_part_limit`` (``limits.form_max_fields``).
MULTIPART_TOO_MANY_PARTS = "Request Entity Too Large"

# Titles of the statuses the platform answers with, worded as Python's HTTPStatus phrases so the
# English output is the standard one; any other status falls back to its (English) phrase.
STATUS_TITLES = {
    400: N_("Bad Request"),
    401: N_("Unauthorized"),
    403: N_("Forbidden"),
    404: N_("Not Found"),
    405: N_("Method Not Allowed"),
    409: N_("Conflict"),
    410: N_("Gone"),
    413: N_("Request Entity Too Large"),
    415: N_("Unsupported Media Type"),
    422: N_("Unprocessable Entity"),
    429: N_("Too Many Requests"),
    500: N_("Internal Server Error"),
    503: N_("Service Unavailable"),
}


def _http_phrase(status: int) -> str | None:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return None


def _status_title(status: int) -> str:
    """The (untranslated) title of a status; ``problem`` translates it."""
    return STATUS_TITLES.get(status) or _http_phrase(status) or N_("Error")


def _ensure_language(request: Request[Any, Any, Any]) -> None:
    """When no route matched, the request context never ran: take the visitor's language."""
    if "member" in request.scope.get("state", {}):
        return
    current_language.set(visitor_language(request, settings_of(request)))


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    DomainError: handle_domain_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
