"""Test fixtures: a migrated database on each backend, an app, a signed-in client.

Database-touching tests take the ``backend`` fixture and run once on SQLite and once on
PostgreSQL. Without a reachable PostgreSQL they are skipped with the reason printed in the
summary; under ``CI=true`` a missing backend or browser is a failure, never a skip.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from litestar.testing import AsyncTestClient

from core import db
from core.config import Settings, load_settings
from core.members.tables import Member, MemberRole

# No Hypothesis example fails for being slow: a verdict never depends on the machine's speed
# (the default 200 ms deadline does). Settings a test writes itself start from this profile.
hypothesis.settings.register_profile("sip", deadline=None)
hypothesis.settings.load_profile("sip")

POSTGRES_URL = os.environ.get("SIP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
SECRET = "test-secret-key-that-is-long-enough-for-hmac-0123456789"

_skipped_backends: dict[str, str] = {}


def run_sync(coroutine: Any) -> Any:
    """Run a coroutine to completion from sync code, even when a loop is running here."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


_MISSING = " not available: "


def missing(what: str, reason: str) -> None:
    """Skip (locally) or fail (under CI) when a backend or browser is not there."""
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true but {reason}", pytrace=False)
    _skipped_backends[what] = reason
    pytest.skip(f"{what}{_MISSING}{reason}")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Name each backend or browser whose tests were skipped, and why, once.

    Built from the skip reports (with ``-n``, tests run in worker processes and only their
    reports reach this one)."""
    missing: dict[str, str] = dict(_skipped_backends)
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = getattr(report, "longrepr", None)
        message = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else ""
        message = message.removeprefix("Skipped: ")
        if _MISSING in message:
            what, reason = message.split(_MISSING, 1)
            missing.setdefault(what, reason)
    for what, reason in missing.items():
        terminalreporter.write_line(
            f"SKIPPED BACKEND: tests on {what} did not run ({reason})", yellow=True, bold=True
        )


def write_config(tmp: Path, database_url: str, extra: str = "") -> Path:
    path = tmp / "config.toml"
    path.write_text(
        f"""
[platform]
contact_email = "sip-test@example.org"
base_url = "http://127.0.0.1:8000"

[database]
url = "{database_url}"

[security]
failed_sign_ins_per_account = 5
failed_sign_ins_per_address = 10

[countries.BE]
name = "Belgium"
plugins = ["track_be"]

[countries.FR]
name = "France"
plugins = ["track_fr"]
{extra}
"""
    )
    return path


def make_settings(tmp: Path, database_url: str, extra: str = "") -> Settings:
    os.environ["SIP_SECRET_KEY"] = SECRET
    return load_settings(write_config(tmp, database_url, extra))


# -- SQLite: migrate once into a template file, copy it for each test ----------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sqlite-template")
    settings = make_settings(folder, f"sqlite:///{folder / 'template.sqlite3'}")

    async def migrate() -> None:
        engine = db.make_engine(settings)
        db.bind(engine)
        await db.upgrade()
        await db.close(engine)  # the last connection out folds the WAL into the file we copy

    run_sync(migrate())
    return folder / "template.sqlite3"


# -- PostgreSQL: one schema per test run in database `test`, truncated between tests ------------


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str | None]:
    import asyncpg

    schema = f"sip_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    async def create() -> str | None:
        try:
            conn = await asyncpg.connect(POSTGRES_URL, timeout=5)
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            return f"cannot connect to {POSTGRES_URL}: {exc}"
        try:
            await conn.execute(f"CREATE SCHEMA {schema}")
        finally:
            await conn.close()
        return None

    problem = run_sync(create())
    if problem:
        yield None
        _skipped_backends.setdefault("PostgreSQL", problem)
        return

    async def migrate() -> None:
        settings = make_settings(Path("/tmp"), POSTGRES_URL)
        db.bind(db.make_engine(settings, schema=schema))
        await db.upgrade()

    run_sync(migrate())
    yield schema

    async def drop() -> None:
        conn = await asyncpg.connect(POSTGRES_URL)
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()

    run_sync(drop())


_emptying: dict[str, str] = {}


async def empty_postgres(schema: str) -> None:
    """Empty every table of the schema and restart its ids, as a fresh database.

    DELETE with triggers off (``session_replication_role``: no foreign-key checks, no
    append-only triggers) takes milliseconds where TRUNCATE of ~45 tables takes hundreds."""
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        if schema not in _emptying:
            tables = await conn.fetch(
                "SELECT tablename FROM pg_tables "
                "WHERE schemaname = $1 AND tablename <> 'migration'",
                schema,
            )
            sequences = await conn.fetch(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = $1", schema
            )
            _emptying[schema] = (
                "SET session_replication_role = replica;"
                + "".join(f'DELETE FROM "{schema}"."{t[0]}";' for t in tables)
                + "".join(f'SELECT setval(\'"{schema}"."{q[0]}"\', 1, false);' for q in sequences)
                + "SET session_replication_role = origin;"
            )
        await conn.execute(_emptying[schema])
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def database(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Settings]:
    """Settings bound to a fresh, migrated database on the test's backend."""
    if backend == "sqlite":
        path = tmp_path / "sip.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        settings = make_settings(tmp_path, f"sqlite:///{path}")
        engine = db.make_engine(settings)
        db.bind(engine)
        yield settings
        await db.close(engine)
        return
    schema = request.getfixturevalue("postgres_schema")
    if schema is None:
        missing("PostgreSQL", _skipped_backends.get("PostgreSQL", "not reachable"))
    settings = make_settings(tmp_path, POSTGRES_URL)
    engine = db.make_engine(settings, schema=schema)
    db.bind(engine)
    await empty_postgres(schema)
    yield settings


@pytest.fixture
async def client(database: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    from core.app import create_app

    app = create_app(database, engine=db.engine())
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as test_client:
        yield test_client


# -- helpers ------------------------------------------------------------------------------------


async def add_member(
    email: str = "member@example.org",
    *,
    number: str | None = None,
    name: str = "A Member",
    country: str = "BE",
    language: str = "en",
    shareholder: bool = True,
    roles: tuple[tuple[str, str], ...] = (),
) -> int:
    rows = await Member.insert(
        Member(
            member_number=number or f"M-{uuid.uuid4().hex[:8]}",
            email=email,
            name=name,
            country=country,
            language=language,
            shareholder=shareholder,
        )
    )
    member_id = int(rows[0]["id"])
    for role, role_country in roles:
        await MemberRole.insert(MemberRole(member=member_id, role=role, country=role_country))
    return member_id


async def csrf_token(client: AsyncTestClient[Any]) -> str:
    response = await client.get("/api/session")
    token = response.json()["csrf_token"]
    assert token
    return token


async def sign_in(client: AsyncTestClient[Any], member_id: int) -> None:
    """Sign a test client in through a real one-time link."""
    from core.auth.services import create_sign_in_link

    token = await create_sign_in_link(member_id, 30)
    response = await client.post(
        f"/api/sign-in/link/{token}", headers={"x-csrftoken": await csrf_token(client)}
    )
    assert response.status_code == 200, response.text


@pytest.fixture
async def pooled(database: Settings) -> AsyncIterator[Settings]:
    """The database with a PostgreSQL connection pool, as a server runs it (many concurrent
    transactions would otherwise each open a connection and exhaust the server's slots).
    Service-level tests only: the test client runs the app on its own event loop."""
    from piccolo.engine.postgres import PostgresEngine

    engine = db.engine()
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(max_size=20)
    yield database
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()
