"""Dates, times and numbers as people read them (issue 17, item 8): Babel's words in the
reader's language, times in the country's time zone (summer and winter), and what an operator
types in the poll form read as the poll country's local time. Pages never print an ISO date
as text; ``<time datetime>`` and date inputs keep ISO 8601 for machines."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from html.parser import HTMLParser

import msgspec
import pytest

from core import formats
from core.events import PollOpened
from core.i18n import current_language
from core.notifications.tables import Notification, NotificationEvent
from core.polls import services as polls
from core.polls.tables import Poll
from tests.conftest import add_member, csrf_token, sign_in
from tests.test_poll_pages import make_edition

ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
SUMMER = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)  # 10:00 in Brussels (CEST, UTC+2)
WINTER = datetime(2026, 12, 7, 13, 30, tzinfo=UTC)  # 14:30 in Brussels (CET, UTC+1)


@contextmanager
def reading_in(language: str) -> Iterator[None]:
    token = current_language.set(language)
    try:
        yield
    finally:
        current_language.reset(token)


# -- the formats ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "expected"),
    [("fr", "7 décembre 2026"), ("nl", "7 december 2026"), ("en", "7 December 2026")],
)
def test_a_day_is_written_in_the_reader_s_language(language, expected):
    with reading_in(language):
        assert formats.day(date(2026, 12, 7)) == expected
        assert formats.day(WINTER, "BE") == expected


def test_a_datetime_s_day_is_its_local_day():
    late = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)  # already 8 December in Brussels
    with reading_in("en"):
        assert formats.day(late, "BE") == "8 December 2026"
        assert formats.day(late) == "7 December 2026"  # no country: the day as given


def test_times_are_in_brussels_time_in_summer_and_in_winter():
    with reading_in("en"):
        assert formats.clock(SUMMER, "BE") == "10:00"
        assert formats.clock(WINTER, "BE") == "14:30"
        assert formats.moment(WINTER, "BE") == "Monday 7 December 2026, 14:30"
        assert formats.short_moment(SUMMER, "FR") == "10 June 2026, 10:00"
        assert formats.local_input(SUMMER, "BE") == "2026-06-10T10:00"
        assert formats.local_input(WINTER, "BE") == "2026-12-07T14:30"
        assert formats.zone_name("BE") == "Central European Time"
    with reading_in("fr"):
        assert formats.moment(WINTER, "BE") == "lundi 7 décembre 2026, 14:30"
    with reading_in("nl"):
        assert formats.moment(WINTER, "BE") == "maandag 7 december 2026, 14:30"


def test_a_typed_time_without_offset_is_the_country_s_local_time():
    summer = formats.from_local(datetime(2026, 6, 10, 10, 0), "BE")
    winter = formats.from_local(datetime(2026, 12, 10, 10, 0), "BE")
    assert summer == SUMMER and summer.utcoffset() == timedelta(hours=2)
    assert winter == datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
    assert winter.utcoffset() == timedelta(hours=1)
    # An offset given is kept.
    given = datetime(2026, 6, 10, 10, 0, tzinfo=timezone(timedelta(hours=-3)))
    assert formats.from_local(given, "BE") is given


def test_a_span_of_days():
    with reading_in("fr"):
        assert (
            formats.day_range(date(2021, 6, 3), date(2021, 6, 14)) == "3 juin 2021 – 14 juin 2021"
        )
        assert formats.day_range(date(2021, 6, 3), date(2021, 6, 3)) == "3 juin 2021"


def test_numbers_are_written_the_reader_s_way():
    with reading_in("en"):
        assert formats.count(1.0) == "1"
        assert formats.count(Decimal("1.00000")) == "1"
        assert formats.count(1234) == "1,234"
        assert formats.count(2.5) == "2.5"
        assert formats.count(Fraction(1, 3)) == "0.33"
    with reading_in("fr"):
        assert formats.count(2.5) == "2,5"
        assert formats.count(1.0) == "1"
    with reading_in("nl"):
        assert formats.count(Fraction(5, 2)) == "2,5"


def test_notices_give_dates_and_times_in_the_country_s_time_and_the_reader_s_words():
    from core.events import DecisionRecorded, PollClosing
    from core.polls.notices import _closing
    from core.recommendations.notices import _decision_recorded

    closing = PollClosing(country="BE", poll_id=1, edition="2026-2027", closes_at=WINTER)
    decided = DecisionRecorded(
        country="BE",
        recommendation_id=1,
        group_id=1,
        edition="2026-2027",
        title="Shared tools",
        decision_id=1,
        outcome="adopted",
        decided_on=date(2026, 12, 7),
    )
    with reading_in("fr"):
        assert "lundi 7 décembre 2026, 14:30" in _closing(closing).body
        assert "7 décembre 2026" in _decision_recorded(decided).body
    with reading_in("en"):
        body = _closing(closing).body
        assert "Monday 7 December 2026, 14:30" in body and "UTC" not in body
        assert not ISO_DAY.search(body + _decision_recorded(decided).body)


# -- pages ------------------------------------------------------------------------------------


class _Text(HTMLParser):
    """The text a person reads: text nodes only, without attributes, scripts and styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in ("script", "style"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return " ".join(parser.parts)


def assert_no_iso_date(page: str) -> None:
    text = visible_text(page)
    found = ISO_DAY.search(text)
    assert found is None, text[max(found.start() - 80, 0) : found.end() + 80]


def poll_form(csrf: str, **fields: str) -> dict[str, str]:
    return {
        "_csrf_token": csrf,
        "country": "BE",
        "method": "approval",
        "seats": "2",
        "opens_at": "2026-06-10T10:00",
        "closes_at": "2026-12-10T10:00",
        **fields,
    }


async def test_a_poll_created_with_local_times_is_stored_in_utc(pooled):
    from core.plugins import build_registry
    from core.rules import Rules
    from tests.test_poll_calendar import setup

    rules = Rules(build_registry(pooled), pooled)
    edition_id, operator = await setup(rules)
    poll_id = await polls.create_poll(
        rules,
        operator,
        edition_id,
        "FR",  # no calendar in the edition: any window
        "approval",
        2,
        datetime(2026, 6, 10, 10, 0),
        datetime(2026, 12, 10, 10, 0),
    )
    poll = await polls.get_poll(poll_id)
    assert poll.opens_at == SUMMER  # 10:00 in Paris in June is 08:00 UTC
    assert poll.closes_at == datetime(2026, 12, 10, 9, 0, tzinfo=UTC)


async def test_the_poll_form_reads_times_in_the_poll_country_s_time(client):
    operator = await add_member("op@example.org", roles=(("operator", "BE"),))
    await make_edition(client, operator)
    await sign_in(client, operator)
    csrf = await csrf_token(client)

    listing = (await client.get("/editions/2020-2021/polls")).text
    assert "Opens (Central European Time)" in listing and "(UTC)" not in listing

    created = await client.post(
        "/editions/2020-2021/polls", data=poll_form(csrf), follow_redirects=False
    )
    assert created.status_code == 303, created.text
    poll_id = int(created.headers["location"].rsplit("/", 1)[1])
    poll = await polls.get_poll(poll_id)
    assert poll.opens_at == datetime(2026, 6, 10, 8, 0, tzinfo=UTC)  # summer: UTC+2
    assert poll.closes_at == datetime(2026, 12, 10, 9, 0, tzinfo=UTC)  # winter: UTC+1

    page = (await client.get(f"/polls/{poll_id}")).text
    assert "10:00" in visible_text(page) and "08:00" not in visible_text(page)
    assert f'datetime="{poll.opens_at.isoformat()}"' in page  # machines keep ISO 8601
    assert_no_iso_date(page)
    # The JSON API keeps ISO 8601 with an offset.
    shown = (await client.get(f"/api/polls/{poll_id}")).json()
    assert datetime.fromisoformat(shown["opens_at"]) == poll.opens_at


async def test_an_offset_given_to_the_api_is_kept(client):
    operator = await add_member("op@example.org", roles=(("operator", "BE"),))
    await make_edition(client, operator)
    await sign_in(client, operator)
    created = await client.post(
        "/api/editions/2020-2021/polls",
        json={
            "country": "BE",
            "method": "approval",
            "seats": 2,
            "opens_at": "2026-06-10T10:00:00+00:00",
            "closes_at": "2026-06-10T18:00:00-03:00",
        },
        headers={"x-csrftoken": await csrf_token(client)},
    )
    assert created.status_code == 201, created.text
    poll = await polls.get_poll(created.json()["id"])
    assert poll.opens_at == datetime(2026, 6, 10, 10, 0, tzinfo=UTC)
    assert poll.closes_at == datetime(2026, 6, 10, 21, 0, tzinfo=UTC)


async def test_a_malformed_time_shows_the_form_again(client):
    operator = await add_member("op@example.org", roles=(("operator", "BE"),))
    await make_edition(client, operator)
    await sign_in(client, operator)
    csrf = await csrf_token(client)
    for bad in ("10/06/2026 10h", "2026-13-40T10:00", ""):
        sent = await client.post(
            "/editions/2020-2021/polls",
            data=poll_form(csrf, opens_at=bad),
            follow_redirects=False,
        )
        assert sent.status_code == 400, (bad, sent.status_code)
        assert 'id="poll-error"' in sent.text
        assert "date and time" in html.unescape(sent.text)
    assert await Poll.count() == 0  # nothing written


async def test_pages_show_no_iso_date_to_people(client):
    operator = await add_member("op@example.org", roles=(("operator", "BE"),))
    await make_edition(client, operator)
    await sign_in(client, operator)
    csrf = await csrf_token(client)
    created = await client.post(
        "/editions/2020-2021/polls", data=poll_form(csrf), follow_redirects=False
    )
    assert created.status_code == 303, created.text
    poll_id = int(created.headers["location"].rsplit("/", 1)[1])

    event = PollOpened(country="BE", poll_id=poll_id, edition="2020-2021", closes_at=WINTER)
    rows = await NotificationEvent.insert(
        NotificationEvent(
            key=f"poll_opened:{poll_id}",
            event_type="poll_opened",
            country="BE",
            payload=msgspec.json.encode(event).decode(),
        )
    )
    await Notification.insert(
        Notification(
            member=operator, event=rows[0]["id"], idempotency_key="test", created_at=SUMMER
        )
    )

    listing = (await client.get("/editions/2020-2021/polls")).text
    assert_no_iso_date(listing)

    notifications = (await client.get("/notifications")).text
    assert_no_iso_date(notifications)
    text = visible_text(notifications)
    assert "Wednesday 10 June 2026, 10:00" in text  # when it came, in Brussels time
    assert "Monday 7 December 2026, 14:30" in text  # the poll's closing, in the notice
    assert "UTC" not in text

    audit = (await client.get("/operator/audit")).text
    assert "When (UTC)" not in audit and ">When<" in audit
    # The details column shows the record as stored (ISO 8601 there is data, not a date
    # written for people); every other cell is checked.
    assert_no_iso_date(re.sub(r'<ul class="plain">.*?</ul>', "", audit, flags=re.S))
