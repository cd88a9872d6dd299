"""The events that notify: who receives each, what it says, and where it links to.

Texts are written with ``_()`` and rendered in the reader's language (``in_language``), so a
member reads an email in the language of their account and the in-app centre follows the
language they browse in.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Union

import msgspec
from babel.dates import format_datetime

from core import i18n
from core.config import zone_of
from core.events import (
    DecisionRecorded,
    EmailChanged,
    Event,
    InfoSessionReminder,
    MeetingsScheduled,
    PollClosing,
    PollOpened,
    ProjectCreated,
    PromotedFromWaitingList,
    RecommendationSubmitted,
    RegistrationConfirmed,
    ResultsPublished,
    ThemeAccepted,
    ThemeMerged,
    ThemeRejected,
    ThresholdReached,
    event_type,
)
from core.groups.audience import group_audience
from core.i18n import N_, _
from core.members.tables import ROLE_OPERATOR, Member, MemberRole
from core.recommendations.outcomes import outcome_label


@contextlib.contextmanager
def in_language(language: str) -> Iterator[None]:
    """Translate with ``_()`` in ``language`` inside the block (a member's, not the request's)."""
    token = i18n.current_language.set(language)
    try:
        yield
    finally:
        i18n.current_language.reset(token)


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    path: str  # a path on the platform, e.g. /themes/12


@dataclass(frozen=True)
class Kind:
    """One event type that notifies."""

    event: type[Event]
    label: str  # N_(), shown on the preferences form
    # Concerns the member directly (their proposal, their missing vote): email is on by default.
    direct: bool
    recipients: Callable[[Any], Awaitable[list[int]]]
    render: Callable[[Any], Rendered]
    key: Callable[[Any], str]
    # Who receives it tells something private (the closing reminder goes to those who have
    # not voted): operators see its messages as counts only, never per recipient.
    private_recipients: bool = False
    # A security notice (the account's email address changed): always sent on the channels
    # that send it by default, whatever the member's preferences; not on the preferences form.
    mandatory: bool = False

    @property
    def type(self) -> str:
        return event_type_of(self.event)


def event_type_of(cls: type[Event]) -> str:
    return str(cls.__struct_config__.tag)


def when(moment: datetime, country: str) -> str:
    """A date and time in the country's time zone, written the reader's way."""
    local = moment.astimezone(zone_of(country))
    return format_datetime(local, "d MMMM y, HH:mm zzz", locale=i18n.current_language.get())


# -- recipients ------------------------------------------------------------------------------


async def _proposer(event: Any) -> list[int]:
    return [event.proposer_id] if event.proposer_id is not None else []


async def _operators(country: str) -> list[int]:
    rows = await MemberRole.select(MemberRole.member).where(
        (MemberRole.role == ROLE_OPERATOR) & (MemberRole.country == country)
    )
    return [r["member"] for r in rows]


async def _proposer_and_operators(event: ThresholdReached) -> list[int]:
    return list(dict.fromkeys([*await _proposer(event), *await _operators(event.country)]))


async def _shareholders(event: Any) -> list[int]:
    rows = await Member.select(Member.id).where(
        (Member.country == event.country) & (Member.shareholder == True)  # noqa: E712
    )
    return [r["id"] for r in rows]


async def _shareholders_who_have_not_voted(event: PollClosing) -> list[int]:
    from core.polls.tables import Participation

    voted = {
        r["member"]
        for r in await Participation.select(Participation.member).where(
            Participation.poll == event.poll_id
        )
    }
    return [m for m in await _shareholders(event) if m not in voted]


# -- texts -----------------------------------------------------------------------------------


def _accepted(e: ThemeAccepted) -> Rendered:
    return Rendered(
        _("Your proposal “%(title)s” is on the ballot") % {"title": e.title},
        _(
            "An operator accepted your proposal “%(title)s” for the %(edition)s edition. "
            "Shareholders will vote on it at the general meeting."
        )
        % {"title": e.title, "edition": e.edition},
        f"/themes/{e.theme_id}",
    )


def _rejected(e: ThemeRejected) -> Rendered:
    return Rendered(
        _("Your proposal “%(title)s” was not accepted") % {"title": e.title},
        _(
            "An operator did not accept your proposal “%(title)s” for the %(edition)s edition. "
            "The reason: %(reason)s"
        )
        % {"title": e.title, "edition": e.edition, "reason": e.reason},
        f"/themes/{e.theme_id}",
    )


def _merged(e: ThemeMerged) -> Rendered:
    return Rendered(
        _("Your proposal “%(title)s” was merged into another theme") % {"title": e.title},
        _(
            "An operator merged your proposal “%(title)s” into a theme that covers the same "
            "ground; its supporters now support that theme."
        )
        % {"title": e.title},
        f"/themes/{e.into_theme_id}",
    )


def _threshold(e: ThresholdReached) -> Rendered:
    return Rendered(
        _("“%(title)s” has the supports it needs") % {"title": e.title},
        _(
            "The proposal “%(title)s” reached %(supports)d supports (%(threshold)d needed) and "
            "now waits for the operators' decision."
        )
        % {"title": e.title, "supports": e.supports, "threshold": e.threshold},
        f"/themes/{e.theme_id}",
    )


def _opened(e: PollOpened) -> Rendered:
    return Rendered(
        _("The vote on the themes of %(edition)s is open") % {"edition": e.edition},
        _("The general meeting's vote on the themes of %(edition)s is open until %(closes)s.")
        % {"edition": e.edition, "closes": when(e.closes_at, e.country)},
        f"/polls/{e.poll_id}",
    )


def _closing(e: PollClosing) -> Rendered:
    return Rendered(
        _("The vote on the themes of %(edition)s closes within 24 hours") % {"edition": e.edition},
        _("You have not voted yet. The vote on the themes of %(edition)s closes at %(closes)s.")
        % {"edition": e.edition, "closes": when(e.closes_at, e.country)},
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


# -- working groups and info sessions (core/groups) ------------------------------------------


async def _the_member(event: Any) -> list[int]:
    return [event.member_id]


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
            "first": when(e.first_at, e.country),
            "last": when(e.last_at, e.country),
        },
        f"/groups/{e.group_id}",
    )


def _info_session_reminder(e: InfoSessionReminder) -> Rendered:
    return Rendered(
        _("Reminder: the info session “%(title)s” starts on %(starts)s")
        % {"title": e.title, "starts": when(e.starts_at, e.country)},
        _(
            "You registered for the info session “%(title)s” of the %(edition)s edition. "
            "It starts on %(starts)s; the page of the session has the link or the address."
        )
        % {"title": e.title, "edition": e.edition, "starts": when(e.starts_at, e.country)},
        f"/info-sessions/{e.info_session_id}",
    )


# -- recommendations, decisions, projects (core/recommendations) -----------------------------


async def _recommendation_group(event: Any) -> list[int]:
    return await group_audience(event.group_id)


async def _project_groups(event: ProjectCreated) -> list[int]:
    people: list[int] = []
    for group_id in event.group_ids:
        people += await group_audience(group_id)
    return list(dict.fromkeys(people))


def _recommendation_submitted(e: RecommendationSubmitted) -> Rendered:
    return Rendered(
        _("Your group's recommendation “%(title)s” is submitted") % {"title": e.title},
        _(
            "The recommendation “%(title)s” of your working group (%(edition)s) was submitted. "
            "The operators bundle it for the board, which decides on it; you will hear about "
            "the decision."
        )
        % {"title": e.title, "edition": e.edition},
        f"/recommendations/{e.recommendation_id}",
    )


def _decision_recorded(e: DecisionRecorded) -> Rendered:
    from babel.dates import format_date

    if e.supersedes is None:
        subject = _("The board decided on “%(title)s”: %(outcome)s")
        body = _(
            "The board decided on %(date)s on the recommendation “%(title)s” of your working "
            "group (%(edition)s): %(outcome)s. The page of the recommendation gives the board's "
            "rationale."
        )
    else:
        subject = _("The board's decision on “%(title)s” changed: %(outcome)s")
        body = _(
            "The board recorded a new decision on %(date)s on the recommendation “%(title)s” of "
            "your working group (%(edition)s): %(outcome)s. It replaces the earlier one, which "
            "stays in the history on the page of the recommendation."
        )
    values = {
        "title": e.title,
        "edition": e.edition,
        "outcome": outcome_label(e.outcome),
        "date": format_date(e.decided_on, "d MMMM y", locale=i18n.current_language.get()),
    }
    return Rendered(subject % values, body % values, f"/recommendations/{e.recommendation_id}")


def _project_created(e: ProjectCreated) -> Rendered:
    return Rendered(
        _("Your group's recommendation became a project: “%(title)s”") % {"title": e.title},
        _(
            "The board adopted a recommendation of your working group, and it led to the "
            "project “%(title)s”. Follow its milestones and progress on its page."
        )
        % {"title": e.title},
        f"/projects/{e.project_id}",
    )


def _recommendation_key(e: Any) -> str:
    return f"{event_type(e)}:{e.recommendation_id}"


def _decision_key(e: DecisionRecorded) -> str:
    return f"{event_type(e)}:{e.decision_id}"


def _project_key(e: ProjectCreated) -> str:
    return f"{event_type(e)}:{e.project_id}:{e.country}"


def _registration_key(e: Any) -> str:
    return f"{event_type(e)}:{e.registration_id}"


def _group_key(e: Any) -> str:
    return f"{event_type(e)}:{e.group_id}"


def _theme_key(e: Any) -> str:
    return f"{event_type(e)}:{e.theme_id}"


def _poll_key(e: Any) -> str:
    return f"{event_type(e)}:{e.poll_id}"


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


KINDS: dict[str, Kind] = {
    kind.type: kind
    for kind in (
        Kind(ThemeAccepted, N_("My proposal is accepted"), True, _proposer, _accepted, _theme_key),
        Kind(ThemeRejected, N_("My proposal is rejected"), True, _proposer, _rejected, _theme_key),
        Kind(ThemeMerged, N_("My proposal is merged"), True, _proposer, _merged, _theme_key),
        Kind(
            ThresholdReached,
            N_("A proposal has the supports it needs (mine, or one I moderate)"),
            True,
            _proposer_and_operators,
            _threshold,
            _theme_key,
        ),
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
        Kind(
            RegistrationConfirmed,
            N_("My place in a working group is confirmed"),
            True,
            _the_member,
            _registration_confirmed,
            _registration_key,
        ),
        Kind(
            PromotedFromWaitingList,
            N_("A place opens up for me in a working group"),
            True,
            _the_member,
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
            _the_member,
            _info_session_reminder,
            _registration_key,
        ),
        Kind(
            RecommendationSubmitted,
            N_("A recommendation of my working group is submitted"),
            True,
            _recommendation_group,
            _recommendation_submitted,
            _recommendation_key,
        ),
        Kind(
            DecisionRecorded,
            N_("The board decides on a recommendation of my working group"),
            True,
            _recommendation_group,
            _decision_recorded,
            _decision_key,
        ),
        Kind(
            ProjectCreated,
            N_("A recommendation of my working group becomes a project"),
            True,
            _project_groups,
            _project_created,
            _project_key,
        ),
        Kind(
            EmailChanged,
            N_("The email address of my account is changed"),
            True,
            _the_member,
            _email_changed,
            _email_changed_key,
            mandatory=True,
        ),
    )
}

# Event types a member's email is on for until they choose otherwise.
DIRECT_EVENTS = frozenset(t for t, kind in KINDS.items() if kind.direct)
# Security notices, sent whatever the member chose (see ``Kind``).
MANDATORY_EVENTS = frozenset(t for t, kind in KINDS.items() if kind.mandatory)
# Event types whose messages the operators' outbox counts but never lists (see ``Kind``).
PRIVATE_RECIPIENTS = frozenset(t for t, kind in KINDS.items() if kind.private_recipients)


@functools.cache
def _event_union() -> Any:
    classes = tuple(kind.event for kind in KINDS.values())
    return Union[classes]  # noqa: UP007 - a union built from a tuple of classes


def decode_event(payload: str | bytes) -> Event:
    """An event back from its stored JSON (the ``type`` tag picks the class)."""
    return msgspec.json.decode(payload, type=_event_union())


def render(event: Event, language: str) -> Rendered:
    """The event's subject, text and link in ``language``."""
    with in_language(language):
        return KINDS[event_type(event)].render(event)
