from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T07:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "one active proxy per grantor; one presence per member"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def indexes() -> None:
        db = engine_finder()
        for statement in (
            # Partial unique index: a revoked proxy may be followed by a new one.
            "CREATE UNIQUE INDEX proxy_active_grantor ON proxy (poll, grantor) "
            "WHERE revoked_at IS NULL",
            "CREATE INDEX proxy_holder ON proxy (poll, holder)",
            "CREATE UNIQUE INDEX presence_unique ON presence (poll, member)",
        ):
            await db.run_ddl(statement)

    manager.add_raw(indexes)
    return manager
