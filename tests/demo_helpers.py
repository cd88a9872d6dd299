"""Tests on the demo data: its open edition's name, and an AGM poll open now.

The demo's open edition is in its proposal phase; its AGM polls wait as drafts inside the AGM
vote phase, weeks away. A test that needs a poll open now gets one the way an operator would:
it moves the country's calendar so that the AGM vote phase starts today (the demo's calendar,
shifted: the proposal phase is over), replaces the demo's draft poll (no ballot in it) with
one whose window is now and lies inside the phase, names the demo's tellers, lets the demo's
grantor give her proxy again, and opens it. ``open_agm_poll`` does it through the services;
the browser tests do the same through the JSON API (``agm_poll`` in tests/browser/conftest.py)
with ``agm_now_calendar`` and ``poll_window``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from core import clock
from core.config import Settings, zone_of
from core.editions.services import AGM_VOTE, PhaseWindow, get_edition, set_calendar
from core.members.services import load_member
from core.plugins import build_registry
from core.polls import proxies as poll_proxies
from core.polls import services as polls
from core.polls.tables import Poll
from core.rules import Rules
from plugins.demo import OPERATOR_OF, TELLERS_NEEDED, TELLERS_OF, open_edition_slug
from plugins.demo.calendars import open_calendar
from plugins.demo.people import demo_member, member_ids
from plugins.demo.polls import DEMO_PROXIES

# What the operator writes when replacing the demo's draft poll (the audit log keeps it).
REPLACE_REASON = "The AGM vote moved to today: the poll opens now, inside its phase."


def open_slug(today: date | None = None) -> str:
    """The demo's open edition, as seeded today."""
    return open_edition_slug(today or clock.today())


def agm_now_calendar(country: str, today: date | None = None) -> list[PhaseWindow]:
    """The demo's open calendar of ``country`` moved so that its AGM vote phase starts today:
    the proposal phase is over, the other phases follow in order."""
    today = today or clock.today()
    agm = next(w for w in open_calendar(today, country) if w.phase == AGM_VOTE)
    return open_calendar(today - (agm.starts_on - today), country)


def calendar_json(windows: list[PhaseWindow]) -> list[dict[str, str]]:
    """The calendar as the JSON API takes it (``PUT /api/editions/{slug}/calendar/{country}``)."""
    return [
        {"phase": w.phase, "starts_on": w.starts_on.isoformat(), "ends_on": w.ends_on.isoformat()}
        for w in windows
    ]


def poll_window(country: str, today: date | None = None) -> tuple[datetime, datetime]:
    """A voting window open now: the whole moved AGM vote phase, from 00:00 on its first day
    (today) to 24:00 on its last, in the country's time zone (as the poll services read the
    phase's days)."""
    today = today or clock.today()
    agm = next(w for w in agm_now_calendar(country, today) if w.phase == AGM_VOTE)
    zone = zone_of(country)
    opens_at = datetime.combine(agm.starts_on, time(0), tzinfo=zone)
    closes_at = datetime.combine(agm.ends_on + timedelta(days=1), time(0), tzinfo=zone)
    return opens_at.astimezone(UTC), closes_at.astimezone(UTC)


async def open_agm_poll(settings: Settings, country: str) -> int:
    """The demo's AGM poll of ``country`` in its open edition, open now, through the services
    as the country's demo operator (and the demo grantor for her proxy): its id."""
    rules = Rules(build_registry(settings), settings)
    operator = await demo_member(OPERATOR_OF[country])
    assert operator is not None
    edition = await get_edition(open_slug())
    await set_calendar(edition.id, country, agm_now_calendar(country), actor=operator)
    draft = await (
        Poll.select(Poll.method, Poll.seats)
        .where(
            (Poll.edition == edition.id) & (Poll.country == country) & (Poll.state == polls.DRAFT)
        )
        .first()
    )
    assert draft is not None, f"the demo has no draft poll of {country} in {edition.slug}"
    opens_at, closes_at = poll_window(country)
    poll_id = await polls.create_poll(
        rules,
        operator,
        edition.id,
        country,
        draft["method"],
        draft["seats"],
        opens_at,
        closes_at,
        replace=True,
        replace_reason=REPLACE_REASON,
    )
    tellers = await member_ids(list(TELLERS_OF[country]))
    await polls.set_tellers(
        rules, operator, poll_id, [tellers[n] for n in TELLERS_OF[country]], TELLERS_NEEDED
    )
    grantor_number, holder_number = DEMO_PROXIES[country]
    ids = await member_ids([grantor_number, holder_number])
    grantor = await load_member(ids[grantor_number])
    assert grantor is not None
    await poll_proxies.grant_proxy(rules, grantor, poll_id, ids[holder_number])
    await polls.open_poll(rules, operator, poll_id)
    return poll_id
