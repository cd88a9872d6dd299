"""Erasure: a member's personal data goes, every count and published result stays the same;
refused while a poll the member may vote in is open; confirmed by a link the member is sent,
or done by an operator of the member's country."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core import db, formats
from core.audit.tables import AuditEntry
from core.auth import services as auth
from core.config import Settings
from core.groups.tables import GroupRegistration
from core.members import privacy
from core.members.services import load_member
from core.members.tables import ErasureRequest, Member
from core.polls import services as polls
from core.polls.tables import Participation
from core.recommendations.tables import RecommendationComment
from core.themes.tables import Support, Theme, ThemeText
from tests.conftest import add_member, csrf_token, sign_in
from tests.notify_support import BOXES, member, open_poll, rules_for
from tests.poll_support import close_and_count
from tests.secrecy_support import found_in, raw_files, table_dump
from tests.test_my_data import seed_everything

NAME = "Quentin Quarkwhistle"
EMAIL = "quentin.quarkwhistle@example.org"
NUMBER = "BE-QQ-4242"


async def quentin() -> int:
    return await add_member(EMAIL, name=NAME, number=NUMBER, country="BE")


async def counts() -> dict[str, Any]:
    """What the record counts: supports per theme, participations per poll, registrations
    per group, and every table's row count."""
    supports = await Support.raw("SELECT theme, COUNT(*) AS n FROM support GROUP BY theme")
    voted = await Participation.raw("SELECT poll, COUNT(*) AS n FROM participation GROUP BY poll")
    registered = await GroupRegistration.raw(
        "SELECT working_group, COUNT(*) AS n FROM group_registration GROUP BY working_group"
    )
    support_counts = await Theme.select(Theme.id, Theme.support_count).order_by(Theme.id)
    rows = {t._meta.tablename: await t.count() for t in db.tables()}
    rows.pop("audit_entry", None)  # the erasure's own entry
    rows.pop("audit_personal", None)  # the member's audit values go (and the erasure's come)
    for gone in (
        "member_role",
        "web_session",
        "sign_in_token",
        "calendar_feed",
        "notification",
        "outbox_message",
        "digest_item",
        "notification_preference",
        "erasure_request",
    ):
        rows.pop(gone, None)
    return {
        "supports": sorted((r["theme"], r["n"]) for r in supports),
        "support_count": support_counts,
        "voted": sorted((r["poll"], r["n"]) for r in voted),
        "registered": sorted((r["working_group"], r["n"]) for r in registered),
        "rows": rows,
    }


async def personal_values_left(settings: Settings) -> list[str]:
    """Where the member's name, email or number can still be read: the raw SQLite file and
    its WAL; on PostgreSQL, every text column of every table."""
    needles = [NAME, EMAIL, NUMBER]
    if settings.is_sqlite:
        return found_in(await raw_files(settings), [n.encode() for n in needles])
    engine = db.engine()
    columns = await engine.run_ddl(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() "
        "AND data_type IN ('text', 'character varying', 'character')"
    )
    found = []
    for column in columns:
        table, name = column["table_name"], column["column_name"]
        for needle in needles:
            rows = await Member.raw(
                f'SELECT COUNT(*) AS n FROM "{table}" '
                f'WHERE position(lower({{}}) in lower("{name}"::text)) > 0',
                needle,
            )
            if rows[0]["n"]:
                found.append(f"{table}.{name}: {needle}")
    return found


