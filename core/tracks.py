"""Country tracks: what a country's edition looks like (languages, meeting places, AGM habits).

A track comes from the plugins a country enables (``register_tracks``). Without one, the
country gets the plain track below: every interface language, online meetings only, and the
core's AGM defaults. The proxy limit and the support threshold are rules, so they are hooks
(``proxy_limit``, ``support_threshold``), which the shipped track plugins implement too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from babel.dates import get_month_names

from core import hookimpl
from core.config import LANGUAGES, Settings, plugin_options
from core.i18n import N_, current_language
from core.rules import Rules

if TYPE_CHECKING:
    from core.plugins import PluginRegistry

ONLINE = N_("online")  # a locality: the working group meets online


class AgmDefaults(msgspec.Struct, frozen=True, kw_only=True):
    """How the country's general meeting usually votes: the poll form starts from these."""

    month: Annotated[int, msgspec.Meta(ge=1, le=12)] = 6  # the AGM is held in June
    method: str = "plurality"  # a voting method's name (core.voting)
    seats: int = 2  # themes to elect

    def month_name(self) -> str:
        """The AGM's month in the current language ("June", "juin", "juni")."""
        return get_month_names("wide", locale=current_language.get())[self.month]


class Track(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str
    languages: tuple[str, ...] = LANGUAGES
    # Where working groups can meet: cities, and "online".
    localities: tuple[str, ...] = (ONLINE,)
    agm: AgmDefaults = AgmDefaults()


def track_of(registry: PluginRegistry, settings: Settings, country: str) -> Track:
    """The country's track from its enabled plugins, else a plain one."""
    for track in Rules(registry, settings).tracks(country):
        if track.code == country:
            return track
    configured = settings.countries.get(country)
    return Track(code=country, name=(configured.name if configured else "") or country)


class TrackOptions(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """What an operator may adjust of a shipped track: ``[plugins.track_be]`` (or
    ``[plugins.track_be.BE]``) in config.toml."""

    proxy_limit: Annotated[int, msgspec.Meta(ge=0)] = 1  # 0: the poll takes no proxies


class TrackPlugin:
    """A country track as a plugin (``plugins/track_be`` and ``plugins/track_fr`` are one each):
    the track, the country's proxy limit from ``[plugins.<name>]`` options, and its support
    threshold. Both rules answer ``trylast``, so any other plugin the country enables may still
    replace them; config.toml's ``countries.<C>.support_threshold`` wins over both
    (``core.rules.Rules``)."""

    OPTIONS = TrackOptions

    def __init__(self, name: str, track: Track, *, support_threshold: int) -> None:
        self.name = name
        self.track = track
        self.threshold = support_threshold

    @hookimpl
    def register_tracks(self) -> Sequence[Track]:
        return [self.track]

    @hookimpl(trylast=True)
    def proxy_limit(self, poll: Any, country: str, settings: Settings) -> int | None:
        if country != self.track.code:
            return None
        return plugin_options(settings, self.name, country, TrackOptions).proxy_limit

    @hookimpl(trylast=True)
    def support_threshold(self, edition: Any, country: str, settings: Settings) -> int | None:
        return self.threshold if country == self.track.code else None
