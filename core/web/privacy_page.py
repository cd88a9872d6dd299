"""The privacy page: what the platform keeps about people, and for how long.

Every figure comes from the settings the pruner reads (``[retention]`` and ``[privacy]`` in
config.toml, ``core.maintenance``), so the page says what the server does
(tests/test_privacy_page.py changes the settings and reads the page again).
"""

from __future__ import annotations

import msgspec

from core.config import Settings
from core.i18n import N_, _
from core.web.deps import SettingsDep
from core.web.twins import twin

MY_DATA = "/account/data"

# Each retention figure: the [retention] setting and what it keeps, for people.
KEPT = (
    ("sign_in_tokens_days", N_("Sign-in links, once used or expired")),
    ("sign_in_failures_days", N_("Failed sign-in attempts and requests for a sign-in link")),
    ("ended_sessions_days", N_("Signed-in sessions, once they expired")),
    ("outbox_sent_days", N_("Notifications delivered (by email, webhook or on this site)")),
    ("outbox_failed_days", N_("Notifications that could not be delivered")),
    ("left_members_days", N_("The data of a member who left the cooperative, then anonymised")),
)


class Kept(msgspec.Struct):
    setting: str  # the [retention] setting in config.toml
    what: str
    days: int


class PrivacyStatement(msgspec.Struct, kw_only=True):
    kept: list[Kept]
    prune_every_hours: int
    erased_texts: str  # "keep" or "remove" ([privacy] erased_texts)
    erased_texts_note: str
    erasure_link_minutes: int
    download_url: str  # where a signed-in member downloads their data and asks for erasure
    contact_email: str


def statement(settings: Settings) -> PrivacyStatement:
    """The privacy statement from the settings, in the current language."""
    keep = settings.retention
    if settings.privacy.erased_texts == "remove":
        note = _(
            "Texts you wrote (proposals, comments, recommendations) have their wording "
            "replaced by a note that it was removed."
        )
    else:
        note = _(
            "Texts you wrote (proposals, comments, recommendations) stay, signed "
            "“erased member” instead of your name."
        )
    return PrivacyStatement(
        kept=[Kept(name, _(what), getattr(keep, name)) for name, what in KEPT],
        prune_every_hours=keep.prune_every_hours,
        erased_texts=settings.privacy.erased_texts,
        erased_texts_note=note,
        erasure_link_minutes=settings.privacy.erasure_link_minutes,
        download_url=MY_DATA,
        contact_email=settings.platform.contact_email,
    )


@twin(
    "/privacy",
    name="privacy",
    template="privacy.html",
    tags=["platform"],
    summary="What the platform keeps about people and for how long, from its settings",
    context=lambda request, found: {"privacy": found},
)
async def privacy(settings: SettingsDep) -> PrivacyStatement:
    return statement(settings)
