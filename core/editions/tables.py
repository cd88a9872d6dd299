from __future__ import annotations

from piccolo.columns import Date, ForeignKey, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Edition(Table, tablename="edition"):
    """One yearly cycle; ``slug`` is its name, e.g. ``2020-2021``."""

    slug = Varchar(length=20, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())


class EditionPhase(Table, tablename="edition_phase"):
    """One phase of an edition in one country, from ``starts_on`` to ``ends_on`` inclusive.
    (edition, country, phase) is unique."""

    edition = ForeignKey(references=Edition, on_delete=OnDelete.cascade)
    country = Varchar(length=2)
    phase = Varchar(length=30)
    starts_on = Date()
    ends_on = Date()
