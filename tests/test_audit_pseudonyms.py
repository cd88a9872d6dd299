"""The audit log keeps only pseudonymous entries: a member's name, email address and member
number live apart (``audit_personal``), committed to by the chain, and erasing the member
deletes them without breaking the chain or any count.

The re-sealing migration is run on databases whose entries were written the old way, with
the names and numbers inside the entries, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core import db
from core.audit import services as audit
from core.audit.tables import AuditEntry, AuditPersonal
from core.config import Settings
from core.members.services import load_member
from core.members.tables import Member
from tests.conftest import POSTGRES_URL, add_member, csrf_token, make_settings, sign_in
from tests.secrecy_support import raw_files

ZOE = {"name": "Zoé Zylberstein", "email": "zoe.zylberstein@example.org", "number": "ZZ-4711"}
NEW_EMAIL = "zoe.z.elsewhere@example.org"


async def text_of_audit_tables() -> str:
    """Every column of every row of the audit tables, as text."""
    rows = [
        *await AuditEntry.raw("SELECT * FROM audit_entry"),
        *await AuditPersonal.raw("SELECT * FROM audit_personal"),
    ]
    return " ".join(str(value) for row in rows for value in row.values())


async def zoe_and_olga() -> tuple[Any, Any]:
    zoe = await add_member(ZOE["email"], name=ZOE["name"], number=ZOE["number"])
    olga = await add_member(
        "olga@example.org", name="Olga Op", number="OP-1", roles=(("operator", "BE"),)
    )
    return await load_member(zoe), await load_member(olga)


async def audited_about_zoe(zoe: Any, olga: Any) -> None:
    """What the platform records about a member: her signing in, an operator's act on her,
    an email change and an import that created her among others."""
    await audit.record(
        "member.sign_in",
        actor=zoe,
        role=audit.ROLE_MEMBER,
        country="BE",
        object_type="member",
        object_id=zoe.id,
        details={"method": "link", "result": "signed in"},
        personal={zoe.id: {"member_number": zoe.member_number}},
    )
    await audit.record(
        "room.check_in",
        actor=olga,
        country="BE",
        object_type="poll",
        object_id=7,
        details={"member": zoe.id},
        personal={zoe.id: {"member_number": zoe.member_number}},
    )
    await audit.record(
        "member.email.change",
        actor=olga,
        country="BE",
        object_type="member",
        object_id=zoe.id,
        personal={zoe.id: {"member_number": zoe.member_number, "old": zoe.email, "new": NEW_EMAIL}},
    )
    await audit.record(
        "member.import",
        actor=audit.CLI,
        country="BE",
        object_type="member_register",
        object_id="BE",
        details={"created": 2, "updated": 0, "new": [zoe.member_number, "OP-1"]},
        by_member_number=("new", "changed"),
    )


async def forget(member_id: int) -> None:
    async with db.write_transaction():
        await audit.forget_member(member_id)
        # What the erasure does to the register row itself (core/members/privacy.py).
        await Member.update(
            {
                Member.name: "",
                Member.email: f"erased-{member_id}@invalid",
                Member.member_number: f"erased-{member_id}",
            }
        ).where(Member.id == member_id)
    await db.scrub("audit_personal")  # on SQLite, the log checkpointed into the file


async def test_entries_hold_pseudonyms_and_show_the_personal_values_merged_back(database):
    zoe, olga = await zoe_and_olga()
    await audited_about_zoe(zoe, olga)

    stored = await AuditEntry.select().order_by(AuditEntry.seq)
    entry_text = " ".join(str(v) for row in stored for v in row.values())
    for value in (ZOE["name"], ZOE["email"], ZOE["number"], NEW_EMAIL, "Olga Op", "OP-1"):
        assert value not in entry_text
    assert [r["actor_name"] for r in stored] == [
        f"member {zoe.id}",
        *[f"member {olga.id}"] * 2,
        "cli",
    ]

    shown = await audit.as_shown(stored)
    assert shown[0]["actor_name"] == f"{ZOE['name']} ({ZOE['number']})"
    assert shown[0]["details"] == {
        "member_number": ZOE["number"],
        "method": "link",
        "result": "signed in",
    }
    assert shown[1]["actor_name"] == "Olga Op (OP-1)"
    assert shown[1]["details"] == {"member": zoe.id, "member_number": ZOE["number"]}
    assert shown[2]["details"] == {
        "member_number": ZOE["number"],
        "old": ZOE["email"],
        "new": NEW_EMAIL,
    }
    # The numbers an import lists come back in their order, each kept with its member.
    assert shown[3]["details"] == {"created": 2, "updated": 0, "new": [ZOE["number"], "OP-1"]}
    assert {r["member"] for r in await AuditPersonal.select().where(AuditPersonal.seq == 4)} == {
        zoe.id,
        olga.id,
    }
    assert all(not r["erased"] for r in shown)
    assert (await audit.verify()).intact


async def test_forgetting_a_member_leaves_no_personal_value_and_the_chain_verifies(
    database: Settings,
):
    zoe, olga = await zoe_and_olga()
    await audited_about_zoe(zoe, olga)
    head = await audit.verify()

    await forget(zoe.id)

    needles = [ZOE["name"], ZOE["email"], ZOE["number"], NEW_EMAIL]
    written = await text_of_audit_tables()
    assert [n for n in needles if n in written] == []
    assert "Olga Op (OP-1)" in written  # the others' values stay
    if database.is_sqlite:
        # Whoever holds the file: the database and its log, once the deletion is scrubbed.
        files = await raw_files(database)
        encoded = [n.encode() for n in needles]
        assert [f"{name}: {n!r}" for name, c in files.items() for n in encoded if n in c] == []

    # Every entry stays, with its hash: the chain verifies against the head noted before.
    after = await audit.verify(expect=(head.head_seq, head.head_hash))
    assert after.intact and after.count == 4
    shown = await audit.as_shown(await AuditEntry.select().order_by(AuditEntry.seq))
    assert shown[0]["actor_name"] == "erased member"
    assert shown[0]["details"] == {"method": "link", "result": "signed in"}
    assert shown[0]["erased"] == [zoe.id]
    assert shown[1]["actor_name"] == "Olga Op (OP-1)"
    assert (shown[1]["details"], shown[1]["erased"]) == ({"member": zoe.id}, [zoe.id])
    assert shown[2]["details"] == {}
    # Counts stay true: two were created, one of them is no longer named.
    assert shown[3]["details"] == {"created": 2, "updated": 0, "new": ["OP-1"]}


async def test_the_audit_page_shows_an_erased_member_as_such(client):
    zoe, olga = await zoe_and_olga()
    board = await add_member("board@example.org", name="Bea Board", roles=(("board", ""),))
    await audited_about_zoe(zoe, olga)
    await forget(zoe.id)

    await sign_in(client, board)
    page = await client.get("/operator/audit")
    assert page.status_code == 200
    # Her sign-in (as its actor), the check-in, the email change and the import (named there).
    assert page.text.count("erased member") == 4
    assert ZOE["name"] not in page.text and ZOE["number"] not in page.text
    assert "Olga Op (OP-1)" in page.text
    api = (await client.get("/api/audit")).json()
    by_seq = {e["seq"]: e for e in api["entries"]}
    assert (by_seq[1]["actor_name"], by_seq[1]["erased"]) == ("erased member", [zoe.id])
    # Searching by her name finds nothing any more; by the operator's, their entries.
    headers = {"x-csrftoken": await csrf_token(client)}
    found = await client.post("/api/audit/search", json={"actor": "zylberstein"}, headers=headers)
    assert found.json()["total"] == 0
    found = await client.post("/api/audit/search", json={"actor": "olga op"}, headers=headers)
    assert [e["seq"] for e in found.json()["entries"]] == [3, 2]


async def test_a_tampered_personal_value_is_found_by_verify(database):
    zoe, olga = await zoe_and_olga()
    await audited_about_zoe(zoe, olga)
    await forget(zoe.id)

    # A personal row rewritten (another name put in an operator's label).
    forged = json.dumps({"actor_name": "Someone Else (X-1)"}, separators=(",", ":"))
    await AuditPersonal.update({AuditPersonal.content: forged}).where(
        (AuditPersonal.seq == 2) & (AuditPersonal.member == olga.id)
    )
    checked = await audit.verify()
    assert (checked.bad_seq, checked.problem) == (2, "the personal values of entry 2 were changed")


async def test_a_personal_row_put_back_for_an_erased_member_is_found_by_verify(database):
    zoe, olga = await zoe_and_olga()
    await audited_about_zoe(zoe, olga)
    await forget(zoe.id)

    await AuditPersonal.insert(
        AuditPersonal(seq=1, member=zoe.id, content='{"actor_name":"Zoe (ZZ-4711)"}', salt="00")
    )
    assert (await audit.verify()).bad_seq == 1
    await AuditPersonal.delete().where(AuditPersonal.seq == 1)
    await AuditPersonal.insert(AuditPersonal(seq=99, member=olga.id, content="{}", salt="00"))
    checked = await audit.verify()
    assert (checked.bad_seq, checked.intact) == (99, False)


# -- the re-sealing migration -------------------------------------------------------------------


def old_hash(row: dict[str, Any]) -> str:
    """An entry's hash as the chain computed it before personal values moved apart."""
    fields = {
        "seq": row["seq"],
        "at": audit.timestamp(row["at"]),
        "actor": row["actor"],
        "actor_name": row["actor_name"],
        "role": row["role"],
        "country": row["country"],
        "action": row["action"],
        "object_type": row["object_type"],
        "object_id": row["object_id"],
        "details": row["details"],
        "prev_hash": row["prev_hash"],
    }
    encoded = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


