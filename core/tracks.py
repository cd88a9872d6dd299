"""Country tracks: what a country's edition looks like (languages, meeting places, AGM habits).

A track comes from the plugins a country enables (``register_tracks``). Without one, the
country gets the plain track below: every interface language, online meetings only, and the
core's AGM defaults. The proxy limit and the support threshold are rules, so they are hooks
(``proxy_limit``, ``support_threshold``), which the shipped track plugins implement too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import msgspec
from babel.dates import get_month_names

from core.config import LANGUAGES, Settings, configured_support_threshold
from core.i18n import N_, current_language

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
    for tracks in registry.for_country(country).register_tracks():
        for track in tracks:
            if track.code == country:
                return track
    configured = settings.countries.get(country)
    return Track(code=country, name=(configured.name if configured else "") or country)


class TrackOptions(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """What an operator may adjust of a shipped track: ``[plugins.track_be]`` (or
    ``[plugins.track_be.BE]``) in config.toml."""

    proxy_limit: Annotated[int, msgspec.Meta(ge=0)] = 1  # 0: the poll takes no proxies


def track_support_threshold(
    track_code: str, track_threshold: int, country: str, settings: Settings
) -> int | None:
    """A track's ``support_threshold`` answer: its own number, unless config.toml sets
    ``countries.<country>.support_threshold`` (the core default then answers with it)."""
    if country != track_code or configured_support_threshold(settings, country) is not None:
        return None
    return track_threshold
