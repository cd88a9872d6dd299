"""Demo data for ``sip serve --demo``: seeded on first start, left alone afterwards.

The seed comes in parts, each with its own marker, so a database seeded by an older version
(accounts only) gets the newer parts on its next start, and a second start changes nothing:

* the demo accounts (marker: member D-0001), printed at start-up;
* 30 plain members per country who support proposals (marker: member D-1001), not printed;
* the cooperative's past editions 2019-2020 and 2020-2021 with their themes (marker: either
  edition exists);
* an open edition named after the year it is seeded in (``open_edition_slug``: 2026-2027 in
  2026) whose proposal phase is open on the day it is seeded, the AGM vote, registration and
  working groups following in that order, with member proposals at every stage (marker: the
  edition exists);
* the AGM polls (marker: any poll exists): the June 2020 polls of BE and FR on 2020-2021,
  published, which elected Accompaniment and New prospects after the health crisis; and a
  draft poll per country on the open edition, its voting window inside the country's AGM
  vote phase, with its tellers named and one proxy each (an operator opens it when the AGM
  vote comes).
* the 2020-2021 working groups in BE and FR, with waiting list, availability polls, meetings
  and attendance, and the info sessions of 16 December 2020 (marker: any working group
  exists; ``groups.py``).
* the editions since 2015-2016 with their themes and archived figures, the recommendations of
  the groups, the board's decisions and the projects, among them the 2019 ethics committee
  (marker: the edition 2015-2016 exists; ``recommendations.py``).

The demo is a package outside the core (``sip serve --demo`` loads it by name; it is no
country plugin, and ``core.plugins`` does not list it). It writes through the services, as
the people of each moment would have, with the clock frozen on that moment (``frozen.py``):
the accounts and members through the member import, roles through ``grant_role``, the
editions and calendars through the editions services, board themes through
``add_board_theme``, the 2020-2021 extensions through the ``extend_theme`` plugin's service and
rules (enabled in both countries for the seed where the settings do not enable it), the
proposals through propose, submit, support, reject and merge, and the polls through the poll
services. The working groups, their slots, answers, plans and attendance, the info sessions, the
recommendations with their comments and endorsements, the bundles, the board's decisions and
the projects go through the groups, planning, info sessions, recommendations, deciding and
projects services (``groups.py``, ``recommendations.py``). What no service takes is set
afterwards: the rows' creation times (their columns default to the real time), the archived
figures of the editions before the platform (2015-2016 to 2019-2020), and the demo password
(one hash shared by the accounts).

Later parts of the platform add their own demo data through ``seed_demo``.
"""

from __future__ import annotations

import asyncio
import weakref
from functools import partial

from core import db
from core.config import Settings
from plugins.demo.calendars import PAST_EDITIONS, open_edition_slug
from plugins.demo.groups import seed_groups
from plugins.demo.open_edition import _seed_open_edition
from plugins.demo.people import (
    ACCOUNTS,
    BOARD_NUMBER,
    DEMO_PASSWORD,
    EXTRA_MEMBERS_PER_COUNTRY,
    OPERATOR_OF,
    DemoAccount,
    _seed_accounts,
    _seed_extra_members,
    extra_numbers,
)
from plugins.demo.polls import TELLERS_NEEDED, TELLERS_OF, WON_2020, _seed_polls
from plugins.demo.recommendations import seed_record
from plugins.demo.record_data import ARCHIVE, EARLIER_EDITIONS
from plugins.demo.themes import _seed_past_editions

__all__ = [
    "ACCOUNTS",
    "ARCHIVE",
    "BOARD_NUMBER",
    "DEMO_PASSWORD",
    "EARLIER_EDITIONS",
    "EXTRA_MEMBERS_PER_COUNTRY",
    "OPERATOR_OF",
    "PAST_EDITIONS",
    "TELLERS_NEEDED",
    "TELLERS_OF",
    "WON_2020",
    "DemoAccount",
    "extra_numbers",
    "open_edition_slug",
    "seed_demo",
]


# -- seeding ----------------------------------------------------------------------------------


# One seed at a time in a process (a lock per event loop); across processes, see below.
_SEEDING: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


async def seed_demo(settings: Settings) -> bool:
    """Seed each missing part of the demo; True when something was created.

    ``settings`` (and the plugins it enables) give the support thresholds. Two seeds in one
    process take turns; two processes seeding at once each write what is missing, and a
    unique constraint refuses the loser's duplicates (``_lost_race``).
    """
    lock = _SEEDING.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with lock:
        return await _seed_parts(settings)


async def _seed_parts(settings: Settings) -> bool:
    created = False
    for part in (
        _seed_accounts,
        _seed_extra_members,
        partial(_seed_past_editions, settings),
        partial(_seed_open_edition, settings),
        partial(_seed_polls, settings),
        # the 2020-2021 working groups and info sessions (groups.py)
        partial(seed_groups, settings),
        # the editions since 2015, recommendations, projects (recommendations.py)
        partial(seed_record, settings),
    ):
        try:
            created = await part() or created
        except Exception as exc:
            # Another start seeded the same part at the same moment: its rows stand.
            if not _lost_race(exc):
                raise
    return created


def _lost_race(exc: BaseException | None) -> bool:
    """Did a unique constraint refuse the write, also under the service's own error (the
    services answer a duplicate with a ``Conflict`` raised from it)?"""
    while exc is not None:
        if db.is_unique_violation(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False
