"""Security notices and the audit filters they need: the email-change notice written by the
command line's import too, always sent (no preference turns it off), and the audit page
filtering on actions whose names hold an underscore (``member.sign_in``)."""

from __future__ import annotations

import asyncio

import pytest
from click.testing import CliRunner

from core import db
from core.cli import main
from core.errors import InvalidInput
from core.members.services import load_member
from core.notifications import services as notifications
from core.notifications.tables import NotificationEvent, OutboxMessage
from core.plugins import build_registry
from tests.conftest import add_member, csrf_token, sign_in


async def test_sip_members_import_tells_the_old_address_of_an_email_change(database, tmp_path):
    member = await add_member("old@example.org", number="P-1", name="Pat")
    path = tmp_path / "members.csv"
    path.write_text(
        "member_number,email,name,country,language,shareholder\nP-1,new@example.org,Pat,BE,en,yes\n"
    )
    env = {}
    if not database.is_sqlite:
        schema = (await db.engine().run_ddl("SELECT current_schema() AS s"))[0]["s"]
        env["SIP_DATABASE_URL"] = f"{database.database_url}?schema={schema}"
    ours = db.engine()
    result = await asyncio.to_thread(
        CliRunner().invoke,
        main,
        ["--config", str(database.config_path), "members", "import", str(path)],
        env=env,
    )
    db.bind(ours)
    assert result.exit_code == 0, result.output
    [event] = await NotificationEvent.select().where(
        NotificationEvent.event_type == "email_changed"
    )
    assert "old@example.org" in event["payload"]
    messages = await OutboxMessage.select().where(OutboxMessage.event == event["id"])
    assert {m["member"] for m in messages} == {member}


async def test_no_preference_turns_the_email_change_notice_off(database):
    registry = build_registry(database)
    member = await load_member(await add_member("pat@example.org"))
    shown = await notifications.get_preferences(registry, database, member)
    assert "email_changed" not in [e.type for e in shown.events]
    with pytest.raises(InvalidInput):
        await notifications.set_preferences(
            registry, database, member, {"email_changed": {"in_app": False}}
        )


async def test_the_audit_page_filters_on_an_action_with_an_underscore(client):
    operator = await add_member("op@example.org", roles=(("operator", "BE"),))
    await sign_in(client, operator)  # a sign-in is audited as member.sign_in
    await csrf_token(client)
    page = await client.get("/operator/audit", params={"action": "member.sign_in"})
    assert page.status_code == 200, page.text
    body = (await client.get("/api/audit", params={"action": "member.sign_in"})).json()
    assert body["entries"] and {e["action"] for e in body["entries"]} == {"member.sign_in"}
    refused = await client.get("/api/audit", params={"action": "member.sign%"})
    assert refused.status_code == 400
