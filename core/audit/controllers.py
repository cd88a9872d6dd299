"""The operators' audit page and its JSON twin.

An operator reads the entries of the countries they operate and the platform-wide ones; a
board member reads every entry; other members are refused (403).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import FromQuery, QueryParameter
from litestar.response import Template

from core.audit import services as audit
from core.audit.services import AuditPage
from core.errors import InvalidInput
from core.members.controllers import require_member
from core.web.context import page

Req = Request[Any, Any, Any]
PageNumber = Annotated[int, QueryParameter(name="page", description="page, from 1")]


class AuditPages(Controller):
    include_in_schema = False

    @get("/operator/audit", name="operator_audit")
    async def show(
        self,
        request: Req,
        action: FromQuery[str] = "",
        actor: FromQuery[str] = "",
        page_number: PageNumber = 1,
    ) -> Template:
        member = require_member(request)
        audit.visible_countries(member)  # 403 before anything else
        try:
            result = await audit.list_entries(member, page=page_number, action=action, actor=actor)
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
                "filters": {"action": action, "actor": actor},
                "actions": audit.ACTIONS,
                "roles": audit.ROLES,
            },
            status_code=400 if error else 200,
        )


class AuditAPI(Controller):
    path = "/api"
    tags = ["audit"]

    @get(
        "/audit",
        summary="The audit log, newest first (operators: their countries and platform-wide; "
        "board: all)",
    )
    async def list(
        self,
        request: Req,
        action: FromQuery[str] = "",
        actor: FromQuery[str] = "",
        page_number: PageNumber = 1,
    ) -> AuditPage:
        return await audit.list_entries(
            require_member(request), page=page_number, action=action, actor=actor
        )
