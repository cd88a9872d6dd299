"""Typed domain events, passed to the ``on_event`` hook after their change is committed."""

from __future__ import annotations

import msgspec


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Base of every event; ``country`` decides which country's plugins hear it."""

    country: str


class MembersImported(Event, frozen=True, tag="members_imported"):
    """A member import changed the register."""

    created: int
    updated: int
    actor_id: int | None = None
