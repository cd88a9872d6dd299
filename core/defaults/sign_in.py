"""The core's last resort for sign-in links, when no plugin of the member's country (a mail
channel such as ``notify_email``) takes them.

A link is a password for 30 minutes: the server log gets it only in demo mode (``sip serve
--demo``) or in local development (``base_url`` on 127.0.0.1, localhost or ::1, where the link
works on the server's own machine only). Anywhere else the log says that no mail channel is
enabled, without the link or the address, and the member gets nothing; the visitor's answer
was given before, and stays the same neutral one.
"""

from __future__ import annotations

import logging
from typing import Any

from core import hookimpl
from core.config import Settings

log = logging.getLogger("sip.sign_in")


@hookimpl(trylast=True)
def deliver_sign_in_link(member: Any, url: str, expires_minutes: int, settings: Settings) -> bool:
    """The link goes to the server log in demo mode and local development, nowhere otherwise."""
    if settings.demo or settings.local_development:
        log.warning(
            "sign-in link for %s (valid %d minutes, single use): %s",
            member.email,
            expires_minutes,
            url,
        )
        return True
    log.warning(
        "no mail channel is enabled in %s: a sign-in link for member %s could not be sent "
        "(enable notify_email for the country; links go to this log only in demo mode or local "
        "development)",
        member.country,
        member.id,
    )
    return False
