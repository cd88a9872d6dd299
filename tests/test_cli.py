"""The ``sip`` command, run for real as a subprocess against a temporary config.toml.

SQLite tests use a database file next to the temporary config; PostgreSQL tests use a schema of
their own (``?schema=`` in SIP_DATABASE_URL), created and dropped here.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from core import hookimpl
from core.events import MembersImported
from tests.conftest import POSTGRES_URL, SECRET, missing, run_sync

ROOT = Path(__file__).resolve().parent.parent
SIP_SCRIPT = Path(sys.executable).parent / "sip"
SIP = [str(SIP_SCRIPT)] if SIP_SCRIPT.exists() else [sys.executable, "-m", "core.cli"]

# The structure of the repository's config.toml, with the database beside this file.
CONFIG = """
[platform]
name = "Smart in Progress"
contact_email = "sip@smart.coop"
base_url = "http://127.0.0.1:8000"
default_language = "en"
template_dir = ""

[database]
url = "sqlite:///var/sip.sqlite3"

[server]
host = "127.0.0.1"
port = 8000
workers = 1

[security]
sign_in_link_minutes = 30
session_days = 14
secure_cookies = "auto"
failed_sign_ins_per_account = 5
failed_sign_ins_per_address = 20
failed_sign_in_window_minutes = 15

[countries.BE]
name = "Belgium"
plugins = ["track_be"]

[countries.FR]
name = "France"
plugins = ["track_fr"]
"""

HEADER = "member_number,email,name,country,language,shareholder"
GOOD = "\n".join(
    [
        HEADER,
        "C1,anna@example.org,Anna Peeters,BE,nl,yes",
        "C2,bert@example.org,Bert Claes,BE,fr,no",
        "C3,chloe@example.org,Chloé Martin,FR,fr,oui",
    ]
)
BAD = "\n".join(
    [
        HEADER,
        "C1,anna@example.org,Anna Peeters,BE,nl,yes",
        "C2,not-an-email,Bert Claes,BE,fr,no",
        "C3,chloe@example.org,Chloé Martin,XX,fr,oui",
        "C4,dirk@example.org,Dirk,BE,nl,maybe",
    ]
)


def environment(**extra: str) -> dict[str, str]:
    """This process's environment without any SIP_ setting, plus a secret and ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIP_")}
    env["SIP_SECRET_KEY"] = SECRET
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


@dataclass
class Site:
    """A folder with a config.toml, and the ``sip`` command pointed at it."""

    folder: Path
    env: dict[str, str]

    @property
    def config(self) -> Path:
        return self.folder / "config.toml"

    @property
    def database(self) -> Path:
        return self.folder / "var" / "sip.sqlite3"

    def sip(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*SIP, "--config", str(self.config), *args],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def write(self, name: str, text: str) -> str:
        path = self.folder / name
        path.write_text(text + "\n", encoding="utf-8")
        return str(path)

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.database) as conn:
            return conn.execute(sql, params).fetchall()


@pytest.fixture
def site(tmp_path: Path) -> Site:
    (tmp_path / "config.toml").write_text(CONFIG)
    return Site(tmp_path, environment())


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def sqlite_schema(site: Site) -> list[tuple[Any, ...]]:
    return site.query("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")


# -- sip db upgrade -----------------------------------------------------------------------------


def test_db_upgrade_creates_the_tables_on_sqlite_and_a_second_run_changes_nothing(site):
    first = ok(site.sip("db", "upgrade"))

    assert f"SQLite {site.database}" in first.stdout
    assert "is up to date" in first.stdout
    tables = {name for (kind, name, _sql) in sqlite_schema(site) if kind == "table"}
    assert {"member", "member_role", "sign_in_token", "web_session", "migration"} <= tables
    schema = sqlite_schema(site)
    migrations = site.query("SELECT name, app_name FROM migration ORDER BY id")
    assert migrations

    ok(site.sip("db", "upgrade"))

    assert sqlite_schema(site) == schema
    assert site.query("SELECT name, app_name FROM migration ORDER BY id") == migrations


