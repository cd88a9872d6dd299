from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T11:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes for the turnout of large polls: participations by channel, shareholders"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def indexes() -> None:
        db = engine_finder()
        for statement in (
            "CREATE INDEX participation_poll_channel ON participation (poll, channel)",
            "CREATE INDEX member_country_shareholder ON member (country, shareholder)",
        ):
            await db.run_ddl(statement)

    manager.add_raw(indexes)
    return manager
