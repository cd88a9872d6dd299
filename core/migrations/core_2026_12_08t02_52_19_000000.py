from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-08T02:52:19:000000"
VERSION = "1.38.0"
DESCRIPTION = (
    "unique plugin switch per country and plugin, unique roll entry per poll and member, "
    "digest items found by member, the one settings version row"
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def indexes() -> None:
        db = engine_finder()
        for statement in (
            "CREATE UNIQUE INDEX plugin_switch_country_plugin ON plugin_switch (country, plugin)",
            "CREATE UNIQUE INDEX poll_roll_poll_member ON poll_roll (poll, member)",
            "CREATE INDEX poll_roll_member ON poll_roll (member)",
            "CREATE INDEX digest_item_pending ON digest_item (member, channel, digest_key)",
            "CREATE INDEX member_left_at ON member (left_at)",
            "INSERT INTO settings_version (id, version) VALUES (1, 0)",
        ):
            await db.run_ddl(statement)

    manager.add_raw(indexes)
    return manager
