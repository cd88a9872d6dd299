"""Operators switch plugins for their country and set their options on the web: checked,
stored, audited, applied without a restart on every worker sharing the database; config.toml
can lock a country or a plugin; secrets never come from the web; countries stay separate."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from msgspec.structs import replace

from core import db
from core.app import create_app
from core.audit.tables import AuditEntry
from core.config import Country, Settings
from core.plugins import build_registry
from core.rules import Rules
from core.runtime.tables import PluginSwitch
from tests.conftest import add_member, csrf_token, sign_in


def settings_for(database: Settings, **extra: Any) -> Settings:
    """BE enables extend_theme, FR does not: FR's operator may switch it on."""
    countries = {
        "BE": Country(name="Belgium", plugins=["track_be", "extend_theme"]),
        "FR": Country(name="France", plugins=["track_fr"]),
    }
    countries.update(extra.pop("countries", {}))
    return replace(database, countries=countries, **extra)


def app_for(settings: Settings) -> Litestar:
    return create_app(settings, registry=build_registry(settings), engine=db.engine())


@pytest.fixture
async def app(database: Settings) -> Litestar:
    return app_for(settings_for(database))


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as test_client:
        yield test_client


async def stored() -> list[dict[str, Any]]:
    return await PluginSwitch.select(
        PluginSwitch.country, PluginSwitch.plugin, PluginSwitch.enabled, PluginSwitch.options
    )


async def audit_count() -> int:
    return await AuditEntry.count()


async def post_switch(
    client: AsyncTestClient[Any], country: str, name: str, form: dict[str, str]
) -> Any:
    return await client.post(
        f"/operator/plugins/{country}/{name}",
        data={**form, "_csrf_token": await csrf_token(client)},
        follow_redirects=False,
    )


async def test_an_fr_operator_enables_extend_theme_for_fr_without_a_restart(app, client):
    op_fr = await add_member("op.fr@example.org", country="FR", roles=(("operator", "FR"),))
    op_be = await add_member("op.be@example.org", country="BE", roles=(("operator", "BE"),))
    await sign_in(client, op_fr)
    page = (await client.get("/operator/plugins")).text
    assert 'action="/operator/plugins/FR/extend_theme"' in page  # a switch, for FR only
    assert 'action="/operator/plugins/BE/' not in page
    assert "Not enabled" in page
    # Before: the plugin's pages refuse France.
    assert (await client.get("/api/editions/2026-2027/extensions?country=FR")).status_code in (
        403,
        404,
    )

    answer = await post_switch(
        client, "FR", "extend_theme", {"enabled": "on", "option.max_consecutive": "2"}
    )
    assert answer.status_code == 303, answer.text
    rules = Rules(app.state.registry, app.state.live.settings)
    assert "extend_theme" in app.state.registry.countries["FR"]
    assert app.state.registry.countries["BE"] == ["track_be", "extend_theme"]
    from plugins.extend_theme.services import options_for

    assert options_for(rules.settings, "FR").max_consecutive == 2
    assert options_for(rules.settings, "BE").max_consecutive == 1  # FR's choice stays in FR

    (fr,) = (await client.get("/api/plugins")).json()
    extend = next(p for p in fr["plugins"] if p["name"] == "extend_theme")
    assert extend["enabled"] is True and extend["decided_by"] == "web"
    assert {o["name"]: o["value"] for o in extend["options"]} == {"max_consecutive": 2}

    (row,) = await stored()
    assert row["country"] == "FR" and row["enabled"] is True
    assert json.loads(row["options"]) == {"max_consecutive": 2}
    entry = await AuditEntry.select().where(AuditEntry.action == "plugin.switch").first()
    details = json.loads(entry["details"])
    assert entry["country"] == "FR" and entry["actor"] == op_fr
    assert details["before"] == {"enabled": False, "options": {"max_consecutive": 1}}
    assert details["after"] == {"enabled": True, "options": {"max_consecutive": 2}}

    # Switching it off again takes it away from France only.
    answer = await post_switch(client, "FR", "extend_theme", {"option.max_consecutive": "2"})
    assert answer.status_code == 303
    assert "extend_theme" not in app.state.registry.countries["FR"]
    assert "extend_theme" in app.state.registry.countries["BE"]

    # BE's operator sees no switch for France and cannot use one.
    await sign_in(client, op_be)
    assert 'action="/operator/plugins/FR/' not in (await client.get("/operator/plugins")).text
    before = (await stored(), await audit_count())
    refused = await post_switch(client, "FR", "extend_theme", {"enabled": "on"})
    assert refused.status_code == 403
    assert "Only operators of France" in refused.text
    assert (await stored(), await audit_count()) == before


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "Give a number of at least 1."),
        ("two", "Give a number of at least 1."),
        ("", "Give a number of at least 1."),
        ("99999999999999999999999", "Give a number of at least 1."),
    ],
)
async def test_a_wrong_option_comes_back_on_the_form_and_changes_nothing(client, value, message):
    await sign_in(client, await add_member("op@example.org", roles=(("operator", "BE"),)))
    before = (await stored(), await audit_count())
    answer = await post_switch(
        client, "BE", "extend_theme", {"enabled": "on", "option.max_consecutive": value}
    )
    assert answer.status_code == 400
    html = answer.text
    assert message in html and 'aria-invalid="true"' in html
    assert f'value="{value}"' in html  # what was typed is shown again
    assert (await stored(), await audit_count()) == before


