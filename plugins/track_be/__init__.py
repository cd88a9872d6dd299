"""Belgium's country track: languages nl and fr, where working groups meet, AGM habits, and the
proxy limit and support threshold of the Belgian general meeting.

Options (config.toml, all optional)::

    [plugins.track_be]
    proxy_limit = 1   # proxies one shareholder may hold in a BE poll
"""

from __future__ import annotations

from core.i18n import N_
from core.tracks import ONLINE, AgmDefaults, Track, TrackOptions, TrackPlugin

# What the operators' plugin page says of this plugin, in their language.
DESCRIPTION = N_(
    "Belgium's country track: languages nl and fr, where working groups meet, AGM habits, "
    "and the proxy limit and support threshold of the Belgian general meeting."
)

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
PLUGIN = TrackPlugin(NAME, TRACK, support_threshold=25)

# The hooks pluggy finds on this module: the track's own, from the one factory.
register_tracks = PLUGIN.register_tracks
proxy_limit = PLUGIN.proxy_limit
support_threshold = PLUGIN.support_threshold
