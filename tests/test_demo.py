"""The demo seed: the cooperative's real cycle, idempotent, upgradable, and true to the rules."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from datetime import date, datetime, time, timedelta

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from core import clock, db
from core.app import create_app
from core.audit.tables import AuditEntry
from core.config import PROJECT_ROOT, Settings, load_settings, zone_of
from core.editions.services import (
    AGM_VOTE,
    CLOSED,
    PHASES,
    PROPOSALS,
    REGISTRATION,
    PhaseWindow,
    get_edition,
    require_phase,
    set_calendar,
)
from core.editions.tables import Edition
from core.members.services import member_by_email
from core.members.tables import Member
from core.piccolo_app import TABLES
from core.plugins import build_registry
from core.polls import export
from core.polls import services as polls
from core.polls.tables import (
    ClearBallot,
    Participation,
    Poll,
    PollCandidate,
    PollTeller,
    Proxy,
    SealedBallot,
)
from core.rules import Rules
from core.themes import services as themes
from core.themes.tables import Support, Theme, ThemeText
from core.voting.files import Export, published_problems
from plugins import demo
from plugins.demo import ACCOUNTS, EARLIER_EDITIONS, EXTRA_MEMBERS_PER_COUNTRY, seed_demo
from tests.demo_helpers import open_agm_poll, open_slug
from tests.poll_support import voters_added_after_opening  # noqa: F401 (the fixture)

pytestmark = pytest.mark.usefixtures("database")


async def counts() -> dict[str, int]:
    return {table._meta.tablename: await table.count() for table in TABLES}


async def titles(edition: str, language: str = "en") -> dict[str, dict]:
    """The edition's themes by their title in ``language``."""
    edition_id = (await Edition.select(Edition.id).where(Edition.slug == edition).first())["id"]
    rows = await Theme.select().where(Theme.edition == edition_id)
    texts = await ThemeText.select(ThemeText.theme, ThemeText.title).where(
        ThemeText.language == language
    )
    title = {t["theme"]: t["title"] for t in texts}
    return {title[r["id"]]: r for r in rows}


def with_threshold(settings: Settings, threshold: int) -> Settings:
    countries = {
        code: msgspec.structs.replace(country, support_threshold=threshold)
        for code, country in settings.countries.items()
    }
    return msgspec.structs.replace(settings, countries=countries)


async def test_seeding_twice_changes_nothing(database):
    assert await seed_demo(database) is True
    first = await counts()
    assert first["member"] == len(ACCOUNTS) + 2 * EXTRA_MEMBERS_PER_COUNTRY
    assert first["edition"] == 3 + len(EARLIER_EDITIONS)
    assert first["theme"] > 0 and first["support"] > 0
    for table in (Poll, PollCandidate, PollTeller, Participation, ClearBallot, Proxy):
        assert first[table._meta.tablename] > 0, table
    # The 2020 polls were counted (their sealed ballots erased); the open edition's polls are
    # drafts that no one voted in yet.
    assert first[SealedBallot._meta.tablename] == 0
    assert await seed_demo(database) is False
    assert await counts() == first


async def test_two_starts_at_once_seed_once(database):
    results = await asyncio.gather(seed_demo(database), seed_demo(database))
    assert True in results
    once = await counts()
    await seed_demo(database)
    assert await counts() == once
    assert once["edition"] == 3 + len(EARLIER_EDITIONS)
    assert once["member"] == len(ACCOUNTS) + 2 * EXTRA_MEMBERS_PER_COUNTRY


async def test_an_accounts_only_database_gets_the_cycle_on_the_next_start(database):
    assert await demo._seed_accounts() is True  # what the previous version of the seed wrote
    assert await Member.count() == len(ACCOUNTS)
    assert await Edition.count() == 0

    assert await seed_demo(database) is True
    assert await Member.count() == len(ACCOUNTS) + 2 * EXTRA_MEMBERS_PER_COUNTRY
    slugs = sorted(r["slug"] for r in await Edition.select(Edition.slug))
    assert slugs == [*EARLIER_EDITIONS, "2019-2020", "2020-2021", open_slug()]
    seeded = await counts()
    assert await seed_demo(database) is False
    assert await counts() == seeded


