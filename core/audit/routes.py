"""Routes of the audit domain, pages and their JSON twins: the audit log.

``create_app`` registers ``router``; Litestar copies a router when it registers it, so one
module-level instance serves every application built in the process.
"""

from __future__ import annotations

from litestar import Router

from core.audit.controllers import AuditAPI, AuditPages, audit_log

router = Router(
    path="/",
    route_handlers=[
        AuditAPI,
        AuditPages,
        *audit_log.handlers,
    ],
)
