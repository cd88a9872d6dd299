"""One exception hierarchy for domain rules (its mapping to HTTP is ``core/web/errors.py``).

Services raise ``DomainError`` subclasses with a message meant for the user. JSON routes
(``/api/...``) answer with a problem-details body (RFC 9457); pages answer with the error page,
or re-show their form with the message when the controller catches the error itself.

A message is translated when it is raised (the request's language is known then); titles are
class attributes marked with ``N_`` and translated when the response is built.
"""

from __future__ import annotations

from typing import Any

from core.i18n import N_


class DomainError(Exception):
    status_code = 400
    title = N_("Bad request")

    def __init__(self, message: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []


class InvalidInput(DomainError):
    status_code = 400
    title = N_("Invalid input")


class NotSignedIn(DomainError):
    status_code = 401
    title = N_("Sign-in required")


class Forbidden(DomainError):
    status_code = 403
    title = N_("Forbidden")


class NotFound(DomainError):
    status_code = 404
    title = N_("Not found")


class Conflict(DomainError):
    status_code = 409
    title = N_("Conflict")


class Gone(DomainError):
    status_code = 410
    title = N_("Gone")


class TooManyAttempts(DomainError):
    status_code = 429
    title = N_("Too many attempts")
