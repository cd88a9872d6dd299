"""The plugin API: every hook the platform calls, typed and documented.

Hooks are called with keyword arguments. An implementation may accept fewer arguments than
its spec, so specs can grow without breaking plugins. Hooks marked *per country* reach only
the plugins that config.toml enables for that country; the others reach every enabled plugin.
The core's own defaults are ordinary plugins registered with ``trylast=True``, so any plugin
can replace them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core import hookspec

if TYPE_CHECKING:
    from core.config import Settings
    from core.editions.services import EditionInfo
    from core.events import Event
    from core.members.model import CurrentMember
    from core.polls.services import PollInfo
    from core.tracks import Track
    from core.voting import VotingMethod


@hookspec
def register_tracks() -> Sequence[Track]:
    """Per country. Return the country tracks this plugin provides (code, languages, name).

    The platform uses the track whose code is the country's; without one it falls back to a
    plain track that offers every interface language.
    """


@hookspec
def template_dirs() -> Sequence[str | Path]:
    """Return folders of Jinja2 templates that come before the core's ``templates/``.

    A template in such a folder overrides the core's template of the same name; the core's
    original stays reachable as ``default:NAME`` (``{% extends "default:base.html" %}``).
    """


@hookspec
def register_routes() -> Sequence[Any]:
    """Return Litestar route handlers or controllers to mount in the application."""


@hookspec
def register_voting_methods() -> Sequence[VotingMethod]:
    """Return voting methods (``core.voting.VotingMethod`` objects) that polls can use.

    Platform-wide: a plugin enabled for any country contributes. Methods are looked up by
    ``name`` (``core.voting.voting_method``); a later registration replaces an earlier one of
    the same name, so a plugin's method wins over the core's plurality, approval, borda,
    schulze and stv.
    """


@hookspec(firstresult=True)
def deliver_sign_in_link(member: Any, url: str, expires_minutes: int) -> bool | None:
    """Per country (the member's). Send a one-time sign-in link to a member.

    Return ``True`` when the link was handed to a channel; the first plugin that does wins.
    The core default writes the link to the server log.
    """


@hookspec(firstresult=True)
def support_threshold(edition: EditionInfo, country: str, settings: Settings) -> int | None:
    """Per country. How many supports a member's proposal needs to reach the operators' queue.

    The first plugin that answers wins; the core default reads
    ``countries.<country>.support_threshold`` from config.toml.
    """


@hookspec(firstresult=True)
def vote_eligibility(member: CurrentMember, poll: PollInfo, settings: Settings) -> bool | None:
    """Per country (the poll's). May this member vote in this poll?

    The first plugin that answers wins; the core default lets the shareholders of the poll's
    country vote. Proxy holders and operators entering paper ballots vote for members who are
    eligible themselves.
    """


@hookspec(firstresult=True)
def proxy_limit(poll: PollInfo, country: str, settings: Settings) -> int | None:
    """Per country (the poll's). How many proxies one shareholder may hold in this poll.

    The first plugin that answers wins; the core default is 1. A holder carrying this many
    active proxies is refused another one; 0 means the poll takes no proxies at all.
    """


@hookspec
def on_event(event: Event) -> None:
    """Per country (the event's). Receive a domain event after its change was committed.

    Notification channels, audit trails and integrations follow the platform through this.
    """
