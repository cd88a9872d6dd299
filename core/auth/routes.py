"""Routes of the auth domain, pages and their JSON twins: sign-in and sign-out.

``create_app`` registers ``router``; Litestar copies a router when it registers it, so one
module-level instance serves every application built in the process.
"""

from __future__ import annotations

from litestar import Router

from core.auth.controllers import SignInAPI, SignInPages

router = Router(
    path="/",
    route_handlers=[
        SignInAPI,
        SignInPages,
    ],
)
