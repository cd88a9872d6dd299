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
from litestar import Controller, Request, get, post
from litestar.params import FromQuery, JSONBody, QueryParameter
from litestar.response import Template

from core.audit import services as audit
from core.audit.services import AuditPage
from core.errors import InvalidInput
from core.members.model import CurrentMember
from core.web.context import page
from core.web.deps import MemberDep
from core.web.guards import signed_in

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


async def audit_page(request: Req, member: CurrentMember, search: AuditSearch) -> Template:
    audit.visible_countries(member)  # 403 before anything else
    try:
        result = await audit.list_entries(
            member, page=search.page, action=search.action, actor=search.actor
        )
        error = None
    except InvalidInput as exc:
        result = AuditPage([], 1, audit.PER_PAGE, 0, action="", actor="")
        error = exc.message
    pages = max(1, -(-result.total // result.per_page))
    return page(
        request,
        "audit.html",
        {
            "result": result,
            "pages": pages,
            "error": error,
            "filters": {"action": search.action, "actor": search.actor},
            "actions": audit.ACTIONS,
            "roles": audit.ROLES,
        },
        status_code=400 if error else 200,
    )


class AuditPages(Controller):
    include_in_schema = False

    @get("/operator/audit", name="operator_audit", guards=[signed_in])
    async def show(
        self,
        request: Req,
        member: MemberDep,
        action: FromQuery[str] = "",
        page_number: PageNumber = 1,
    ) -> Template:
        return await audit_page(request, member, AuditSearch(action=action, page=page_number))

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

    @get(
        "/audit",
        summary="The audit log, newest first (operators: their countries and platform-wide; "
        "board: all)",
        guards=[signed_in],
    )
    async def list(
        self, member: MemberDep, action: FromQuery[str] = "", page_number: PageNumber = 1
    ) -> AuditPage:
        return await audit.list_entries(member, page=page_number, action=action)

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
