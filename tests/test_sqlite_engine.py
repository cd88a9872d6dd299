"""The SQLite engine's grouped commits: many writers share a commit, each is acknowledged only
once its commit is on disk, one failing writer leaves the others alone, a failed commit fails
every writer of its group, and readers never wait for the writer."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from piccolo.engine.sqlite import TransactionType

from core import sqlite_engine
from core.db import BUSY_TIMEOUT_SECONDS, DurableConnection
from core.sqlite_engine import PooledSQLiteEngine, WriteGroupFailed


@pytest.fixture
async def engine(tmp_path: Path):
    path = tmp_path / "engine.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        conn.execute(
            "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT UNIQUE, parent INTEGER "
            "REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)"
        )
        conn.execute("INSERT INTO parent (id) VALUES (1)")
    found = PooledSQLiteEngine(
        path=str(path), factory=DurableConnection, timeout=BUSY_TIMEOUT_SECONDS
    )
    yield found
    await found.close()


def names_on_disk(engine: PooledSQLiteEngine) -> set[str]:
    """What another process would read: a connection of its own, opened now."""
    with sqlite3.connect(engine.path) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM item")}


async def insert(engine: PooledSQLiteEngine, name: str, parent: int = 1) -> None:
    async with engine.transaction(TransactionType.immediate):
        await engine.run_ddl(f"INSERT INTO item (name, parent) VALUES ('{name}', {parent})")


async def test_concurrent_writers_share_commits_and_each_is_on_disk_when_acknowledged(
    engine, monkeypatch
):
    # Groups end at 32 units (or when nobody waits); no time limit on a slow test machine.
    monkeypatch.setattr(sqlite_engine, "GROUP_MAX_SECONDS", 3600.0)
    seen_when_acknowledged: dict[str, bool] = {}

    async def write(name: str) -> None:
        await insert(engine, name)
        seen_when_acknowledged[name] = name in names_on_disk(engine)

    await asyncio.gather(*(write(f"n{i}") for i in range(200)))

    assert all(seen_when_acknowledged.values()) and len(seen_when_acknowledged) == 200
    stats = engine.stats()
    assert stats["units"] == 200
    # grouped: 200 writes in ceil(200 / 32) = 7 commits (disk syncs), give or take a group
    # that ended because nobody was waiting at that moment
    assert stats["commits"] <= 10


async def test_a_failing_writer_is_rolled_back_alone(engine):
    await insert(engine, "taken")

    async def write(name: str) -> str:
        try:
            await insert(engine, name)
        except sqlite3.IntegrityError:
            return "refused"
        return "ok"

    names = [f"a{i}" if i % 3 else "taken" for i in range(30)]
    results = await asyncio.gather(*(write(name) for name in names))

    assert results.count("refused") == names.count("taken")
    assert names_on_disk(engine) == set(names)
    assert engine.stats()["commits"] < engine.stats()["units"]


async def test_a_failed_commit_fails_every_writer_of_its_group(engine):
    """A deferred foreign key is only checked at COMMIT: the group's commit fails, so neither
    writer of the group may be acknowledged, and neither row is there."""
    first_inside = asyncio.Event()
    second_waiting = asyncio.Event()

    async def first() -> None:
        async with engine.transaction(TransactionType.immediate):
            await engine.run_ddl("INSERT INTO item (name, parent) VALUES ('good', 1)")
            first_inside.set()
            await second_waiting.wait()
            await asyncio.sleep(0)  # let the second writer queue up for the same group

    async def second() -> None:
        await first_inside.wait()
        second_waiting.set()
        await insert(engine, "orphan", parent=99)

    results = await asyncio.gather(first(), second(), return_exceptions=True)

    assert all(isinstance(result, WriteGroupFailed) for result in results), results
    assert names_on_disk(engine) == set()
    await insert(engine, "after")  # the writer goes on
    assert names_on_disk(engine) == {"after"}


async def test_readers_do_not_wait_for_an_open_write(engine):
    await insert(engine, "old")
    inside = asyncio.Event()
    release = asyncio.Event()

    async def slow_writer() -> None:
        async with engine.transaction(TransactionType.immediate):
            await engine.run_ddl("INSERT INTO item (name, parent) VALUES ('new', 1)")
            inside.set()
            await release.wait()

    task = asyncio.create_task(slow_writer())
    await inside.wait()
    # A safety net, not a timing check: a blocked reader would wait for the writer forever.
    rows = await asyncio.wait_for(engine.run_ddl("SELECT name FROM item"), timeout=120)
    assert {row["name"] for row in rows} == {"old"}  # the reader's snapshot, at once
    async with engine.transaction():  # a read snapshot (DEFERRED) also goes to a reader
        rows = await engine.run_ddl("SELECT count(*) AS n FROM item")
    assert rows[0]["n"] == 1
    release.set()
    await task
    assert names_on_disk(engine) == {"old", "new"}


async def test_a_cancelled_writer_frees_the_writer(engine):
    inside = asyncio.Event()

    async def stuck() -> None:
        async with engine.transaction(TransactionType.immediate):
            await engine.run_ddl("INSERT INTO item (name, parent) VALUES ('cancelled', 1)")
            inside.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(stuck())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(insert(engine, "next"), timeout=120)  # a hang, not a speed
    assert names_on_disk(engine) == {"next"}


async def test_nested_transactions_join_their_unit(engine):
    async with engine.transaction(TransactionType.immediate):
        await engine.run_ddl("INSERT INTO item (name, parent) VALUES ('outer', 1)")
        async with engine.transaction(TransactionType.immediate):
            await engine.run_ddl("INSERT INTO item (name, parent) VALUES ('inner', 1)")
    with pytest.raises(RuntimeError):
        async with engine.transaction(TransactionType.immediate):
            await engine.run_ddl("INSERT INTO item (name, parent) VALUES ('lost', 1)")
            raise RuntimeError("the block fails")
    assert names_on_disk(engine) == {"outer", "inner"}


async def test_every_connection_syncs_each_commit(engine):
    async with engine.transaction(TransactionType.immediate) as transaction:
        writer = await engine.run_ddl("PRAGMA synchronous")
        assert transaction.connection is not None
    reader = await engine.run_ddl("SELECT 1 AS one")
    assert reader == [{"one": 1}]
    assert writer == [{"synchronous": 2}]  # FULL


def test_two_event_loops_write_through_one_engine(engine):
    """The test client runs the app on a loop of its own: both loops' writers must land."""

    def loop_writes(prefix: str) -> None:
        async def main() -> None:
            await asyncio.gather(*(insert(engine, f"{prefix}{i}") for i in range(50)))

        asyncio.run(main())

    threads = [threading.Thread(target=loop_writes, args=(p,)) for p in ("x", "y")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(names_on_disk(engine)) == 100