async def test_an_edition_created_by_hand_is_left_alone(database):
    """An operator who created this year's edition on an accounts-only demo keeps theirs as it
    is."""
    await demo._seed_accounts()
    await Edition.insert(Edition(slug=open_slug()))
    assert await seed_demo(database) is True
    edition = await get_edition(open_slug())
    assert edition.calendars == []
    assert await Theme.count().where(Theme.edition == edition.id) == 0


async def test_the_2020_2021_edition_has_its_four_themes(database):
    await seed_demo(database)
    earlier = await titles("2019-2020")
    assert {"Gender equality", "Sharing economy: a viable economic model?"} <= set(earlier)
    assert all(
        t["origin"] == themes.BOARD and t["status"] == themes.ACCEPTED and t["scope"] == "BE FR"
        for t in earlier.values()
    )

    themes_2020 = await titles("2020-2021")
    assert set(themes_2020) == {
        "Accompaniment",
        "New prospects after the health crisis",
        "Gender equality",
        "Sharing economy: a viable economic model?",
        # on the June 2020 ballots, not elected
        "Mobility of freelancers",
        "Social protection between two contracts",
    }
    for voted in ("Accompaniment", "New prospects after the health crisis"):
        theme = themes_2020[voted]
        assert theme["origin"] in (themes.BOARD, themes.MEMBER)
        assert theme["status"] == themes.ACCEPTED and theme["scope"] == "BE FR"
        assert theme["extended_from"] is None
    gender = themes_2020["Gender equality"]
    assert (gender["origin"], gender["status"], gender["scope"]) == (
        "extended",
        "accepted",
        "BE FR",
    )
    assert gender["extended_from"] == earlier["Gender equality"]["id"]
    assert gender["extension_rationale"].startswith("Le débat doit être approfondi")
    sharing = themes_2020["Sharing economy: a viable economic model?"]
    assert (sharing["origin"], sharing["status"], sharing["scope"]) == (
        "extended",
        "accepted",
        "FR",
    )
    assert sharing["extended_from"] == earlier["Sharing economy: a viable economic model?"]["id"]
    assert sharing["extension_rationale"]

    nl = await titles("2020-2021", "nl")
    fr = await titles("2020-2021", "fr")
    assert {"Begeleiding", "Nieuwe perspectieven na de gezondheidscrisis"} <= set(nl)
    assert {"Gendergelijkheid", "Deeleconomie: een leefbaar economisch model?"} <= set(nl)
    assert {"Accompagnement", "Nouvelles perspectives après la crise sanitaire"} <= set(fr)
    assert {"Égalité de genre", "Économie du partage : un modèle économique viable ?"} <= set(fr)


async def test_every_theme_has_a_title_and_description_in_nl_fr_and_en(database):
    await seed_demo(database)
    texts = await ThemeText.select()
    by_theme: dict[int, dict[str, dict]] = {}
    for text in texts:
        by_theme.setdefault(text["theme"], {})[text["language"]] = text
    assert set(by_theme) == {r["id"] for r in await Theme.select(Theme.id)}
    for languages in by_theme.values():
        assert set(languages) == {"nl", "fr", "en"}
        assert all(t["title"] and t["description"] for t in languages.values())


async def test_past_editions_are_closed_and_every_calendar_follows_the_rules(database):
    await seed_demo(database)
    today = clock.today()
    for slug in ("2019-2020", "2020-2021"):
        edition = await get_edition(slug)
        assert [c.country for c in edition.calendars] == ["BE", "FR"]
        for calendar in edition.calendars:
            assert calendar.current == CLOSED
            assert all(w.ends_on < today for w in calendar.phases)
            assert calendar.window("agm_vote").starts_on.month == 6
    for slug in ("2019-2020", "2020-2021", open_slug()):
        edition = await get_edition(slug)
        for calendar in edition.calendars:
            assert len(calendar.phases) == 7
            # The operators' own calendar rules accept every demo calendar as it is.
            await set_calendar(edition.id, calendar.country, calendar.phases)
        assert await get_edition(slug) == edition


