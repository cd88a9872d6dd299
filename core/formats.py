"""Dates, times and numbers as people read them: in the country's time zone, in the reader's
language, formatted by Babel (CLDR). The API keeps ISO 8601 with offsets; pages use these.

Templates reach them as globals: ``day(d)``, ``moment(dt, country)``, ``clock(dt, country)``,
``short_moment(dt, country)``, ``count(n)``, ``zone_name(country)``, ``day_range(a, b)``.

What people type is read the same way: a date and time without an offset is the country's
local time (``from_local``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

from babel.dates import format_date, format_datetime, format_time, get_timezone_name
from babel.numbers import format_decimal

from core.config import zone_of
from core.i18n import current_language


def _local(moment: datetime, country: str) -> datetime:
    return moment.astimezone(zone_of(country))


def day(value: date | datetime, country: str = "") -> str:
    """A day, "7 December 2026" / "7 december 2026" / "7 décembre 2026".

    A ``datetime`` is first moved to the country's time zone (its local day)."""
    if isinstance(value, datetime):
        value = _local(value, country).date() if country else value.date()
    return format_date(value, "d MMMM y", locale=current_language.get())


def day_range(start: date | datetime, end: date | datetime, country: str = "") -> str:
    """Two days as a span, "3 June 2021 – 14 June 2021" (one day when they are the same)."""
    first, last = day(start, country), day(end, country)
    return first if first == last else f"{first} – {last}"


def moment(value: datetime, country: str) -> str:
    """A moment in the country's time zone with its weekday: "Monday 7 December 2026, 14:30"."""
    return format_datetime(
        _local(value, country), "EEEE d MMMM y, HH:mm", locale=current_language.get()
    )


def short_moment(value: datetime, country: str) -> str:
    """A moment in the country's time zone, without weekday: "7 December 2026, 14:30"."""
    return format_datetime(_local(value, country), "d MMMM y, HH:mm", locale=current_language.get())


def clock(value: datetime, country: str) -> str:
    """The time of day in the country's time zone: "14:30"."""
    return format_time(_local(value, country), "HH:mm", locale=current_language.get())


def zone_name(country: str) -> str:
    """The country's time zone as the reader says it: "Central European Time"."""
    return get_timezone_name(zone_of(country), "long", locale=current_language.get())


def count(value: int | float | Decimal | Fraction, digits: int = 2) -> str:
    """A number the reader's way: whole numbers as counts ("1", "1 234"), others with at most
    ``digits`` decimals ("2,5" in nl and fr): never "1.00000"."""
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    if value == int(value):
        return format_decimal(int(value), locale=current_language.get())
    pattern = "#,##0." + "#" * digits
    return format_decimal(value, format=pattern, locale=current_language.get())


def local_input(value: datetime, country: str) -> str:
    """The value of an ``<input type="datetime-local">`` in the country's time zone."""
    return _local(value, country).strftime("%Y-%m-%dT%H:%M")


def from_local(value: datetime, country: str) -> datetime:
    """A moment someone typed: without an offset it is the country's local time (an hour that
    is skipped or repeated when the clocks change is read as zoneinfo does, ``fold=0``); with
    an offset it keeps it."""
    return value if value.tzinfo is not None else value.replace(tzinfo=zone_of(country))