async def test_erasure_keeps_counts_and_results_and_leaves_no_personal_value(
    client: Any, database: Settings
) -> None:
    rules = rules_for(database)
    member_id = await quentin()
    await seed_everything(member_id)
    theme = await Theme.select(Theme.id).where(Theme.proposer == member_id).first()
    await ThemeText.update({ThemeText.description: f"Written by {NAME}"}).where(
        ThemeText.theme == theme["id"]
    )
    await sign_in(client, member_id)  # sign-ins are audited with the member's name
    await auth.set_password(member_id, "a long enough password", "a long enough password")

    # A poll Quentin votes in, counted and published.
    others = [await member("BE"), await member("BE")]  # on the roll when the poll opens
    poll_id = await open_poll(rules, "BE", closes_in=timedelta(hours=2))
    poll = await polls.get_poll(poll_id)
    first = poll.candidates[0][0]
    voter = await load_member(member_id)
    assert voter is not None
    await polls.cast(rules, voter, poll_id, [first])
    for other in others:
        await polls.cast(rules, other, poll_id, [poll.candidates[1][0]])
    operator = await member("BE", operator_of=("BE",))
    await close_and_count(rules, operator, BOXES[poll_id])
    results = await client.get(f"/api/polls/{poll_id}/result")
    assert results.status_code == 200, results.text

    before = await counts()
    await privacy.erase(member_id, operator, database, rules=rules)
    after = await counts()
    assert after == before

    again = await client.get(f"/api/polls/{poll_id}/result")
    assert again.json() == results.json()
    row = await Member.select().where(Member.id == member_id).first()
    assert row["name"] == "Erased member"
    assert row["email"] == f"erased-{member_id}@erased.invalid"
    assert row["member_number"] == f"erased-{member_id}"
    assert row["password_hash"] is None and row["erased_at"] is not None
    assert row["left_at"] is not None
    # "keep" (the default): what they wrote stays, signed by nobody.
    kept = await ThemeText.select(ThemeText.description).where(ThemeText.theme == theme["id"])
    assert kept[0]["description"] == f"Written by {NAME}"
    await ThemeText.update({ThemeText.description: "kept"}).where(ThemeText.theme == theme["id"])
    if database.is_sqlite:  # the update just above is a new write: fold it in as erasure did
        await db.scrub("theme_text")

    assert await personal_values_left(database) == []
    # The erasure is on record, naming the member by number only.
    (entry,) = await AuditEntry.select().where(AuditEntry.action == "member.erase")
    assert entry["object_id"] == str(member_id) and entry["actor"] == operator.id


async def test_remove_replaces_their_wording(database: Settings, tmp_path: Any) -> None:
    import msgspec

    settings = msgspec.structs.replace(
        database, privacy=msgspec.structs.replace(database.privacy, erased_texts="remove")
    )
    rules = rules_for(settings)
    member_id = await quentin()
    await seed_everything(member_id)
    await privacy.erase(member_id, await member("BE", operator_of=("BE",)), settings, rules=rules)
    texts = await ThemeText.select(ThemeText.title, ThemeText.description)
    assert texts == [
        {"title": privacy.REMOVED_TEXT, "description": privacy.REMOVED_TEXT}
    ]  # the proposal never reached a ballot
    comments = await RecommendationComment.select(RecommendationComment.body)
    assert comments == [{"body": privacy.REMOVED_TEXT}]
    assert await Support.count() == 1  # supports stay counted


async def test_refused_while_a_poll_they_may_vote_in_is_open(
    client: Any, database: Settings
) -> None:
    rules = rules_for(database)
    member_id = await quentin()
    poll_id = await open_poll(rules, "BE", closes_in=timedelta(hours=5))
    operator_id = await add_member("op.be@example.org", roles=(("operator", "BE"),))
    await sign_in(client, operator_id)
    before = await table_dump()

    response = await client.post(
        "/api/members/erase",
        json={"member": NUMBER},
        headers={"x-csrftoken": await csrf_token(client)},
    )
    assert response.status_code == 409
    detail = response.json()["detail"]
    closes = formats.moment((await polls.get_poll(poll_id)).closes_at, "BE")
    assert "cannot be erased" in detail and closes in detail  # when it closes, in words
    assert await table_dump() == before

    # The member asking for it themselves is refused too, before any link is made.
    await sign_in(client, member_id)
    page = await client.post("/account/erase", data={"_csrf_token": await csrf_token(client)})
    assert page.status_code == 409
    assert closes in page.text
    assert await ErasureRequest.count() == 0


