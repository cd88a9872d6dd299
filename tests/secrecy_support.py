"""Reading a database the way whoever holds it would: the raw SQLite file and its WAL, or
PostgreSQL's table files, plus every row of every table as text."""

from __future__ import annotations

from pathlib import Path

from core import db
from core.config import Settings


async def table_dump() -> str:
    """Every row of every platform table, as text."""
    out = []
    for table in db.tables():
        name = table._meta.tablename
        rows = await table.raw(f'SELECT * FROM "{name}"')
        out.append(f"{name}: {rows!r}")
    return "\n".join(out)


async def raw_files(settings: Settings) -> dict[str, bytes]:
    """The bytes of the database's files, by name: the SQLite file and its WAL, or the files
    of every table, index and TOAST table of the PostgreSQL schema (after a CHECKPOINT, so
    what the server holds in memory is on disk too)."""
    if settings.is_sqlite:
        path = Path(settings.sqlite_path)
        files = {}
        for suffix in ("", "-wal"):
            candidate = Path(f"{path}{suffix}")
            files[candidate.name] = candidate.read_bytes() if candidate.exists() else b""
        return files
    engine = db.engine()
    await engine.run_ddl("CHECKPOINT")
    directory = Path((await engine.run_ddl("SHOW data_directory"))[0]["data_directory"])
    rows = await engine.run_ddl(
        "SELECT c.relname, pg_relation_filepath(c.oid) AS path FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i', 't') "
        "UNION SELECT t.relname, pg_relation_filepath(t.oid) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_class t ON t.oid = c.reltoastrelid WHERE n.nspname = current_schema()"
    )
    files = {}
    for row in rows:
        if not row["path"]:
            continue
        base = directory / row["path"]
        segments = [base, *sorted(base.parent.glob(f"{base.name}.[0-9]*"))]
        files[row["relname"]] = b"".join(p.read_bytes() for p in segments if p.exists())
    return files


def found_in(files: dict[str, bytes], needles: list[bytes]) -> list[str]:
    """Which files hold any of ``needles`` (each a readable excerpt of what was found)."""
    return [
        f"{name}: {needle[:24]!r}..."
        for name, content in files.items()
        for needle in needles
        if needle in content
    ]
