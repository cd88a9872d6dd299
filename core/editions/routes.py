"""Routes of the editions domain, pages and their JSON twins: editions and their calendar.

``create_app`` registers ``router``; Litestar copies a router when it registers it, so one
module-level instance serves every application built in the process.
"""

from __future__ import annotations

from litestar import Router

from core.editions.controllers import EditionPages, EditionsAPI, edition_list, edition_show

router = Router(
    path="/",
    route_handlers=[
        EditionPages,
        EditionsAPI,
        *edition_list.handlers,
        *edition_show.handlers,
    ],
)
