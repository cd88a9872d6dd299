"""The plugin API: every hook the platform calls, typed and documented.

Hooks are called with keyword arguments. An implementation may accept fewer arguments than
its spec, so specs can grow without breaking plugins. Hooks marked *per country* reach only
the plugins that config.toml enables for that country; the others reach every enabled plugin.
The core's own defaults are ordinary plugins registered with ``trylast=True``, so any plugin
can replace them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core import hookspec

if TYPE_CHECKING:
    from core.config import Settings
    from core.editions.services import EditionInfo
    from core.events import Event
    from core.groups.services import GroupInfo
    from core.members.model import CurrentMember
    from core.notifications import Notifier
    from core.polls.services import PollInfo
    from core.themes.extensions import ExtensionCandidate, Refusal
    from core.tracks import Track
    from core.voting import VotingMethod


@hookspec
def register_tracks() -> Sequence[Track]:
    """Per country. Return the country tracks this plugin provides (code, name, languages,
    localities where working groups meet, AGM defaults: month, voting method, seats).

    The platform uses the track whose code is the country's (``core.tracks.track_of``); without
    one it falls back to a plain track: every interface language, online meetings only and the
    core's AGM defaults.
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


@hookspec
def register_notifiers(settings: Settings) -> Sequence[Notifier]:
    """Per country. Return the notification channels (``core.notifications.Notifier``) this
    plugin provides: email, webhook, SMS ...

    Called when an event that notifies is written to the outbox (which channels get a message)
    and when the relay delivers one (which object sends it), always for the event's country, so
    a channel disabled for a country has no effect there. The in-app notification centre is the
    core's own channel and always present; a plugin's channel of the same ``name`` replaces it.
    """


@hookspec(firstresult=True)
def deliver_sign_in_link(
    member: Any, url: str, expires_minutes: int, settings: Settings
) -> bool | Awaitable[bool] | None:
    """Per country (the member's). Send a one-time sign-in link to a member.

    Return ``True`` when the link was handed to a channel (or an awaitable that sends it and
    gives ``True``); the first plugin that answers wins. The core default writes the link to
    the server log in demo mode or local development only (``core/defaults/sign_in.py``).
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


@hookspec(firstresult=True)
def extension_allowed(
    candidate: ExtensionCandidate, edition: EditionInfo, country: str, settings: Settings
) -> bool | str | Refusal | None:
    """Per country (the one the theme would run in). May this theme of an earlier edition be
    extended into ``edition`` for ``country``, joining it without an AGM vote?

    Return ``True`` to allow, a ``core.themes.extensions.Refusal`` (or a message) naming the
    rule to refuse, ``None`` to leave it to the next plugin. The first answer wins. The shipped
    ``extend_theme`` plugin answers last with its rules (the previous edition only, within the
    countries it ran in, at most ``max_consecutive`` extensions in a row); where no plugin
    answers, extending themes is not enabled for the country.
    """


@hookspec(firstresult=True)
def registrations_allowed(
    edition: EditionInfo, country: str, member: CurrentMember, settings: Settings
) -> int | None:
    """Per country (the group's). How many active working-group registrations (a place or a
    waiting list) one member may hold in an edition.

    The first plugin that answers wins; the core default is 1. A registration that would take
    the member over it is refused with a 409 and nothing is written.
    """


@hookspec(firstresult=True)
def commitment_absences_allowed(group: GroupInfo, country: str, settings: Settings) -> int | None:
    """Per country (the group's). How many meetings a participant may miss before the
    facilitator sees them flagged as not keeping the commitment to the whole cycle.

    The first plugin that answers wins; the core default is 2. A participant recorded absent
    more often than this is flagged on the group's attendance.
    """


@hookspec
def on_event(event: Event) -> None:
    """Per country (the event's). Receive a domain event after its change was committed.

    Audit trails and integrations follow the platform through this. It is called once, in the
    process that made the change, so it can miss an event (a crash right after the commit):
    notifications go through the outbox instead (``register_notifiers``).
    """
