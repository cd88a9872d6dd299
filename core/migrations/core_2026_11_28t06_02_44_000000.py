from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T06:02:44:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique phases, theme texts and supports; theme look-up indexes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def indexes() -> None:
        db = engine_finder()
        for statement in (
            "CREATE UNIQUE INDEX edition_phase_unique ON edition_phase (edition, country, phase)",
            "CREATE UNIQUE INDEX theme_text_unique ON theme_text (theme, language)",
            # One member, one support per theme: decided by the database, also under races.
            "CREATE UNIQUE INDEX support_unique ON support (theme, member)",
            "CREATE INDEX theme_edition_status ON theme (edition, status)",
            "CREATE INDEX support_member ON support (member)",
        ):
            await db.run_ddl(statement)

    manager.add_raw(indexes)
    return manager
