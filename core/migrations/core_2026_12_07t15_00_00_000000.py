from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.sqlite import SQLiteEngine

ID = "2026-12-07T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "the audit log refuses TRUNCATE too (PostgreSQL)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def no_truncate() -> None:
        db = engine_finder()
        if isinstance(db, SQLiteEngine):
            # SQLite has no TRUNCATE: a DELETE without WHERE fires the row trigger that
            # already refuses it (a table with a DELETE trigger skips the truncate shortcut).
            return
        await db.run_ddl(
            "CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()"
        )

    manager.add_raw(no_truncate)
    return manager
