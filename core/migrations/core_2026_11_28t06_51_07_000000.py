from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T06:51:07:000000"
VERSION = "1.38.0"
DESCRIPTION = "one participation per member and poll; candidate numbers"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def indexes() -> None:
        db = engine_finder()
        for statement in (
            # One member, one vote: decided by the database, also under concurrent submits.
            "CREATE UNIQUE INDEX participation_unique ON participation (poll, member)",
            "CREATE UNIQUE INDEX poll_candidate_number ON poll_candidate (poll, number)",
            "CREATE UNIQUE INDEX poll_candidate_theme ON poll_candidate (poll, theme)",
            "CREATE INDEX ballot_poll ON ballot (poll)",
            "CREATE INDEX poll_edition_country ON poll (edition, country)",
        ):
            await db.run_ddl(statement)

    manager.add_raw(indexes)
    return manager