def test_config_is_found_through_sip_config(tmp_path):
    (tmp_path / "config.toml").write_text(CONFIG)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    result = subprocess.run(
        [*SIP, "db", "upgrade"],
        cwd=elsewhere,
        env=environment(SIP_CONFIG=str(tmp_path / "config.toml")),
        capture_output=True,
        text=True,
        timeout=120,
    )

    ok(result)
    assert (tmp_path / "var" / "sip.sqlite3").exists()  # relative to the config, not the cwd
    assert not (elsewhere / "var").exists()


@pytest.fixture
def postgres_schema_url() -> Iterator[tuple[str, str]]:
    """A schema of this test's own in the test database, as (database url, schema name)."""
    import asyncpg

    schema = f"sip_cli_{uuid.uuid4().hex[:12]}"

    async def execute(sql: str) -> None:
        conn = await asyncpg.connect(POSTGRES_URL, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        run_sync(execute(f"CREATE SCHEMA {schema}"))
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        missing("PostgreSQL", f"cannot connect to {POSTGRES_URL}: {exc}")
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}schema={schema}", schema
    finally:
        run_sync(execute(f"DROP SCHEMA {schema} CASCADE"))


def postgres_fetch(sql: str, *params: Any) -> list[tuple[Any, ...]]:
    import asyncpg

    async def fetch() -> list[tuple[Any, ...]]:
        conn = await asyncpg.connect(POSTGRES_URL, timeout=5)
        try:
            return [tuple(row) for row in await conn.fetch(sql, *params)]
        finally:
            await conn.close()

    return run_sync(fetch())


def test_db_upgrade_creates_the_tables_in_its_postgresql_schema_and_a_second_run_changes_nothing(
    tmp_path, postgres_schema_url
):
    url, schema = postgres_schema_url
    (tmp_path / "config.toml").write_text(CONFIG)
    site = Site(tmp_path, environment(SIP_DATABASE_URL=url))
    tables_sql = (
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1"
    )

    first = ok(site.sip("db", "upgrade"))

    assert "Database PostgreSQL" in first.stdout
    assert "is up to date" in first.stdout
    tables = {name for (name,) in postgres_fetch(tables_sql, schema)}
    assert {"member", "member_role", "sign_in_token", "web_session", "migration"} <= tables
    migrations = postgres_fetch(f"SELECT name, app_name FROM {schema}.migration ORDER BY id")
    assert migrations

    ok(site.sip("db", "upgrade"))

    assert {name for (name,) in postgres_fetch(tables_sql, schema)} == tables
    assert postgres_fetch(f"SELECT name, app_name FROM {schema}.migration ORDER BY id") == (
        migrations
    )
    assert not site.database.exists()  # SIP_DATABASE_URL won over the config's SQLite file


def test_serve_refuses_a_postgresql_database_that_needs_an_upgrade(tmp_path, postgres_schema_url):
    url, schema = postgres_schema_url
    (tmp_path / "config.toml").write_text(CONFIG)
    site = Site(tmp_path, environment(SIP_DATABASE_URL=url))

    refused = site.sip("serve", "--port", "1")  # exits before binding any port

    assert refused.returncode == 2
    assert re.search(r"needs \d+ migration\(s\)", refused.stderr)
    assert "sip db upgrade" in refused.stderr
    tables_sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = $1"
    assert postgres_fetch(tables_sql, schema) == []  # serve does not migrate PostgreSQL itself


