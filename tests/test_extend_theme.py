"""The extend_theme plugin: a theme of the previous edition runs one more year, by its rules.

The cycle built here: 2018-2019 has one theme; 2019-2020 has four, and Belgium's general
meeting elected two of them (Gender equality, Sharing economy) over a third (Lost in Belgium),
while France held no AGM poll (so its accepted themes ran), and one theme ran in France only.
Every test runs on SQLite and PostgreSQL; after each refusal the themes and their texts are
compared with a snapshot taken before it: a refusal changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from msgspec.structs import replace

from core import clock, db, hookimpl
from core.app import create_app
from core.config import ConfigError, Country, Settings
from core.editions import services as editions
from core.errors import Forbidden, InvalidInput, NotFound
from core.members.model import CurrentMember
from core.members.services import load_member
from core.plugins import build_registry
from core.polls import services as polls
from core.rules import Rules
from core.themes import services as themes
from core.themes.extensions import Refusal
from core.themes.tables import Theme, ThemeText
from plugins.extend_theme import services as extension
from plugins.extend_theme.services import ExtensionRefused, NotEnabled
from tests.conftest import add_member, csrf_token, make_settings, sign_in
from tests.poll_support import (
    close_and_count,
    open_box,
    voters_added_after_opening,  # noqa: F401 (the fixture)
)

BOTH = ("BE", "FR")
RATIONALE = "Needs a deeper debate: the groups asked for a second year."


def configured(
    settings: Settings,
    be: tuple[str, ...] = ("track_be", "extend_theme"),
    fr: tuple[str, ...] = ("track_fr", "extend_theme"),
    options: dict[str, Any] | None = None,
) -> Settings:
    return replace(
        settings,
        countries={
            "BE": Country(name="Belgium", plugins=list(be)),
            "FR": Country(name="France", plugins=list(fr)),
        },
        plugins=options or {},
    )


@dataclass
class Cycle:
    rules: Rules
    board: CurrentMember
    op_be: CurrentMember
    op_fr: CurrentMember
    member: CurrentMember
    editions: dict[str, int]
    old: int  # 2018-2019, BE FR
    gender: int  # 2019-2020, BE FR, elected in BE
    sharing: int  # 2019-2020, BE FR, elected in BE
    lost: int  # 2019-2020, BE FR, lost the BE vote (ran in FR: no poll there)
    french: int  # 2019-2020, FR only


async def member(email: str, country: str = "BE", roles: tuple = ()) -> CurrentMember:
    found = await load_member(await add_member(email, country=country, roles=roles))
    assert found is not None
    return found


async def board_theme(rules, board, edition_id: int, scope: list[str], title: str) -> int:
    """A board theme with its text in en, fr and nl."""
    theme_id = await themes.add_board_theme(
        rules,
        board,
        edition_id,
        scope,
        themes.ThemeTextIn(title=title, description=f"About {title}.", language="en"),
    )
    for language in ("fr", "nl"):
        await themes.set_text(
            rules,
            board,
            theme_id,
            themes.ThemeTextIn(
                title=f"{title} ({language})",
                description=f"{title}, {language}.",
                language=language,
            ),
        )
    return theme_id


async def build_cycle(settings: Settings, extra: dict[str, object] | None = None) -> Cycle:
    rules = Rules(build_registry(settings, extra=extra), settings)
    board = await member("board@example.org", roles=(("board", ""),))
    op_be = await member("op.be@example.org", roles=(("operator", "BE"),))
    op_fr = await member("op.fr@example.org", country="FR", roles=(("operator", "FR"),))
    plain = await member("member@example.org")
    ids = {
        slug: await editions.create_edition(slug)
        for slug in ("2018-2019", "2019-2020", "2020-2021", "2021-2022")
    }
    old = await board_theme(rules, board, ids["2018-2019"], ["BE", "FR"], "Old theme")
    gender = await board_theme(rules, board, ids["2019-2020"], ["BE", "FR"], "Gender equality")
    sharing = await board_theme(rules, board, ids["2019-2020"], ["BE", "FR"], "Sharing economy")
    lost = await board_theme(rules, board, ids["2019-2020"], ["BE", "FR"], "Lost in Belgium")
    french = await board_theme(rules, board, ids["2019-2020"], ["FR"], "Freelance pensions")

    # Belgium's general meeting elects two of its three candidates.
    now = clock.now()
    poll_id = await polls.create_poll(
        rules,
        op_be,
        ids["2019-2020"],
        "BE",
        "approval",
        2,
        now - timedelta(minutes=1),
        now + timedelta(hours=1),
    )
    box = await open_box(rules, op_be, poll_id)
    number = {theme: n for n, theme in (await polls.get_poll(poll_id)).candidates}
    for k in range(3):
        voter = await member(f"voter{k}@example.org")
        await polls.cast(rules, voter, poll_id, [number[gender], number[sharing]])
    tally = await close_and_count(rules, op_be, box)
    assert set(tally.winners) == {number[gender], number[sharing]}
    return Cycle(rules, board, op_be, op_fr, plain, ids, old, gender, sharing, lost, french)


async def snapshot() -> tuple[list[dict], list[dict]]:
    return (
        await Theme.select().order_by(Theme.id),
        await ThemeText.select().order_by(ThemeText.id),
    )


async def extend(cycle: Cycle, actor, theme_id: int, countries, slug="2020-2021", **kw) -> int:
    return await extension.extend_theme(
        kw.get("rules", cycle.rules),
        actor,
        theme_id,
        cycle.editions[slug],
        countries,
        kw.get("rationale", RATIONALE),
    )


async def refused(cycle: Cycle, actor, theme_id, countries, error=ExtensionRefused, **kw):
    """Try an extension that must be refused; check it wrote nothing; return the error."""
    before = await snapshot()
    with pytest.raises(error) as caught:
        await extend(cycle, actor, theme_id, countries, **kw)
    assert await snapshot() == before
    return caught.value


# -- the service --------------------------------------------------------------------------------


async def test_an_extension_joins_the_edition_with_the_originals_texts_and_no_vote(database):
    cycle = await build_cycle(configured(database))
    theme_id = await extend(cycle, cycle.board, cycle.gender, ["BE", "FR"])

    row = await Theme.select().where(Theme.id == theme_id).first()
    assert row["edition"] == cycle.editions["2020-2021"]
    assert (row["origin"], row["status"], row["scope"]) == ("extended", "accepted", "BE FR")
    assert row["extended_from"] == cycle.gender
    assert row["extension_rationale"] == RATIONALE
    assert row["decided_at"] is not None and row["proposer"] is None

    def texts(rows, theme):
        return {t["language"]: (t["title"], t["description"]) for t in rows if t["theme"] == theme}

    all_texts = await ThemeText.select()
    assert texts(all_texts, theme_id) == texts(all_texts, cycle.gender)
    assert set(texts(all_texts, theme_id)) == {"en", "fr", "nl"}

    # No vote: a poll of 2020-2021 lists the edition's own themes, not the extension.
    for title in ("Accompaniment", "New prospects"):
        await board_theme(cycle.rules, cycle.board, cycle.editions["2020-2021"], ["BE"], title)
    now = clock.now()
    poll_id = await polls.create_poll(
        cycle.rules,
        cycle.op_be,
        cycle.editions["2020-2021"],
        "BE",
        "approval",
        1,
        now + timedelta(hours=1),
        now + timedelta(hours=2),
    )
    assert theme_id not in [t for _n, t in (await polls.get_poll(poll_id)).candidates]


async def test_extendable_themes_are_those_that_ran_in_the_country(database):
    cycle = await build_cycle(configured(database))
    edition = await editions.get_edition("2020-2021")

    async def titles(country: str) -> set[str]:
        found = await extension.extendable_themes(cycle.rules, edition, country, "en")
        return {c.title for c in found}

    assert await titles("BE") == {"Gender equality", "Sharing economy"}
    assert await titles("FR") == {
        "Gender equality",
        "Sharing economy",
        "Lost in Belgium",
        "Freelance pensions",
    }
    await extend(cycle, cycle.op_fr, cycle.gender, ["FR"])
    assert "Gender equality" not in await titles("FR")  # extended there already
    assert "Gender equality" in await titles("BE")  # still open for Belgium


async def test_each_rule_refuses_by_name_and_changes_nothing(database):
    cycle = await build_cycle(configured(database))

    error = await refused(cycle, cycle.board, cycle.old, ["BE"])
    assert error.rule == "previous_edition" and error.status_code == 409
    assert 'Rule "previous edition"' in error.message and "2019-2020" in error.message

    error = await refused(cycle, cycle.board, cycle.french, ["BE", "FR"])
    assert error.rule == "within_countries"
    assert 'Rule "within its countries"' in error.message
    assert "France only" in error.message and "cannot reach Belgium" in error.message

    error = await refused(cycle, cycle.op_be, cycle.lost, ["BE"])
    assert error.rule == "ran_there"
    assert 'Rule "ran in the previous edition"' in error.message

    first = await extend(cycle, cycle.board, cycle.gender, ["BE", "FR"])
    error = await refused(cycle, cycle.op_be, cycle.gender, ["BE"])
    assert error.rule == "already_extended" and "already extended into 2020-2021" in error.message

    # One more year, not two: the extension cannot itself be extended into 2021-2022.
    error = await refused(cycle, cycle.board, first, ["FR"], slug="2021-2022")
    assert error.rule == "max_consecutive"
    assert 'Rule "at most 1 extension in a row" in France' in error.message
    assert error.errors == [{"rule": "max_consecutive", "msg": error.message}]


async def test_the_limit_of_extensions_in_a_row_is_set_per_country(database):
    options = {"extend_theme": {"max_consecutive": 1, "FR": {"max_consecutive": 2}}}
    cycle = await build_cycle(configured(database, options=options))
    first = await extend(cycle, cycle.board, cycle.gender, ["BE", "FR"])

    error = await refused(cycle, cycle.board, first, ["BE", "FR"], slug="2021-2022")
    assert error.rule == "max_consecutive" and "in Belgium" in error.message
    second = await extend(cycle, cycle.board, first, ["FR"], slug="2021-2022")  # a third year
    assert (await Theme.select().where(Theme.id == second).first())["extended_from"] == first

    third_year = await editions.create_edition("2022-2023")
    before = await snapshot()
    with pytest.raises(ExtensionRefused, match="at most 2 extensions in a row"):
        await extension.extend_theme(cycle.rules, cycle.board, second, third_year, ["FR"], "Again")
    assert await snapshot() == before


async def test_who_may_extend_into_which_country(database):
    cycle = await build_cycle(configured(database))

    error = await refused(cycle, cycle.member, cycle.gender, ["BE"], error=Forbidden)
    assert error.status_code == 403
    await refused(cycle, cycle.op_be, cycle.gender, ["FR"], error=Forbidden)
    await refused(cycle, cycle.op_be, cycle.gender, ["BE", "FR"], error=Forbidden)
    await refused(cycle, cycle.op_fr, cycle.sharing, ["BE"], error=Forbidden)

    assert await extend(cycle, cycle.op_be, cycle.gender, ["BE"])
    assert await extend(cycle, cycle.op_fr, cycle.gender, ["FR"])  # its own extension
    assert await extend(cycle, cycle.board, cycle.sharing, "BE FR")


async def test_malformed_or_unknown_input_is_refused(database):
    cycle = await build_cycle(configured(database))
    for countries in ([], ["DE"], ["BE", "XX"], ""):
        await refused(cycle, cycle.board, cycle.gender, countries, error=InvalidInput)
    for rationale in ("", "  ", "ab", "x" * 2001, "bad\x00byte"):
        error = await refused(
            cycle, cycle.board, cycle.gender, ["BE"], error=InvalidInput, rationale=rationale
        )
        assert error.status_code == 400
    for theme_id in (0, -1, 2**31, 999_999):
        await refused(cycle, cycle.board, theme_id, ["BE"], error=NotFound)
    author = await member("author@example.org")
    today = clock.today()
    await editions.set_calendar(
        cycle.editions["2019-2020"],
        "BE",
        [editions.PhaseWindow("proposals", today - timedelta(days=1), today + timedelta(days=1))],
    )
    draft = await themes.propose(
        cycle.rules, author, cycle.editions["2019-2020"], themes.ThemeTextIn(title="My draft")
    )
    await refused(cycle, cycle.board, draft, ["BE"], error=NotFound)  # private, so not found
    with pytest.raises(NotFound):
        await extension.extend_theme(
            cycle.rules, cycle.board, cycle.gender, 999_999, ["BE"], "x" * 9
        )


async def test_two_operators_extending_at_once_make_one_extension(pooled):
    cycle = await build_cycle(configured(pooled))
    results = await asyncio.gather(
        extend(cycle, cycle.op_be, cycle.gender, ["BE"]),
        extend(cycle, cycle.board, cycle.gender, ["BE", "FR"]),
        return_exceptions=True,
    )
    made = [r for r in results if isinstance(r, int)]
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(made) == 1 and len(errors) == 1, results
    assert isinstance(errors[0], ExtensionRefused) and errors[0].rule == "already_extended"
    assert await Theme.count().where(Theme.extended_from == cycle.gender) == 1


async def test_a_country_without_the_plugin_has_no_extensions(database):
    """extend_theme enabled for BE only: nobody extends into FR, whatever their role."""
    cycle = await build_cycle(configured(database, fr=("track_fr",)))
    for actor, countries in ((cycle.op_fr, ["FR"]), (cycle.board, ["BE", "FR"])):
        error = await refused(cycle, actor, cycle.gender, countries, error=NotEnabled)
        assert error.status_code == 403 and "not enabled in France" in error.message
    assert await extend(cycle, cycle.op_be, cycle.gender, ["BE"])
    assert extension.enabled_countries(cycle.rules.registry) == ["BE"]


async def test_another_plugin_can_decide_first_for_its_country(database):
    """A BE plugin answering extension_allowed replaces extend_theme's rules in BE only."""

    class LongDebates:
        @hookimpl
        def extension_allowed(self, candidate, country):
            if candidate.consecutive >= 3:
                return Refusal("three_years", "Three extra years are enough.")
            return True

    settings = configured(database, be=("extend_theme", "long"))
    cycle = await build_cycle(settings, extra={"long": LongDebates()})
    first = await extend(cycle, cycle.board, cycle.gender, ["BE", "FR"])
    assert await extend(cycle, cycle.board, first, ["BE"], slug="2021-2022")
    error = await refused(cycle, cycle.board, first, ["FR"], slug="2021-2022")
    assert error.rule == "max_consecutive"  # FR keeps extend_theme's own rule