async def test_the_open_edition_runs_this_year_its_proposal_phase_open_today(database):
    await seed_demo(database)
    today = clock.today()
    slug = open_slug()
    assert slug == f"{today.year}-{today.year + 1}"
    assert slug not in ("2019-2020", "2020-2021")
    edition = await get_edition(slug)
    assert [c.country for c in edition.calendars] == ["BE", "FR"]
    for country in ("BE", "FR"):
        assert edition.current_phase(country) == PROPOSALS
        require_phase(edition, country, PROPOSALS)  # raises when closed
        calendar = edition.calendar(country)
        window = calendar.window(PROPOSALS)
        assert window.starts_on <= today <= window.ends_on
        assert (today - window.starts_on).days == 20
        assert (window.ends_on - today).days == 40
        # Every phase of the cycle, in its order, each after the one before: the AGM vote
        # next, then registration, the working groups and the rest.
        assert [w.phase for w in calendar.phases] == list(PHASES)
        for before, after in zip(calendar.phases, calendar.phases[1:], strict=False):
            assert before.ends_on < after.starts_on, (country, before, after)
        agm, registration = calendar.window(AGM_VOTE), calendar.window(REGISTRATION)
        assert window.ends_on < agm.starts_on <= agm.ends_on < registration.starts_on


# The 2020-2021 edition's calendar, as the demo has always seeded it.
CALENDARS_2020 = {
    "BE": [
        ("proposals", "2020-03-01", "2020-04-30"),
        ("agm_vote", "2020-06-03", "2020-06-14"),
        ("registration", "2020-09-02", "2020-10-18"),
        ("working_groups", "2020-11-04", "2021-04-30"),
        ("recommendations", "2021-05-04", "2021-05-29"),
        ("board_review", "2021-06-01", "2021-06-30"),
        ("closed", "2021-07-01", "2021-12-31"),
    ],
    "FR": [
        ("proposals", "2020-03-16", "2020-05-15"),
        ("agm_vote", "2020-06-08", "2020-06-22"),
        ("registration", "2020-09-07", "2020-10-25"),
        ("working_groups", "2020-11-09", "2021-04-23"),
        ("recommendations", "2021-05-03", "2021-05-28"),
        ("board_review", "2021-06-07", "2021-06-28"),
        ("closed", "2021-07-01", "2021-12-31"),
    ],
}


async def test_the_2020_2021_calendar_keeps_its_dates(database):
    await seed_demo(database)
    edition = await get_edition("2020-2021")
    for country, expected in CALENDARS_2020.items():
        assert edition.calendar(country).phases == [
            PhaseWindow(phase, date.fromisoformat(start), date.fromisoformat(end))
            for phase, start, end in expected
        ]


async def test_supports_are_real_rows_counted_once(database):
    await seed_demo(database)
    theme_rows = {r["id"]: r for r in await Theme.select()}
    supports = await Support.select(Support.theme, Support.member)
    per_theme = Counter(s["theme"] for s in supports)
    for theme_id, theme in theme_rows.items():
        assert theme["support_count"] == per_theme.get(theme_id, 0), theme
    assert max(Counter((s["theme"], s["member"]) for s in supports).values()) == 1
    country = {r["id"]: r["country"] for r in await Member.select(Member.id, Member.country)}
    for support in supports:
        theme = theme_rows[support["theme"]]
        assert support["member"] != theme["proposer"]
        assert theme["status"] in (themes.SUBMITTED, themes.REJECTED)
        assert country[support["member"]] in theme["scope"].split()


async def test_open_edition_has_proposals_at_every_stage_in_each_country(database):
    await seed_demo(database)
    edition = await get_edition(open_slug())
    rows = await Theme.select().where(Theme.edition == edition.id)
    country = {r["id"]: r["country"] for r in await Member.select(Member.id, Member.country)}
    by_id = {r["id"]: r for r in rows}
    for code in ("BE", "FR"):
        mine = [r for r in rows if r["scope"] == code]
        assert all(r["origin"] == themes.MEMBER for r in mine)
        assert all(country[r["proposer"]] == code for r in mine)
        statuses = Counter(r["status"] for r in mine)
        assert statuses["draft"] == statuses["rejected"] == statuses["merged"] == 1
        assert statuses["submitted"] >= 3
        draft = next(r for r in mine if r["status"] == themes.DRAFT)
        assert draft["submitted_at"] is None and draft["support_count"] == 0
        rejected = next(r for r in mine if r["status"] == themes.REJECTED)
        assert rejected["rejection_reason"] and rejected["decided_at"] is not None
        merged = next(r for r in mine if r["status"] == themes.MERGED)
        target = by_id[merged["merged_into"]]
        assert target["scope"] == code and target["status"] == themes.SUBMITTED
        assert merged["support_count"] == 0
        gathering = [
            r for r in mine if r["status"] == themes.SUBMITTED and 0 < r["support_count"] < 25
        ]
        assert len(gathering) >= 2


