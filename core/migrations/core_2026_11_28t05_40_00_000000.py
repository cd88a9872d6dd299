from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T05:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite unique indexes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def unique_indexes() -> None:
        # Piccolo's composite Unique emits DDL that SQLite rejects; an index works on both.
        db = engine_finder()
        await db.run_ddl(
            "CREATE UNIQUE INDEX member_role_unique ON member_role (member, role, country)"
        )
        await db.run_ddl("CREATE INDEX sign_in_failure_key_at ON sign_in_failure (key, at)")

    manager.add_raw(unique_indexes)
    return manager