def test_options_are_typed_and_errors_name_the_key(tmp_path):
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    enabled = configured(settings)
    cases = {
        "`plugins.extend_theme.BE.max_consecutive`": {"BE": {"max_consecutive": 0}},
        "`plugins.extend_theme.max_consecutive`": {"max_consecutive": "one"},
        "`plugins.extend_theme.FR`": {"FR": {"max_turns": 2}},
    }
    for key, table in cases.items():
        with pytest.raises(ConfigError) as error:
            build_registry(replace(enabled, plugins={"extend_theme": table}))
        assert key in str(error.value), str(error.value)
    with pytest.raises(ConfigError, match=r"`plugins.extend_themes`.*not an installed plugin"):
        build_registry(replace(enabled, plugins={"extend_themes": {}}))
    assert extension.options_for(enabled, "BE").max_consecutive == 1  # the default


def test_options_come_from_config_toml(tmp_path):
    settings = make_settings(
        tmp_path,
        f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "[plugins.extend_theme]\nmax_consecutive = 1\n"
        "[plugins.extend_theme.FR]\nmax_consecutive = 3\n",
    )
    assert extension.options_for(settings, "BE").max_consecutive == 1
    assert extension.options_for(settings, "FR").max_consecutive == 3


# -- pages and API --------------------------------------------------------------------------------


