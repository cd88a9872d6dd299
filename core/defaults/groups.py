"""The core's default rules of working groups: one registration per edition, two absences."""

from __future__ import annotations

from typing import Any

from core import hookimpl


@hookimpl(trylast=True)
def registrations_allowed(edition: Any, country: str, member: Any) -> int:
    """One working group per member and edition: the commitment is to one whole cycle."""
    return 1


@hookimpl(trylast=True)
def commitment_absences_allowed(group: Any, country: str) -> int:
    """About five meetings: missing more than two is missing the cycle."""
    return 2
