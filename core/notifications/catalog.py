"""The events that notify: the machinery that says who receives each, what it says, and where
it links to.

Each domain declares its own kinds (``core/<domain>/notices.py``: recipients, texts, keys) and
``core.defaults.notices`` registers them here (``register``) when the plugin manager is built,
so the catalog imports no domain. ``KINDS`` and the sets derived from it (``DIRECT_EVENTS``,
``MANDATORY_EVENTS``, ``PRIVATE_RECIPIENTS``) are live views of what is registered.

Texts are written with ``_()`` and rendered in the reader's language (``in_language``), so a
member reads an email in the language of their account and the in-app centre follows the
language they browse in.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Awaitable, Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, Union

import msgspec

from core import formats, i18n
from core.events import Event, event_type


@contextlib.contextmanager
def in_language(language: str) -> Iterator[None]:
    """Translate with ``_()`` in ``language`` inside the block (a member's, not the request's)."""
    token = i18n.current_language.set(language)
    try:
        yield
    finally:
        i18n.current_language.reset(token)


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    path: str  # a path on the platform, e.g. /themes/12


@dataclass(frozen=True)
class Kind:
    """One event type that notifies."""

    event: type[Event]
    label: str  # N_(), shown on the preferences form
    # Concerns the member directly (their proposal, their missing vote): email is on by default.
    direct: bool
    recipients: Callable[[Any], Awaitable[list[int]]]
    render: Callable[[Any], Rendered]
    key: Callable[[Any], str]
    # Who receives it tells something private (the closing reminder goes to those who have
    # not voted): operators see its messages as counts only, never per recipient.
    private_recipients: bool = False
    # A security notice (the account's email address changed): always sent on the channels
    # that send it by default, whatever the member's preferences; not on the preferences form.
    mandatory: bool = False

    @property
    def type(self) -> str:
        return event_type_of(self.event)


def event_type_of(cls: type[Event]) -> str:
    return str(cls.__struct_config__.tag)


def when(moment: datetime, country: str) -> str:
    """A date and time in the country's time zone, written the reader's way
    (``formats.short_moment``; the notices use ``formats.moment``)."""
    return formats.short_moment(moment, country)


# -- the registry ----------------------------------------------------------------------------

_registered: dict[str, Kind] = {}

# Event type -> kind, in the order of registration (the order of the preferences form).
KINDS: Mapping[str, Kind] = MappingProxyType(_registered)


class DuplicateKind(ValueError):
    """Two different kinds registered for the same event type."""


def register(*kinds: Kind) -> None:
    """Add kinds to the catalog. Registering the same kind again changes nothing; another kind
    for an event type that already has one is an error."""
    for kind in kinds:
        known = _registered.get(kind.type)
        if known is None:
            _registered[kind.type] = kind
            _event_union.cache_clear()
        elif known != kind:
            raise DuplicateKind(
                f"the notification kind {kind.type!r} is registered twice "
                f"({known.render.__module__} and {kind.render.__module__})"
            )


class EventTypes(AbstractSet[str]):
    """The registered event types whose kind has a flag set, as registered when asked."""

    def __init__(self, flag: str) -> None:
        self._flag = flag

    def _types(self) -> list[str]:
        return [t for t, kind in _registered.items() if getattr(kind, self._flag)]

    def __contains__(self, value: object) -> bool:
        kind = _registered.get(value) if isinstance(value, str) else None
        return kind is not None and bool(getattr(kind, self._flag))

    def __iter__(self) -> Iterator[str]:
        return iter(self._types())

    def __len__(self) -> int:
        return len(self._types())

    def __repr__(self) -> str:
        return f"EventTypes({self._flag!r}: {sorted(self._types())!r})"


# Event types a member's email is on for until they choose otherwise.
DIRECT_EVENTS = EventTypes("direct")
# Security notices, sent whatever the member chose (see ``Kind``).
MANDATORY_EVENTS = EventTypes("mandatory")
# Event types whose messages the operators' outbox counts but never lists (see ``Kind``).
PRIVATE_RECIPIENTS = EventTypes("private_recipients")


@functools.cache
def _event_union() -> Any:
    if not _registered:
        raise LookupError("no notification kind is registered (see core.defaults.notices)")
    classes = tuple(kind.event for kind in _registered.values())
    return Union[classes]  # noqa: UP007 - a union built from a tuple of classes


def decode_event(payload: str | bytes) -> Event:
    """An event back from its stored JSON (the ``type`` tag picks the class)."""
    return msgspec.json.decode(payload, type=_event_union())


def render(event: Event, language: str) -> Rendered:
    """The event's subject, text and link in ``language``."""
    with in_language(language):
        return KINDS[event_type(event)].render(event)