def test_members_import_writes_into_its_postgresql_schema(tmp_path, postgres_schema_url):
    url, schema = postgres_schema_url
    (tmp_path / "config.toml").write_text(CONFIG)
    site = Site(tmp_path, environment(SIP_DATABASE_URL=url))
    ok(site.sip("db", "upgrade"))

    result = ok(site.sip("members", "import", site.write("good.csv", GOOD)))
    again = ok(site.sip("members", "import", site.write("good.csv", GOOD)))

    assert "3 new, 0 updated, 0 unchanged" in result.stdout
    assert "0 new, 0 updated, 3 unchanged" in again.stdout
    assert postgres_fetch(
        f"SELECT member_number, email, country FROM {schema}.member ORDER BY member_number"
    ) == [
        ("C1", "anna@example.org", "BE"),
        ("C2", "bert@example.org", "BE"),
        ("C3", "chloe@example.org", "FR"),
    ]


# -- sip members import -------------------------------------------------------------------------


def members(site: Site) -> list[tuple[Any, ...]]:
    return site.query(
        "SELECT member_number, email, name, country, language, shareholder FROM member "
        "ORDER BY member_number"
    )


def test_members_import_prints_the_counts_and_shows_its_progress(site):
    result = ok(site.sip("members", "import", site.write("good.csv", GOOD)))

    assert "Imported" in result.stdout
    assert "3 new, 0 updated, 0 unchanged." in result.stdout
    # The progress bar is drawn on stderr: both stages, each finished with its count.
    assert "checked" in result.stderr
    assert "written" in result.stderr
    assert "3/3" in result.stderr
    assert members(site) == [
        ("C1", "anna@example.org", "Anna Peeters", "BE", "nl", 1),
        ("C2", "bert@example.org", "Bert Claes", "BE", "fr", 0),
        ("C3", "chloe@example.org", "Chloé Martin", "FR", "fr", 1),
    ]


def test_members_import_again_changes_nothing_and_a_changed_row_is_updated(site):
    ok(site.sip("members", "import", site.write("good.csv", GOOD)))
    before = site.query("SELECT * FROM member ORDER BY id")

    again = ok(site.sip("members", "import", site.write("good.csv", GOOD)))
    assert "0 new, 0 updated, 3 unchanged." in again.stdout
    assert site.query("SELECT * FROM member ORDER BY id") == before

    changed = GOOD.replace("Bert Claes,BE,fr,no", "Bert Claes,BE,nl,yes")
    updated = ok(site.sip("members", "import", site.write("changed.csv", changed)))
    assert "0 new, 1 updated, 2 unchanged." in updated.stdout
    assert site.query("SELECT language, shareholder FROM member WHERE member_number = 'C2'") == [
        ("nl", 1)
    ]


def test_members_import_of_a_bad_file_lists_every_bad_line_and_imports_nothing(site):
    result = site.sip("members", "import", site.write("bad.csv", BAD))

    assert result.returncode == 1
    assert "Nothing imported: 3 bad row(s)" in result.stderr
    assert "line 3: email 'not-an-email' is not an email address" in result.stderr
    assert "line 4: country 'XX' is not one of BE, FR" in result.stderr
    assert "line 5: shareholder 'maybe' is not yes/no" in result.stderr
    assert "line 2:" not in result.stderr
    assert members(site) == []  # not even the good row on line 2
    assert "Imported" not in result.stdout


def test_members_import_of_a_file_that_is_not_utf8_says_so(site):
    path = site.folder / "latin1.csv"
    path.write_bytes(GOOD.encode("latin-1"))

    result = site.sip("members", "import", str(path))

    assert result.returncode == 1
    assert "not UTF-8" in result.stderr
    assert "line 4" in result.stderr
    assert "Traceback" not in result.stderr


class Recorder:
    def __init__(self) -> None:
        self.events: list[Any] = []

    @hookimpl
    def on_event(self, event: Any) -> None:
        self.events.append(event)


