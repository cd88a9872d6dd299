"""Routes of the members domain, pages and their JSON twins:
the account pages and the member import.

``create_app`` registers ``router``; Litestar copies a router when it registers it, so one
module-level instance serves every application built in the process.
"""

from __future__ import annotations

from litestar import Router

from core.members.controllers import AccountPages, MembersAPI, account, import_preview
from core.members.privacy_controllers import (
    PrivacyAPI,
    PrivacyPages,
    erasure_link,
    erasure_scope,
    my_data,
)
from core.members.role_controllers import RolePages, RolesAPI, role_list

router = Router(
    path="/",
    route_handlers=[
        AccountPages,
        MembersAPI,
        *account.handlers,
        *import_preview.handlers,
        RolePages,
        RolesAPI,
        *role_list.handlers,
        PrivacyPages,
        PrivacyAPI,
        *my_data.handlers,
        *erasure_link.handlers,
        *erasure_scope.handlers,
    ],
)
