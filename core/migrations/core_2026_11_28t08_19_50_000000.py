from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T08:19:50:000000"
VERSION = "1.38.0"
DESCRIPTION = "notification indexes: one preference per member, event and channel; the relay's queue"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def indexes() -> None:
        db = engine_finder()
        for statement in (
            "CREATE UNIQUE INDEX notification_preference_unique "
            "ON notification_preference (member, event_type, channel)",
            # The relay's claim: due pending messages, oldest first.
            "CREATE INDEX outbox_message_due ON outbox_message (state, next_attempt_at)",
            # The operators' page: a country's messages per channel and state.
            "CREATE INDEX outbox_message_country ON outbox_message (country, channel, state)",
            "CREATE INDEX outbox_message_event ON outbox_message (event)",
            # The header's unread count and the member's list.
            "CREATE INDEX notification_member ON notification (member, read_at)",
        ):
            await db.run_ddl(statement)

    manager.add_raw(indexes)
    return manager