async def write_the_old_way(entries: list[dict[str, Any]]) -> str:
    previous = audit.GENESIS
    for seq, entry in enumerate(entries, start=1):
        row = {
            "seq": seq,
            "at": datetime(2026, 11, 30, 12, seq, tzinfo=UTC),
            "actor": None,
            "actor_name": "cli",
            "role": "cli",
            "country": "BE",
            "object_type": "",
            "object_id": "",
            "prev_hash": previous,
            **entry,
        }
        row["details"] = audit.encode_details(row.get("details", {}))
        row["hash"] = previous = old_hash(row)
        columns = ", ".join(row)
        marks = ", ".join("{}" for _ in row)
        await AuditEntry.raw(f"INSERT INTO audit_entry ({columns}) VALUES ({marks})", *row.values())
    return previous


async def migrated_up_to(migration_id: str) -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards
    from piccolo.apps.migrations.tables import Migration

    if not db.is_sqlite():
        await Migration.create_table(if_not_exists=True)
    result = await run_forwards(app_name="core", migration_id=migration_id)
    assert result.success, result.message


@pytest.fixture
async def unmigrated(backend: str, tmp_path: Path) -> Any:
    """An empty database of its own on the backend, no migration run yet."""
    import asyncpg

    if backend == "sqlite":
        settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'old.sqlite3'}")
        engine = db.make_engine(settings)
        db.bind(engine)
        yield settings
        await db.close(engine)
        return
    schema = f"sip_reseal_{uuid.uuid4().hex[:10]}"
    try:
        conn = await asyncpg.connect(POSTGRES_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    await conn.execute(f"CREATE SCHEMA {schema}")
    settings = make_settings(tmp_path, POSTGRES_URL)
    engine = db.make_engine(settings, schema=schema)
    db.bind(engine)
    try:
        yield settings
    finally:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_the_migration_reseals_entries_written_the_old_way(unmigrated):
    await migrated_up_to("2026-12-08T02:52:19:000000")
    zoe = await add_member(ZOE["email"], name=ZOE["name"], number=ZOE["number"])
    olga = await add_member("olga@example.org", name="Olga Op", number="OP-1")
    old_head = await write_the_old_way(
        [
            {
                "action": "member.sign_in",
                "actor": zoe,
                "actor_name": f"{ZOE['name']} ({ZOE['number']})",
                "role": "member",
                "object_type": "member",
                "object_id": str(zoe),
                "details": {"member_number": ZOE["number"], "method": "link"},
            },
            {
                "action": "room.check_in",
                "actor": olga,
                "actor_name": "Olga Op (OP-1)",
                "role": "operator",
                "object_type": "poll",
                "object_id": "3",
                "details": {"member": zoe, "member_number": ZOE["number"]},
            },
            {
                "action": "member.email.change",
                "object_type": "member",
                "object_id": str(zoe),
                "details": {"member_number": ZOE["number"], "old": ZOE["email"], "new": NEW_EMAIL},
            },
            {
                "action": "member.import",
                "object_type": "member_register",
                "object_id": "BE",
                "details": {
                    "created": 1,
                    "updated": 1,
                    "new": ["OP-1"],
                    "changed": {ZOE["number"]: ["email"]},
                },
            },
            {"action": "poll.close", "object_type": "poll", "object_id": "3"},
        ]
    )
    before = [
        {**row, "details": json.loads(row["details"])}
        for row in await AuditEntry.raw("SELECT * FROM audit_entry ORDER BY seq")
    ]

    await db.upgrade()

    assert await db.pending_migrations() == []
    rows = await AuditEntry.select().order_by(AuditEntry.seq)
    assert (await audit.verify()).count == 6
    resealed = rows[-1]
    assert (resealed["action"], resealed["role"], resealed["actor"]) == (
        "audit.resealed",
        "cli",
        None,
    )
    assert json.loads(resealed["details"]) == {"entries": 5, "head_before": [5, old_head]}
    entry_text = " ".join(str(v) for row in rows for v in row.values())
    assert [v for v in (*ZOE.values(), NEW_EMAIL, "Olga Op", "OP-1") if v in entry_text] == []
    # Shown as before: every entry's actor and details, the personal values merged back.
    after = await audit.as_shown(rows[:-1])
    keys = ("seq", "at", "actor", "role", "action", "object_type", "object_id")
    assert [{k: r[k] for k in keys} for r in after] == [{k: r[k] for k in keys} for r in before]
    assert [(r["actor_name"], r["details"]) for r in after] == [
        (r["actor_name"], r["details"]) for r in before
    ]
    assert [(r["actor_name"], r["details"]) for r in after] == [
        (
            f"{ZOE['name']} ({ZOE['number']})",
            {"member_number": ZOE["number"], "method": "link"},
        ),
        ("Olga Op (OP-1)", {"member": zoe, "member_number": ZOE["number"]}),
        ("cli", {"member_number": ZOE["number"], "old": ZOE["email"], "new": NEW_EMAIL}),
        (
            "cli",
            {"created": 1, "updated": 1, "new": ["OP-1"], "changed": {ZOE["number"]: ["email"]}},
        ),
        ("cli", {}),
    ]
    # The append-only trigger is back.
    with pytest.raises(Exception, match="append-only"):
        await AuditEntry.update({AuditEntry.actor_name: "x"}).where(AuditEntry.seq == 1)

    # And the member can now be erased from the log, the chain intact, nothing left of her
    # values in the audit tables' files either (the entries as they were included).
    await forget(zoe)
    written = await text_of_audit_tables()
    assert [v for v in (*ZOE.values(), NEW_EMAIL) if v in written] == []
    files = await raw_files(unmigrated)
    if not unmigrated.is_sqlite:
        files = {name: content for name, content in files.items() if name.startswith("audit_")}
    needles = [v.encode() for v in (*ZOE.values(), NEW_EMAIL)]
    assert [f"{name}: {n!r}" for name, c in files.items() for n in needles if n in c] == []
    assert (await audit.verify()).intact
    shown = await audit.as_shown(await AuditEntry.select().order_by(AuditEntry.seq))
    assert shown[3]["details"] == {"created": 1, "updated": 1, "new": ["OP-1"]}
