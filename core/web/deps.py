"""What handlers receive by dependency injection, registered app-wide by ``create_app``.

A handler names the parameter and gets the value: ``member: MemberDep`` (the signed-in member;
declare ``guards=[signed_in]`` on the route, else a visitor gets 401 here), ``viewer: ViewerDep``
(the signed-in member or ``None``, for pages anyone may read), ``rules: RulesDep`` (the country
rules, ``core.rules``) and ``settings: SettingsDep``.

The annotations skip Litestar's validation of the values: they are the platform's own objects,
not input (and msgspec cannot convert a ``Rules``).
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.di import Provide
from litestar.exceptions import InternalServerException, ValidationException
from litestar.params import SkipValidation

from core.config import Settings
from core.members.model import CurrentMember
from core.rules import Rules
from core.web.context import member_of, settings_of
from core.web.errors import handle_http_exception
from core.web.guards import signed_in_member

Req = Request[Any, Any, Any]

MemberDep = SkipValidation[CurrentMember]
ViewerDep = SkipValidation[CurrentMember | None]
RulesDep = SkipValidation[Rules]
SettingsDep = SkipValidation[Settings]


# The providers form one chain, settings → rules → member (or viewer): Litestar resolves the
# dependencies of one level together in an anyio task group, two tasks a request, which cost
# a vote 0.2 ms of CPU (bench/votes.py); one after the other they cost next to nothing.


def provide_member(request: Req, rules: RulesDep) -> CurrentMember:
    return signed_in_member(request)


def provide_viewer(request: Req, rules: RulesDep) -> CurrentMember | None:
    return member_of(request)


def rules_of(request: Req) -> Rules:
    """The running platform's rules (for code that is not a handler, or not converted yet)."""
    return Rules(registry=request.app.state.registry, settings=settings_of(request))


def provide_rules(request: Req, settings: SettingsDep) -> Rules:
    return Rules(registry=request.app.state.registry, settings=settings)


def provide_settings(request: Req) -> Settings:
    return settings_of(request)


DEPENDENCIES = {
    "member": Provide(provide_member, sync_to_thread=False),
    "viewer": Provide(provide_viewer, sync_to_thread=False),
    "rules": Provide(provide_rules, sync_to_thread=False),
    "settings": Provide(provide_settings, sync_to_thread=False),
}

# Litestar tells a client's error from a server's by the name of the failing value: a body
# field named like a dependency (``{"member": true}`` on the AGM room's API) fails as if the
# dependency had, a 500. Such an error comes from the body (``$.data...``): a 400 again,
# worded as Litestar words any body error.
_BODY_ERROR = re.compile(r"^(?P<message>.*?)(?: - at `\$\.data\.(?P<key>[^`]+)`)$", re.S)


def body_error_named_like_a_dependency(request: Req, exc: InternalServerException) -> Response[Any]:
    cause = exc.__cause__
    found = _BODY_ERROR.match(str(cause)) if isinstance(cause, msgspec.ValidationError) else None
    if found is not None:
        exc = ValidationException(
            detail=f"Validation failed for {request.method} {request.url.path}"
            + (f"?{request.url.query}" if request.url.query else ""),
            extra=[{"message": found["message"], "key": found["key"], "source": "body"}],
        )
    return handle_http_exception(request, exc)