@asynccontextmanager
async def browser(app, member_id: int | None) -> AsyncIterator[Any]:
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
        if member_id is not None:
            await sign_in(client, member_id)
        client.csrf = await csrf_token(client)
        yield client


def app_for(settings: Settings):
    return create_app(settings, registry=build_registry(settings), engine=db.engine())


async def test_the_operators_page_lists_extends_and_labels(database):
    settings = configured(database)
    cycle = await build_cycle(settings)
    app = app_for(settings)
    async with browser(app, cycle.op_be.id) as client:
        edition_page = await client.get("/editions/2020-2021")
        assert "/editions/2020-2021/extensions" in edition_page.text
        listing = await client.get("/editions/2020-2021/extensions")
        assert listing.status_code == 200
        text = listing.text
        assert "Gender equality" in text and "Sharing economy" in text
        assert 'data-rule="ran_there"' in text  # Lost in Belgium, with the rule that refuses
        assert "Rule &#34;ran in the previous edition&#34;" in text
        assert f'name="theme" value="{cycle.gender}"' in text
        assert f'name="theme" value="{cycle.lost}"' not in text

        done = await client.post(
            "/editions/2020-2021/extensions",
            data={
                "_csrf_token": client.csrf,
                "theme": str(cycle.gender),
                "countries": "BE",
                "rationale": RATIONALE,
            },
            follow_redirects=False,
        )
        assert done.status_code == 303, done.text
        new_id = int(done.headers["location"].rsplit("/", 1)[1])
        theme_page = (await client.get(f"/themes/{new_id}")).text
        assert "Extended, no vote" in theme_page
        assert f'href="/themes/{cycle.gender}">Gender equality (2019-2020)</a>' in theme_page
        assert RATIONALE in theme_page
        edition_page = (await client.get("/editions/2020-2021")).text
        assert "Extended from the previous edition" in edition_page
        assert f'<a href="/themes/{new_id}"' in edition_page
        assert f'href="/themes/{cycle.gender}">Gender equality (2019-2020)</a>' in edition_page
        again = (await client.get("/editions/2020-2021/extensions")).text
        assert f'<a href="/themes/{new_id}">See the extension</a>' in again