def test_members_import_tells_each_country_s_plugins_what_changed(tmp_path, monkeypatch):
    """In-process (a test plugin cannot be handed to a subprocess): the CLI fires the same
    MembersImported events as the web import, without an actor."""
    import core.plugins
    from core.cli import main

    recorder = Recorder()
    monkeypatch.setattr(
        core.plugins,
        "build_registry",
        partial(core.plugins.build_registry, extra={"recorder": recorder}),
    )
    monkeypatch.setenv("SIP_SECRET_KEY", SECRET)
    monkeypatch.delenv("SIP_DATABASE_URL", raising=False)
    monkeypatch.delenv("SIP_CONFIG", raising=False)  # restored: --config sets it
    config = CONFIG.replace('plugins = ["track_be"]', 'plugins = ["track_be", "recorder"]')
    config = config.replace('plugins = ["track_fr"]', 'plugins = ["track_fr", "recorder"]')
    (tmp_path / "config.toml").write_text(config)
    (tmp_path / "good.csv").write_text(GOOD)
    args = ["--config", str(tmp_path / "config.toml"), "members", "import"]

    first = CliRunner().invoke(main, [*args, str(tmp_path / "good.csv")])
    again = CliRunner().invoke(main, [*args, str(tmp_path / "good.csv")])

    assert first.exit_code == 0, first.output
    assert again.exit_code == 0, again.output
    assert sorted(recorder.events, key=lambda e: e.country) == [
        MembersImported(country="BE", created=2, updated=0, actor_id=None),
        MembersImported(country="FR", created=1, updated=0, actor_id=None),
    ]  # and nothing for the import that changed nothing


# -- sip members link / role --------------------------------------------------------------------


def test_members_link_prints_a_valid_one_time_link(site):
    ok(site.sip("members", "import", site.write("good.csv", GOOD)))

    result = ok(site.sip("members", "link", "Anna@Example.org"))

    url = result.stdout.strip()
    prefix = "http://127.0.0.1:8000/sign-in/link/"
    assert url.startswith(prefix)
    token = url.removeprefix(prefix)
    rows = site.query(
        "SELECT m.member_number, t.used_at FROM sign_in_token t JOIN member m ON m.id = t.member "
        "WHERE t.token_hash = ?",
        hashlib.sha256(token.encode()).hexdigest(),
    )
    assert rows == [("C1", None)]
    assert token not in str(site.query("SELECT token_hash FROM sign_in_token"))
    assert "Valid for 30 minutes" in result.stderr


def test_members_link_for_an_unknown_email_exits_1_with_a_message(site):
    ok(site.sip("members", "import", site.write("good.csv", GOOD)))

    result = site.sip("members", "link", "nobody@example.org")

    assert result.returncode == 1
    assert "No member with the email address nobody@example.org" in result.stderr
    assert result.stdout == ""
    assert site.query("SELECT count(*) FROM sign_in_token") == [(0,)]


def test_members_link_and_role_on_a_new_sqlite_file_answer_without_a_traceback(site):
    link = site.sip("members", "link", "nobody@example.org")
    role = site.sip("members", "role", "nobody@example.org", "board")

    for result in (link, role):
        assert result.returncode == 1
        assert "No member with the email address nobody@example.org" in result.stderr
        assert "Traceback" not in result.stderr


def roles(site: Site) -> list[tuple[Any, ...]]:
    return site.query(
        "SELECT m.email, r.role, r.country FROM member_role r JOIN member m ON m.id = r.member "
        "ORDER BY m.email, r.role, r.country"
    )


def test_members_role_grants_and_removes_an_operator_role(site):
    ok(site.sip("members", "import", site.write("good.csv", GOOD)))

    granted = ok(site.sip("members", "role", "anna@example.org", "operator", "--country", "BE"))
    twice = ok(site.sip("members", "role", "anna@example.org", "operator", "--country", "BE"))
    assert "granted" in granted.stdout and "granted" in twice.stdout
    assert roles(site) == [("anna@example.org", "operator", "BE")]  # granted once

    # The last operator of a country keeps the role: a second one first.
    ok(site.sip("members", "role", "bert@example.org", "operator", "--country", "BE"))
    removed = ok(
        site.sip("members", "role", "anna@example.org", "operator", "--country", "BE", "--remove")
    )
    assert "removed" in removed.stdout
    assert roles(site) == [("bert@example.org", "operator", "BE")]


