"""Typed domain events, passed to the ``on_event`` hook after their change is committed."""

from __future__ import annotations

from datetime import date, datetime

import msgspec


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Base of every event; ``country`` decides which country's plugins hear it."""

    country: str


class MembersImported(Event, frozen=True, tag="members_imported"):
    """A member import changed the register."""

    created: int
    updated: int
    actor_id: int | None = None


class EmailChanged(Event, frozen=True, tag="email_changed"):
    """A member import changed a member's email address (``country`` is the member's).

    The notice goes to ``old_email``, the address the change replaced: a member who did not
    ask for the change still reads that one. ``change`` tells one change from the next (the
    same address may come back later and must be notified again)."""

    member_id: int
    old_email: str
    change: str


class ThemeEvent(Event, frozen=True):
    """Something happened to a theme of an edition."""

    theme_id: int
    edition: str
    title: str


class ThemeProposed(ThemeEvent, frozen=True, tag="theme_proposed"):
    """A member submitted a proposal; members of its country can now support it."""

    proposer_id: int


class ThresholdReached(ThemeEvent, frozen=True, tag="threshold_reached"):
    """A proposal gathered the supports it needs and waits in the operators' queue."""

    supports: int
    threshold: int
    proposer_id: int | None = None


class ThemeAccepted(ThemeEvent, frozen=True, tag="theme_accepted"):
    """An operator put a proposal on the ballot."""

    actor_id: int
    proposer_id: int | None = None


class ThemeRejected(ThemeEvent, frozen=True, tag="theme_rejected"):
    """An operator rejected a proposal, with a reason shown to the proposer."""

    actor_id: int
    reason: str
    proposer_id: int | None = None


class ThemeMerged(ThemeEvent, frozen=True, tag="theme_merged"):
    """An operator merged a proposal into another theme; its supports carried over."""

    actor_id: int
    into_theme_id: int
    supports_moved: int
    proposer_id: int | None = None


class PollEvent(Event, frozen=True):
    """Something happened to a country's AGM poll."""

    poll_id: int
    edition: str
    closes_at: datetime


class PollOpened(PollEvent, frozen=True, tag="poll_opened"):
    """An operator opened a poll: its country's shareholders can vote."""


class PollClosing(PollEvent, frozen=True, tag="poll_closing"):
    """An open poll closes within 24 hours (sent to shareholders who have not voted yet)."""


class ResultsPublished(PollEvent, frozen=True, tag="results_published"):
    """A closed poll's result and ballot list are published."""


class GroupEvent(Event, frozen=True):
    """Something happened to a working group of an edition. ``title`` is its theme's title in
    the group's language, ``locality`` the track's name of where it meets ("online" too)."""

    group_id: int
    edition: str
    title: str
    locality: str


class RegistrationConfirmed(GroupEvent, frozen=True, tag="registration_confirmed"):
    """A member registered for a working group and has a place in it."""

    registration_id: int
    member_id: int


class PromotedFromWaitingList(GroupEvent, frozen=True, tag="promoted_from_waiting_list"):
    """A place opened up in a full group: the first member of its waiting list has it."""

    registration_id: int
    member_id: int


class MeetingsScheduled(GroupEvent, frozen=True, tag="meetings_scheduled"):
    """A facilitator confirmed the group's meetings (sent to its participants and
    facilitators)."""

    meetings: int
    first_at: datetime
    last_at: datetime


class InfoSessionReminder(Event, frozen=True, tag="info_session_reminder"):
    """An info session a member registered for starts within 24 hours (written when the
    member registers, delivered the day before)."""

    info_session_id: int
    edition: str
    title: str
    starts_at: datetime
    registration_id: int
    member_id: int


class RecommendationEvent(Event, frozen=True):
    """Something happened to a working group's recommendation; ``title`` is the
    recommendation's own title."""

    recommendation_id: int
    group_id: int
    edition: str
    title: str


class RecommendationSubmitted(RecommendationEvent, frozen=True, tag="recommendation_submitted"):
    """A facilitator submitted the group's recommendation: it goes to the board in its
    country's bundle."""


class DecisionRecorded(RecommendationEvent, frozen=True, tag="decision_recorded"):
    """A board member recorded the board's decision on a recommendation: the first entry, or a
    new one that ``supersedes`` the latest (decisions are never edited)."""

    decision_id: int
    outcome: str
    decided_on: date
    supersedes: int | None = None


class ProjectCreated(Event, frozen=True, tag="project_created"):
    """Adopted recommendations became a project: one event per country of its recommendations,
    naming that country's recommendations and their groups."""

    project_id: int
    title: str
    recommendation_ids: tuple[int, ...]
    group_ids: tuple[int, ...]


def event_type(event: Event) -> str:
    return type(event).__struct_config__.tag or type(event).__name__