async def test_a_refused_form_comes_back_with_the_rule(database):
    settings = configured(database)
    cycle = await build_cycle(settings)
    first = await extend(cycle, cycle.board, cycle.gender, ["BE", "FR"])
    async with browser(app_for(settings), cycle.board.id) as client:
        for slug, theme_id, countries, status, words in (
            (
                "2021-2022",
                first,
                "BE",
                409,
                "Rule &#34;at most 1 extension in a row&#34; in Belgium",
            ),
            ("2020-2021", cycle.french, "BE", 409, "Rule &#34;within its countries&#34;"),
            ("2021-2022", cycle.old, "FR", 409, "Rule &#34;previous edition&#34;"),
            ("2020-2021", "abc", "BE", 400, "Choose the theme to extend."),
            ("2020-2021", cycle.sharing, "DE", 400, "Choose the countries"),
            ("2020-2021", 999_999, "BE", 404, "There is no theme 999999."),
        ):
            before = await snapshot()
            page = await client.post(
                f"/editions/{slug}/extensions",
                data={
                    "_csrf_token": client.csrf,
                    "theme": str(theme_id),
                    "countries": countries,
                    "rationale": "Kept in the form",
                },
            )
            assert page.status_code == status, (theme_id, page.text)
            assert words in page.text
            assert 'role="alert"' in page.text
            assert await snapshot() == before
        # The rationale typed into the refused form is still there.
        page = await client.post(
            "/editions/2020-2021/extensions",
            data={
                "_csrf_token": client.csrf,
                "theme": str(cycle.lost),
                "countries": "BE",
                "rationale": "Kept in the form",
            },
        )
        assert page.status_code == 409
        assert "Kept in the form</textarea>" in page.text


