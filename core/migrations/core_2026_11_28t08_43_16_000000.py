from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T08:43:16:000000"
VERSION = "1.38.0"
DESCRIPTION = "working-group indexes: one active registration per member and group, one answer, one attendance row"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def indexes() -> None:
        db = engine_finder()
        for statement in (
            # One active (confirmed or waiting) registration per member and group; withdrawn
            # ones stay as history. A partial index works on SQLite and PostgreSQL.
            "CREATE UNIQUE INDEX group_registration_active "
            "ON group_registration (working_group, member) WHERE status <> 'withdrawn'",
            # The per-edition limit and the waiting list's order.
            "CREATE INDEX group_registration_edition_member "
            "ON group_registration (edition, member, status)",
            "CREATE INDEX group_registration_queue "
            "ON group_registration (working_group, status, created_at, id)",
            "CREATE UNIQUE INDEX group_facilitator_unique "
            "ON group_facilitator (working_group, member)",
            "CREATE UNIQUE INDEX group_slot_answer_unique ON group_slot_answer (slot, member)",
            "CREATE UNIQUE INDEX group_meeting_number ON group_meeting (working_group, number)",
            "CREATE UNIQUE INDEX group_attendance_unique ON group_attendance (meeting, member)",
            "CREATE UNIQUE INDEX info_session_registration_active "
            "ON info_session_registration (info_session, member) WHERE cancelled_at IS NULL",
            "CREATE INDEX working_group_edition ON working_group (edition, country)",
        ):
            await db.run_ddl(statement)

    manager.add_raw(indexes)
    return manager
