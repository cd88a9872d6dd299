"""Routes of the members domain, pages and their JSON twins:
the account pages and the member import.

``create_app`` registers ``router``; Litestar copies a router when it registers it, so one
module-level instance serves every application built in the process.
"""

from __future__ import annotations

from litestar import Router

from core.members.controllers import AccountPages, MembersAPI, account

router = Router(
    path="/",
    route_handlers=[
        AccountPages,
        MembersAPI,
        *account.handlers,
    ],
)