async def test_the_api_switches_and_names_each_wrong_option(client):
    await sign_in(client, await add_member("op@example.org", roles=(("operator", "BE"),)))
    headers = {"x-csrftoken": await csrf_token(client)}
    before = (await stored(), await audit_count())
    for body in (
        {"enabled": True, "options": {"max_consecutive": "2"}},  # JSON is typed: no text
        {"enabled": True, "options": {"max_consecutive": 0}},
        {"enabled": True, "options": {"nonsense": 1}},
    ):
        answer = await client.put("/api/plugins/BE/extend_theme", json=body, headers=headers)
        assert answer.status_code == 400, answer.text
        problem = answer.json()
        assert problem["errors"][0]["key"] in body["options"]
    for body, status in (({"enabled": "yes"}, 400), ({}, 400)):
        answer = await client.put("/api/plugins/BE/extend_theme", json=body, headers=headers)
        assert answer.status_code == status
    unknown = await client.put("/api/plugins/BE/nothing", json={"enabled": True}, headers=headers)
    assert unknown.status_code == 404
    core = await client.put(
        "/api/plugins/BE/core.defaults.rules", json={"enabled": False}, headers=headers
    )
    assert core.status_code == 404
    assert (await stored(), await audit_count()) == before

    answer = await client.put(
        "/api/plugins/BE/extend_theme",
        json={"enabled": True, "options": {"max_consecutive": 3}},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    assert {o["name"]: o["value"] for o in answer.json()["options"]} == {"max_consecutive": 3}


async def test_only_operators_of_the_country_switch(client):
    headers = {"x-csrftoken": ""}
    for roles in ((), (("board", ""),), (("facilitator", ""),), (("teller", "BE"),)):
        member = await add_member(f"m{len(roles)}{roles}@example.org".replace(" ", ""), roles=roles)
        await sign_in(client, member)
        headers = {"x-csrftoken": await csrf_token(client)}
        answer = await client.put(
            "/api/plugins/BE/extend_theme", json={"enabled": False}, headers=headers
        )
        assert answer.status_code == 403, roles
    assert await stored() == []


async def test_a_lock_in_config_toml_shows_read_only_and_refuses(database):
    locked = settings_for(
        database,
        countries={"FR": Country(name="France", plugins=["track_fr"], locked=True)},
        plugins={"extend_theme": {"BE": {"locked": True}}},
    )
    async with AsyncTestClient(app=app_for(locked), base_url="http://127.0.0.1:8000") as client:
        await sign_in(
            client,
            await add_member("op@example.org", roles=(("operator", "BE"), ("operator", "FR"))),
        )
        html = (await client.get("/operator/plugins")).text
        assert "countries.FR.locked" in html and "plugins.extend_theme.BE.locked" in html
        assert 'action="/operator/plugins/FR/' not in html
        assert 'action="/operator/plugins/BE/extend_theme"' not in html
        assert 'action="/operator/plugins/BE/notify_email"' in html  # not locked
        (be, fr) = (await client.get("/api/plugins")).json()
        assert fr["locked_by"] == "countries.FR.locked"
        extend = next(p for p in be["plugins"] if p["name"] == "extend_theme")
        assert extend["locked_by"] == "plugins.extend_theme.BE.locked"
        assert extend["editable"] is False
        refused = await post_switch(client, "BE", "extend_theme", {})
        assert refused.status_code == 409
        assert "plugins.extend_theme.BE.locked" in refused.text
        refused = await post_switch(client, "FR", "extend_theme", {"enabled": "on"})
        assert refused.status_code == 409
        assert await stored() == []


async def test_a_stored_switch_does_not_beat_a_lock_added_later(database):
    """An operator's switch stays stored, but once config.toml locks the plugin the file
    decides (and the page says so)."""
    await PluginSwitch.insert(
        PluginSwitch(country="BE", plugin="extend_theme", enabled=False, options="{}")
    )
    await db.engine().run_ddl("UPDATE settings_version SET version = version + 1")
    locked = settings_for(database, plugins={"extend_theme": {"locked": True}})
    app = app_for(locked)
    await app.state.live.refresh(force=True)
    assert "extend_theme" in app.state.registry.countries["BE"]
    free = app_for(settings_for(database))
    await free.state.live.refresh(force=True)
    assert "extend_theme" not in free.state.registry.countries["BE"]


async def test_secrets_are_never_taken_from_the_web(client):
    await sign_in(client, await add_member("op@example.org", roles=(("operator", "BE"),)))
    headers = {"x-csrftoken": await csrf_token(client)}
    answer = await client.put(
        "/api/plugins/BE/notify_webhook",
        json={"enabled": True, "options": {"secret": "whsec_abc"}},
        headers=headers,
    )
    assert answer.status_code == 400  # no such option: secrets stay in the environment
    answer = await client.put(
        "/api/plugins/BE/notify_webhook", json={"enabled": True}, headers=headers
    )
    assert answer.status_code == 409
    assert "SIP_WEBHOOK_SECRET" in answer.json()["detail"]
    assert await stored() == []


async def test_a_switch_reaches_another_worker_on_the_same_database(database):
    """Two applications on one database, as two workers or two machines: the other one reads
    the change when it next looks (here: at once, forced; in service, within
    server.settings_refresh_seconds)."""
    settings = settings_for(database)
    one, two = app_for(settings), app_for(settings)
    await one.state.live.refresh(force=True)
    await two.state.live.refresh(force=True)
    async with AsyncTestClient(app=one, base_url="http://127.0.0.1:8000") as client:
        await sign_in(client, await add_member("op.fr@example.org", roles=(("operator", "FR"),)))
        answer = await post_switch(client, "FR", "extend_theme", {"enabled": "on"})
        assert answer.status_code == 303
    assert "extend_theme" in one.state.registry.countries["FR"]
    assert "extend_theme" not in two.state.registry.countries["FR"]  # not read yet
    assert await two.state.live.refresh(force=True) is True
    assert "extend_theme" in two.state.registry.countries["FR"]
    assert await two.state.live.refresh(force=True) is False  # nothing new
