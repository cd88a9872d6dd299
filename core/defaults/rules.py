"""The core's default rules of the cycle, from config.toml."""

from __future__ import annotations

from typing import Any

from core import hookimpl
from core.config import DEFAULT_SUPPORT_THRESHOLD, Settings


@hookimpl(trylast=True)
def support_threshold(edition: Any, country: str, settings: Settings) -> int:
    """The core default, where neither config.toml nor a plugin of the country sets one
    (``Rules.support_threshold`` reads config.toml first)."""
    return DEFAULT_SUPPORT_THRESHOLD


@hookimpl(trylast=True)
def vote_eligibility(member: Any, poll: Any) -> bool:
    """The shareholders of the poll's country vote."""
    return bool(member.shareholder) and member.country == poll.country


@hookimpl(trylast=True)
def proxy_limit(poll: Any, country: str) -> int:
    """One proxy per holder, the usual rule of a cooperative's general meeting."""
    return 1
