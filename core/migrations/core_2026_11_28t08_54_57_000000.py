from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.sqlite import SQLiteEngine

ID = "2026-11-28T08:54:57:000000"
VERSION = "1.38.0"
DESCRIPTION = (
    "recommendation indexes: one endorsement per member, one chain of board decisions per "
    "recommendation, decisions that cannot be updated, one source row per project and "
    "recommendation, one archive row per edition and country"
)

# The content of a board decision: no UPDATE may change it (a change is a new entry). The
# author column is left out so that deleting a member can still set it to NULL (author_name
# keeps who it was).
DECISION_CONTENT = "recommendation, outcome, rationale, decided_on, author_name, supersedes, recorded_at"
APPEND_ONLY = "board decisions are append-only: record a new entry that supersedes the latest"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def indexes() -> None:
        db = engine_finder()
        statements = [
            "CREATE UNIQUE INDEX recommendation_endorsement_unique "
            "ON recommendation_endorsement (recommendation, member)",
            # One first entry per recommendation (supersedes IS NULL); the column's own unique
            # constraint gives every entry at most one successor: the history is one chain, and
            # two board members deciding on the same latest entry cannot both succeed.
            "CREATE UNIQUE INDEX board_decision_first "
            "ON board_decision (recommendation) WHERE supersedes IS NULL",
            "CREATE INDEX board_decision_recommendation ON board_decision (recommendation, id)",
            "CREATE UNIQUE INDEX project_source_unique ON project_source (project, recommendation)",
            "CREATE INDEX project_source_recommendation ON project_source (recommendation)",
            "CREATE UNIQUE INDEX archived_figures_unique ON archived_figures (edition, country)",
            "CREATE INDEX recommendation_edition ON recommendation (edition, country, status)",
            "CREATE INDEX recommendation_group ON recommendation (working_group)",
            "CREATE INDEX recommendation_comment_recommendation "
            "ON recommendation_comment (recommendation, id)",
            "CREATE INDEX project_milestone_project ON project_milestone (project)",
        ]
        if isinstance(db, SQLiteEngine):
            statements.append(
                "CREATE TRIGGER board_decision_append_only "
                f"BEFORE UPDATE OF {DECISION_CONTENT} ON board_decision "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )
        else:
            statements += [
                "CREATE FUNCTION board_decision_append_only() RETURNS trigger "
                "LANGUAGE plpgsql AS $$ BEGIN "
                f"RAISE EXCEPTION '{APPEND_ONLY}'; "
                "END $$",
                "CREATE TRIGGER board_decision_append_only "
                f"BEFORE UPDATE OF {DECISION_CONTENT} ON board_decision "
                "FOR EACH ROW EXECUTE FUNCTION board_decision_append_only()",
            ]
        for statement in statements:
            await db.run_ddl(statement)

    manager.add_raw(indexes)
    return manager
