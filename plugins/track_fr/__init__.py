"""France's country track: language fr, where working groups meet, AGM habits, and the proxy
limit and support threshold of the French general meeting.

Options (config.toml, all optional)::

    [plugins.track_fr]
    proxy_limit = 1   # proxies one shareholder may hold in an FR poll
"""

from __future__ import annotations

from core.i18n import N_
from core.tracks import ONLINE, AgmDefaults, Track, TrackOptions, TrackPlugin

# What the operators' plugin page says of this plugin, in their language.
DESCRIPTION = N_(
    "France's country track: language fr, where working groups meet, AGM habits, and the "
    "proxy limit and support threshold of the French general meeting."
)

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
PLUGIN = TrackPlugin(NAME, TRACK, support_threshold=25)

# The hooks pluggy finds on this module: the track's own, from the one factory.
register_tracks = PLUGIN.register_tracks
proxy_limit = PLUGIN.proxy_limit
support_threshold = PLUGIN.support_threshold
