"""Routes of the notifications domain, pages and their JSON twins:
notifications, preferences and the outbox.

``create_app`` registers ``router``; Litestar copies a router when it registers it, so one
module-level instance serves every application built in the process.
"""

from __future__ import annotations

from litestar import Router

from core.notifications.controllers import (
    NotificationPages,
    NotificationsAPI,
    notification_list,
    notification_preferences,
)

router = Router(
    path="/",
    route_handlers=[
        NotificationPages,
        NotificationsAPI,
        *notification_list.handlers,
        *notification_preferences.handlers,
    ],
)
