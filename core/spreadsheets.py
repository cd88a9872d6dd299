"""Writing CSV that a spreadsheet opens as data, never as formulas.

Every CSV the platform writes goes through ``writer``: a cell that starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return would be run as a formula by Excel, LibreOffice or
Google Sheets (CSV injection), so it gets a leading ``'``, which spreadsheets show as text. The
value itself is stored as it came (a name may start with ``-``); only the CSV cell changes.
Numbers are left alone: ``-3`` is a number, not a formula.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, Protocol

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class _Output(Protocol):
    def write(self, text: str, /) -> Any: ...


def safe_cell(value: Any) -> Any:
    """``value`` as a CSV cell a spreadsheet shows as text (idempotent)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class SafeWriter:
    """``csv.writer`` whose every cell goes through ``safe_cell``."""

    def __init__(self, out: _Output, **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: _Output, **options: Any) -> SafeWriter:
    """A CSV writer on ``out`` (options as ``csv.writer``'s) that neutralises formulas."""
    return SafeWriter(out, **options)