async def test_self_service_link_flow(
    client: Any, database: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    member_id = await quentin()
    await sign_in(client, member_id)
    with caplog.at_level(logging.WARNING, logger="sip.privacy"):
        asked = await client.post("/account/erase", data={"_csrf_token": await csrf_token(client)})
    assert asked.status_code == 200
    assert "confirmation link" in asked.text
    found = re.search(r"/account/erase/([A-Za-z0-9_-]+)", caplog.text)
    assert found, caplog.text
    token = found.group(1)
    stored = await ErasureRequest.select(ErasureRequest.token_hash).first()
    assert token not in stored["token_hash"]  # only the hash is kept

    confirm = await client.get(f"/account/erase/{token}")
    assert confirm.status_code == 200
    assert f'action="/account/erase/{token}"' in confirm.text
    assert await Member.select(Member.erased_at).where(Member.id == member_id).first() == {
        "erased_at": None
    }

    done = await client.post(
        f"/account/erase/{token}", data={"_csrf_token": await csrf_token(client)}
    )
    assert done.status_code == 200
    assert "Data erased" in done.text
    row = await Member.select().where(Member.id == member_id).first()
    assert row["erased_at"] is not None and row["email"] != EMAIL
    # The session ended: the account is a visitor's again.
    assert (await client.get("/api/me")).status_code == 401

    # The link works once.
    reused = await client.post(
        f"/account/erase/{token}", data={"_csrf_token": await csrf_token(client)}
    )
    assert reused.status_code in (404, 410)


async def test_an_expired_link_is_refused_and_changes_nothing(
    client: Any, database: Settings
) -> None:
    member_id = await quentin()
    voter = await load_member(member_id)
    assert voter is not None
    token = await privacy.request_erasure(voter, database, rules_for(database))
    await ErasureRequest.update(
        {ErasureRequest.expires_at: datetime.now(UTC) - timedelta(minutes=1)}
    ).where(ErasureRequest.member == member_id)
    assert (await client.get(f"/account/erase/{token}")).status_code == 410
    refused = await client.post(
        f"/api/account/erase/{token}", headers={"x-csrftoken": await csrf_token(client)}
    )
    assert refused.status_code == 410
    assert "expired" in refused.json()["detail"]
    row = await Member.select(Member.name, Member.erased_at).where(Member.id == member_id).first()
    assert row == {"name": NAME, "erased_at": None}
    unknown = await client.get(f"/account/erase/{uuid.uuid4().hex}")
    assert unknown.status_code == 404


async def test_an_operator_of_another_country_cannot_erase(client: Any, database: Settings) -> None:
    member_id = await quentin()
    operator_fr = await add_member("op.fr@example.org", country="FR", roles=(("operator", "FR"),))
    await sign_in(client, operator_fr)
    before = await table_dump()
    form = await client.get("/operator/members/erase")
    assert form.status_code == 200  # their own country's members only
    page = await client.post(
        "/operator/members/erase",
        data={"member": NUMBER, "confirm": "yes", "_csrf_token": await csrf_token(client)},
    )
    assert page.status_code == 403
    api = await client.post(
        "/api/members/erase",
        json={"member": EMAIL},
        headers={"x-csrftoken": await csrf_token(client)},
    )
    assert api.status_code == 403
    assert await table_dump() == before

    operator_be = await add_member("op.be@example.org", roles=(("operator", "BE"),))
    await sign_in(client, operator_be)
    shown = await client.post(
        "/operator/members/erase", data={"member": NUMBER, "_csrf_token": await csrf_token(client)}
    )
    assert shown.status_code == 200 and NAME in shown.text  # the confirmation names whom
    erased = await Member.select(Member.erased_at).where(Member.id == member_id).first()
    assert erased["erased_at"] is None  # nothing is erased before the confirmation
    done = await client.post(
        "/operator/members/erase",
        data={"member": NUMBER, "confirm": "yes", "_csrf_token": await csrf_token(client)},
    )
    assert done.status_code == 200, done.text
    assert "Data erased" in done.text
    erased = await Member.select(Member.erased_at).where(Member.id == member_id).first()
    assert erased["erased_at"] is not None
    # A second erasure is refused, clearly.
    twice = await client.post(
        "/api/members/erase",
        json={"member": f"erased-{member_id}"},
        headers={"x-csrftoken": await csrf_token(client)},
    )
    assert twice.status_code == 409
    unknown = await client.post(
        "/api/members/erase",
        json={"member": "nobody@example.org"},
        headers={"x-csrftoken": await csrf_token(client)},
    )
    assert unknown.status_code == 404


async def test_an_erased_member_cannot_sign_in(client: Any, database: Settings) -> None:
    member_id = await quentin()
    await auth.set_password(member_id, "a long enough password", "a long enough password")
    old_link = await auth.create_sign_in_link(member_id, 30)
    await privacy.erase(member_id, await member("BE", operator_of=("BE",)), database)
    headers = {"x-csrftoken": await csrf_token(client)}
    by_password = await client.post(
        "/api/sign-in/password",
        json={"email": EMAIL, "password": "a long enough password"},
        headers=headers,
    )
    assert by_password.status_code in (400, 401, 403)
    by_link = await client.post(f"/api/sign-in/link/{old_link}", headers=headers)
    assert by_link.status_code in (400, 404, 410)
    assert (await client.get("/api/me")).status_code == 401
