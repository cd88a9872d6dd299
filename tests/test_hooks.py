"""One test per hook: what a plugin implementing it changes for users."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar import get
from litestar.testing import AsyncTestClient
from msgspec.structs import replace

from core import db, hookimpl
from core.app import create_app
from core.config import Country
from core.events import MembersImported
from core.plugins import build_registry
from core.rules import Rules
from core.tracks import Track
from tests.conftest import add_member, csrf_token, sign_in
from tests.poll_support import voters_added_after_opening  # noqa: F401 (the fixture)


def with_plugins(settings, be: list[str], fr: list[str]):
    return replace(
        settings,
        countries={
            "BE": Country(name="Belgium", plugins=be),
            "FR": Country(name="France", plugins=fr),
        },
    )


def app_with(settings, be, fr, extra=None):
    settings = with_plugins(settings, be, fr)
    registry = build_registry(settings, extra=extra or {})
    return create_app(settings, registry=registry, engine=db.engine())


async def home(app) -> dict:
    async with AsyncTestClient(app=app) as client:
        return (await client.get("/api/home")).json()


async def test_hook_register_tracks(database):
    """The track plugins give each country its languages; disabling one touches only it."""
    both = await home(app_with(database, ["track_be"], ["track_fr"]))
    assert {c["code"]: c["languages"] for c in both["countries"]} == {
        "BE": ["nl", "fr"],
        "FR": ["fr"],
    }
    without_be = await home(app_with(database, [], ["track_fr"]))
    assert {c["code"]: c["languages"] for c in without_be["countries"]} == {
        "BE": ["nl", "fr", "en"],  # the plain fallback track
        "FR": ["fr"],
    }

    class Override:
        @hookimpl
        def register_tracks(self):
            return [Track(code="FR", name="France", languages=("fr", "en"))]

    overridden = await home(
        app_with(database, ["track_be"], ["override"], {"override": Override()})
    )
    assert {c["code"]: c["languages"] for c in overridden["countries"]}["FR"] == ["fr", "en"]


async def test_hook_template_dirs(database, tmp_path: Path):
    """A plugin's template overrides the core's and can extend the original."""
    folder = tmp_path / "plugin-templates"
    folder.mkdir()
    (folder / "home.html").write_text(
        '{% extends "default:home.html" %}'
        "{% block content %}<p>Plugin banner</p>{{ super() }}{% endblock %}"
    )

    class Theme:
        @hookimpl
        def template_dirs(self):
            return [folder]

    async with AsyncTestClient(app=app_with(database, ["theme"], [], {"theme": Theme()})) as c:
        page = (await c.get("/")).text
    assert "Plugin banner" in page
    assert "How a cycle works" in page  # the original page is still there

    async with AsyncTestClient(app=app_with(database, ["track_be"], [])) as c:
        assert "Plugin banner" not in (await c.get("/")).text


async def test_operator_template_folder_overrides_plugins_and_core(database, tmp_path: Path):
    folder = tmp_path / "operator"
    folder.mkdir()
    (folder / "home.html").write_text(
        '{% extends "default:home.html" %}{% block title %}Operator home{% endblock %}'
    )
    settings = replace(database, platform=replace(database.platform, template_dir=str(folder)))
    async with AsyncTestClient(app=create_app(settings, engine=db.engine())) as c:
        assert "<title>Operator home" in (await c.get("/")).text


async def test_hook_register_routes(database):
    @get("/hello-from-plugin")
    async def hello() -> dict[str, str]:
        return {"hello": "plugin"}

    class Routes:
        @hookimpl
        def register_routes(self):
            return [hello]

    async with AsyncTestClient(app=app_with(database, ["routes"], [], {"routes": Routes()})) as c:
        assert (await c.get("/hello-from-plugin")).json() == {"hello": "plugin"}
    async with AsyncTestClient(app=app_with(database, [], [])) as c:
        assert (await c.get("/hello-from-plugin")).status_code == 404


async def test_hook_deliver_sign_in_link(database):
    """A channel enabled for FR gets FR members' links; BE members' links stay in the log."""

    class Mailer:
        def __init__(self) -> None:
            self.sent: list[tuple[str, str]] = []

        @hookimpl
        def deliver_sign_in_link(self, member, url, expires_minutes):
            self.sent.append((member.email, url))
            return True

    mailer = Mailer()
    await add_member("fr@example.org", country="FR", language="fr")
    await add_member("be@example.org", country="BE")
    app = app_with(database, [], ["mailer"], {"mailer": mailer})
    async with AsyncTestClient(app=app) as c:
        csrf = await csrf_token(c)
        for email in ("fr@example.org", "be@example.org"):
            r = await c.post(
                "/api/sign-in/link", json={"email": email}, headers={"x-csrftoken": csrf}
            )
            assert r.status_code == 202
    assert [email for email, _ in mailer.sent] == ["fr@example.org"]
    assert "/sign-in/link/" in mailer.sent[0][1]


async def test_hook_on_event(database):
    class Listener:
        def __init__(self) -> None:
            self.events: list[object] = []

        @hookimpl
        def on_event(self, event):
            self.events.append(event)

    be_listener, fr_listener = Listener(), Listener()
    operator = await add_member("op@example.org", roles=(("operator", "BE"), ("operator", "FR")))
    app = app_with(
        database,
        ["be_listener"],
        ["fr_listener"],
        {"be_listener": be_listener, "fr_listener": fr_listener},
    )
    csv = (
        "member_number,email,name,country,language,shareholder\n"
        "1,a@example.org,A,BE,nl,yes\n2,b@example.org,B,BE,fr,no\n3,c@example.org,C,FR,fr,yes\n"
    )
    async with AsyncTestClient(app=app) as c:
        await sign_in(c, operator)
        r = await c.post(
            "/api/members/import",
            content=csv.encode(),
            headers={"x-csrftoken": await csrf_token(c), "content-type": "text/csv"},
        )
        assert r.status_code == 200, r.text
    assert be_listener.events == [
        MembersImported(country="BE", created=2, updated=0, actor_id=operator)
    ]
    assert fr_listener.events == [
        MembersImported(country="FR", created=1, updated=0, actor_id=operator)
    ]


async def test_a_failing_event_plugin_does_not_fail_a_committed_change(database, caplog):
    class Broken:
        @hookimpl
        def on_event(self, event):
            raise RuntimeError("channel down")

    operator = await add_member("op@example.org", roles=(("operator", "BE"),))
    app = app_with(database, ["broken"], [], {"broken": Broken()})
    csv = "member_number,email,name,country,language,shareholder\n1,a@example.org,A,BE,nl,yes\n"
    async with AsyncTestClient(app=app) as c:
        await sign_in(c, operator)
        r = await c.post(
            "/api/members/import",
            content=csv.encode(),
            headers={"x-csrftoken": await csrf_token(c), "content-type": "text/csv"},
        )
    assert r.status_code == 200
    assert r.json()["created"] == 1
    assert "a plugin failed on event members_imported in BE" in caplog.text


async def test_hook_support_threshold(database):
    """A plugin enabled for BE lowers BE's threshold; FR keeps the config.toml default."""
    from datetime import timedelta

    from core import clock
    from core.editions import services as editions
    from core.members.services import load_member
    from core.themes import services as themes

    class LowBar:
        @hookimpl
        def support_threshold(self, country):
            return 1

    edition_id = await editions.create_edition("2021-2022")
    today = clock.today()
    for country in ("BE", "FR"):
        await editions.set_calendar(
            edition_id,
            country,
            [
                editions.PhaseWindow(
                    "proposals", today - timedelta(days=1), today + timedelta(days=1)
                )
            ],
        )
    app = app_with(database, ["lowbar"], [], {"lowbar": LowBar()})
    rules = Rules(registry=app.state.registry, settings=app.state.settings)
    ids = {}
    for country in ("BE", "FR"):
        author = await load_member(
            await add_member(f"author-{country}@example.org", country=country)
        )
        fan = await load_member(await add_member(f"fan-{country}@example.org", country=country))
        text = themes.ThemeTextIn(title=f"A theme for {country}")
        ids[country] = await themes.propose(rules, author, edition_id, text)
        await themes.submit(rules, author, ids[country])
        await themes.support(rules, fan, ids[country])
    operator = await add_member("op@example.org", roles=(("operator", "BE"), ("operator", "FR")))
    async with AsyncTestClient(app=app) as c:
        await sign_in(c, operator)
        be = (await c.get("/api/moderation/BE")).json()
        fr = (await c.get("/api/moderation/FR")).json()
    assert [t["id"] for t in be["over_threshold"]] == [ids["BE"]]  # 1 support is enough in BE
    assert [t["id"] for t in fr["gathering"]] == [ids["FR"]]  # FR still needs 25
    assert fr["over_threshold"] == []


