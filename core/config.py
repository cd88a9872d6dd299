"""Read the operator's ``config.toml`` and the environment into typed settings.

Settings are read once, at start-up. A wrong value stops the start with a message that names
the key and what it expected, so an operator never runs a half-configured platform.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import msgspec

PROJECT_ROOT = Path(__file__).resolve().parent.parent
COUNTRIES = ("BE", "FR")
# The time zone each country's dates and times are given in (meetings, notifications).
TIME_ZONES = {"BE": "Europe/Brussels", "FR": "Europe/Paris"}
LANGUAGES = ("nl", "fr", "en")

Options = TypeVar("Options")


def zone_of(country: str) -> ZoneInfo:
    """The time zone ``country``'s dates and times are given in (UTC for an unknown code)."""
    return ZoneInfo(TIME_ZONES.get(country, "UTC"))


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
    # How often a worker looks whether an operator changed plugins on the web (seconds); the
    # worker that made the change applies it at once.
    settings_refresh_seconds: float = 2.0


class Security(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    sign_in_link_minutes: int = 30
    session_days: int = 14
    secure_cookies: str = "auto"
    failed_sign_ins_per_account: int = 5
    failed_sign_ins_per_address: int = 20
    failed_sign_in_window_minutes: int = 15
    # Sign-in links one email address (and one member) may be sent within the window.
    sign_in_link_requests: int = 3
    sign_in_link_request_window_minutes: int = 15


class Limits(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """What a request body may hold before any handler reads it (``core.web.limits``)."""

    # JSON bodies (the API): bytes, levels of arrays and objects, items in any one of them.
    json_max_bytes: int = 1_000_000
    json_max_depth: int = 32
    json_max_items: int = 10_000
    # Form posts (application/x-www-form-urlencoded): bytes and fields.
    form_max_bytes: int = 256 * 1024
    form_max_fields: int = 1000
    # Any body, uploads included (multipart, the member import's CSV): bytes.
    upload_max_bytes: int = 10_000_000


DEFAULT_SUPPORT_THRESHOLD = 25


class Country(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    name: str = ""
    plugins: list[str] = []
    # Supports a member's proposal needs to reach the operators' queue. None: not set here, so
    # the country's plugins (its track) decide, else DEFAULT_SUPPORT_THRESHOLD (core/rules.py).
    support_threshold: int | None = None
    # true: the country's plugins and their options are read from this file only; the plugin
    # page shows them read-only and says so.
    locked: bool = False


class EmailSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The SMTP server of the ``notify_email`` plugin; the password comes from SIP_SMTP_PASSWORD."""

    host: str = "127.0.0.1"
    port: int = 25
    # "none" (plain, e.g. a local relay), "starttls" (upgrade on port 587) or "tls" (port 465).
    security: str = "none"
    username: str = ""
    password: str = ""
    from_address: str = ""  # empty: platform.contact_email
    timeout_seconds: float = 30.0

    def __repr__(self) -> str:  # the password is never printed
        return (
            f"EmailSettings(host={self.host!r}, port={self.port}, security={self.security!r}, "
            f"username={self.username!r}, password={'***' if self.password else ''!r})"
        )

    def __rich_repr__(self) -> Any:
        yield "host", self.host
        yield "port", self.port
        yield "password", "***" if self.password else ""


class WebhookSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Where ``notify_webhook`` posts events; the secret comes from SIP_WEBHOOK_SECRET."""

    url: str = ""
    secret: str = ""  # "whsec_" + base64 of random bytes (Standard Webhooks)
    timeout_seconds: float = 10.0

    def __repr__(self) -> str:  # the secret is never printed
        return f"WebhookSettings(url={self.url!r}, secret={'***' if self.secret else ''!r})"

    def __rich_repr__(self) -> Any:
        yield "url", self.url
        yield "secret", "***" if self.secret else ""


class Notifications(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The outbox relay: how often it looks, how it retries, and the channels' settings."""

    relay_in_server: bool = True  # `sip serve` runs the relay; false: run `sip notify run`
    poll_seconds: float = 2.0
    batch_size: int = 50
    concurrency: int = 4
    max_attempts: int = 8
    backoff_seconds: float = 30.0  # first retry; each next one waits twice as long
    backoff_max_seconds: float = 6 * 3600.0
    lease_seconds: float = 300.0  # a claimed message is re-delivered after this (relay killed)
    email: EmailSettings = EmailSettings()
    webhook: WebhookSettings = WebhookSettings()


class Retention(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """How long what is no longer needed is kept, in days; the server prunes it
    (``sip maintenance prune`` too) and the privacy page lists these figures."""

    sign_in_tokens_days: int = 7  # used or expired sign-in links
    sign_in_failures_days: int = 30  # failed sign-in attempts and link requests
    ended_sessions_days: int = 30  # sessions signed out or expired
    outbox_sent_days: int = 90  # delivered notifications' outbox rows
    outbox_failed_days: int = 180  # notifications given up on ("dead")
    left_members_days: int = 730  # then a member who left the cooperative is anonymised
    prune_every_hours: int = 24  # how often the server prunes


class Privacy(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Members' data: what erasure does with the texts they wrote."""

    # "keep": proposals, comments and recommendations stay, signed "erased member";
    # "remove": their wording is replaced by a note that it was removed.
    erased_texts: str = "keep"
    erasure_link_minutes: int = 60  # the self-service confirmation link is valid this long


class Settings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    platform: Platform = Platform()
    database: Database = Database()
    server: Server = Server()
    security: Security = Security()
    limits: Limits = Limits()
    notifications: Notifications = Notifications()
    retention: Retention = Retention()
    privacy: Privacy = Privacy()
    countries: dict[str, Country] = {}
    # Plugin options: [plugins.<name>] for every country, [plugins.<name>.<country>] for one.
    # Each plugin reads them typed through ``plugin_options``.
    plugins: dict[str, dict[str, Any]] = {}
    secret_key: str = ""
    config_path: str = ""
    # Demo mode: `sip serve --demo`, which sets SIP_DEMO=1 for its worker processes.
    demo: bool = False

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
    def local_development(self) -> bool:
        """Local development: base_url is a loopback address (127.0.0.1, localhost, ::1), so
        the links the platform builds on it work only on the server's own machine. Then, with
        ``secure_cookies = "auto"``, cookies are not Secure and no HSTS is sent, and a sign-in
        link no mail channel takes is written to the server log (``core/defaults/sign_in``)."""
        host = urlsplit(self.platform.base_url).hostname or ""
        return host in {"127.0.0.1", "localhost", "::1"}

    @property
    def cookies_secure(self) -> bool:
        if self.security.secure_cookies == "auto":
            return not self.local_development
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
    security_counts = (
        "sign_in_link_minutes",
        "session_days",
        "failed_sign_ins_per_account",
        "failed_sign_ins_per_address",
        "failed_sign_in_window_minutes",
        "sign_in_link_requests",
        "sign_in_link_request_window_minutes",
    )
    _at_least_one("security", settings.security, security_counts, fail)
    limits = settings.limits
    _at_least_one("limits", limits, tuple(msgspec.structs.asdict(limits)), fail)
    if not 1 <= settings.server.port <= 65535:
        fail("server.port", "a port number between 1 and 65535", settings.server.port)
    if settings.server.workers < 1:
        fail("server.workers", "at least 1", settings.server.workers)
    if not settings.countries:
        fail("countries", "at least one country table ([countries.BE] or [countries.FR])", {})
    _check_notifications(settings, fail)
    _at_least_one(
        "retention", settings.retention, tuple(msgspec.structs.asdict(settings.retention)), fail
    )
    if settings.privacy.erased_texts not in ("keep", "remove"):
        fail("privacy.erased_texts", '"keep" or "remove"', settings.privacy.erased_texts)
    if settings.privacy.erasure_link_minutes < 1:
        fail(
            "privacy.erasure_link_minutes",
            "a whole number of at least 1",
            settings.privacy.erasure_link_minutes,
        )
    if settings.server.settings_refresh_seconds <= 0:
        fail(
            "server.settings_refresh_seconds",
            "a number of seconds above 0",
            settings.server.settings_refresh_seconds,
        )
    for name, table in settings.plugins.items():
        for key, value in [(f"plugins.{name}.locked", table.get("locked", False))] + [
            (f"plugins.{name}.{c}.locked", table[c].get("locked", False))
            for c in COUNTRIES
            if isinstance(table.get(c), dict)
        ]:
            if not isinstance(value, bool):
                fail(key, "true or false", value)
    for code, country in settings.countries.items():
        if code not in COUNTRIES:
            fail(f"countries.{code}", f"one of {', '.join(COUNTRIES)}", code)
        if country.support_threshold is not None and country.support_threshold < 1:
            fail(f"countries.{code}.support_threshold", "at least 1", country.support_threshold)


def _at_least_one(section: str, table: Any, keys: tuple[str, ...], fail: Any) -> None:
    """Each of ``keys`` of the ``section`` table is a whole number of at least 1."""
    for key in keys:
        value = getattr(table, key)
        if value < 1:
            fail(f"{section}.{key}", "a whole number of at least 1", value)


def _check_notifications(settings: Settings, fail: Any) -> None:
    n = settings.notifications
    enabled = {name for country in settings.countries.values() for name in country.plugins}
    if "notify_webhook" in enabled and not (n.webhook.url and n.webhook.secret):
        raise ConfigError(
            "config.toml: a country enables notify_webhook: set `notifications.webhook.url` "
            "and the environment variable SIP_WEBHOOK_SECRET"
        )
    for key in ("poll_seconds", "backoff_seconds", "backoff_max_seconds", "lease_seconds"):
        if getattr(n, key) <= 0:
            fail(f"notifications.{key}", "a number of seconds above 0", getattr(n, key))
    _at_least_one("notifications", n, ("batch_size", "concurrency", "max_attempts"), fail)
    if n.email.security not in ("none", "starttls", "tls"):
        fail("notifications.email.security", '"none", "starttls" or "tls"', n.email.security)
    if not 1 <= n.email.port <= 65535:
        fail("notifications.email.port", "a port number between 1 and 65535", n.email.port)
    if n.email.from_address and "@" not in n.email.from_address:
        fail("notifications.email.from_address", "an email address", n.email.from_address)
    if n.webhook.url and urlsplit(n.webhook.url).scheme not in ("http", "https"):
        fail("notifications.webhook.url", "an http:// or https:// address", n.webhook.url)
    if n.webhook.secret and not webhook_secret_is_valid(n.webhook.secret):
        # never echo the secret itself
        raise ConfigError(
            'SIP_WEBHOOK_SECRET must be "whsec_" followed by the base64 of at least 24 random '
            "bytes (Standard Webhooks)"
        )


def webhook_secret_is_valid(secret: str) -> bool:
    import base64
    import binascii

    if not secret.startswith("whsec_"):
        return False
    try:
        return len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) >= 24
    except (binascii.Error, ValueError):
        return False


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
    if "demo" in raw:
        raise ConfigError("config.toml: `demo` may not be set in the file; use sip serve --demo")
    _notification_secrets(raw)
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
    return msgspec.structs.replace(
        settings,
        secret_key=_secret_key(config_path.resolve()),
        demo=os.environ.get("SIP_DEMO", "") == "1",
    )


def _notification_secrets(raw: dict[str, Any]) -> None:
    """The SMTP password and the webhook secret come from the environment, never the file."""
    notifications = raw.get("notifications")
    if notifications is not None and not isinstance(notifications, dict):
        return  # the type check below names the key
    for section, key, variable in (
        ("email", "password", "SIP_SMTP_PASSWORD"),
        ("webhook", "secret", "SIP_WEBHOOK_SECRET"),
    ):
        table = (notifications or {}).get(section)
        if isinstance(table, dict) and key in table:
            raise ConfigError(
                f"config.toml: `notifications.{section}.{key}` may not be set in the file; "
                f"use {variable}"
            )
        if value := os.environ.get(variable):
            notifications = raw.setdefault("notifications", {})
            target = notifications.setdefault(section, {})
            if isinstance(target, dict):
                target[key] = value


def plugin_options(
    settings: Settings, plugin: str, country: str, options: type[Options]
) -> Options:
    """A plugin's typed options for one country.

    ``[plugins.<plugin>]`` holds the options of every country, ``[plugins.<plugin>.<country>]``
    overrides them for one. ``options`` is a msgspec Struct (``forbid_unknown_fields=True``)
    whose defaults apply where the file says nothing; a wrong value raises ``ConfigError``
    naming the key as written in the file.
    """
    table = settings.plugins.get(plugin, {})
    shared = {k: v for k, v in table.items() if k not in COUNTRIES and k != LOCKED}
    own = table.get(country, {})
    if not isinstance(own, dict):
        raise ConfigError(
            f"config.toml: `plugins.{plugin}.{country}` must be a table like "
            f"[plugins.{plugin}.{country}]"
        )
    own = {k: v for k, v in own.items() if k != LOCKED}
    try:
        return msgspec.convert({**shared, **own}, options, strict=True)
    except msgspec.ValidationError as exc:
        message = str(exc)
        field = message.partition(" - at `$.")[2].rstrip("`").split(".")[0].split("[")[0]
        unknown = message.partition("unknown field `")[2].partition("`")[0]
        written_for_country = (field or unknown) in own
        prefix = f"plugins.{plugin}.{country}" if written_for_country else f"plugins.{plugin}"
        raise ConfigError(f"config.toml: {_readable(message, prefix)}") from None


LOCKED = "locked"  # in [plugins.<name>] or [plugins.<name>.<country>]: not changed on the web


def lock_of(settings: Settings, plugin: str, country: str) -> str | None:
    """The config.toml key that keeps ``plugin`` in ``country`` to the file (the page shows
    it read-only), or None when operators may change it on the web."""
    configured = settings.countries.get(country)
    if configured is not None and configured.locked:
        return f"countries.{country}.locked"
    table = settings.plugins.get(plugin, {})
    own = table.get(country, {})
    if isinstance(own, dict) and own.get(LOCKED) is True:
        return f"plugins.{plugin}.{country}.locked"
    if table.get(LOCKED) is True:
        return f"plugins.{plugin}.locked"
    return None


def _readable(message: str, prefix: str = "") -> str:
    """Turn msgspec's ``Expected ... - at `$.server.port``` into ```server.port`: expected ...``."""
    what, _sep, where = message.partition(" - at `$")
    path = where.rstrip("`").lstrip(".")
    key = ".".join(part for part in (prefix, path) if part)
    what = what[0].lower() + what[1:]
    return f"`{key}`: {what}" if key else what
