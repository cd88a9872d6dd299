"""Routes of the groups domain, pages and their JSON twins: working groups and info sessions.

``create_app`` registers ``router``; Litestar copies a router when it registers it, so one
module-level instance serves every application built in the process.
"""

from __future__ import annotations

from litestar import Router

from core.groups.controllers import (
    GroupPages,
    GroupsAPI,
    InfoSessionPages,
    InfoSessionsAPI,
    group_list,
    group_show,
    info_session_list,
    info_session_show,
    my_group_list,
)

router = Router(
    path="/",
    route_handlers=[
        GroupPages,
        GroupsAPI,
        InfoSessionPages,
        InfoSessionsAPI,
        *group_list.handlers,
        *group_show.handlers,
        *my_group_list.handlers,
        *info_session_list.handlers,
        *info_session_show.handlers,
    ],
)
