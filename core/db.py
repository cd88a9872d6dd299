"""The database: one engine for the whole platform, built from the settings.

SQLite is the embedded default: WAL journal, ``synchronous=FULL`` on every connection (an
acknowledged write survives a crash), a generous busy timeout, and IMMEDIATE transactions for
writes that read first, on long-lived connections with grouped commits
(:mod:`core.sqlite_engine`). PostgreSQL is the choice for scale.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from core.config import Settings
from core.sqlite_engine import PooledSQLiteEngine

os.environ.setdefault("PICCOLO_CONF", "core.piccolo_conf")

BUSY_TIMEOUT_SECONDS = 30.0
#: The largest id the integer columns hold on every backend. A larger number in an address
#: names no row and must not reach PostgreSQL, which refuses it as a query argument.
ID_MAX = 2_147_483_647


class DurableConnection(sqlite3.Connection):
    """Every SQLite connection the platform opens waits for locks and syncs each commit."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.execute("PRAGMA synchronous = FULL")
        self.execute("PRAGMA foreign_keys = ON")
        # Deleted rows and freed pages are overwritten with zeros (sealed ballots erased at
        # the count must not linger in the file's free space).
        self.execute("PRAGMA secure_delete = ON")


def make_engine(settings: Settings, *, schema: str | None = None) -> Engine:
    """An engine for the configured database.

    PostgreSQL may name a schema, in the URL (``...?schema=sip``) or here (tests isolate runs).
    """
    if settings.is_sqlite:
        path = settings.sqlite_path
        path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA journal_mode = WAL")  # persistent: stored in the file
        return PooledSQLiteEngine(
            path=str(path), factory=DurableConnection, timeout=BUSY_TIMEOUT_SECONDS
        )
    parts = urlsplit(settings.database_url)
    config: dict[str, Any] = {
        "host": parts.hostname,
        "port": parts.port or 5432,
        "database": parts.path.lstrip("/"),
        "user": unquote(parts.username or "postgres"),
    }
    if parts.password:
        config["password"] = unquote(parts.password)
    schema = schema or parse_qs(parts.query).get("schema", [None])[0]
    if schema:
        config["server_settings"] = {"search_path": schema}
    return PostgresEngine(config=config)


def tables() -> list[Any]:
    from piccolo.apps.migrations.tables import Migration

    from core.piccolo_app import TABLES

    return [*TABLES, Migration]


def bind(engine: Engine) -> None:
    """Point every table (and Piccolo's migration machinery) at ``engine``."""
    from core import piccolo_conf

    piccolo_conf.DB = engine  # type: ignore[assignment]
    for table in tables():
        table._meta.db = engine


def engine() -> Engine:
    from core import piccolo_conf

    return piccolo_conf.DB


def is_sqlite() -> bool:
    return isinstance(engine(), SQLiteEngine)


def write_transaction() -> Any:
    """A transaction for a write that reads first: IMMEDIATE on SQLite, so two writers never
    both read a stale state and then fail to upgrade their lock."""
    db = engine()
    if isinstance(db, SQLiteEngine):
        return db.transaction(transaction_type=TransactionType.immediate)
    return db.transaction()


async def upgrade(quiet: bool = True) -> None:
    """Run every migration not yet applied, on whichever backend is bound."""
    from piccolo.apps.migrations.commands.forwards import run_forwards
    from piccolo.apps.migrations.tables import Migration

    out = io.StringIO()
    db = engine()
    if isinstance(db, PostgresEngine):
        # Piccolo asks information_schema whether "migration" exists in *any* schema; another
        # schema's table would fool it. to_regclass follows our search_path.
        found = await db.run_ddl("SELECT to_regclass('migration') IS NOT NULL AS found")
        if not found[0]["found"]:
            await Migration.create_table(if_not_exists=True)
    with contextlib.redirect_stdout(out) if quiet else contextlib.nullcontext():
        result = await run_forwards(app_name="all")
    if not result.success:
        raise RuntimeError(f"database upgrade failed: {result.message}\n{out.getvalue()}")


async def pending_migrations() -> list[str]:
    """The ids of the committed migrations this database has not applied yet."""
    from piccolo.apps.migrations.commands.base import BaseMigrationManager
    from piccolo.apps.migrations.tables import Migration

    from core.piccolo_app import APP_CONFIG

    manager = BaseMigrationManager()
    known = manager.get_migration_ids(
        manager.get_migration_modules(APP_CONFIG.resolved_migrations_folder_path)
    )
    db = engine()
    if isinstance(db, PostgresEngine):
        found = await db.run_ddl("SELECT to_regclass('migration') IS NOT NULL AS found")
        exists = bool(found[0]["found"])
    else:
        exists = await Migration.table_exists()
    applied = set(await Migration.get_migrations_which_ran(app_name="core")) if exists else set()
    return [migration for migration in known if migration not in applied]


