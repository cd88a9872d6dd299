"""The privacy page says what the platform keeps and for how long, from the same settings the
pruner reads: change a setting and the page changes with it."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient
from msgspec.structs import replace

from core import db
from core.app import create_app
from core.config import Settings
from tests.conftest import add_member, sign_in


async def test_the_privacy_page_lists_each_retention_period_and_how_to_get_or_erase_ones_data(
    client: AsyncTestClient[Any],
) -> None:
    page = await client.get("/privacy")
    assert page.status_code == 200
    assert '<tr id="kept-sign_in_tokens_days"><th scope="row">' in page.text
    assert "730 days" in page.text  # left_members_days by default
    # A visitor is sent to sign in first (the page itself needs a member); a member gets it.
    assert 'href="/sign-in"' in page.text and 'href="/account/data"' not in page.text
    assert "60 minutes" in page.text  # the erasure link's validity
    assert "signed “erased member”" in page.text  # erased_texts = "keep"
    await sign_in(client, await add_member("reader@example.org"))
    assert 'href="/account/data"' in (await client.get("/privacy")).text
    twin = (await client.get("/api/privacy")).json()
    assert {k["setting"]: k["days"] for k in twin["kept"]} == {
        "sign_in_tokens_days": 7,
        "sign_in_failures_days": 30,
        "ended_sessions_days": 30,
        "outbox_sent_days": 90,
        "outbox_failed_days": 180,
        "left_members_days": 730,
    }
    # Every page links to it, in the footer, next to the accessibility statement.
    assert (
        'href="/accessibility">Accessibility</a> · <a href="/privacy">'
        in (await client.get("/")).text
    )


async def test_changed_settings_change_the_privacy_page(database: Settings) -> None:
    settings = replace(
        database,
        retention=replace(database.retention, left_members_days=365, outbox_sent_days=14),
        privacy=replace(database.privacy, erased_texts="remove", erasure_link_minutes=20),
    )
    app = create_app(settings, engine=db.engine())
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
        page = await client.get("/privacy")
        await sign_in(client, await add_member("reader@example.org"))
    assert 'href="/account/data"' in (await client.get("/privacy")).text
    twin = (await client.get("/api/privacy")).json()
    assert "365 days" in page.text and "730 days" not in page.text
    assert "14 days" in page.text
    assert "20 minutes" in page.text
    assert "wording replaced by a note that it was removed" in page.text
    assert "erased member" not in page.text
    kept = {k["setting"]: k["days"] for k in twin["kept"]}
    assert kept["left_members_days"] == 365 and kept["outbox_sent_days"] == 14
    assert twin["erased_texts"] == "remove" and twin["erasure_link_minutes"] == 20