async def test_one_proposal_per_country_is_really_over_the_threshold(database):
    await seed_demo(database)
    # The threshold that applies: config.toml writes none, so the country tracks' (25).
    rules, edition = Rules(build_registry(database), database), await get_edition(open_slug())
    threshold = {code: rules.support_threshold(edition, code) for code in database.countries}
    assert threshold == {"BE": 25, "FR": 25}
    rows = await Theme.select().where(Theme.origin == themes.MEMBER)
    for code in ("BE", "FR"):
        over = [
            r
            for r in rows
            if r["scope"] == code
            and r["status"] == themes.SUBMITTED
            and r["support_count"] >= threshold[code]
        ]
        assert len(over) == 1
        assert over[0]["threshold_reached_at"] is not None
        assert over[0]["submitted_at"] < over[0]["threshold_reached_at"] <= clock.now()
    for row in rows:
        reached = row["support_count"] >= threshold[row["scope"]]
        assert (row["threshold_reached_at"] is not None) == reached, row


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_higher_threshold_is_not_faked(database):
    """With 35 possible supporters and a threshold of 40, no proposal claims to be over it."""
    await seed_demo(with_threshold(database, 40))
    assert await Theme.count().where(Theme.threshold_reached_at.is_not_null()) == 0


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_low_threshold_marks_every_proposal_that_reaches_it(database):
    await seed_demo(with_threshold(database, 3))
    rows = await Theme.select().where(Theme.origin == themes.MEMBER)
    for row in rows:
        assert (row["threshold_reached_at"] is not None) == (row["support_count"] >= 3), row
    assert sum(r["threshold_reached_at"] is not None for r in rows) >= 6


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_the_thresholds_come_from_the_platforms_rules(database):
    """A proposal is marked over the threshold only where its supports reach the country's."""
    from msgspec.structs import replace

    stricter = replace(
        database,
        countries={
            **database.countries,
            "BE": replace(database.countries["BE"], support_threshold=40),
        },
    )
    await seed_demo(stricter)
    over = await Theme.select(Theme.scope).where(Theme.threshold_reached_at.is_not_null())
    assert [r["scope"] for r in over] == ["FR"]


async def test_demo_members_can_use_the_open_edition_today(database):
    """The services, with their phase checks, accept the seeded state."""
    await seed_demo(database)
    rules = Rules(registry=build_registry(database), settings=database)
    facilitator = await member_by_email("facilitator@demo.smart.coop")  # BE, supports nothing
    workspaces = (await titles(open_slug()))["Sharing workspaces"]
    count = await themes.support(rules, facilitator, workspaces["id"])
    assert count == workspaces["support_count"] + 1
    with pytest.raises(Exception, match="already"):
        await themes.support(rules, facilitator, workspaces["id"])
    edition = await get_edition(open_slug())
    new = await themes.propose(
        rules, facilitator, edition.id, themes.ThemeTextIn(title="Learning from each other")
    )
    await themes.submit(rules, facilitator, new)


async def poll_titles(poll_id: int) -> dict[int, str]:
    """The poll's candidates: number -> English title."""
    candidates = await PollCandidate.select(PollCandidate.number, PollCandidate.theme).where(
        PollCandidate.poll == poll_id
    )
    texts = await ThemeText.select(ThemeText.theme, ThemeText.title).where(
        ThemeText.language == "en"
    )
    title = {t["theme"]: t["title"] for t in texts}
    return {c["number"]: title[c["theme"]] for c in candidates}


