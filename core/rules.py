"""``Rules``: the running platform's rules of the cycle, one typed method per country hook.

This is the only place that calls the plugins' hooks for a country; a domain service asks
``rules.support_threshold(edition, country)``, never the plugin manager. Each method says its
precedence once:

- ``support_threshold``: ``countries.<C>.support_threshold`` when config.toml writes it (``None``
  means not written), else the first plugin that answers (a country track's number), else the
  core default (``DEFAULT_SUPPORT_THRESHOLD``, ``core/defaults/rules.py``);
- every other rule: the first enabled plugin that answers, else the core's default
  (``core/defaults/``, registered last).

Handlers receive a ``Rules`` by dependency injection (``core.web.deps``); the CLI, the relay
and tests build one from a registry and settings.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.config import Settings
from core.events import Event, event_type
from core.notifications.outbox import enqueue

log = logging.getLogger("sip.events")

if TYPE_CHECKING:
    from core.editions.services import EditionInfo
    from core.groups.services import GroupInfo
    from core.members.model import CurrentMember
    from core.notifications import Notifier
    from core.plugins import CountryHooks, PluginRegistry
    from core.polls.services import PollInfo
    from core.themes.extensions import ExtensionCandidate
    from core.tracks import Track


@dataclass(frozen=True)
class Rules:
    """What the services need from the running platform: the plugins and the settings."""

    registry: PluginRegistry
    settings: Settings

    def _hooks(self, country: str) -> CountryHooks:
        return self.registry.for_country(country)

    # -- themes -----------------------------------------------------------------------------

    def support_threshold(self, edition: EditionInfo, country: str) -> int:
        """Supports a member's proposal needs to reach the operators' queue."""
        table = self.settings.countries.get(country)
        if table is not None and table.support_threshold is not None:
            return table.support_threshold
        answer = self._hooks(country).support_threshold(
            edition=edition, country=country, settings=self.settings
        )
        return int(answer)

    def extension_allowed(
        self, candidate: ExtensionCandidate, edition: EditionInfo, country: str
    ) -> object:
        """The raw answer (``True``, a refusal, a message or ``None`` when no plugin of the
        country rules on extensions); ``plugins/extend_theme`` reads it."""
        return self._hooks(country).extension_allowed(
            candidate=candidate, edition=edition, country=country, settings=self.settings
        )

    # -- polls ------------------------------------------------------------------------------

    def may_vote(self, member: CurrentMember, poll: PollInfo) -> bool:
        """The poll's country's ``vote_eligibility`` (core default: its shareholders)."""
        answer = self._hooks(poll.country).vote_eligibility(
            member=member, poll=poll, settings=self.settings
        )
        return bool(answer)

    def proxy_limit(self, poll: PollInfo) -> int:
        """How many proxies one holder carries in the poll (core default: 1; 0: none)."""
        answer = self._hooks(poll.country).proxy_limit(
            poll=poll, country=poll.country, settings=self.settings
        )
        return max(int(answer or 0), 0)

    # -- working groups ---------------------------------------------------------------------

    def registrations_allowed(
        self, edition: EditionInfo, country: str, member: CurrentMember
    ) -> int:
        """Active registrations one member may hold in an edition (core default: 1)."""
        answer = self._hooks(country).registrations_allowed(
            edition=edition, country=country, member=member, settings=self.settings
        )
        return int(answer)

    def commitment_absences_allowed(self, group: GroupInfo) -> int:
        """Meetings a participant may miss before being flagged (core default: 2)."""
        answer = self._hooks(group.country).commitment_absences_allowed(
            group=group, country=group.country, settings=self.settings
        )
        return int(answer)

    # -- the country's track, channels and sign-in ------------------------------------------

    def tracks(self, country: str) -> list[Track]:
        """The tracks the country's enabled plugins register (``core.tracks.track_of``)."""
        return [track for tracks in self._hooks(country).register_tracks() for track in tracks]

    def notifiers(self, country: str) -> dict[str, Notifier]:
        """The channels enabled for the country, by name: a plugin's channel replaces the
        core's of the same name."""
        found: dict[str, Notifier] = {}
        # pluggy lists the plugins' answers first and the core's trylast defaults last: walk
        # backwards so that a plugin's channel overwrites a default of the same name.
        answers: Sequence[Sequence[Notifier]] = self._hooks(country).register_notifiers(
            settings=self.settings
        )
        for channels in reversed(answers):
            for channel in channels or ():
                found[channel.name] = channel
        return found

    async def deliver_sign_in_link(
        self, member: CurrentMember, url: str, expires_minutes: int
    ) -> bool:
        """Hand a sign-in link to the member's country's channel; True when one took it."""
        sent: Any = self._hooks(member.country).deliver_sign_in_link(
            member=member, url=url, expires_minutes=expires_minutes, settings=self.settings
        )
        if inspect.isawaitable(sent):  # a channel that sends asynchronously (notify_email)
            sent = await sent
        return bool(sent)

    # -- events -----------------------------------------------------------------------------

    def emit(self, *events: Event) -> None:
        """Hand committed changes' events to their countries' plugins (``on_event``).

        The change is already committed, so a failing plugin is logged and does not turn the
        user's successful action into an error.
        """
        for event in events:
            try:
                self._hooks(event.country).on_event(event=event)
            except Exception:  # a plugin's failure must not undo or hide a committed change
                log.exception("a plugin failed on event %s in %s", event_type(event), event.country)

    async def notify(self, *events: Event) -> None:
        """Write the events' notifications to the outbox. Call it inside the change's write
        transaction: they commit, or roll back, with the change."""
        for event in events:
            await enqueue(event, self)
