"""Working-group tables.

Times are stored in UTC (``Timestamptz``) and shown in the group's country's time zone.
Composite unique indexes are created by a raw-DDL migration (SQLite rejects Piccolo's
composite ``Unique``): one active registration per member and group, one facilitator row per
member and group, one answer per member and slot, one attendance row per member and meeting,
one info-session registration per member and session, one meeting per number in a group.
"""

from __future__ import annotations

from piccolo.columns import Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.editions.tables import Edition
from core.members.tables import Member
from core.themes.tables import Theme


class WorkingGroup(Table, tablename="working_group"):
    """A local working group of one theme of an edition, in one country.

    ``locality`` is a locality of the country's track (a city, or "online"), stored as the
    track names it and shown translated. ``meeting_count`` is how many meetings the plan
    schedules; ``scheduled_at`` is set when a facilitator confirmed the plan (the meetings
    exist from then on).
    """

    edition = ForeignKey(references=Edition, on_delete=OnDelete.cascade)
    theme = ForeignKey(references=Theme, on_delete=OnDelete.cascade)
    country = Varchar(length=2)
    locality = Varchar(length=60)
    language = Varchar(length=2)
    capacity = Integer()
    meeting_count = Integer(default=5)
    created_at = Timestamptz(default=TimestamptzNow())
    scheduled_at = Timestamptz(null=True, default=None)


class GroupFacilitator(Table, tablename="group_facilitator"):
    """A facilitator of a group; (working_group, member) is unique."""

    working_group = ForeignKey(references=WorkingGroup, on_delete=OnDelete.cascade)
    member = ForeignKey(references=Member, on_delete=OnDelete.cascade)


class GroupRegistration(Table, tablename="group_registration"):
    """A member's registration for a group: ``status`` is confirmed (a place), waiting (on
    the waiting list, in the order of ``created_at`` then ``id``) or withdrawn.

    ``edition`` repeats the group's, so the per-edition limit counts on one index. A partial
    unique index keeps one active (confirmed or waiting) registration per member and group.
    ``pledged_at`` is when the member accepted the commitment to the whole cycle.
    """

    working_group = ForeignKey(references=WorkingGroup, on_delete=OnDelete.cascade)
    edition = ForeignKey(references=Edition, on_delete=OnDelete.cascade)
    member = ForeignKey(references=Member, on_delete=OnDelete.cascade)
    status = Varchar(length=10)
    pledged_at = Timestamptz()
    created_at = Timestamptz(default=TimestamptzNow())
    confirmed_at = Timestamptz(null=True, default=None)
    promoted_at = Timestamptz(null=True, default=None)
    withdrawn_at = Timestamptz(null=True, default=None)


class MeetingSlot(Table, tablename="group_slot"):
    """A candidate time a facilitator proposes for a meeting: ``mode`` is in_person or online,
    ``place`` the address or the link."""

    working_group = ForeignKey(references=WorkingGroup, on_delete=OnDelete.cascade)
    starts_at = Timestamptz()
    duration_minutes = Integer()
    mode = Varchar(length=10)
    place = Varchar(length=300)
    created_by = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())


class SlotAnswer(Table, tablename="group_slot_answer"):
    """A participant's availability for a slot: yes, maybe ("if need be") or no;
    (slot, member) is unique."""

    slot = ForeignKey(references=MeetingSlot, on_delete=OnDelete.cascade)
    member = ForeignKey(references=Member, on_delete=OnDelete.cascade)
    answer = Varchar(length=5)
    answered_at = Timestamptz(default=TimestamptzNow())


class Meeting(Table, tablename="group_meeting"):
    """A confirmed meeting of a group; ``number`` counts from 1 in time order and
    (working_group, number) is unique."""

    working_group = ForeignKey(references=WorkingGroup, on_delete=OnDelete.cascade)
    number = Integer()
    starts_at = Timestamptz()
    duration_minutes = Integer()
    mode = Varchar(length=10)
    place = Varchar(length=300)
    slot = ForeignKey(references=MeetingSlot, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())


class Attendance(Table, tablename="group_attendance"):
    """Whether a participant was at a meeting, as its facilitator recorded it;
    (meeting, member) is unique."""

    meeting = ForeignKey(references=Meeting, on_delete=OnDelete.cascade)
    member = ForeignKey(references=Member, on_delete=OnDelete.cascade)
    present = Boolean(default=False)
    recorded_by = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null)
    recorded_at = Timestamptz(default=TimestamptzNow())


class InfoSession(Table, tablename="info_session"):
    """An information session about an edition, in one country, with a capacity."""

    edition = ForeignKey(references=Edition, on_delete=OnDelete.cascade)
    country = Varchar(length=2)
    title = Varchar(length=200)
    description = Text(default="")
    language = Varchar(length=2)
    starts_at = Timestamptz()
    duration_minutes = Integer()
    mode = Varchar(length=10)
    place = Varchar(length=300)
    capacity = Integer()
    created_by = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())


class InfoSessionRegistration(Table, tablename="info_session_registration"):
    """A member registered for an info session. A cancelled registration keeps its row
    (``cancelled_at``); a partial unique index keeps one active one per session and member."""

    info_session = ForeignKey(references=InfoSession, on_delete=OnDelete.cascade)
    member = ForeignKey(references=Member, on_delete=OnDelete.cascade)
    created_at = Timestamptz(default=TimestamptzNow())
    cancelled_at = Timestamptz(null=True, default=None)


class CalendarFeed(Table, tablename="calendar_feed"):
    """A member's calendar feed. The feed's secret address is an HMAC of the member and
    ``salt`` under the platform's secret key, so the database alone does not give it away;
    a new salt revokes the old address."""

    member = ForeignKey(references=Member, on_delete=OnDelete.cascade, unique=True)
    salt = Varchar(length=32)
    created_at = Timestamptz(default=TimestamptzNow())
