"""config.toml and the environment: typed settings, and clear errors that name the key."""

from __future__ import annotations

import pytest

from core.config import ConfigError, Limits, load_settings

GOOD = """
[database]
url = "sqlite:///var/db.sqlite3"
[countries.BE]
plugins = ["track_be"]
"""


def write(tmp_path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("SIP_DATABASE_URL", "SIP_SECRET_KEY", "SIP_CONFIG", "SIP_DEMO"):
        monkeypatch.delenv(name, raising=False)


def test_repository_config_is_valid(monkeypatch):
    monkeypatch.setenv("SIP_SECRET_KEY", "k" * 40)
    settings = load_settings()
    assert settings.is_sqlite
    assert set(settings.countries) == {"BE", "FR"}
    assert settings.security.sign_in_link_minutes == 30
    assert settings.limits == Limits()  # config.toml writes out the built-in limits


def test_sip_config_points_at_another_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SIP_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("SIP_CONFIG", str(write(tmp_path, GOOD)))
    settings = load_settings()
    assert settings.sqlite_path == tmp_path / "var" / "db.sqlite3"
    assert list(settings.countries) == ["BE"]


def test_database_url_from_the_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("SIP_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("SIP_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    settings = load_settings(write(tmp_path, GOOD))
    assert not settings.is_sqlite
    assert settings.database_url == "postgresql://postgres@127.0.0.1:5432/test"


def test_development_secret_is_generated_once_into_an_ignored_file(tmp_path):
    first = load_settings(write(tmp_path, GOOD))
    secret_file = tmp_path / "var" / "secret_key"
    assert secret_file.exists()
    assert oct(secret_file.stat().st_mode)[-3:] == "600"
    assert len(first.secret_key) >= 32
    assert load_settings(tmp_path / "config.toml").secret_key == first.secret_key
    ignored = (load_settings.__globals__["PROJECT_ROOT"] / ".gitignore").read_text()
    assert "/var/" in ignored


def test_secret_from_the_environment_is_used_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("SIP_SECRET_KEY", "s" * 40)
    assert load_settings(write(tmp_path, GOOD)).secret_key == "s" * 40
    assert not (tmp_path / "var" / "secret_key").exists()


def test_short_secret_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("SIP_SECRET_KEY", "short")
    with pytest.raises(ConfigError, match="SIP_SECRET_KEY must be at least 32"):
        load_settings(write(tmp_path, GOOD))


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ('[server]\nport = "eighty"', "`server.port`: expected `int`, got `str`"),
        ("[server]\nport = 70000", "`server.port` must be a port number"),
        ("[server]\nworkers = 0", "`server.workers` must be at least 1"),
        ("[server]\nthreads = 4", "`server`: object contains unknown field `threads`"),
        ('[platform]\ndefault_language = "de"', "`platform.default_language` must be one of"),
        ('[platform]\nbase_url = "example.org"', "`platform.base_url` must be an http"),
        ('[security]\nsecure_cookies = "sometimes"', "`security.secure_cookies` must be"),
        ("[security]\nsign_in_link_minutes = 0", "`security.sign_in_link_minutes` must be"),
        ("[limits]\njson_max_depth = 0", "`limits.json_max_depth` must be a whole number"),
        ("[limits]\nform_max_fields = -1", "`limits.form_max_fields` must be a whole number"),
        ("[limits]\nmax_bytes = 10", "`limits`: object contains unknown field `max_bytes`"),
        ("[countries.DE]\nplugins = []", "`countries.DE` must be one of BE, FR"),
        ('[countries.FR]\nplugins = "track_fr"', "`countries.FR.plugins`: expected `array`"),
    ],
)
def test_wrong_value_names_the_key_and_what_it_expected(tmp_path, monkeypatch, snippet, expected):
    monkeypatch.setenv("SIP_SECRET_KEY", "k" * 40)
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, GOOD + snippet))
    assert expected in str(error.value)


@pytest.mark.parametrize(
    "url",
    [
        "mysql://root@localhost/db",
        "sqlite://relative.db",
        "postgresql:///nohost",
        "postgresql://h:x/db",
    ],
)
def test_bad_database_url_is_refused(tmp_path, monkeypatch, url):
    monkeypatch.setenv("SIP_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("SIP_DATABASE_URL", url)
    with pytest.raises(ConfigError, match="`database.url` must be"):
        load_settings(write(tmp_path, GOOD))


def test_secret_in_the_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("SIP_SECRET_KEY", "k" * 40)
    with pytest.raises(ConfigError, match="use SIP_SECRET_KEY"):
        load_settings(write(tmp_path, 'secret_key = "in-the-file"\n' + GOOD))


def test_invalid_toml_and_missing_file_say_so(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[database\nurl ="))
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nowhere.toml")


def test_cookies_are_secure_outside_local_development(tmp_path, monkeypatch):
    monkeypatch.setenv("SIP_SECRET_KEY", "k" * 40)
    local = load_settings(write(tmp_path, GOOD))
    assert not local.cookies_secure
    public = load_settings(
        write(tmp_path, GOOD + '[platform]\nbase_url = "https://sip.smart.coop"')
    )
    assert public.cookies_secure


@pytest.mark.parametrize(
    ("base_url", "local"),
    [
        ("http://127.0.0.1:8000", True),
        ("http://localhost:8000", True),
        ("http://[::1]:8000", True),
        ("https://sip.smart.coop", False),
        ("http://192.168.1.20:8000", False),
    ],
)
def test_local_development_is_a_loopback_base_url(tmp_path, monkeypatch, base_url, local):
    monkeypatch.setenv("SIP_SECRET_KEY", "k" * 40)
    settings = load_settings(write(tmp_path, GOOD + f'[platform]\nbase_url = "{base_url}"'))
    assert settings.local_development is local
    assert settings.cookies_secure is not local


def test_demo_mode_comes_from_sip_serve_demo_only(tmp_path, monkeypatch):
    monkeypatch.setenv("SIP_SECRET_KEY", "k" * 40)
    assert load_settings(write(tmp_path, GOOD)).demo is False
    monkeypatch.setenv("SIP_DEMO", "1")  # what `sip serve --demo` sets for its workers
    assert load_settings(write(tmp_path, GOOD)).demo is True
    with pytest.raises(ConfigError, match="`demo` may not be set in the file; use sip serve"):
        load_settings(write(tmp_path, "demo = true\n" + GOOD))