async def test_the_june_2020_polls_are_published_and_elected_the_two_themes(database):
    await seed_demo(database)
    edition = await get_edition("2020-2021")
    rows = await Poll.select().where(Poll.edition == edition.id).order_by(Poll.country)
    assert [(r["country"], r["method"], r["seats"]) for r in rows] == [
        ("BE", "schulze", 2),
        ("FR", "approval", 2),
    ]
    for row in rows:
        assert row["state"] == polls.PUBLISHED
        for moment in ("opens_at", "closes_at", "closed_at", "published_at"):
            assert (row[moment].year, row[moment].month) == (2020, 6), moment
        assert row["opens_at"] < row["closes_at"] <= row["published_at"]
        titles_of = await poll_titles(row["id"])
        # The ballot: the accepted themes of the country, not the extended ones.
        assert set(titles_of.values()) == {
            "Accompaniment",
            "New prospects after the health crisis",
            "Mobility of freelancers",
            "Social protection between two contracts",
        }
        result = await polls.result_of(row["id"])
        assert {titles_of[n] for n in result.winners} == set(demo.WON_2020)
        ballots = await ClearBallot.count().where(ClearBallot.poll == row["id"])
        assert ballots == await Participation.count().where(Participation.poll == row["id"])
        assert ballots == result.ballots >= 20
        assert len(await polls.trackers_of(row["id"])) == ballots
        assert row["public_key"] and row["tellers_needed"] == demo.TELLERS_NEEDED
        # Its published list holds together: what ``sip verify`` checks.
        published = msgspec.json.decode(await export.export_json(row["id"]), type=Export)
        assert published_problems(published) == []
        voters = await Participation.select(Participation.member.country).where(
            Participation.poll == row["id"]
        )
        assert {v["member.country"] for v in voters} == {row["country"]}


async def test_the_open_editions_polls_wait_as_drafts_inside_the_agm_phase(database):
    await seed_demo(database)
    edition = await get_edition(open_slug())
    rows = await Poll.select().where(Poll.edition == edition.id).order_by(Poll.country)
    assert [(r["country"], r["method"], r["seats"]) for r in rows] == [
        ("BE", "schulze", 2),
        ("FR", "stv", 2),
    ]
    now = clock.now()
    for row in rows:
        # A draft, not opened: its window lies inside the country's AGM vote phase, weeks after
        # the proposal phase open today.
        assert row["state"] == polls.DRAFT and not row["public_key"]
        agm = edition.calendar(row["country"]).window(AGM_VOTE)
        problem = polls.agm_window_problem(
            edition, row["country"], row["opens_at"], row["closes_at"]
        )
        assert problem is None, problem
        zone = zone_of(row["country"])
        assert datetime.combine(agm.starts_on, time(0), tzinfo=zone) <= row["opens_at"]
        assert row["closes_at"] <= datetime.combine(
            agm.ends_on + timedelta(days=1), time(0), tzinfo=zone
        )
        assert now < row["opens_at"] < row["closes_at"]
        assert len(await poll_titles(row["id"])) >= 3
        assert await Participation.count().where(Participation.poll == row["id"]) == 0
        # The demo tellers are named; TELLERS_NEEDED of them will count.
        poll = await polls.get_poll(row["id"])
        assert poll.tellers_needed == demo.TELLERS_NEEDED >= 2
        tellers = await polls.tellers_of(poll)
        assert len(tellers) > poll.tellers_needed
        numbers = set(demo.TELLERS_OF[row["country"]])
        assert {
            m["member_number"]
            for m in await Member.select(Member.member_number).where(
                Member.id.is_in([t.member_id for t in tellers])
            )
        } == numbers
        assert not any(t.waiting or t.collected for t in tellers)  # no key yet
        active = await Proxy.select(Proxy.grantor.email, Proxy.holder.email).where(
            (Proxy.poll == row["id"]) & Proxy.revoked_at.is_null()
        )
        expected = {
            "BE": ("an.claes@demo.smart.coop", "emma.willems@demo.smart.coop"),
            "FR": ("chloe.robert@demo.smart.coop", "louis.richard@demo.smart.coop"),
        }[row["country"]]
        assert [(p["grantor.email"], p["holder.email"]) for p in active] == [expected]


