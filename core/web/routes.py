"""The platform's own routes: home and language pages, health, the plugin pages, the static
files; each with its JSON twin.

``create_app`` registers ``router``; Litestar copies a router when it registers it, so one
module-level instance serves every application built in the process.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Response, Router, get
from litestar.static_files import create_static_files_router

from core.web.pages import PlatformAPI, PlatformPages, healthz, home
from core.web.plugin_pages import PluginSwitchAPI, PluginSwitchPages, plugin_list
from core.web.privacy_page import privacy
from core.web.statement import accessibility

STATIC_DIR = Path(__file__).parent.parent / "static"
FAVICON = (STATIC_DIR / "favicon.svg").read_bytes()


@get("/favicon.ico", include_in_schema=False, sync_to_thread=False)
def favicon() -> Response[bytes]:
    """Browsers ask for /favicon.ico whatever the page says: the platform's icon (SVG)."""
    return Response(
        FAVICON, media_type="image/svg+xml", headers={"cache-control": "public, max-age=86400"}
    )


router = Router(
    path="/",
    route_handlers=[
        PlatformPages,
        PlatformAPI,
        *home.handlers,
        *plugin_list.handlers,
        PluginSwitchPages,
        PluginSwitchAPI,
        *accessibility.handlers,
        *privacy.handlers,
        healthz,
        favicon,
        create_static_files_router(path="/static", directories=[STATIC_DIR]),
    ],
)
