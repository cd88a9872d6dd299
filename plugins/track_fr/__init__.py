"""France's country track: language fr."""

from __future__ import annotations

from collections.abc import Sequence

from core import hookimpl
from core.tracks import Track

TRACK = Track(code="FR", name="France", languages=("fr",))


@hookimpl
def register_tracks() -> Sequence[Track]:
    return [TRACK]
