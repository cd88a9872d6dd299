"""The demo's frozen clock: it seeds its past through the services, one moment at a time.

The services stamp what they write with ``core.clock.now()`` (and check phases against
``core.clock.today()`` unless given ``today``); ``at(moment)`` is ``core.clock.frozen_at``:
within it they answer ``moment`` in the seeding task, and the real time everywhere else.
"""

from __future__ import annotations

from core.clock import frozen_at as at

__all__ = ["at"]