def test_hook_register_voting_methods(tmp_path: Path):
    """A plugin adds a method, found by name, and replaces a core one; the others stay."""
    from core.voting import Tally, VotingMethod, voting_method, voting_methods
    from core.voting.methods import Borda
    from tests.conftest import make_settings

    class FirstListed(VotingMethod):
        name = "first_listed"
        label = "The first candidates in the list"
        ballot_kind = "approval"

        def tally(self, ballots, candidates, seats):
            listed = list(candidates)
            return Tally(method=self.name, seats=seats, candidates=listed, winners=listed[:seats])

    class DoubleBorda(Borda):  # same name as the core's: replaces it
        label = "Borda, counted by the plugin"

    class Methods:
        @hookimpl
        def register_voting_methods(self):
            return [FirstListed(), DoubleBorda()]

    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    registry = build_registry(with_plugins(settings, [], ["methods"]), extra={"methods": Methods()})

    methods = voting_methods(registry)
    assert {"plurality", "approval", "borda", "schulze", "stv", "first_listed"} == set(methods)
    found = voting_method(registry, "first_listed")
    assert found.tally([], ["x", "y", "z"], 2).winners == ["x", "y"]
    assert voting_method(registry, "borda").label == "Borda, counted by the plugin"
    assert voting_method(registry, "schulze").label == "Schulze method"  # the core's

    core_only = build_registry(with_plugins(settings, [], []))
    assert voting_method(core_only, "borda").label == "Borda count"
    assert "first_listed" not in voting_methods(core_only)


