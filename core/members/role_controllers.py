"""The roles page (``/operator/roles``) and its JSON twin (``/api/roles``): the board gives
and takes the board and operator roles, operators the teller and facilitator roles of their
own countries' members (``core.members.roles``)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, post
from litestar.params import JSONBody, URLEncodedBody
from litestar.response import Template

from core.errors import DomainError
from core.i18n import _
from core.members import roles
from core.members.model import CurrentMember
from core.members.roles import ROLE_LABELS, RoleChange, RolesOverview
from core.members.services import load_member
from core.web.context import page
from core.web.deps import MemberDep, SettingsDep
from core.web.guards import signed_in
from core.web.twins import twin

Req = Request[Any, Any, Any]
TEMPLATE = "roles.html"


class RoleForm(msgspec.Struct):
    """The page's grant and revoke forms: the member by email address or member number."""

    member: str = ""
    role: str = ""
    country: str = ""


class RoleChangeIn(msgspec.Struct):
    """A role to give or take: ``member`` is an email address or a member number; ``country``
    is needed for the operator and teller roles only."""

    member: str
    role: str
    country: str = ""


def member_label(change: RoleChange) -> str:
    return f"{change.name} ({change.member_number})"


def granted_notice(change: RoleChange) -> str:
    values = {"member": member_label(change), "role": roles.role_label(change.role, change.country)}
    if change.changed:
        return _("%(member)s now holds the role %(role)s.") % values
    return _("%(member)s already holds the role %(role)s.") % values


def revoked_notice(change: RoleChange) -> str:
    values = {"member": member_label(change), "role": roles.role_label(change.role, change.country)}
    if change.changed:
        return _("%(member)s no longer holds the role %(role)s.") % values
    return _("%(member)s did not hold the role %(role)s.") % values


def roles_context(request: Req, data: RolesOverview | None) -> dict[str, Any]:
    return {"data": data, "labels": ROLE_LABELS, "form": RoleForm()}


@twin(
    "/operator/roles",
    api_path="/api/roles",
    name="operator_roles",
    template=TEMPLATE,
    tags=["members"],
    summary="The roles the viewer manages, per country, and those they may give "
    "(board: board and operators; operators: their countries' tellers and facilitators)",
    context=roles_context,
    guards=[signed_in],
)
async def role_list(member: MemberDep, settings: SettingsDep) -> RolesOverview:
    return await roles.overview(member, settings)


async def shown_after(
    request: Req,
    viewer: CurrentMember,
    settings: SettingsDep,
    *,
    notice: str = "",
    error: DomainError | None = None,
    form: RoleForm | None = None,
    action: str = "",
) -> Template:
    """The page again after a form: with the change's notice, or with the refusal (its status
    code) and the grant form as it was filled in."""
    if error is None:
        # The viewer may have changed their own roles: the page (and menu) shows what they are now.
        viewer = await load_member(viewer.id) or viewer
        request.state.member = viewer
    data = None
    if viewer.is_board or viewer.is_operator():
        data = await roles.overview(viewer, settings)
    context = {**roles_context(request, data), "notice": notice}
    if error is not None:
        context.update(error=error.message, error_in=action)
        if action == "grant" and form is not None:
            context["form"] = form
    return page(request, TEMPLATE, context, status_code=error.status_code if error else 200)


class RolePages(Controller):
    include_in_schema = False

    @post("/operator/roles/grant", name="operator_roles_grant", guards=[signed_in])
    async def grant(
        self, request: Req, member: MemberDep, settings: SettingsDep, data: URLEncodedBody[RoleForm]
    ) -> Template:
        roles.require_role_manager(member)
        try:
            change = await roles.grant(member, data.member, data.role, data.country)
        except DomainError as exc:
            return await shown_after(
                request, member, settings, error=exc, form=data, action="grant"
            )
        return await shown_after(request, member, settings, notice=granted_notice(change))

    @post("/operator/roles/revoke", name="operator_roles_revoke", guards=[signed_in])
    async def revoke(
        self, request: Req, member: MemberDep, settings: SettingsDep, data: URLEncodedBody[RoleForm]
    ) -> Template:
        roles.require_role_manager(member)
        try:
            change = await roles.revoke(member, data.member, data.role, data.country)
        except DomainError as exc:
            return await shown_after(request, member, settings, error=exc, action="revoke")
        return await shown_after(request, member, settings, notice=revoked_notice(change))


class RolesAPI(Controller):
    path = "/api/roles"
    tags = ["members"]

    @post(
        "/",
        status_code=200,
        summary="Give a member a role",
        description="The board gives the board role and the operator role of any country; an "
        "operator gives the teller role of their countries and the facilitator role, to their "
        "countries' members only. `changed` is false when the member held the role already. "
        "A member who left the cooperative is refused (409).",
        guards=[signed_in],
    )
    async def grant(self, member: MemberDep, data: JSONBody[RoleChangeIn]) -> RoleChange:
        return await roles.grant(member, data.member, data.role, data.country)

    @post(
        "/revoke",
        status_code=200,
        summary="Take a role away from a member",
        description="Who may take a role away is who may give it. The last board member and "
        "the last operator of a country keep their role (409, nothing changed). `changed` is "
        "false when the member did not hold the role.",
        guards=[signed_in],
    )
    async def revoke(self, member: MemberDep, data: JSONBody[RoleChangeIn]) -> RoleChange:
        return await roles.revoke(member, data.member, data.role, data.country)
