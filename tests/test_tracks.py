"""The country tracks track_be and track_fr: languages, meeting places, AGM habits, the proxy
limit and the support threshold; disabling one leaves its country on the core's defaults and
the other country as it was."""

from __future__ import annotations

from datetime import timedelta

import pytest
from litestar.testing import AsyncTestClient
from msgspec.structs import replace

from core import clock, db
from core.app import create_app
from core.config import ConfigError, Country, Settings
from core.editions.services import EditionInfo
from core.members.services import load_member
from core.plugins import build_registry
from core.polls import services as polls
from core.rules import Rules
from core.themes import services as themes
from core.tracks import AgmDefaults, track_of
from tests.conftest import add_member, make_settings, sign_in

BE_CITIES = ("Brussels", "Antwerp", "Ghent", "Liège", "Namur", "Charleroi", "Leuven", "online")
FR_CITIES = ("Paris", "Lyon", "Marseille", "Lille", "Toulouse", "Bordeaux", "Nantes", "online")
EDITION = EditionInfo(id=1, slug="2021-2022", calendars=[])


def with_tracks(settings: Settings, be: bool = True, fr: bool = True, **options) -> Settings:
    return replace(
        settings,
        countries={
            code: replace(
                settings.countries.get(code, Country(name=code)),
                plugins=[f"track_{code.lower()}"] if enabled else [],
            )
            for code, enabled in (("BE", be), ("FR", fr))
        },
        plugins=options,
    )


@pytest.fixture
def settings(tmp_path) -> Settings:
    return make_settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}")


def rules_for(settings: Settings) -> Rules:
    return Rules(build_registry(settings), settings)


class FakePoll:
    def __init__(self, country: str) -> None:
        self.country = country


def proxy_limits(settings: Settings) -> dict[str, int]:
    rules = rules_for(settings)
    return {code: rules.proxy_limit(FakePoll(code)) for code in ("BE", "FR")}


def test_the_tracks_give_languages_meeting_places_and_agm_habits(settings):
    registry = build_registry(with_tracks(settings))
    be = track_of(registry, settings, "BE")
    fr = track_of(registry, settings, "FR")
    assert (be.languages, be.localities) == (("nl", "fr"), BE_CITIES)
    assert (fr.languages, fr.localities) == (("fr",), FR_CITIES)
    assert be.agm == AgmDefaults(month=6, method="schulze", seats=2)
    assert fr.agm == AgmDefaults(month=6, method="approval", seats=2)


@pytest.mark.parametrize("disabled", ["BE", "FR"])
def test_disabling_one_track_leaves_its_country_on_the_core_defaults_and_the_other_alone(
    settings, disabled
):
    other = "FR" if disabled == "BE" else "BE"
    options = {"track_be": {"proxy_limit": 2}, "track_fr": {"proxy_limit": 3}}
    both = with_tracks(settings, **options)
    one = with_tracks(settings, be=disabled != "BE", fr=disabled != "FR", **options)

    full, partial = build_registry(both), build_registry(one)
    assert track_of(partial, one, other) == track_of(full, both, other)
    plain = track_of(partial, one, disabled)
    assert plain.languages == ("nl", "fr", "en")
    assert plain.localities == ("online",)
    assert plain.agm == AgmDefaults()  # the core's: plurality, 2 seats, June
    assert plain.name == settings.countries[disabled].name

    limits = {"BE": 2, "FR": 3}
    assert proxy_limits(both) == limits
    assert proxy_limits(one) == {**limits, disabled: 1}  # the core default: one proxy

    assert polls.poll_defaults(rules_for(one), other) == polls.poll_defaults(rules_for(both), other)
    assert polls.poll_defaults(rules_for(one), disabled).method == "plurality"


def test_the_support_threshold_the_track_and_config_toml(tmp_path, monkeypatch):
    """The track's threshold applies unless config.toml sets countries.<C>.support_threshold."""
    import plugins.track_fr

    monkeypatch.setattr(plugins.track_fr.PLUGIN, "threshold", 30)
    unset = make_settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert unset.countries["FR"].support_threshold is None  # not written: not set
    assert rules_for(unset).support_threshold(EDITION, "FR") == 30  # the track's
    assert (
        rules_for(unset).support_threshold(EDITION, "BE") == 25
    )  # track_be's (the same as the core's)
    assert (
        rules_for(with_tracks(unset, fr=False)).support_threshold(EDITION, "FR") == 25
    )  # the core's

    # Written in the file (the extra lines land in [countries.FR]), even as 25: config wins.
    for value in (40, 25):
        written = make_settings(
            tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}", f"support_threshold = {value}\n"
        )
        assert written.countries["FR"].support_threshold == value
        assert rules_for(written).support_threshold(EDITION, "FR") == value
        assert rules_for(written).support_threshold(EDITION, "BE") == 25
    # Changed in code from the built-in 25 (as tests do): config wins too.
    changed = replace(
        unset,
        countries={**unset.countries, "FR": replace(unset.countries["FR"], support_threshold=12)},
    )
    assert rules_for(changed).support_threshold(EDITION, "FR") == 12