def test_members_role_grants_and_removes_a_role_without_a_country(site):
    ok(site.sip("members", "import", site.write("good.csv", GOOD)))

    board = ok(site.sip("members", "role", "bert@example.org", "board"))
    ok(site.sip("members", "role", "chloe@example.org", "facilitator"))
    assert "bert@example.org: board granted." in board.stdout
    assert roles(site) == [
        ("bert@example.org", "board", ""),
        ("chloe@example.org", "facilitator", ""),
    ]

    ok(site.sip("members", "role", "chloe@example.org", "facilitator", "--remove"))
    assert roles(site) == [("bert@example.org", "board", "")]
    # The last board member keeps the role: a second one first.
    ok(site.sip("members", "role", "anna@example.org", "board"))
    ok(site.sip("members", "role", "bert@example.org", "board", "--remove"))
    assert roles(site) == [("anna@example.org", "board", "")]


def test_members_role_refuses_an_operator_without_a_country_or_an_unknown_member(site):
    ok(site.sip("members", "import", site.write("good.csv", GOOD)))

    no_country = site.sip("members", "role", "anna@example.org", "operator")
    unknown = site.sip("members", "role", "nobody@example.org", "board")

    assert no_country.returncode == 1
    assert "needs a country" in no_country.stderr
    assert unknown.returncode == 1
    assert "No member with the email address nobody@example.org" in unknown.stderr
    assert roles(site) == []


# -- sip plugins and configuration errors -------------------------------------------------------


def test_plugins_lists_the_installed_plugins_and_their_countries(site):
    result = ok(site.sip("plugins"))

    lines = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if "│" in line}
    assert "BE" in lines["track_be"] and "FR" not in lines["track_be"]
    assert "FR" in lines["track_fr"] and "BE" not in lines["track_fr"]
    assert not site.database.exists()  # listing plugins touches no database


BAD_CONFIGS = {
    "port-not-a-number": (
        ("port = 8000", 'port = "eighty"'),
        ["`server.port`", "expected `int`"],
    ),
    "unknown-key": (
        ("workers = 1", 'workers = 1\ncolour = "red"'),
        ["`server`", "colour"],
    ),
    "bad-database-url": (
        ('url = "sqlite:///var/sip.sqlite3"', 'url = "mysql://db.example.org/sip"'),
        ["`database.url`", "mysql://db.example.org/sip"],
    ),
    "unknown-plugin": (
        ('plugins = ["track_be"]', 'plugins = ["track_be", "track_xx"]'),
        ["countries.BE.plugins", '"track_xx" is not installed', "installed plugins:"],
    ),
}


@pytest.mark.parametrize(
    "command",
    [["plugins"], ["db", "upgrade"], ["members", "import", "good.csv"], ["serve"]],
    ids=["plugins", "db-upgrade", "members-import", "serve"],
)
@pytest.mark.parametrize("problem", list(BAD_CONFIGS))
def test_wrong_config_value_exits_2_naming_the_key_and_changes_nothing(site, problem, command):
    (old, new), expected = BAD_CONFIGS[problem]
    assert old in CONFIG
    site.config.write_text(CONFIG.replace(old, new, 1))
    site.write("good.csv", GOOD)

    result = site.sip(*command)

    assert result.returncode == 2, result.stdout + result.stderr
    assert "Configuration error" in result.stderr
    for text in expected:
        assert text in result.stderr
    if problem == "unknown-plugin":
        installed = result.stderr.split("installed plugins:")[1]
        assert "track_be" in installed and "track_fr" in installed
    assert "Traceback" not in result.stderr
    assert not (site.folder / "var").exists()  # no database, no generated secret