async def test_every_demo_poll_lies_inside_its_agm_phase_without_an_override(database):
    await seed_demo(database)
    rows = await Poll.select(
        Poll.edition, Poll.country, Poll.opens_at, Poll.closes_at, Poll.edition.slug
    )
    assert len(rows) == 4
    for row in rows:
        edition = await get_edition(row["edition.slug"])
        assert edition.calendar(row["country"]).window(AGM_VOTE) is not None, row
        problem = polls.agm_window_problem(
            edition, row["country"], row["opens_at"], row["closes_at"]
        )
        assert problem is None, row
    created = await AuditEntry.select(AuditEntry.details).where(AuditEntry.action == "poll.create")
    assert len(created) == 4
    assert not any("outside_agm_phase" in json.loads(e["details"]) for e in created)


async def test_an_operator_opens_the_agm_vote_and_a_shareholder_votes(database):
    """The way an operator would: the AGM vote phase moved to today, the draft poll replaced
    by one open now (``tests.demo_helpers.open_agm_poll``)."""
    await seed_demo(database)
    rules = Rules(registry=build_registry(database), settings=database)
    poll_id = await open_agm_poll(database, "BE")
    edition = await get_edition(open_slug())
    assert edition.current_phase("BE") == AGM_VOTE
    assert edition.current_phase("FR") == PROPOSALS  # the other country's calendar stays
    row = await Poll.select().where(Poll.id == poll_id).first()
    assert row["state"] == polls.OPEN
    assert row["opens_at"] <= clock.now() < row["closes_at"]
    assert polls.agm_window_problem(edition, "BE", row["opens_at"], row["closes_at"]) is None
    # The demo tellers each hold a share of its key; the demo proxy stands.
    tellers = await polls.tellers_of(await polls.get_poll(poll_id))
    assert len(tellers) == len(demo.TELLERS_OF["BE"])
    assert all(t.waiting and not t.collected for t in tellers)
    assert await Proxy.count().where((Proxy.poll == poll_id) & Proxy.revoked_at.is_null()) == 1

    # A demo shareholder votes today.
    voter = await member_by_email("julie.lambert@demo.smart.coop")
    numbers = sorted(await poll_titles(poll_id))
    assert len(numbers) >= 3
    receipt = await polls.cast(rules, voter, poll_id, numbers)
    assert await polls.tracker_is_listed(poll_id, receipt)
    assert await SealedBallot.count().where(SealedBallot.poll == poll_id) == 1


async def test_the_demo_pages_answer_on_a_fresh_database(client):
    await seed_demo(client.app.state.settings)
    slug = open_slug()
    for path in ("/", "/editions", f"/editions/{slug}", f"/editions/{slug}/polls"):
        response = await client.get(path)
        assert response.status_code == 200, path
    assert slug in (await client.get("/editions")).text
    edition = await get_edition(slug)
    polls_of = await Poll.select(Poll.id).where(Poll.edition == edition.id)
    assert len(polls_of) == 2
    for row in polls_of:
        response = await client.get(f"/polls/{row['id']}")
        assert response.status_code == 200, row


async def test_a_database_of_the_previous_seed_gets_the_polls(database):
    await demo._seed_accounts()
    await demo._seed_extra_members()
    await demo._seed_past_editions()
    await demo._seed_open_edition(database)
    assert await Poll.count() == 0
    assert await seed_demo(database) is True
    assert await Poll.count() == 4
    seeded = await counts()
    assert await seed_demo(database) is False
    assert await counts() == seeded


async def test_the_footer_shows_the_contact_address_of_config_toml(database, monkeypatch):
    """The shipped config.toml (what ``sip serve --demo`` runs with) names the demo's contact,
    and every page's footer shows the configured address."""
    monkeypatch.setenv("SIP_SECRET_KEY", "k" * 40)
    shipped = load_settings(PROJECT_ROOT / "config.toml")
    assert shipped.platform.contact_email == "smartinprogress@smart.coop"
    settings = msgspec.structs.replace(database, platform=shipped.platform)
    app = create_app(settings, engine=db.engine())
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
        for path in ("/", "/editions"):
            footer = re.search(r"<footer.*?</footer>", (await client.get(path)).text, re.S)
            assert footer is not None, path
            assert 'href="mailto:smartinprogress@smart.coop"' in footer.group(0), path
