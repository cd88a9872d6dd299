"""Country tracks: what a country's edition looks like (languages, name)."""

from __future__ import annotations

import msgspec

from core.config import LANGUAGES


class Track(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str
    languages: tuple[str, ...] = LANGUAGES
