from __future__ import annotations

import logging

from core import hookimpl
from core.events import Event

log = logging.getLogger("sip.events")


@hookimpl(trylast=True)
def on_event(event: Event) -> None:
    """Every event leaves a line in the server log (never a ballot's content)."""
    log.info("event %s in %s", type(event).__name__, event.country)
