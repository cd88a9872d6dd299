"""Belgium's country track: languages nl and fr."""

from __future__ import annotations

from collections.abc import Sequence

from core import hookimpl
from core.tracks import Track

TRACK = Track(code="BE", name="Belgium", languages=("nl", "fr"))


@hookimpl
def register_tracks() -> Sequence[Track]:
    return [TRACK]
