import hashlib
import json

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-02T17:15:03:000000"
VERSION = "1.38.0"
DESCRIPTION = (
    "ballots cast before the sealed ballot box move to the clear list in a random order; "
    "the old ballot table (receipt hashes next to choices) is dropped; candidates' texts are "
    "frozen for polls already opened; unique trackers, tellers and clear-list places"
)


def _digest(candidates: list, ballots: list) -> str:
    """core.voting.files.ballot_list_digest, written out here so the migration stays as it
    was when the code moves on."""
    body = {"ballots": ballots, "candidates": candidates, "trackers": []}
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def move() -> None:
        db = engine_finder()
        # Polls opened before this version have no key (public_key = ""): their ballots were
        # stored in clear and stay so, in a random order, without their receipt hashes.
        for statement in (
            "INSERT INTO clear_ballot (poll, position, choice) "
            "SELECT poll, ROW_NUMBER() OVER (PARTITION BY poll ORDER BY RANDOM()), choice "
            "FROM ballot",
            "CREATE UNIQUE INDEX participation_tracker ON participation (tracker)",
            "CREATE UNIQUE INDEX poll_teller_poll_member ON poll_teller (poll, member)",
            "CREATE UNIQUE INDEX clear_ballot_poll_position ON clear_ballot (poll, position)",
            "CREATE INDEX sealed_ballot_poll ON sealed_ballot (poll)",
        ):
            await db.run_ddl(statement)
        # Their candidates' titles are frozen as they are now, and a published poll's digest
        # is recomputed over what it now publishes (candidates, no trackers, the clear list).
        polls = await db.run_ddl("SELECT id, state FROM poll WHERE state <> 'draft'")
        for poll in polls:
            candidates = await db.run_ddl(
                "SELECT c.id, c.number, t.original_language FROM poll_candidate c "
                f"JOIN theme t ON t.id = c.theme WHERE c.poll = {int(poll['id'])} "
                "ORDER BY c.number"
            )
            listed = []
            for candidate in candidates:
                texts = await db.run_ddl(
                    "SELECT x.language, x.title FROM theme_text x JOIN poll_candidate c "
                    f"ON c.theme = x.theme WHERE c.id = {int(candidate['id'])}"
                )
                titles = {t["language"]: t["title"] for t in texts}
                frozen = json.dumps(
                    {"original": candidate["original_language"], "titles": titles},
                    sort_keys=True,
                    separators=(",", ":"),
                    ensure_ascii=False,
                ).replace("'", "''")
                await db.run_ddl(
                    f"UPDATE poll_candidate SET texts = '{frozen}' "
                    f"WHERE id = {int(candidate['id'])}"
                )
                listed.append([candidate["number"], titles])
            if poll["state"] != "published":
                continue
            rows = await db.run_ddl(
                f"SELECT choice FROM clear_ballot WHERE poll = {int(poll['id'])} "
                "ORDER BY position"
            )
            digest = _digest(listed, [json.loads(r["choice"]) for r in rows])
            await db.run_ddl(
                f"UPDATE poll SET ballots_digest = '{digest}' WHERE id = {int(poll['id'])}"
            )

    manager.add_raw(move)  # raw statements run first, then the table is dropped
    manager.drop_table(class_name="Ballot", tablename="ballot", schema=None)
    return manager
