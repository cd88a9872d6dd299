from __future__ import annotations

from piccolo.columns import ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.editions.tables import Edition
from core.members.tables import Member


class Theme(Table, tablename="theme"):
    """A theme of an edition.

    ``scope`` is the countries it runs in ("BE", "FR" or "BE FR"). ``origin`` is board, member
    or extended (then ``extended_from`` is the theme of the earlier edition). ``support_count``
    is kept in the same transaction as the support rows it counts.
    """

    edition = ForeignKey(references=Edition, on_delete=OnDelete.cascade)
    origin = Varchar(length=10)
    status = Varchar(length=12)
    scope = Varchar(length=8)
    original_language = Varchar(length=2)
    proposer = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null)
    extended_from = ForeignKey(references="Theme", null=True, on_delete=OnDelete.set_null)
    merged_into = ForeignKey(references="Theme", null=True, on_delete=OnDelete.set_null)
    extension_rationale = Text(default="")
    rejection_reason = Text(default="")
    support_count = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
    submitted_at = Timestamptz(null=True, default=None)
    threshold_reached_at = Timestamptz(null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)


class ThemeText(Table, tablename="theme_text"):
    """A theme's title and description in one language; (theme, language) is unique."""

    theme = ForeignKey(references=Theme, on_delete=OnDelete.cascade)
    language = Varchar(length=2)
    title = Varchar(length=200)
    description = Text(default="")


class Support(Table, tablename="support"):
    """A member supports a proposal; (theme, member) is unique."""

    theme = ForeignKey(references=Theme, on_delete=OnDelete.cascade)
    member = ForeignKey(references=Member, on_delete=OnDelete.cascade)
    created_at = Timestamptz(default=TimestamptzNow())
