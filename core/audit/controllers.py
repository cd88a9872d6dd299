"""The operators' audit page and its JSON twin.

An operator reads the entries of the countries they operate and the platform-wide ones; a
board member reads every entry; other members are refused (403).

The actor filter names a member, so it travels in a POST body (the page's search form, and
``POST /api/audit/search``), never in an address that server logs and browser history keep;
the action filter and the page number stay in the query string of ``GET``.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, post
from litestar.params import FromQuery, JSONBody, QueryParameter
from litestar.response import Template

from core.audit import services as audit
from core.audit.services import AuditPage
from core.errors import DomainError, InvalidInput
from core.members.model import CurrentMember
from core.web.context import page
from core.web.deps import MemberDep
from core.web.guards import signed_in
from core.web.twins import twin

Req = Request[Any, Any, Any]
PageNumber = Annotated[int, QueryParameter(name="page", description="page, from 1")]


class AuditSearch(msgspec.Struct, forbid_unknown_fields=True):
    """A search of the audit log: an action (or a family such as ``poll``), an actor (a name,
    a member number, a member id, ``cli``, ``clock`` or ``visitor``) and the page, from 1."""

    action: str = ""
    actor: str = ""
    page: int = 1


def _page_number(value: str) -> int:
    """A page number from a form; 0 (which the search refuses with its message) when it is
    not a whole number."""
    value = value.strip() or "1"
    return int(value) if value.isdigit() and len(value) <= 9 else 0


def audit_shown(
    search: AuditSearch, result: AuditPage | None = None, error: str | None = None
) -> dict[str, Any]:
    """What the audit page shows: the entries found (none after a refusal), pages, filters."""
    if result is None:
        result = AuditPage([], 1, audit.PER_PAGE, 0, action="", actor="")
    return {
        "result": result,
        "pages": max(1, -(-result.total // result.per_page)),
        "error": error,
        "filters": {"action": search.action, "actor": search.actor},
        "actions": audit.ACTIONS,
        "roles": audit.ROLES,
    }


async def audit_page(request: Req, member: CurrentMember, search: AuditSearch) -> Template:
    audit.visible_countries(member)  # 403 before anything else
    try:
        result = await audit.list_entries(
            member, page=search.page, action=search.action, actor=search.actor
        )
    except InvalidInput as exc:
        return page(request, "audit.html", audit_shown(search, error=exc.message), status_code=400)
    return page(request, "audit.html", audit_shown(search, result))


def audit_log_refused(request: Req, exc: DomainError, arguments: dict[str, Any]) -> Any:
    """A bad action or page: the page again with the message (403s stay refusals)."""
    if not isinstance(exc, InvalidInput):
        raise exc
    search = AuditSearch(action=arguments["action"], page=arguments["page_number"])
    return audit_shown(search, error=exc.message)


@twin(
    "/operator/audit",
    api_path="/api/audit",
    name="operator_audit",
    template="audit.html",
    tags=["audit"],
    summary="The audit log, newest first (operators: their countries and platform-wide; "
    "board: all)",
    context=lambda request, found, arguments: audit_shown(
        AuditSearch(action=arguments["action"], page=arguments["page_number"]), found
    ),
    refusal=audit_log_refused,
    guards=[signed_in],
)
async def audit_log(
    member: MemberDep, action: FromQuery[str] = "", page_number: PageNumber = 1
) -> AuditPage:
    return await audit.list_entries(member, page=page_number, action=action)


class AuditPages(Controller):
    include_in_schema = False

    @post("/operator/audit", name="operator_audit_search", status_code=200, guards=[signed_in])
    async def search(self, request: Req, member: MemberDep) -> Template:
        form = await request.form()
        search = AuditSearch(
            action=str(form.get("action", "")),
            actor=str(form.get("actor", "")),
            page=_page_number(str(form.get("page", "1"))),
        )
        return await audit_page(request, member, search)


class AuditAPI(Controller):
    path = "/api"
    tags = ["audit"]

    @post(
        "/audit/search",
        status_code=200,
        summary="The audit log filtered by actor (and action), newest first; the actor travels "
        "in the body, not the address",
        guards=[signed_in],
    )
    async def search(self, member: MemberDep, data: JSONBody[AuditSearch]) -> AuditPage:
        return await audit.list_entries(
            member, page=data.page, action=data.action, actor=data.actor
        )