async def test_hook_vote_eligibility(database):
    """A BE-only plugin lets BE's non-shareholders vote; FR keeps the default rule."""
    from datetime import timedelta

    from core import clock
    from core.editions import services as editions
    from core.errors import Forbidden
    from core.members.services import load_member
    from core.polls import services as polls
    from core.themes import services as themes
    from tests.poll_support import name_tellers

    class Everyone:
        @hookimpl
        def vote_eligibility(self, member, poll):
            return member.country == poll.country

    app = app_with(database, ["everyone"], [], {"everyone": Everyone()})
    rules = Rules(registry=app.state.registry, settings=app.state.settings)
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
    poll_ids = {}
    for country in ("BE", "FR"):
        poll_ids[country] = await polls.create_poll(
            rules,
            operator,
            edition_id,
            country,
            "approval",
            2,
            now - timedelta(hours=1),
            now + timedelta(hours=1),
        )
        await name_tellers(rules, operator, poll_ids[country])
        await polls.open_poll(rules, operator, poll_ids[country])
    be_member = await load_member(await add_member("be@example.org", shareholder=False))
    fr_member = await load_member(
        await add_member("fr@example.org", country="FR", shareholder=False)
    )
    assert await polls.cast(rules, be_member, poll_ids["BE"], [1])
    with pytest.raises(Forbidden, match="Only shareholders of FR"):
        await polls.cast(rules, fr_member, poll_ids["FR"], [1])


async def test_hook_proxy_limit(database):
    """A BE-only plugin lets a BE holder carry two proxies; FR keeps the core's one."""
    from datetime import timedelta

    from core import clock
    from core.editions import services as editions
    from core.errors import Conflict
    from core.members.services import load_member
    from core.polls import proxies
    from core.polls import services as polls
    from core.themes import services as themes

    class TwoProxies:
        @hookimpl
        def proxy_limit(self, poll, country):
            return 2

    app = app_with(database, ["two"], [], {"two": TwoProxies()})
    rules = Rules(registry=app.state.registry, settings=app.state.settings)
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
    for country, allowed in (("BE", 2), ("FR", 1)):
        poll_id = await polls.create_poll(
            rules,
            operator,
            edition_id,
            country,
            "approval",
            2,
            now + timedelta(days=1),
            now + timedelta(days=2),
        )
        assert rules.proxy_limit(await polls.get_poll(poll_id)) == allowed
        holder = await add_member(f"holder@{country.lower()}.example.org", country=country)
        for n in range(allowed):
            grantor = await load_member(
                await add_member(f"grantor{n}@{country.lower()}.example.org", country=country)
            )
            await proxies.grant_proxy(rules, grantor, poll_id, holder)
        one_too_many = await load_member(
            await add_member(f"late@{country.lower()}.example.org", country=country)
        )
        with pytest.raises(Conflict, match=f"already holds {allowed} prox"):
            await proxies.grant_proxy(
                rules, one_too_many, poll_id, f"holder@{country.lower()}.example.org"
            )
        assert len(await proxies.proxies_held(holder, poll_id)) == allowed


async def test_hook_register_notifiers(database):
    """A channel a plugin registers for FR gets FR members' notifications, per member and
    through the relay; BE members' notifications never reach it. The in-app centre stays."""
    from core.notifications import Notifier
    from core.notifications.relay import Relay
    from core.notifications.tables import OutboxMessage
    from tests.notify_support import accepted_proposal, member

    class Pigeon(Notifier):
        name = "pigeon"
        label = "Carrier pigeon"

        def __init__(self) -> None:
            self.flown: list[tuple[str, int, str]] = []

        async def deliver(self, delivery):
            self.flown.append((delivery.event_type, delivery.member.id, delivery.key))

    pigeon = Pigeon()

    class Loft:
        @hookimpl
        def register_notifiers(self, settings):
            return [pigeon]

    settings = with_plugins(database, ["track_be"], ["track_fr", "loft"])
    registry = build_registry(settings, extra={"loft": Loft()})
    rules = Rules(registry=registry, settings=settings)
    fr, be = await member("FR", language="fr"), await member("BE")
    await accepted_proposal(rules, fr)
    await accepted_proposal(rules, be)

    channels = {
        (r["country"], r["channel"])
        for r in await OutboxMessage.select(OutboxMessage.country, OutboxMessage.channel)
    }
    assert channels == {("FR", "in_app"), ("FR", "pigeon"), ("BE", "in_app")}
    await Relay(registry, settings).drain()
    assert [(kind, who) for kind, who, _key in pigeon.flown] == [("theme_accepted", fr.id)]
    assert pigeon.flown[0][2].endswith(f"/pigeon/{fr.id}")


