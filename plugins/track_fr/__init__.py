"""France's country track: language fr, where working groups meet, AGM habits, and the proxy
limit and support threshold of the French general meeting.

Options (config.toml, all optional)::

    [plugins.track_fr]
    proxy_limit = 1   # proxies one shareholder may hold in an FR poll
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core import hookimpl
from core.config import Settings, plugin_options
from core.i18n import N_
from core.tracks import ONLINE, AgmDefaults, Track, TrackOptions, track_support_threshold

NAME = "track_fr"
OPTIONS = TrackOptions

TRACK = Track(
    code="FR",
    name="France",
    languages=("fr",),
    # Place names are shown through _() in the reader's language (Brussel, Bruxelles ...).
    localities=(
        N_("Paris"),
        N_("Lyon"),
        N_("Marseille"),
        N_("Lille"),
        N_("Toulouse"),
        N_("Bordeaux"),
        N_("Nantes"),
        ONLINE,
    ),
    agm=AgmDefaults(month=6, method="approval", seats=2),
)
SUPPORT_THRESHOLD = 25


@hookimpl
def register_tracks() -> Sequence[Track]:
    return [TRACK]


# trylast: the country's usual rule, which any other enabled plugin may still replace.
@hookimpl(trylast=True)
def proxy_limit(poll: Any, country: str, settings: Settings) -> int | None:
    if country != TRACK.code:
        return None
    return plugin_options(settings, NAME, country, TrackOptions).proxy_limit


@hookimpl(trylast=True)
def support_threshold(edition: Any, country: str, settings: Settings) -> int | None:
    return track_support_threshold(TRACK.code, SUPPORT_THRESHOLD, country, settings)
