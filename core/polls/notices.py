"""The polls' notices: a vote opens, closes within 24 hours (to those who have not voted), and
its results are published.

``core.defaults.notices`` registers ``NOTICES`` with the notification catalog.
"""

from __future__ import annotations

from typing import Any

from core import formats
from core.events import PollClosing, PollOpened, ResultsPublished, event_type
from core.i18n import N_, _
from core.members.notices import shareholders
from core.notifications.catalog import Kind, Rendered
from core.polls.tables import Participation


async def _shareholders(event: Any) -> list[int]:
    return await shareholders(event.country)


async def _shareholders_who_have_not_voted(event: PollClosing) -> list[int]:
    voted = {
        r["member"]
        for r in await Participation.select(Participation.member).where(
            Participation.poll == event.poll_id
        )
    }
    return [m for m in await shareholders(event.country) if m not in voted]


def _opened(e: PollOpened) -> Rendered:
    return Rendered(
        _("The vote on the themes of %(edition)s is open") % {"edition": e.edition},
        _("The general meeting's vote on the themes of %(edition)s is open until %(closes)s.")
        % {"edition": e.edition, "closes": formats.moment(e.closes_at, e.country)},
        f"/polls/{e.poll_id}",
    )


def _closing(e: PollClosing) -> Rendered:
    return Rendered(
        _("The vote on the themes of %(edition)s closes within 24 hours") % {"edition": e.edition},
        _("You have not voted yet. The vote on the themes of %(edition)s closes at %(closes)s.")
        % {"edition": e.edition, "closes": formats.moment(e.closes_at, e.country)},
        f"/polls/{e.poll_id}",
    )


def _published(e: ResultsPublished) -> Rendered:
    return Rendered(
        _("The results of the vote on the themes of %(edition)s are published")
        % {"edition": e.edition},
        _(
            "The result and every ballot of the vote on the themes of %(edition)s are "
            "published; anyone can recount them."
        )
        % {"edition": e.edition},
        f"/polls/{e.poll_id}/results",
    )


def _poll_key(e: Any) -> str:
    return f"{event_type(e)}:{e.poll_id}"


NOTICES: tuple[Kind, ...] = (
    Kind(PollOpened, N_("A vote opens"), False, _shareholders, _opened, _poll_key),
    Kind(
        PollClosing,
        N_("A vote closes within 24 hours and I have not voted"),
        True,
        _shareholders_who_have_not_voted,
        _closing,
        _poll_key,
        private_recipients=True,
    ),
    Kind(
        ResultsPublished,
        N_("Results are published"),
        False,
        _shareholders,
        _published,
        _poll_key,
    ),
)
