"""The recommendations' notices: a group's recommendation submitted, the board's decision on
it, and the project it led to.

``core.defaults.notices`` registers ``NOTICES`` with the notification catalog.
"""

from __future__ import annotations

from typing import Any

from core import formats
from core.events import DecisionRecorded, ProjectCreated, RecommendationSubmitted, event_type
from core.groups.audience import group_audience
from core.i18n import N_, _
from core.notifications.catalog import Kind, Rendered
from core.recommendations.outcomes import outcome_label


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
        "date": formats.day(e.decided_on),
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


NOTICES: tuple[Kind, ...] = (
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
)
