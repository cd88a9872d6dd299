"""The running platform's plugin choices: config.toml's, changed by the operators' switches.

Every worker keeps the version of the switches it applied. Before a request it looks at the
stored version (one small query, at most every ``server.settings_refresh_seconds``); when it
grew, it reads the switches again and applies them: the registry's countries (which plugins a
country's hooks reach) and the settings' plugin options. The worker that made a change applies
it at once. So a switch made on one machine takes effect on every worker of every machine that
shares the database, without a restart.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from core.config import Settings, lock_of
from core.plugins import SOURCE_CORE, PluginRegistry
from core.runtime.tables import PluginSwitch, SettingsVersion

log = logging.getLogger("sip.plugins")


@dataclass(frozen=True)
class Switch:
    """An operator's stored choice for one plugin in one country."""

    country: str
    plugin: str
    enabled: bool
    options: dict[str, Any]
    updated_at: datetime
    updated_by: int | None


async def stored_version() -> int:
    rows = await SettingsVersion.select(SettingsVersion.version).where(SettingsVersion.id == 1)
    return int(rows[0]["version"]) if rows else 0


async def stored_switches() -> dict[tuple[str, str], Switch]:
    rows = await PluginSwitch.select()
    found: dict[tuple[str, str], Switch] = {}
    for row in rows:
        try:
            options = json.loads(row["options"] or "{}")
        except ValueError:
            options = {}
        found[(row["country"], row["plugin"])] = Switch(
            country=row["country"],
            plugin=row["plugin"],
            enabled=bool(row["enabled"]),
            options=options if isinstance(options, dict) else {},
            updated_at=row["updated_at"],
            updated_by=row["updated_by"],
        )
    return found


def effective(
    base: Settings, registry: PluginRegistry, switches: dict[tuple[str, str], Switch]
) -> tuple[Settings, dict[str, list[str]]]:
    """config.toml's settings with the switches applied (a locked plugin or country keeps the
    file's), and the plugins each country enables."""
    countries = {code: list(country.plugins) for code, country in base.countries.items()}
    plugins: dict[str, dict[str, Any]] = copy.deepcopy(base.plugins)
    for (code, name), switch in sorted(switches.items()):
        installed = registry.installed.get(name)
        if code not in countries or installed is None or installed.source == SOURCE_CORE:
            continue  # a country no longer configured, or a plugin no longer installed
        if lock_of(base, name, code) is not None:
            continue
        names = countries[code]
        if switch.enabled and name not in names:
            names.append(name)
        elif not switch.enabled and name in names:
            names.remove(name)
        if switch.options:
            table = plugins.setdefault(name, {})
            own = table.get(code) if isinstance(table.get(code), dict) else {}
            table[code] = {**own, **switch.options}
    settings = msgspec.structs.replace(
        base,
        countries={
            code: msgspec.structs.replace(country, plugins=countries[code])
            for code, country in base.countries.items()
        },
        plugins=plugins,
    )
    return settings, countries


class Live:
    """One worker's view of the switches; ``app.state.live``."""

    def __init__(self, base: Settings, registry: PluginRegistry) -> None:
        self.base = base
        self.registry = registry
        self.settings = base
        self.switches: dict[tuple[str, str], Switch] = {}
        self.version: int | None = None
        self._checked = float("-inf")
        registry.live = self

    def apply(self, switches: dict[tuple[str, str], Switch], version: int) -> Settings:
        settings, countries = effective(self.base, self.registry, switches)
        self.registry.enable(countries)
        self.switches, self.settings, self.version = switches, settings, version
        return settings

    async def refresh(self, *, force: bool = False) -> bool:
        """Read the switches again when their version changed; True when it did. Without
        ``force``, at most every ``server.settings_refresh_seconds``."""
        now = time.monotonic()
        if not force and now - self._checked < self.base.server.settings_refresh_seconds:
            return False
        self._checked = now
        try:
            version = await stored_version()
            if version == self.version:
                return False
            switches = await stored_switches()
        except Exception:  # a database without the switches (not migrated yet): the file's
            log.warning("the plugin switches could not be read; config.toml's apply", exc_info=True)
            return False
        self.apply(switches, version)
        return True


async def bump_version() -> int:
    """Inside the change's write transaction: the next version, seen by every worker."""
    changed = (
        await SettingsVersion.update({SettingsVersion.version: SettingsVersion.version + 1})
        .where(SettingsVersion.id == 1)
        .returning(SettingsVersion.version)
    )
    if changed:
        return int(changed[0]["version"])
    await SettingsVersion.insert(SettingsVersion(id=1, version=1))  # its row was lost
    return 1
