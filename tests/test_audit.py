"""The audit log: who did what, chained by hashes, append-only, never a ballot's content.

Service-level tests run on SQLite and PostgreSQL; the ``sip audit verify`` tests run the
command for real (a subprocess) against a SQLite file and a PostgreSQL schema of their own.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from core import db
from core.audit import services as audit
from core.audit.tables import AuditEntry
from core.errors import Forbidden
from core.members.services import grant_role, load_member, revoke_role
from core.plugins import build_registry
from core.polls import proxies, room
from core.polls import services as polls
from core.polls.tables import ClearBallot, Presence, SealedBallot
from core.rules import Rules
from tests.conftest import POSTGRES_URL, add_member, run_sync
from tests.poll_support import voters_added_after_opening  # noqa: F401 (the fixture)
from tests.test_cli import (
    CONFIG,
    GOOD,
    Site,
    environment,
    ok,
    postgres_schema_url,  # noqa: F401  (a fixture)
)
from tests.test_polls import BOXES, count, setup_poll, shareholder


@pytest.fixture
def rules(pooled):
    return Rules(build_registry(pooled), pooled)


async def entries() -> list[dict[str, Any]]:
    return await AuditEntry.select().order_by(AuditEntry.seq)


async def bypassing_the_trigger(statement: str) -> None:
    """Tamper with the table as someone with full access to the database would."""
    engine = db.engine()
    if db.is_sqlite():
        await engine.run_ddl("DROP TRIGGER IF EXISTS audit_entry_no_update")
        await engine.run_ddl("DROP TRIGGER IF EXISTS audit_entry_no_delete")
        await engine.run_ddl(statement)
        return
    async with engine.transaction():
        # Triggers do not fire for a replica session; the schema is left as it is.
        await engine.run_ddl("SET LOCAL session_replication_role = replica")
        await engine.run_ddl(statement)


# -- what is recorded ---------------------------------------------------------------------------


async def test_operator_and_board_actions_are_recorded_with_actor_role_and_country(rules):
    poll_id, operator = await setup_poll(rules)
    member = await shareholder(1)
    await room.check_in(rules, operator, poll_id, member)
    await room.enter_paper_ballot(rules, operator, poll_id, member, [2, 1])
    await polls.close_poll(rules, operator, poll_id)
    await polls.close_poll(rules, operator, poll_id)  # idempotent: nothing happened, no entry
    # The operator counts with the tellers' shares (an operator of the country may).
    await polls.count_poll(rules, operator, poll_id, BOXES[poll_id].shares)

    rows = await audit.as_shown(await entries())
    assert [r["action"] for r in rows] == [
        *["theme.add"] * 5,
        "poll.create",
        "poll.tellers",
        "poll.open",
        "room.check_in",
        "ballot.paper",
        "poll.close",
        "poll.count",
    ]
    board = rows[0]
    assert (board["role"], board["country"], board["object_type"]) == ("board", "BE FR", "theme")
    assert board["actor_name"].startswith("A Member (")
    for row in rows[5:]:
        assert (row["actor"], row["role"], row["country"]) == (operator.id, "operator", "BE")
        assert (row["object_type"], row["object_id"]) == ("poll", str(poll_id))
    assert rows[6]["details"]["tellers"] == [t.id for t in BOXES[poll_id].tellers]
    assert rows[8]["details"]["member"] == member.id
    counted = rows[11]["details"]
    assert (counted["ballot_count"], counted["tracker_count"]) == (1, 1)
    assert [r["seq"] for r in rows] == list(range(1, 13))
    assert (await audit.verify()).count == 12


async def test_role_changes_and_a_paper_proxy_are_recorded(rules):
    poll_id, operator = await setup_poll(rules)
    grantor, holder = await shareholder(1), await shareholder(2)
    await proxies.record_paper_proxy(rules, operator, poll_id, grantor.id, holder.id)
    carol = await load_member(await add_member("carol@example.org"))
    await grant_role(carol.email, "operator", "BE", actor=audit.CLI)
    await grant_role(carol.email, "operator", "BE", actor=audit.CLI)  # held already: no entry
    await revoke_role(carol.email, "operator", "BE", actor=audit.CLI)
    await revoke_role(carol.email, "operator", "BE", actor=audit.CLI)  # gone already

    rows = (await audit.as_shown(await entries()))[-3:]
    assert [(r["action"], r["actor"], r["actor_name"], r["role"]) for r in rows] == [
        ("proxy.paper", operator.id, f"{operator.name} ({operator.member_number})", "operator"),
        ("member.role.grant", None, "cli", "cli"),
        ("member.role.revoke", None, "cli", "cli"),
    ]
    assert rows[0]["details"]["grantor"] == grantor.id
    assert (rows[1]["object_type"], rows[1]["object_id"]) == ("member", str(carol.id))
    assert rows[1]["details"] == {
        "member_number": carol.member_number,
        "role": "operator",
    }
    assert rows[1]["country"] == "BE"


async def test_a_members_vote_is_not_recorded_and_no_choice_or_receipt_reaches_the_log(rules):
    poll_id, operator = await setup_poll(rules)
    receipts = []
    for n, choice in enumerate(([4, 2, 3, 1], [3, 4, 1, 2], [2, 3, 4, 1]), start=1):
        receipts.append(await polls.cast(rules, await shareholder(n), poll_id, choice))
    before = await AuditEntry.count()
    for n, choice in enumerate(([1, 4, 3, 2], [4, 3, 2, 1]), start=10):
        member = await shareholder(n)
        await room.check_in(rules, operator, poll_id, member)
        receipts.append(await room.enter_paper_ballot(rules, operator, poll_id, member, choice))
    sealed = [bytes(r["sealed"]).hex() for r in await SealedBallot.select(SealedBallot.sealed)]
    await polls.close_poll(rules, operator, poll_id)
    await count(poll_id)

    # The themes, the poll's creation, its tellers and its opening: online votes add nothing.
    assert before == 8
    assert await ClearBallot.count() == 5 and len(sealed) == 5
    ballots = await ClearBallot.select(ClearBallot.choice)
    secrets = (
        receipts
        + sealed
        + BOXES[poll_id].shares  # the tellers' shares never reach the log either
        + [b["choice"] for b in ballots]
        + [json.dumps(json.loads(b["choice"])) for b in ballots]  # [4, 2, 3, 1] spelled out
        + [",".join(map(str, json.loads(b["choice"]))) for b in ballots]
    )
    text = " ".join(str(value) for row in await entries() for value in row.values())
    for secret in secrets:
        assert secret not in text
    actions = [r["action"] for r in await entries()]
    assert actions.count("ballot.paper") == 2
    assert not any(a.startswith(("vote", "ballot.cast")) for a in actions)


def test_details_refuse_anything_that_is_a_ballot():
    for key in ("choice", "ballot", "Receipt", "ranking"):
        with pytest.raises(ValueError, match="ballot"):
            audit.encode_details({key: [1, 2]})


async def test_an_action_whose_entry_cannot_be_written_does_not_happen(rules, monkeypatch):
    poll_id, operator = await setup_poll(rules)
    member = await shareholder(1)

    def broken(row: dict[str, Any]) -> str:
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "entry_hash", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        await room.check_in(rules, operator, poll_id, member)

    assert await Presence.count() == 0
    assert await AuditEntry.count() == 8  # the themes, the poll, its tellers, its opening


async def test_a_refused_action_leaves_no_entry(rules):
    poll_id, operator = await setup_poll(rules)
    french_operator = await load_member(
        await add_member("op.fr@example.org", country="FR", roles=(("operator", "FR"),))
    )
    before = await AuditEntry.count()
    with pytest.raises(Forbidden):
        await polls.close_poll(rules, french_operator, poll_id)
    assert await AuditEntry.count() == before


# -- the chain ----------------------------------------------------------------------------------


async def test_50_concurrent_audited_actions_make_one_chain_of_50_consecutive_entries(rules):
    poll_id, operator = await setup_poll(rules)
    members = [await shareholder(n) for n in range(50)]
    before = await AuditEntry.count()

    answers = await asyncio.gather(*(room.check_in(rules, operator, poll_id, m) for m in members))

    assert answers == [True] * 50
    rows = await entries()
    check_ins = [r for r in rows if r["action"] == "room.check_in"]
    assert [r["seq"] for r in check_ins] == list(range(before + 1, before + 51))
    assert {json.loads(r["details"])["member"] for r in check_ins} == {m.id for m in members}
    for previous, entry in zip(rows, rows[1:], strict=False):
        assert entry["prev_hash"] == previous["hash"]
    result = await audit.verify()
    assert result.intact and result.count == before + 50
    assert (result.head_seq, result.head_hash) == (rows[-1]["seq"], rows[-1]["hash"])


async def test_the_table_refuses_update_and_delete(database):
    await audit.record("poll.close", actor=audit.CLI, country="BE", object_id=1)
    with pytest.raises(Exception, match="append-only"):
        await AuditEntry.update({AuditEntry.country: "FR"}).where(AuditEntry.seq == 1)
    with pytest.raises(Exception, match="append-only"):
        await AuditEntry.delete().where(AuditEntry.seq == 1)
    assert [(r["seq"], r["country"]) for r in await entries()] == [(1, "BE")]


async def test_the_table_refuses_to_be_emptied_at_once(database, backend):
    """TRUNCATE on PostgreSQL; SQLite has none, and a DELETE without WHERE is refused."""
    await audit.record("poll.close", actor=audit.CLI, country="BE", object_id=1)
    emptying = "TRUNCATE audit_entry" if backend == "postgres" else "DELETE FROM audit_entry"
    with pytest.raises(Exception, match="append-only"):
        await AuditEntry.raw(emptying)
    assert [r["seq"] for r in await entries()] == [1]
    assert (await audit.verify()).intact


async def three_entries() -> list[dict[str, Any]]:
    for n in range(1, 4):
        await audit.record(
            "poll.close", actor=audit.CLI, country="BE", object_type="poll", object_id=n
        )
    assert (await audit.verify()).intact
    return await entries()


@pytest.mark.parametrize(
    "field, value",
    [
        ("country", "'FR'"),
        ("actor_name", "'someone else'"),
        ("details", "'{\"note\":1}'"),
        ("action", "'poll.open'"),
        ("object_id", "'9'"),
    ],
)
async def test_verify_names_an_entry_that_was_changed(database, field, value):
    await three_entries()
    await bypassing_the_trigger(f"UPDATE audit_entry SET {field} = {value} WHERE seq = 2")

    result = await audit.verify()

    assert (result.bad_seq, result.count) == (2, 1)
    assert "entry 2 was changed" in result.problem


async def test_verify_sees_an_entry_whose_hash_was_recomputed_after_a_change(database):
    rows = await three_entries()
    forged = {**rows[1], "country": "FR"}
    forged_hash = audit.entry_hash(forged)
    await bypassing_the_trigger(
        f"UPDATE audit_entry SET country = 'FR', hash = '{forged_hash}' WHERE seq = 2"
    )

    result = await audit.verify()

    assert result.bad_seq == 3  # the next entry no longer follows it
    assert "does not follow entry 2" in result.problem


async def test_verify_names_an_entry_that_was_removed(database):
    await three_entries()
    await bypassing_the_trigger("DELETE FROM audit_entry WHERE seq = 2")

    result = await audit.verify()

    assert result.bad_seq == 2
    assert "entry 2 is missing" in result.problem


async def test_verify_sees_an_entry_added_that_does_not_follow_the_last(database):
    rows = await three_entries()
    # A well-formed entry 4 that claims to follow entry 2: a fork grafted onto the end.
    forged = {k: v for k, v in rows[2].items() if k != "id"} | {
        "seq": 4,
        "prev_hash": rows[1]["hash"],
    }
    forged["hash"] = audit.entry_hash(forged)
    await AuditEntry.insert(AuditEntry(**forged))

    result = await audit.verify()

    assert (result.bad_seq, result.count) == (4, 3)
    assert "does not follow entry 3" in result.problem


async def test_a_cut_off_tail_is_seen_only_against_a_noted_head(database):
    rows = await three_entries()
    await bypassing_the_trigger("DELETE FROM audit_entry WHERE seq = 3")

    assert (await audit.verify()).intact  # the chain alone cannot tell
    result = await audit.verify(expect=(3, rows[2]["hash"]))
    assert not result.intact
    assert "entry 3, noted earlier, is gone" in result.problem
    assert (await audit.verify(expect=(2, rows[1]["hash"]))).intact
    assert not (await audit.verify(expect=(2, rows[2]["hash"]))).intact


# -- reading ------------------------------------------------------------------------------------


async def test_operators_read_their_countries_and_platform_wide_entries_the_board_all(database):
    for country in ("BE", "FR", "", "BE FR"):
        await audit.record("edition.calendar", actor=audit.CLI, country=country)
    belgian = await load_member(await add_member("op.be@example.org", roles=(("operator", "BE"),)))
    board = await load_member(await add_member("board@example.org", roles=(("board", ""),)))
    member = await load_member(await add_member("m@example.org"))

    seen = await audit.list_entries(belgian)
    assert [e.country for e in seen.entries] == ["BE FR", "", "BE"]
    assert [e.country for e in (await audit.list_entries(board)).entries] == [
        "BE FR",
        "",
        "FR",
        "BE",
    ]
    with pytest.raises(Forbidden):
        await audit.list_entries(member)


# -- sip audit verify ---------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def cli_site(request: pytest.FixtureRequest, tmp_path: Path) -> Site:
    (tmp_path / "config.toml").write_text(CONFIG)
    if request.param == "sqlite":
        return Site(tmp_path, environment())
    url, schema = request.getfixturevalue("postgres_schema_url")
    site = Site(tmp_path, environment(SIP_DATABASE_URL=url))
    site.schema = schema  # type: ignore[attr-defined]
    ok(site.sip("db", "upgrade"))
    return site


def tamper(site: Site, statement: str) -> None:
    schema = getattr(site, "schema", None)
    if schema is None:
        with sqlite3.connect(site.database) as conn:
            conn.execute("DROP TRIGGER IF EXISTS audit_entry_no_update")
            conn.execute("DROP TRIGGER IF EXISTS audit_entry_no_delete")
            conn.execute(statement)
        return
    import asyncpg

    async def execute() -> None:
        conn = await asyncpg.connect(POSTGRES_URL, timeout=5)
        try:
            await conn.execute(
                f"SET search_path = {schema}; SET session_replication_role = replica; {statement}"
            )
        finally:
            await conn.close()

    run_sync(execute())


def test_sip_audit_verify_exits_0_when_intact_and_1_naming_a_changed_entry(cli_site):
    ok(cli_site.sip("members", "import", cli_site.write("good.csv", GOOD)))
    ok(cli_site.sip("members", "role", "anna@example.org", "operator", "--country", "BE"))

    intact = ok(cli_site.sip("audit", "verify"))

    assert "3 entries" in intact.stdout
    head = intact.stdout.split("Head: ")[1].split()[0]
    assert head.startswith("3:")
    ok(cli_site.sip("audit", "verify", "--expect", head))

    tamper(cli_site, "UPDATE audit_entry SET details = '{\"created\":0}' WHERE seq = 1")
    changed = cli_site.sip("audit", "verify")

    assert changed.returncode == 1, changed.stdout + changed.stderr
    assert "entry 1 was changed" in changed.stderr


def test_sip_audit_verify_exits_1_naming_a_removed_entry_and_a_cut_off_head(cli_site):
    ok(cli_site.sip("members", "import", cli_site.write("good.csv", GOOD)))
    ok(cli_site.sip("members", "role", "anna@example.org", "board"))
    # The last board member keeps the role: a second one first.
    ok(cli_site.sip("members", "role", "bert@example.org", "board"))
    ok(cli_site.sip("members", "role", "anna@example.org", "board", "--remove"))
    head = ok(cli_site.sip("audit", "verify")).stdout.split("Head: ")[1].split()[0]
    last = int(head.split(":")[0])
    assert last >= 4  # the import, three role changes

    tamper(cli_site, f"DELETE FROM audit_entry WHERE seq = {last}")
    orphan = cli_site.sip("audit", "verify", "--expect", head)
    assert orphan.returncode == 1  # its personal values, left behind, give it away
    assert f"personal values were added for entry {last}" in orphan.stderr
    tamper(cli_site, f"DELETE FROM audit_personal WHERE seq = {last}")
    cut = cli_site.sip("audit", "verify", "--expect", head)
    assert cut.returncode == 1
    assert f"entry {last}, noted earlier, is gone" in cut.stderr

    tamper(cli_site, "DELETE FROM audit_entry WHERE seq = 2")
    removed = cli_site.sip("audit", "verify")
    assert removed.returncode == 1
    assert "entry 2 is missing" in removed.stderr


@pytest.fixture
def site(tmp_path: Path) -> Site:
    (tmp_path / "config.toml").write_text(CONFIG)
    return Site(tmp_path, environment())


def test_sip_audit_verify_refuses_a_malformed_head(site):
    refused = site.sip("audit", "verify", "--expect", "three:abc")
    assert refused.returncode == 2
    assert "SEQ:HASH" in refused.stderr


def test_the_command_line_records_itself_as_the_actor(site):
    ok(site.sip("members", "import", site.write("good.csv", GOOD)))
    ok(site.sip("members", "link", "anna@example.org"))

    rows = site.query(
        "SELECT seq, actor, actor_name, role, country, action, details FROM audit_entry "
        "ORDER BY seq"
    )
    assert [row[1:6] for row in rows] == [
        (None, "cli", "cli", "BE", "member.import"),
        (None, "cli", "cli", "FR", "member.import"),
        (None, "cli", "cli", "BE", "member.link"),
    ]
    # The member numbers an import lists are personal values: kept apart, one row a member.
    assert json.loads(rows[0][6]) == {"created": 2, "updated": 0}
    kept = site.query("SELECT content FROM audit_personal WHERE seq = 1")
    assert sorted(n for (content,) in kept for n in json.loads(content)["details"]["new"]) == [
        "C1",
        "C2",
    ]
    again = ok(site.sip("members", "import", site.write("good.csv", GOOD)))
    assert "3 unchanged" in again.stdout
    assert len(site.query("SELECT seq FROM audit_entry")) == 3  # nothing changed, nothing logged
