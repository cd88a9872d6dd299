"""The core's notices: each domain's notification kinds (``core/<domain>/notices.py``),
registered with the notification catalog when the plugin manager loads the core's defaults.

Every process that notifies builds a plugin registry (``core.plugins.build_registry``): the
web application, the CLI, the relay and the tests. So the kinds are registered before any
event is written, delivered or shown, and the catalog itself imports no domain. The order is
the order of the preferences form. Registering again (a second registry) changes nothing.
"""

from __future__ import annotations

from core.groups import notices as groups
from core.members import notices as members
from core.notifications.catalog import register
from core.polls import notices as polls
from core.recommendations import notices as recommendations
from core.themes import notices as themes

DOMAIN_NOTICES = (themes, polls, groups, recommendations, members)

for _domain in DOMAIN_NOTICES:
    register(*_domain.NOTICES)
