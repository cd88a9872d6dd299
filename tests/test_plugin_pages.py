"""The operators' plugin page and its JSON twin: per country, the enabled plugins, what each
adds and the settings it reads, secrets masked; operators see their countries only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from msgspec.structs import replace

from core import db
from core.app import create_app
from core.config import Country, WebhookSettings
from core.plugins import build_registry
from tests.conftest import add_member, sign_in

WEBHOOK_SECRET = "whsec_c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1zaG93LXVw"


@pytest.fixture
async def plugins_client(database: Any) -> AsyncIterator[AsyncTestClient[Any]]:
    settings = replace(
        database,
        countries={
            "BE": Country(name="Belgium", plugins=["track_be", "extend_theme", "notify_webhook"]),
            "FR": Country(name="France", plugins=["track_fr"]),
        },
        plugins={"extend_theme": {"BE": {"max_consecutive": 2}}},
        notifications=replace(
            database.notifications,
            webhook=WebhookSettings(url="https://hooks.example.org/sip", secret=WEBHOOK_SECRET),
        ),
    )
    app = create_app(settings, registry=build_registry(settings), engine=db.engine())
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
        yield client


def plugin_named(country: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [p for p in country["plugins"] if p["name"] == name]
    return found


async def test_an_operator_sees_their_countrys_plugins_with_secrets_masked(plugins_client):
    client = plugins_client
    await sign_in(client, await add_member("op@example.org", roles=(("operator", "BE"),)))
    page = await client.get("/operator/plugins")
    assert page.status_code == 200
    html = page.text
    assert 'id="plugins-BE"' in html and 'id="plugins-FR"' not in html
    assert 'id="plugin-BE-extend_theme"' in html and 'id="plugin-BE-notify_webhook"' in html
    assert WEBHOOK_SECRET not in html
    assert "https://hooks.example.org/sip" in html

    (be,) = (await client.get("/api/plugins")).json()
    assert be["country"] == "BE"
    assert [p["name"] for p in be["plugins"]] == ["track_be", "extend_theme", "notify_webhook"]
    assert "register_tracks" in plugin_named(be, "track_be")["adds"]
    assert "extension_allowed" in plugin_named(be, "extend_theme")["adds"]
    assert "register_notifiers" in plugin_named(be, "notify_webhook")["adds"]
    extend = {s["key"]: s for s in plugin_named(be, "extend_theme")["settings"]}
    assert extend["plugins.extend_theme.max_consecutive"]["value"] == "2"
    webhook = {s["key"]: s for s in plugin_named(be, "notify_webhook")["settings"]}
    assert webhook["notifications.webhook.secret"]["secret"] is True
    assert webhook["notifications.webhook.secret"]["value"] not in ("", WEBHOOK_SECRET)
    assert webhook["notifications.webhook.url"]["value"] == "https://hooks.example.org/sip"
    assert WEBHOOK_SECRET not in (await client.get("/api/plugins")).text


async def test_each_country_shows_only_what_it_enables(plugins_client):
    client = plugins_client
    await sign_in(client, await add_member("op.fr@example.org", roles=(("operator", "FR"),)))
    (fr,) = (await client.get("/api/plugins")).json()
    assert fr["country"] == "FR"
    assert [p["name"] for p in fr["plugins"]] == ["track_fr"]
    # The others are installed, not enabled for France: listed apart, so that an operator can
    # switch them on, and marked so.
    available = {p["name"]: p for p in fr["available"]}
    assert {"extend_theme", "notify_webhook", "track_be"} <= set(available)
    assert not any(p["enabled"] for p in available.values())
    html = (await client.get("/operator/plugins")).text
    enabled_part, _sep, rest = html.partition("Installed, not enabled")
    assert 'id="plugin-FR-track_fr"' in enabled_part
    assert "extend_theme" not in enabled_part and "notify_webhook" not in enabled_part
    assert 'id="plugin-FR-extend_theme"' in rest

    await sign_in(client, await add_member("board@example.org", roles=(("board", ""),)))
    countries = (await client.get("/api/plugins")).json()
    assert [c["country"] for c in countries] == ["BE", "FR"]


async def test_members_who_run_nothing_are_refused(plugins_client):
    client = plugins_client
    assert (await client.get("/api/plugins")).status_code == 401
    await sign_in(client, await add_member("member@example.org"))
    refused = await client.get("/api/plugins")
    assert refused.status_code == 403
    assert "Only operators and board members" in refused.json()["detail"]
    page = await client.get("/operator/plugins")
    assert page.status_code == 403
    assert "Only operators and board members" in page.text
