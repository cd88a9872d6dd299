"""The platform's notion of "now" and "today": one place, so tests can move time, and so a
seed (the demo) can write its past through the services with the clock frozen on each moment
(``frozen_at``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime

_frozen: ContextVar[datetime | None] = ContextVar("sip_frozen_now", default=None)


def now() -> datetime:
    moment = _frozen.get()
    return datetime.now(UTC) if moment is None else moment


def today() -> date:
    return now().date()


@contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    """Within the block, ``now()`` and ``today()`` answer ``moment`` in this task only: the
    server's other requests, and other tasks, keep the real time."""
    token = _frozen.set(moment)
    try:
        yield
    finally:
        _frozen.reset(token)
