"""The database layer: durable SQLite settings, migrations, constraints, concurrent use."""

from __future__ import annotations

import asyncio

import pytest
from piccolo.engine.sqlite import SQLiteEngine

from core import db
from core.auth import services as auth
from core.auth.tables import WebSession
from core.members.tables import Member, MemberRole
from plugins.demo import ACCOUNTS, seed_demo
from tests.conftest import add_member


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_sqlite_is_wal_with_synchronous_full(database):
    engine = db.engine()
    assert isinstance(engine, SQLiteEngine)
    assert (await engine.run_ddl("PRAGMA journal_mode"))[0]["journal_mode"] == "wal"
    assert (await engine.run_ddl("PRAGMA synchronous"))[0]["synchronous"] == 2  # FULL
    async with db.write_transaction() as transaction:
        assert transaction.transaction_type.value == "IMMEDIATE"
        rows = await transaction.connection.execute_fetchall("PRAGMA synchronous")
        assert rows[0]["synchronous"] == 2


async def test_migrations_are_idempotent(database):
    from piccolo.apps.migrations.tables import Migration

    applied = await Migration.count()
    assert await db.pending_migrations() == []
    await db.upgrade()  # already applied by the fixture: a second run changes nothing
    assert await Migration.count() == applied
    assert await Member.count() == 0


async def test_member_number_and_email_are_unique(database):
    await add_member("one@example.org", number="42")
    with pytest.raises(Exception):  # noqa: B017 - each backend raises its own integrity error
        await add_member("two@example.org", number="42")
    with pytest.raises(Exception):  # noqa: B017
        await add_member("one@example.org", number="43")
    assert await Member.count() == 1


async def test_a_role_is_held_once(database):
    member = await add_member(roles=(("operator", "BE"),))
    with pytest.raises(Exception):  # noqa: B017
        await MemberRole.insert(MemberRole(member=member, role="operator", country="BE"))
    await MemberRole.insert(MemberRole(member=member, role="operator", country="FR"))
    assert await MemberRole.count() == 2


async def test_a_sign_in_link_used_twice_at_once_signs_in_once(database):
    member = await add_member()
    token = await auth.create_sign_in_link(member, 30)

    async def use() -> int | None:
        try:
            return await auth.redeem_sign_in_link(token)
        except Exception:  # the loser gets the "already used" refusal
            return None

    results = await asyncio.gather(*(use() for _ in range(5)))
    assert results.count(member) == 1
    assert results.count(None) == 4


async def test_sign_in_rotates_and_sign_out_ends_the_session(database):
    member = await add_member()
    first = await auth.start_session(member, 14)
    second = await auth.start_session(member, 14, previous_token=first)
    assert await auth.session_member(first) is None
    assert (await auth.session_member(second)).id == member
    await auth.end_session(second)
    assert await auth.session_member(second) is None
    assert await WebSession.count() == 0


async def test_demo_seed_is_idempotent(database):
    assert await seed_demo(database) is True
    count = await Member.count()
    roles = await MemberRole.count()
    assert count >= len(ACCOUNTS) >= 12
    assert await seed_demo(database) is False
    assert await Member.count() == count and await MemberRole.count() == roles
    countries = {r["country"] for r in await Member.select(Member.country)}
    assert countries == {"BE", "FR"}
    operators = await MemberRole.select(MemberRole.country).where(MemberRole.role == "operator")
    assert sorted(r["country"] for r in operators) == ["BE", "FR"]