async def test_hook_extension_allowed(database):
    """A BE plugin answers before extend_theme's rules in BE: it lets an extension run a
    third year and refuses a theme by a rule of its own; FR keeps extend_theme's rules."""
    from core.themes.extensions import Refusal
    from plugins.extend_theme.services import ExtensionRefused
    from tests.test_extend_theme import build_cycle, configured, extend, refused

    class BelgianRules:
        @hookimpl
        def extension_allowed(self, candidate, country):
            if candidate.title == "Sharing economy":
                return Refusal("closed_debate", "Belgium closed the sharing economy debate.")
            return True if candidate.consecutive < 2 else None  # None: extend_theme decides

    settings = configured(database, be=("extend_theme", "belgian_rules"))
    cycle = await build_cycle(settings, extra={"belgian_rules": BelgianRules()})
    first = await extend(cycle, cycle.board, cycle.gender, ["BE", "FR"])
    assert await extend(cycle, cycle.board, first, ["BE"], slug="2021-2022")
    error = await refused(cycle, cycle.board, first, ["FR"], slug="2021-2022")
    assert error.rule == "max_consecutive"

    error = await refused(cycle, cycle.op_be, cycle.sharing, ["BE"], error=ExtensionRefused)
    assert (error.rule, error.message) == (
        "closed_debate",
        "Belgium closed the sharing economy debate.",
    )
    assert await extend(cycle, cycle.op_fr, cycle.sharing, ["FR"])


async def test_hook_registrations_allowed(database):
    """A BE plugin lets a member hold two working-group registrations per edition; FR keeps the
    core's one."""
    from core.errors import Conflict
    from core.groups import planning
    from core.groups import services as groups
    from tests.groups_support import build_cycle, member

    class TwoGroups:
        @hookimpl
        def registrations_allowed(self, edition, country):
            return 2

    app = app_with(database, ["track_be", "two"], ["track_fr"], {"two": TwoGroups()})
    cycle = await build_cycle(app.state.settings, registry=app.state.registry)
    for country, allowed in (("BE", 2), ("FR", 1)):
        group_ids = [await cycle.group(country) for _ in range(allowed + 1)]
        someone = await member(1, country)
        for group_id in group_ids[:allowed]:
            await groups.register(cycle.rules, someone, group_id, pledge=True)
        with pytest.raises(Conflict, match="as many as a member may hold"):
            await groups.register(cycle.rules, someone, group_ids[allowed], pledge=True)
        assert len(await planning.my_groups(someone.id)) == allowed


async def test_hook_commitment_absences_allowed(database):
    """A BE plugin allows no absence at all: one missed meeting flags a BE participant, while
    the same absence in FR is within the core's two."""
    from datetime import datetime

    from core import clock
    from core.groups import planning
    from core.groups import services as groups
    from tests.groups_support import PLANNING_DAY, build_cycle, member

    class Strict:
        @hookimpl
        def commitment_absences_allowed(self, group, country):
            return 0

    app = app_with(database, ["track_be", "strict"], ["track_fr"], {"strict": Strict()})
    with clock.frozen_at(PLANNING_DAY):  # the meetings are planned in their phase, ahead
        cycle = await build_cycle(app.state.settings, registry=app.state.registry)
    flags = {}
    for country in ("BE", "FR"):
        with clock.frozen_at(PLANNING_DAY):
            group_id = await cycle.group(country, meeting_count=1)
            someone = await member(1, country)
            await groups.register(cycle.rules, someone, group_id, pledge=True)
            await planning.add_slot(
                cycle.facilitator,
                group_id,
                planning.SlotIn(starts_at=datetime(2020, 11, 17, 19), place="Rue Coenraets 72"),
            )
            (meeting,) = await planning.confirm_plan(cycle.rules, cycle.facilitator, group_id)
        await planning.record_attendance(cycle.facilitator, meeting.id, [])
        figures = await planning.group_attendance(cycle.rules, await groups.get_group(group_id))
        flags[country] = (figures.absences_allowed, figures.participants[0].flagged)
    assert flags == {"BE": (0, True), "FR": (2, False)}
