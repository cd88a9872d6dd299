"""The members' notice (the account's email address changed) and the audiences other domains'
notices are sent to: the member an event is about, a country's operators and shareholders.

``core.defaults.notices`` registers ``NOTICES`` with the notification catalog.
"""

from __future__ import annotations

from typing import Any

from core.events import EmailChanged, event_type
from core.i18n import N_, _
from core.members.tables import ROLE_OPERATOR, Member, MemberRole
from core.notifications.catalog import Kind, Rendered

# -- audiences -------------------------------------------------------------------------------


async def the_member(event: Any) -> list[int]:
    """The member the event is about (``event.member_id``)."""
    return [event.member_id]


async def operators(country: str) -> list[int]:
    """The operators of a country."""
    rows = await MemberRole.select(MemberRole.member).where(
        (MemberRole.role == ROLE_OPERATOR) & (MemberRole.country == country)
    )
    return [r["member"] for r in rows]


async def shareholders(country: str) -> list[int]:
    """The shareholders of a country."""
    rows = await Member.select(Member.id).where(
        (Member.country == country) & (Member.shareholder == True)  # noqa: E712
    )
    return [r["id"] for r in rows]


# -- the email address changed ---------------------------------------------------------------


def _email_changed(e: EmailChanged) -> Rendered:
    """Sent to the address the change replaced (``plugins.notify_email``): if someone else
    changed it to sign in as the member, the old address is the one the member still reads."""
    return Rendered(
        _("The email address of your account was changed"),
        _(
            "An import of the member register replaced the email address of your account, "
            "%(old)s, with another one. Sign-in links now go to the new address, and every "
            "session signed in to your account has ended. If you did not ask for this change, "
            "tell the board of the cooperative at once."
        )
        % {"old": e.old_email},
        "/account",
    )


def _email_changed_key(e: EmailChanged) -> str:
    return f"{event_type(e)}:{e.member_id}:{e.change}"


NOTICES: tuple[Kind, ...] = (
    Kind(
        EmailChanged,
        N_("The email address of my account is changed"),
        True,
        the_member,
        _email_changed,
        _email_changed_key,
        mandatory=True,
    ),
)
