from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.sqlite import SQLiteEngine

ID = "2026-11-28T11:03:45:000000"
VERSION = "1.38.0"
DESCRIPTION = "the audit log is append-only: no UPDATE, no DELETE; its filters' index"

APPEND_ONLY = "the audit log is append-only: entries cannot be changed or removed"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def append_only() -> None:
        db = engine_finder()
        statements = ["CREATE INDEX audit_entry_actor ON audit_entry (actor, seq)"]
        if isinstance(db, SQLiteEngine):
            statements += [
                "CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END",
                "CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END",
            ]
        else:
            # TRUNCATE is left to the database owner (the test suite empties every table);
            # `sip audit verify --expect` notices a log that lost its entries.
            statements += [
                "CREATE FUNCTION audit_entry_append_only() RETURNS trigger "
                "LANGUAGE plpgsql AS $$ BEGIN "
                f"RAISE EXCEPTION '{APPEND_ONLY}'; "
                "END $$",
                "CREATE TRIGGER audit_entry_append_only "
                "BEFORE UPDATE OR DELETE ON audit_entry "
                "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()",
            ]
        for statement in statements:
            await db.run_ddl(statement)

    manager.add_raw(append_only)
    return manager
