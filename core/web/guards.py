"""Who may call a route, declared on the route: ``@get(..., guards=[signed_in])``.

A guard runs before the handler (and before its parameters and body are read) and refuses with
the platform's own errors, so a refusal looks the same as before guards existed: a page shows
the error page (the sign-in page for 401), the API a problem body. The messages are the ones
``require_member`` and ``require_operator`` give.

Guards only say who may come in; a rule about one object (the author of a draft, an operator of
the theme's country) stays in the service, which knows the object.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from core.config import COUNTRIES
from core.errors import Forbidden, InvalidInput, NotSignedIn
from core.i18n import _
from core.members.model import CurrentMember

Connection = ASGIConnection[Any, Any, Any, Any]
Guard = Callable[[Connection, BaseRouteHandler], None]


def signed_in_member(connection: Connection) -> CurrentMember:
    """The signed-in member (put there by ``RequestContextMiddleware``), else 401."""
    member = connection.scope.get("state", {}).get("member")
    if member is None:
        raise NotSignedIn(_("Sign in to see this page."))
    return member


def signed_in(connection: Connection, _handler: BaseRouteHandler) -> None:
    """Any signed-in member."""
    signed_in_member(connection)


def operator(connection: Connection, _handler: BaseRouteHandler) -> None:
    """An operator of the cooperative life team, of any country."""
    if not signed_in_member(connection).is_operator():
        raise Forbidden(_("Only operators of the cooperative life team can do this."))


def operator_of_path_country(connection: Connection, _handler: BaseRouteHandler) -> None:
    """An operator of the country the path names (``{country:str}``): an unknown country is
    bad input (400), another country's operator is refused (403)."""
    member = signed_in_member(connection)
    country = connection.path_params["country"]
    if country not in COUNTRIES:
        raise InvalidInput(_("Unknown country %(code)s.") % {"code": country})
    if not member.is_operator(country):
        raise Forbidden(_("Only operators of %(countries)s can do this.") % {"countries": country})


def board(connection: Connection, _handler: BaseRouteHandler) -> None:
    """A member of the board."""
    if not signed_in_member(connection).is_board:
        raise Forbidden(_("Only board members record the board's decisions."))


def board_or_operator(refusal: str) -> Guard:
    """A board member or an operator of any country; others get ``refusal`` (a message marked
    with ``N_``, translated when it is raised)."""

    def guard(connection: Connection, _handler: BaseRouteHandler) -> None:
        member = signed_in_member(connection)
        if not (member.is_board or member.is_operator()):
            raise Forbidden(_(refusal))

    guard.__doc__ = f"A board member or an operator ({refusal})"
    return guard
