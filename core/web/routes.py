"""The platform's own routes: home and language pages, health, the plugin pages, the static
files; each with its JSON twin.

``create_app`` registers ``router``; Litestar copies a router when it registers it, so one
module-level instance serves every application built in the process.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Router
from litestar.static_files import create_static_files_router

from core.web.pages import PlatformAPI, PlatformPages, healthz, home
from core.web.plugin_pages import plugin_list

STATIC_DIR = Path(__file__).parent.parent / "static"

router = Router(
    path="/",
    route_handlers=[
        PlatformPages,
        PlatformAPI,
        *home.handlers,
        *plugin_list.handlers,
        healthz,
        create_static_files_router(path="/static", directories=[STATIC_DIR]),
    ],
)
