"""Belgium's country track: languages nl and fr, where working groups meet, AGM habits, and the
proxy limit and support threshold of the Belgian general meeting.

Options (config.toml, all optional)::

    [plugins.track_be]
    proxy_limit = 1   # proxies one shareholder may hold in a BE poll
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core import hookimpl
from core.config import Settings, plugin_options
from core.i18n import N_
from core.tracks import ONLINE, AgmDefaults, Track, TrackOptions, track_support_threshold

NAME = "track_be"
OPTIONS = TrackOptions

TRACK = Track(
    code="BE",
    name="Belgium",
    languages=("nl", "fr"),
    # Place names are shown through _() in the reader's language (Brussel, Bruxelles ...).
    localities=(
        N_("Brussels"),
        N_("Antwerp"),
        N_("Ghent"),
        N_("Liège"),
        N_("Namur"),
        N_("Charleroi"),
        N_("Leuven"),
        ONLINE,
    ),
    agm=AgmDefaults(month=6, method="schulze", seats=2),
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
