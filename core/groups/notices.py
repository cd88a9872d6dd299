"""The working groups' notices: a place confirmed or opened up from the waiting list, the
meetings scheduled, and the reminder of an info session.

``core.defaults.notices`` registers ``NOTICES`` with the notification catalog.
"""

from __future__ import annotations

from typing import Any

from core import formats
from core.events import (
    InfoSessionReminder,
    MeetingsScheduled,
    PromotedFromWaitingList,
    RegistrationConfirmed,
    event_type,
)
from core.groups.audience import group_audience
from core.i18n import N_, _
from core.members.notices import the_member
from core.notifications.catalog import Kind, Rendered


async def _group_people(event: MeetingsScheduled) -> list[int]:
    return await group_audience(event.group_id)


def _registration_confirmed(e: RegistrationConfirmed) -> Rendered:
    return Rendered(
        _("You have a place in the working group “%(title)s”") % {"title": e.title},
        _(
            "Your registration for the working group “%(title)s” (%(locality)s) of the "
            "%(edition)s edition is confirmed. You committed to the whole cycle: about five "
            "meetings of three hours between November and April. Your facilitator will ask "
            "when you are available."
        )
        % {"title": e.title, "locality": _(e.locality), "edition": e.edition},
        f"/groups/{e.group_id}",
    )


def _promoted(e: PromotedFromWaitingList) -> Rendered:
    return Rendered(
        _("A place opened up for you in “%(title)s”") % {"title": e.title},
        _(
            "A participant withdrew from the working group “%(title)s” (%(locality)s) of the "
            "%(edition)s edition, and you were first on its waiting list: the place is yours. "
            "If you can no longer take part, withdraw so that the next member gets it."
        )
        % {"title": e.title, "locality": _(e.locality), "edition": e.edition},
        f"/groups/{e.group_id}",
    )


def _meetings_scheduled(e: MeetingsScheduled) -> Rendered:
    return Rendered(
        _("The meetings of “%(title)s” are scheduled") % {"title": e.title},
        _(
            "The working group “%(title)s” (%(locality)s) meets %(count)d times, from "
            "%(first)s to %(last)s. The meetings are in your calendar on the platform and in "
            "your calendar feed."
        )
        % {
            "title": e.title,
            "locality": _(e.locality),
            "count": e.meetings,
            "first": formats.moment(e.first_at, e.country),
            "last": formats.moment(e.last_at, e.country),
        },
        f"/groups/{e.group_id}",
    )


def _info_session_reminder(e: InfoSessionReminder) -> Rendered:
    starts = formats.moment(e.starts_at, e.country)
    return Rendered(
        _("Reminder: the info session “%(title)s” starts on %(starts)s")
        % {"title": e.title, "starts": starts},
        _(
            "You registered for the info session “%(title)s” of the %(edition)s edition. "
            "It starts on %(starts)s; the page of the session has the link or the address."
        )
        % {"title": e.title, "edition": e.edition, "starts": starts},
        f"/info-sessions/{e.info_session_id}",
    )


def _registration_key(e: Any) -> str:
    return f"{event_type(e)}:{e.registration_id}"


def _group_key(e: Any) -> str:
    return f"{event_type(e)}:{e.group_id}"


NOTICES: tuple[Kind, ...] = (
    Kind(
        RegistrationConfirmed,
        N_("My place in a working group is confirmed"),
        True,
        the_member,
        _registration_confirmed,
        _registration_key,
    ),
    Kind(
        PromotedFromWaitingList,
        N_("A place opens up for me in a working group"),
        True,
        the_member,
        _promoted,
        _registration_key,
    ),
    Kind(
        MeetingsScheduled,
        N_("The meetings of my working group are scheduled"),
        True,
        _group_people,
        _meetings_scheduled,
        _group_key,
    ),
    Kind(
        InfoSessionReminder,
        N_("An info session I registered for starts within 24 hours"),
        True,
        the_member,
        _info_session_reminder,
        _registration_key,
    ),
)
