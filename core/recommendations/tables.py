"""Recommendation, decision and project tables.

A board decision is never changed: a new decision is a new row that ``supersedes`` the latest
one. The database keeps the history a single chain (one first entry per recommendation, one
successor per entry: unique indexes) and refuses an UPDATE of a decision's content (a trigger),
so no code path can rewrite what the board decided. Composite and partial unique indexes and
the trigger come from raw-DDL migrations (SQLite rejects Piccolo's composite ``Unique``).
"""

from __future__ import annotations

from piccolo.columns import Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.editions.tables import Edition
from core.groups.tables import WorkingGroup
from core.members.tables import Member
from core.themes.tables import Theme


class Bundle(Table, tablename="recommendation_bundle"):
    """The submitted recommendations of one country's edition, handed to the board by an
    operator on ``created_at``; each recommendation in it points at it."""

    edition = ForeignKey(references=Edition, on_delete=OnDelete.cascade)
    country = Varchar(length=2)
    created_by = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())


class Recommendation(Table, tablename="recommendation"):
    """A working group's recommendation: drafted with the group, submitted by a facilitator in
    the recommendations phase, then bundled for the board.

    ``edition``, ``theme`` and ``country`` repeat the group's, so the bundle and the record read
    one table. ``status`` is draft or submitted; ``bundle`` is set when an operator hands it to
    the board. ``language`` is the language its text is written in.
    """

    working_group = ForeignKey(references=WorkingGroup, on_delete=OnDelete.cascade)
    edition = ForeignKey(references=Edition, on_delete=OnDelete.cascade)
    theme = ForeignKey(references=Theme, on_delete=OnDelete.cascade)
    country = Varchar(length=2)
    language = Varchar(length=2)
    title = Varchar(length=200)
    text = Text(default="")
    rationale = Text(default="")
    status = Varchar(length=10, default="draft")
    author = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    submitted_at = Timestamptz(null=True, default=None)
    submitted_by = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null)
    bundle = ForeignKey(references=Bundle, null=True, on_delete=OnDelete.set_null)


class RecommendationComment(Table, tablename="recommendation_comment"):
    """A group member's comment on a draft recommendation."""

    recommendation = ForeignKey(references=Recommendation, on_delete=OnDelete.cascade)
    member = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null)
    body = Text()
    created_at = Timestamptz(default=TimestamptzNow())


class Endorsement(Table, tablename="recommendation_endorsement"):
    """A group member endorses a draft recommendation; (recommendation, member) is unique."""

    recommendation = ForeignKey(references=Recommendation, on_delete=OnDelete.cascade)
    member = ForeignKey(references=Member, on_delete=OnDelete.cascade)
    created_at = Timestamptz(default=TimestamptzNow())


class Decision(Table, tablename="board_decision"):
    """One entry of the board's decision on a recommendation: append-only.

    ``outcome`` is adopted, adopted_with_changes, rejected or deferred; ``decided_on`` the day
    the board decided; ``recorded_at`` when it was entered and ``author`` by which board member.
    ``supersedes`` is the entry this one replaces (None for the first): the current decision is
    the entry nothing supersedes.
    """

    recommendation = ForeignKey(references=Recommendation, on_delete=OnDelete.cascade)
    outcome = Varchar(length=24)
    rationale = Text()
    decided_on = Date()
    author = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null)
    author_name = Varchar(length=200, default="")
    supersedes = ForeignKey(
        references="Decision", null=True, unique=True, on_delete=OnDelete.cascade
    )
    recorded_at = Timestamptz(default=TimestamptzNow())


class Project(Table, tablename="project"):
    """What an adopted recommendation (or several) became. ``scope`` is the countries of its
    recommendations ("BE", "FR" or "BE FR"); ``status`` planned, in_progress, completed or
    stopped; ``started_on`` the day it was set up."""

    title = Varchar(length=200)
    description = Text(default="")
    language = Varchar(length=2)
    scope = Varchar(length=8)
    status = Varchar(length=12, default="planned")
    started_on = Date()
    created_by = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class ProjectSource(Table, tablename="project_source"):
    """A recommendation a project comes from; (project, recommendation) is unique."""

    project = ForeignKey(references=Project, on_delete=OnDelete.cascade)
    recommendation = ForeignKey(references=Recommendation, on_delete=OnDelete.cascade)
    created_at = Timestamptz(default=TimestamptzNow())


class Milestone(Table, tablename="project_milestone"):
    """A step of a project, due on a day and done on another; a project's progress is the share
    of its milestones done."""

    project = ForeignKey(references=Project, on_delete=OnDelete.cascade)
    title = Varchar(length=200)
    due_on = Date(null=True, default=None)
    done_on = Date(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class ArchivedFigures(Table, tablename="archived_figures"):
    """An edition's figures in one country from the cooperative's reports, for the editions run
    before the platform held their rows: AGM turnout (``agm_voters`` of ``agm_eligible``, the
    general meeting of ``agm_on``), working groups, participants and meetings. ``source`` names
    the report. (edition, country) is unique. Where a row exists, the public record shows these
    figures instead of counting rows."""

    edition = ForeignKey(references=Edition, on_delete=OnDelete.cascade)
    country = Varchar(length=2)
    agm_on = Date(null=True, default=None)
    agm_voters = Integer(default=0)
    agm_eligible = Integer(null=True, default=None)
    group_count = Integer(default=0)
    participant_count = Integer(default=0)
    meeting_count = Integer(default=0)
    source = Varchar(length=300, default="")