async def test_the_json_api(database):
    settings = configured(database)
    cycle = await build_cycle(settings)
    app = app_for(settings)
    url = "/api/editions/2020-2021/extensions"
    async with browser(app, cycle.op_fr.id) as client:
        listing = (await client.get(url, params={"country": "FR"})).json()
        assert listing["edition"] == "2020-2021" and listing["previous"] == "2019-2020"
        assert listing["max_consecutive"] == {"FR": 1}
        allowed = {t["candidate"]["title"] for t in listing["themes"] if t["allowed"] == ["FR"]}
        assert allowed == {
            "Gender equality",
            "Sharing economy",
            "Lost in Belgium",
            "Freelance pensions",
        }

        headers = {"x-csrftoken": client.csrf}
        made = await client.post(
            url,
            json={"theme_id": cycle.french, "countries": ["FR"], "rationale": RATIONALE},
            headers=headers,
        )
        assert made.status_code == 201, made.text
        body = made.json()
        assert body["origin"] == "extended" and body["countries"] == ["FR"]
        assert body["extended_from"] == cycle.french
        assert body["extended_from_title"] == "Freelance pensions"
        assert body["extended_from_edition"] == "2019-2020"
        assert body["extension_rationale"] == RATIONALE

        before = await snapshot()
        for payload, status, rule in (
            (
                {"theme_id": cycle.french, "countries": ["FR"], "rationale": "x" * 5},
                409,
                "already_extended",
            ),
            (
                {"theme_id": cycle.old, "countries": ["FR"], "rationale": "x" * 5},
                409,
                "previous_edition",
            ),
            ({"theme_id": cycle.gender, "countries": ["BE"], "rationale": "x" * 5}, 403, None),
            ({"theme_id": 999_999, "countries": ["FR"], "rationale": "x" * 5}, 404, None),
            ({"theme_id": cycle.gender, "countries": [], "rationale": "x" * 5}, 400, None),
            ({"theme_id": cycle.gender, "countries": ["FR"], "rationale": ""}, 400, None),
            ({"theme_id": "one", "countries": ["FR"]}, 400, None),
            ({"countries": ["FR"]}, 400, None),
        ):
            answer = await client.post(url, json=payload, headers=headers)
            assert answer.status_code == status, (payload, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
            if rule:
                assert answer.json()["errors"][0]["rule"] == rule
                assert "Rule" in answer.json()["detail"] or "already" in answer.json()["detail"]
        assert await snapshot() == before

        assert (await client.get(url, params={"country": "BE"})).status_code == 403
        assert (await client.get(url, params={"country": "DE"})).status_code == 400
        assert (await client.get("/api/editions/2099-2100/extensions")).status_code == 404

    async with browser(app, cycle.member.id) as client:
        assert (await client.get(url)).status_code == 403
        answer = await client.post(
            url,
            json={"theme_id": cycle.gender, "countries": ["BE"], "rationale": RATIONALE},
            headers={"x-csrftoken": client.csrf},
        )
        assert answer.status_code == 403
        assert (await client.get("/editions/2020-2021/extensions")).status_code == 403
    async with browser(app, None) as client:
        assert (await client.get(url)).status_code == 401
    assert await snapshot() == before


async def test_with_the_plugin_for_belgium_only_france_sees_and_does_nothing(database):
    settings = configured(database, fr=("track_fr",))
    cycle = await build_cycle(settings)
    app = app_for(settings)
    async with browser(app, cycle.op_fr.id) as client:
        edition_page = (await client.get("/editions/2020-2021")).text
        assert "/extensions" not in edition_page
        page = await client.get("/editions/2020-2021/extensions")
        assert page.status_code == 403 and "not enabled in France" in page.text
        before = await snapshot()
        posted = await client.post(
            "/editions/2020-2021/extensions",
            data={
                "_csrf_token": client.csrf,
                "theme": str(cycle.gender),
                "countries": "FR",
                "rationale": RATIONALE,
            },
        )
        assert posted.status_code == 403
        api = await client.post(
            "/api/editions/2020-2021/extensions",
            json={"theme_id": cycle.gender, "countries": ["FR"], "rationale": RATIONALE},
            headers={"x-csrftoken": client.csrf},
        )
        assert api.status_code == 403 and api.json()["errors"][0]["rule"] == "enabled"
        listing = await client.get("/api/editions/2020-2021/extensions", params={"country": "FR"})
        assert listing.status_code == 403
        assert await snapshot() == before
    async with browser(app, cycle.op_be.id) as client:
        assert "/editions/2020-2021/extensions" in (await client.get("/editions/2020-2021")).text
        listing = (await client.get("/api/editions/2020-2021/extensions")).json()
        assert listing["countries"] == ["BE"]
    async with browser(app, cycle.board.id) as client:
        listing = (await client.get("/api/editions/2020-2021/extensions")).json()
        assert listing["countries"] == ["BE"]  # the board too: only where it is enabled

    nowhere = app_for(configured(database, be=("track_be",), fr=("track_fr",)))
    async with browser(nowhere, cycle.board.id) as client:
        assert (await client.get("/editions/2020-2021/extensions")).status_code == 404
        assert "/extensions" not in (await client.get("/editions/2020-2021")).text


# -- the demo ---------------------------------------------------------------------------------


async def test_the_demo_extensions_follow_the_rules_and_the_rest_is_refused(database):
    """The demo's 2020-2021 extensions were made by the plugin; one more year for them, or an
    extension into a country a theme never ran in, is refused with the rule named."""
    from plugins.demo import seed_demo
    from tests.demo_helpers import open_slug
    from tests.test_demo import titles

    await seed_demo(database)
    settings = configured(database)
    rules = Rules(build_registry(settings), settings)
    board = await load_member(await _member_id("board@demo.smart.coop"))
    themes_2020 = await titles("2020-2021")
    gender = themes_2020["Gender equality"]
    sharing = themes_2020["Sharing economy: a viable economic model?"]
    assert gender["origin"] == sharing["origin"] == "extended"
    # The edition after 2020-2021 (the demo's open edition is named after this year).
    assert open_slug() != "2021-2022"
    edition = await editions.get_edition_by_id(await editions.create_edition("2021-2022"))
    texts = await ThemeText.select().where(ThemeText.theme == gender["id"])
    assert {t["language"] for t in texts} == {"nl", "fr", "en"}

    before = await snapshot()
    with pytest.raises(ExtensionRefused) as error:
        await extension.extend_theme(rules, board, gender["id"], edition.id, ["BE"], RATIONALE)
    assert error.value.rule == "max_consecutive"
    with pytest.raises(ExtensionRefused) as error:
        await extension.extend_theme(rules, board, sharing["id"], edition.id, ["BE"], RATIONALE)
    assert error.value.rule == "within_countries"
    mobility = themes_2020["Mobility of freelancers"]  # on the 2020 ballots, not elected
    with pytest.raises(ExtensionRefused) as error:
        await extension.extend_theme(rules, board, mobility["id"], edition.id, ["FR"], RATIONALE)
    assert error.value.rule == "ran_there"
    assert await snapshot() == before

    candidates = await extension.extendable_themes(rules, edition, "BE", "en")
    assert {c.title for c in candidates} == {
        "Accompaniment",
        "New prospects after the health crisis",
    }


async def _member_id(email: str) -> int:
    from core.members.tables import Member

    return (await Member.select(Member.id).where(Member.email == email).first())["id"]