async def insert_many(table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Insert many rows with one prepared statement, inside the caller's write transaction.

    For bulk work (the member import): the ORM builds each row's SQL in Python, which costs
    far more than the database's own work at 100,000 rows. Names come from code, never input.
    """
    target = engine()
    transaction = target.current_transaction.get()
    if transaction is None:
        raise RuntimeError("insert_many runs inside db.write_transaction()")
    names = ", ".join(columns)
    if isinstance(target, PostgresEngine):
        marks = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
        sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
        await transaction.connection.executemany(sql, rows)
        return
    sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' for _ in columns)})"
    await transaction.executemany(sql, rows)


def is_unique_violation(exc: BaseException) -> bool:
    """Did a write fail on a unique constraint (on either backend)?"""
    import asyncpg

    if isinstance(exc, asyncpg.UniqueViolationError):
        return True
    return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc)


async def scrub(table: str) -> None:
    """Make rows deleted from ``table`` unrecoverable from the database's files.

    SQLite: every connection runs with ``secure_delete`` (deleted cells and freed pages are
    zeroed); the WAL still holds the pages as they were, so it is checkpointed into the file
    and truncated to zero bytes. PostgreSQL: the table gets new files through ``TRUNCATE`` (its
    remaining rows written back) and the old ones are removed; the server's own write-ahead
    log is recycled by PostgreSQL.
    ``table`` comes from code, never from input. Inside a transaction (the demo seeds in one)
    nothing can be scrubbed yet: the caller scrubs once its transaction has committed.
    """
    target = engine()
    if target.current_transaction.get() is not None:
        return
    if isinstance(target, PostgresEngine):
        await _truncate_keeping_rows(target, table)
        return
    path = str(target.connection_kwargs["database"])

    def checkpoint() -> tuple[int, int, int]:
        with contextlib.closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS)) as conn:
            busy, frames, done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            return int(busy), int(frames), int(done)

    for _attempt in range(3):  # each attempt waits up to the busy timeout for the log's users
        busy, _frames, _done = await asyncio.to_thread(checkpoint)
        if not busy:
            return
    # The deletion is committed; the old pages stay in the log until the next checkpoint.
    logging.getLogger("sip.db").error(
        "the WAL could not be truncated after deleting from %s; run it again with "
        "PRAGMA wal_checkpoint(TRUNCATE)",
        table,
    )


async def _truncate_keeping_rows(target: PostgresEngine, table: str) -> None:
    """PostgreSQL: give ``table`` new, empty files and write back the rows it still holds.

    ``VACUUM FULL`` copies every row that some open transaction of the database may still see
    (another connection's old snapshot, a ``pg_dump`` under way), so deleted rows could land
    in the new files. ``TRUNCATE`` swaps the files whatever other transactions see; at commit
    the old ones are emptied and removed. The table is locked first, so no row slips in
    between the read and the truncation (a cast into another open poll waits a moment)."""
    async with target.transaction():
        connection = target.current_transaction.get().connection
        await connection.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
        rows = await connection.fetch(f'SELECT * FROM "{table}"')
        await connection.execute(f'TRUNCATE "{table}"')
        if rows:
            names = list(rows[0].keys())
            marks = ", ".join(f"${n}" for n in range(1, len(names) + 1))
            await connection.executemany(
                f'INSERT INTO "{table}" ({", ".join(names)}) VALUES ({marks})',
                [tuple(row.values()) for row in rows],
            )


async def close(target: Engine | None = None) -> None:
    """Release the engine's connections (the pool on PostgreSQL, the long-lived connections on
    SQLite)."""
    target = target or engine()
    if isinstance(target, PostgresEngine):
        if target.pool is not None:
            await target.close_connection_pool()
    elif isinstance(target, PooledSQLiteEngine):
        await target.close()


async def check() -> None:
    """Raise unless the database answers; ``/healthz`` uses it."""
    await engine().run_ddl("SELECT 1")


def database_label(settings: Settings) -> str:
    if settings.is_sqlite:
        return f"SQLite {Path(settings.sqlite_path)}"
    parts = urlsplit(settings.database_url)
    return f"PostgreSQL {parts.hostname}:{parts.port or 5432}/{parts.path.lstrip('/')}"