def test_set_in_file_is_not_a_setting(tmp_path):
    with pytest.raises(ConfigError, match="countries.FR.*unknown field `set_in_file`"):
        make_settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}", 'set_in_file = ["name"]\n')


def test_track_options_are_checked_at_start_up(settings):
    with pytest.raises(ConfigError, match=r"`plugins.track_fr.proxy_limit`: expected `int` >= 0"):
        build_registry(with_tracks(settings, track_fr={"proxy_limit": -1}))
    with pytest.raises(ConfigError, match=r"`plugins.track_be.BE`.*unknown field `seats`"):
        build_registry(with_tracks(settings, track_be={"BE": {"seats": 3}}))
    # Options of a track that no country enables are kept, not checked against a country.
    assert build_registry(with_tracks(settings, fr=False, track_fr={"proxy_limit": 4}))


async def test_a_poll_created_without_method_or_seats_takes_the_countrys_habits(database):
    settings = with_tracks(database, fr=False)
    rules = rules_for(settings)
    from core.editions import services as editions

    edition_id = await editions.create_edition("2020-2021")
    board = await load_member(await add_member("board@example.org", roles=(("board", ""),)))
    for title in ("Accompaniment", "New prospects", "Gender equality"):
        await themes.add_board_theme(
            rules, board, edition_id, ["BE", "FR"], themes.ThemeTextIn(title=title, language="en")
        )
    operator = await load_member(
        await add_member("op@example.org", roles=(("operator", "BE"), ("operator", "FR")))
    )
    now = clock.now()
    made = {}
    for country in ("BE", "FR"):
        poll_id = await polls.create_poll(
            rules,
            operator,
            edition_id,
            country,
            "",
            None,
            now + timedelta(days=1),
            now + timedelta(days=2),
        )
        poll = await polls.get_poll(poll_id)
        made[country] = (poll.method, poll.seats)
    assert made == {"BE": ("schulze", 2), "FR": ("plurality", 2)}  # FR: no track, the core's
    explicit = await polls.create_poll(
        rules,
        operator,
        edition_id,
        "BE",
        "borda",
        1,
        now + timedelta(days=1),
        now + timedelta(days=2),
        replace=True,  # one poll per edition and country: this one replaces the first BE poll
        replace_reason="The method chosen explicitly.",
    )
    assert ((await polls.get_poll(explicit)).method, (await polls.get_poll(explicit)).seats) == (
        "borda",
        1,
    )


async def test_the_home_api_and_the_poll_form_show_each_countrys_track(database):
    async def visit(settings: Settings) -> tuple[dict, str]:
        app = create_app(settings, registry=build_registry(settings), engine=db.engine())
        async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
            home = {c["code"]: c for c in (await client.get("/api/home")).json()["countries"]}
            await sign_in(client, operator)
            form = (await client.get("/editions/2020-2021/polls")).text
        return home, form

    from core.editions import services as editions

    await editions.create_edition("2020-2021")
    operator = await add_member("op@example.org", roles=(("operator", "BE"), ("operator", "FR")))

    home, form = await visit(with_tracks(database))
    assert home["BE"]["localities"] == list(BE_CITIES)
    assert home["FR"]["localities"] == list(FR_CITIES)
    assert home["BE"]["agm"] == {"month": 6, "method": "schulze", "seats": 2}
    assert home["FR"]["agm"]["method"] == "approval"
    assert "Belgium usually votes by Schulze method on 2 themes" in form
    assert "France usually votes by Approval voting on 2 themes" in form
    assert '<option value="">The country\'s usual method</option>' in form

    home, form = await visit(with_tracks(database, fr=False))
    assert home["FR"]["localities"] == ["online"]
    assert home["FR"]["agm"]["method"] == "plurality"
    assert home["BE"]["localities"] == list(BE_CITIES)
    assert "France usually votes by Plurality (block vote) on 2 themes" in form
    assert "Belgium usually votes by Schulze method on 2 themes" in form
