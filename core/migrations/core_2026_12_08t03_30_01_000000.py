"""Re-seal the audit log without personal values.

Until now an entry named its actor "Name (member number)" and some details held member
numbers and email addresses, all under the chain's hashes: erasing a member would have broken
the chain. Each entry's personal values move to ``audit_personal`` (one salted row per data
subject), the entry keeps a pseudonym and a digest of each row, and every hash is computed
again in order, the append-only trigger lifted for the time of it. A last entry,
``audit.resealed``, says so and notes the head the chain had before (a head noted earlier
for ``sip audit verify --expect`` no longer matches; this entry says why).

The encoding is copied here, frozen, from ``core.audit.services`` as it is on this day.
"""

import hashlib
import json
import secrets
from datetime import UTC, datetime
from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import Integer, Text, Timestamptz, Varchar
from piccolo.engine import engine_finder
from piccolo.engine.sqlite import SQLiteEngine
from piccolo.table import Table

ID = "2026-12-08T03:30:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "the audit log re-sealed: personal values apart, every hash computed again"

APPEND_ONLY = "the audit log is append-only: entries cannot be changed or removed"
GENESIS = "0" * 64


class Entry(Table, tablename="audit_entry"):
    seq = Integer(unique=True)
    at = Timestamptz()
    actor = Integer(null=True, default=None)
    actor_name = Varchar(length=250, default="")
    role = Varchar(length=20)
    country = Varchar(length=20, default="")
    action = Varchar(length=60)
    object_type = Varchar(length=40, default="")
    object_id = Varchar(length=64, default="")
    details = Text(default="{}")
    personal = Text(default="[]")
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64)


class Personal(Table, tablename="audit_personal"):
    seq = Integer()
    member = Integer(null=True, default=None)
    content = Text(default="{}")
    salt = Varchar(length=64)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _timestamp(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _hash(row: dict[str, Any]) -> str:
    fields = {
        "seq": int(row["seq"]),
        "at": _timestamp(row["at"]),
        "actor": None if row["actor"] is None else int(row["actor"]),
        "actor_name": row["actor_name"],
        "role": row["role"],
        "country": row["country"],
        "action": row["action"],
        "object_type": row["object_type"],
        "object_id": row["object_id"],
        "details": row["details"],
        "personal": row["personal"],
        "prev_hash": row["prev_hash"],
    }
    encoded = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


def _add(subjects: dict[Any, dict[str, Any]], member: Any, key: str, value: Any) -> None:
    into = subjects.setdefault(member, {}).setdefault("details", {})
    present = into.get(key)
    if isinstance(present, list) and isinstance(value, list):
        present.extend(value)
    elif isinstance(present, dict) and isinstance(value, dict):
        present.update(value)
    else:
        into[key] = value


def _split(row: dict[str, Any], numbers: dict[str, int]) -> tuple[str, dict, dict]:
    """An entry written the old way: its pseudonym, details and personal values by member."""
    subjects: dict[Any, dict[str, Any]] = {}
    name = row["actor_name"]
    if row["actor"] is not None:
        subjects[int(row["actor"])] = {"actor_name": row["actor_name"]}
        name = f"member {int(row['actor'])}"
    details = json.loads(row["details"] or "{}")
    subject: Any = None
    if row["object_type"] == "member" and str(row["object_id"]).isdigit():
        subject = int(row["object_id"])
    elif isinstance(details.get("member"), int):
        subject = details["member"]
    if "member_number" in details:
        number = details.pop("member_number")
        _add(subjects, subject or numbers.get(str(number)), "member_number", number)
    if row["action"] == "member.email.change":
        for key in ("old", "new"):
            if key in details:
                _add(subjects, subject, key, details.pop(key))
    if row["action"] == "member.import":
        for number in details.pop("new", None) or []:
            _add(subjects, numbers.get(str(number)), "new", [number])
        for number, fields in (details.pop("changed", None) or {}).items():
            _add(subjects, numbers.get(str(number)), "changed", {number: fields})
    return name, details, subjects


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def reseal() -> None:
        db = engine_finder()
        Entry._meta.db = db
        Personal._meta.db = db
        sqlite = isinstance(db, SQLiteEngine)
        await db.run_ddl(
            "CREATE UNIQUE INDEX audit_personal_seq_member ON audit_personal (seq, member)"
        )
        rows = await Entry.select().order_by(Entry.seq)
        if not rows:
            return
        if sqlite:
            await db.run_ddl("DROP TRIGGER audit_entry_no_update")
        else:
            await db.run_ddl("DROP TRIGGER audit_entry_append_only ON audit_entry")
        members = await db.run_ddl("SELECT id, member_number FROM member")
        numbers = {str(m["member_number"]): int(m["id"]) for m in members}
        previous_hash = GENESIS
        for row in rows:
            name, details, subjects = _split(row, numbers)
            kept, commitments = [], []
            for member, values in subjects.items():
                content, salt = _json(values), secrets.token_hex(16)
                kept.append(Personal(seq=row["seq"], member=member, content=content, salt=salt))
                digest = hashlib.sha256((salt + content).encode()).hexdigest()
                commitments.append([member, digest])
            row = {
                **row,
                "actor_name": name[:250],
                "details": _json(details),
                "personal": json.dumps(commitments, separators=(",", ":")),
                "prev_hash": previous_hash,
            }
            row["hash"] = _hash(row)
            await Entry.update(
                {
                    Entry.actor_name: row["actor_name"],
                    Entry.details: row["details"],
                    Entry.personal: row["personal"],
                    Entry.prev_hash: row["prev_hash"],
                    Entry.hash: row["hash"],
                }
            ).where(Entry.seq == row["seq"])
            if kept:
                await Personal.insert(*kept)
            previous_hash = row["hash"]
        if sqlite:
            await db.run_ddl(
                "CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )
        else:
            # The rows as they were stay in the table's files as dead tuples until a VACUUM:
            # give the table new files holding only the re-sealed rows (the old ones are
            # removed at the commit).
            await db.run_ddl("DROP TRIGGER audit_entry_no_truncate ON audit_entry")
            await db.run_ddl(
                "CREATE TEMPORARY TABLE audit_entry_resealed ON COMMIT DROP AS "
                "SELECT * FROM audit_entry"
            )
            await db.run_ddl("TRUNCATE audit_entry")
            await db.run_ddl("INSERT INTO audit_entry SELECT * FROM audit_entry_resealed")
            await db.run_ddl(
                "CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry "
                "FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()"
            )
            await db.run_ddl(
                "CREATE TRIGGER audit_entry_append_only "
                "BEFORE UPDATE OR DELETE ON audit_entry "
                "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()"
            )
        last = rows[-1]
        resealed = {
            "seq": int(last["seq"]) + 1,
            "at": datetime.now(UTC),
            "actor": None,
            "actor_name": "cli",
            "role": "cli",
            "country": "",
            "action": "audit.resealed",
            "object_type": "",
            "object_id": "",
            "details": _json({"entries": len(rows), "head_before": [last["seq"], last["hash"]]}),
            "personal": "[]",
            "prev_hash": previous_hash,
        }
        resealed["hash"] = _hash(resealed)
        await Entry.insert(Entry(**resealed))

    manager.add_raw(reseal)
    return manager
