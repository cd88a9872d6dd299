"""Read the operator's ``config.toml`` and the environment into typed settings.

Settings are read once, at start-up. A wrong value stops the start with a message that names
the key and what it expected, so an operator never runs a half-configured platform.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import msgspec

PROJECT_ROOT = Path(__file__).resolve().parent.parent
COUNTRIES = ("BE", "FR")
LANGUAGES = ("nl", "fr", "en")


class ConfigError(Exception):
    """The configuration cannot be used; the message says which key and why."""


class ConfigNotFound(ConfigError):
    """There is no configuration file where one was looked for."""


class Platform(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    name: str = "Smart in Progress"
    contact_email: str = "sip@smart.coop"
    base_url: str = "http://127.0.0.1:8000"
    default_language: str = "en"
    template_dir: str = ""


class Database(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    url: str = "sqlite:///var/sip.sqlite3"


class Server(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # Addresses of reverse proxies whose X-Forwarded-For is believed ("" = none, "*" = any).
    forwarded_allow_ips: str = ""


class Security(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    sign_in_link_minutes: int = 30
    session_days: int = 14
    secure_cookies: str = "auto"
    failed_sign_ins_per_account: int = 5
    failed_sign_ins_per_address: int = 20
    failed_sign_in_window_minutes: int = 15


class Country(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    name: str = ""
    plugins: list[str] = []
    # Supports a member's proposal needs to reach the operators' queue (support_threshold hook).
    support_threshold: int = 25


class Settings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    platform: Platform = Platform()
    database: Database = Database()
    server: Server = Server()
    security: Security = Security()
    countries: dict[str, Country] = {}
    secret_key: str = ""
    config_path: str = ""

    @property
    def database_url(self) -> str:
        return self.database.url

    @property
    def is_sqlite(self) -> bool:
        return self.database.url.startswith("sqlite:")

    @property
    def sqlite_path(self) -> Path:
        """The SQLite file; relative paths are relative to the config file's folder."""
        path = Path(self.database.url.removeprefix("sqlite:///"))
        if not path.is_absolute():
            path = Path(self.config_path).parent / path
        return path

    @property
    def cookies_secure(self) -> bool:
        if self.security.secure_cookies == "auto":
            host = urlsplit(self.platform.base_url).hostname or ""
            return host not in {"127.0.0.1", "localhost", "::1"}
        return self.security.secure_cookies == "always"


def _check(settings: Settings) -> None:
    """Checks that a type alone cannot express; each names its key."""

    def fail(key: str, expected: str, got: object) -> None:
        raise ConfigError(f"config.toml: `{key}` must be {expected}, got {got!r}")

    url = settings.database.url
    if url.startswith("sqlite:"):
        if not url.startswith("sqlite:///") or url == "sqlite:///":
            fail("database.url", "sqlite:///path/to/file.sqlite3", url)
    elif url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(url)
        if not parts.hostname or not parts.path.strip("/"):
            fail("database.url", "postgresql://user@host:port/database", url)
        try:
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            fail("database.url", "postgresql://user@host:port/database", url)
    else:
        fail("database.url", "sqlite:///path or postgresql://user@host:port/db", url)

    if settings.platform.default_language not in LANGUAGES:
        fail(
            "platform.default_language",
            f"one of {', '.join(LANGUAGES)}",
            settings.platform.default_language,
        )
    if urlsplit(settings.platform.base_url).scheme not in ("http", "https"):
        fail("platform.base_url", "an http:// or https:// address", settings.platform.base_url)
    if settings.security.secure_cookies not in ("auto", "always", "never"):
        fail(
            "security.secure_cookies",
            '"auto", "always" or "never"',
            settings.security.secure_cookies,
        )
    for key in (
        "sign_in_link_minutes",
        "session_days",
        "failed_sign_ins_per_account",
        "failed_sign_ins_per_address",
        "failed_sign_in_window_minutes",
    ):
        value = getattr(settings.security, key)
        if value < 1:
            fail(f"security.{key}", "a whole number of at least 1", value)
    if not 1 <= settings.server.port <= 65535:
        fail("server.port", "a port number between 1 and 65535", settings.server.port)
    if settings.server.workers < 1:
        fail("server.workers", "at least 1", settings.server.workers)
    if not settings.countries:
        fail("countries", "at least one country table ([countries.BE] or [countries.FR])", {})
    for code, country in settings.countries.items():
        if code not in COUNTRIES:
            fail(f"countries.{code}", f"one of {', '.join(COUNTRIES)}", code)
        if country.support_threshold < 1:
            fail(f"countries.{code}.support_threshold", "at least 1", country.support_threshold)


def _secret_key(config_path: Path) -> str:
    """SIP_SECRET_KEY, or a development secret kept in a git-ignored file beside the data."""
    key = os.environ.get("SIP_SECRET_KEY", "")
    if key:
        if len(key) < 32:
            raise ConfigError("SIP_SECRET_KEY must be at least 32 characters long")
        return key
    path = config_path.parent / "var" / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read config.toml (``SIP_CONFIG`` overrides the path) and the environment."""
    config_path = Path(path or os.environ.get("SIP_CONFIG") or PROJECT_ROOT / "config.toml")
    try:
        raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigNotFound(f"config file not found: {config_path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_path.name} is not valid TOML: {exc}") from None
    if url := os.environ.get("SIP_DATABASE_URL"):
        raw.setdefault("database", {})["url"] = url
    for forbidden in ("secret_key", "config_path"):
        if forbidden in raw:
            raise ConfigError(
                f"config.toml: `{forbidden}` may not be set in the file; use SIP_SECRET_KEY"
            )
    raw["config_path"] = str(config_path.resolve())
    # Countries are converted one by one so that an error can name the country's key.
    raw_countries = raw.pop("countries", {})
    if not isinstance(raw_countries, dict):
        raise ConfigError("config.toml: `countries` must be tables like [countries.BE]")
    try:
        settings = msgspec.convert(raw, Settings, strict=True)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"config.toml: {_readable(str(exc))}") from None
    countries: dict[str, Country] = {}
    for code, table in raw_countries.items():
        try:
            countries[code] = msgspec.convert(table, Country, strict=True)
        except msgspec.ValidationError as exc:
            raise ConfigError(f"config.toml: {_readable(str(exc), f'countries.{code}')}") from None
    settings = msgspec.structs.replace(settings, countries=countries)
    _check(settings)
    return msgspec.structs.replace(settings, secret_key=_secret_key(config_path.resolve()))


def _readable(message: str, prefix: str = "") -> str:
    """Turn msgspec's ``Expected ... - at `$.server.port``` into ```server.port`: expected ...``."""
    what, _sep, where = message.partition(" - at `$")
    path = where.rstrip("`").lstrip(".")
    key = ".".join(part for part in (prefix, path) if part)
    what = what[0].lower() + what[1:]
    return f"`{key}`: {what}" if key else what
