"""Routes of the themes domain, pages and their JSON twins:
an edition's themes, proposals, supports and moderation.

``create_app`` registers ``router``; Litestar copies a router when it registers it, so one
module-level instance serves every application built in the process.
"""

from __future__ import annotations

from litestar import Router

from core.themes.controllers import (
    ThemePages,
    ThemesAPI,
    moderation,
    my_proposals,
    theme_list,
    theme_show,
)

router = Router(
    path="/",
    route_handlers=[
        ThemePages,
        ThemesAPI,
        *moderation.handlers,
        *theme_list.handlers,
        *theme_show.handlers,
        *my_proposals.handlers,
    ],
)
