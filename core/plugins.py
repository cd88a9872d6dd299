"""The plugin manager: built-ins, the plugins shipped in ``plugins/``, and entry points "sip".

Installed is not enabled. The core's defaults always run (a plugin may override them); a
shipped or entry-point plugin is imported and called only when config.toml lists it for a
country, and a hook called for a country reaches only that country's plugins.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

import pluggy

import plugins as shipped_package
from core import PROJECT_NAME, hookspecs
from core.config import ConfigError, Settings, plugin_options

# The core's own behaviour, registered as ordinary plugins (their hooks are trylast).
DEFAULT_PLUGINS: tuple[str, ...] = (
    "core.defaults.sign_in",
    "core.defaults.events",
    "core.defaults.rules",
    "core.defaults.voting",
    "core.defaults.notifiers",
    "core.defaults.groups",
    "core.defaults.notices",
)

ENTRY_POINT_GROUP = PROJECT_NAME

SOURCE_CORE = "core"
SOURCE_SHIPPED = "shipped"
SOURCE_ENTRY_POINT = "entry point"

# Packages shipped in ``plugins/`` that are not plugins: the demo data (``sip serve --demo``).
NOT_PLUGINS: frozenset[str] = frozenset({"demo"})


@dataclass(frozen=True)
class InstalledPlugin:
    name: str
    source: str
    target: str  # module path, or the entry point's value


def installed_plugins() -> dict[str, InstalledPlugin]:
    """Every plugin that could be enabled, without importing any of them."""
    found: dict[str, InstalledPlugin] = {}
    for name in DEFAULT_PLUGINS:
        found[name] = InstalledPlugin(name, SOURCE_CORE, name)
    for info in pkgutil.iter_modules(shipped_package.__path__):
        if info.name in NOT_PLUGINS:
            continue
        module = f"{shipped_package.__name__}.{info.name}"
        found[info.name] = InstalledPlugin(info.name, SOURCE_SHIPPED, module)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in found:
            found[ep.name] = InstalledPlugin(ep.name, SOURCE_ENTRY_POINT, ep.value)
    return found


class CountryHooks:
    """The hook relay for one country: ``registry.for_country("BE").on_event(event=...)``.
    Only ``core.rules.Rules`` calls it: its typed methods are the way to ask a country."""

    def __init__(self, pm: pluggy.PluginManager, excluded: list[object]) -> None:
        self._pm = pm
        self._excluded = excluded
        self._callers: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        try:
            return self._callers[name]
        except KeyError:
            if name not in SPEC_NAMES:  # a typo is an error, not a hook nobody answers
                raise AttributeError(f"no hook named {name!r} in core/hookspecs.py") from None
            caller = self._pm.subset_hook_caller(name, remove_plugins=self._excluded)
            self._callers[name] = caller
            return caller


@dataclass
class PluginRegistry:
    """The loaded plugins of one running platform and which countries enable each."""

    pm: pluggy.PluginManager
    installed: dict[str, InstalledPlugin]
    countries: dict[str, list[str]]  # country -> enabled non-core plugin names
    #: What config.toml enables (``countries`` is this, changed by the operators' switches).
    configured: dict[str, list[str]] = field(default_factory=dict)
    #: The worker's view of the operators' switches, once the application runs
    #: (``core.runtime.live.Live``, which sets it).
    live: Any = None
    _by_country: dict[str, CountryHooks] = field(default_factory=dict)
    #: Answers of platform-wide hooks that only depend on which plugins are registered.
    _answers: dict[tuple[str, frozenset[int], frozenset[str]], Any] = field(default_factory=dict)

    @property
    def hook(self) -> Any:
        """Hooks called once for the platform as it starts (routes, template folders): every
        installed plugin answers, so that one enabled later has its pages ready (they check
        the countries that enable them on every request)."""
        return self.pm.hook

    def _enabled_anywhere(self) -> frozenset[str]:
        return frozenset(name for names in self.countries.values() for name in names)

    def platform_hook(self, name: str) -> Any:
        """A hook called for the platform as a whole while it runs (voting methods): the
        plugins enabled in at least one country answer, and the core's defaults."""
        enabled = self._enabled_anywhere()
        excluded = [
            plugin
            for plugin_name, plugin in self.pm.list_name_plugin()
            if self.installed.get(plugin_name, InstalledPlugin(plugin_name, "", "")).source
            != SOURCE_CORE
            and plugin_name not in enabled
        ]
        return self.pm.subset_hook_caller(name, remove_plugins=excluded)

    def remembered(self, hook: str, compute: Callable[[], Any]) -> Any:
        """``compute()``, once as long as the same plugins are registered and enabled (voting
        methods are looked up on every ballot cast)."""
        key = (
            hook,
            frozenset(id(plugin) for plugin in self.pm.get_plugins()),
            self._enabled_anywhere(),
        )
        if key not in self._answers:
            self._answers[key] = compute()
        return self._answers[key]

    def enable(self, countries: dict[str, list[str]]) -> None:
        """Switch plugins per country while the platform runs (``core.runtime.live``): the
        next hook call for a country reaches exactly its plugins in ``countries``."""
        wanted = {n for names in countries.values() for n in names}
        unknown = wanted - set(self.installed)
        if unknown:
            raise ValueError(f"not installed: {', '.join(sorted(unknown))}")
        for name in sorted(wanted):
            if self.pm.get_plugin(name) is None:  # an entry point's, enabled for the first time
                self.pm.register(_load(self.installed[name]), name=name)
        self.countries = {code: list(names) for code, names in countries.items()}
        self._by_country = {}

    def for_country(self, country: str) -> CountryHooks:
        if country not in self._by_country:
            enabled = set(self.countries.get(country, []))
            excluded = [
                plugin
                for name, plugin in self.pm.list_name_plugin()
                if self.installed.get(name, InstalledPlugin(name, "", "")).source != SOURCE_CORE
                and name not in enabled
            ]
            self._by_country[country] = CountryHooks(self.pm, excluded)
        return self._by_country[country]

    def enabled_in(self, name: str) -> list[str]:
        """The countries that enable a plugin; the core's defaults run everywhere."""
        if self.installed[name].source == SOURCE_CORE:
            return sorted(self.countries)
        return sorted(c for c, names in self.countries.items() if name in names)

    def rows(self) -> list[tuple[str, str, list[str]]]:
        """(name, source, countries) for every installed plugin, for ``sip plugins``."""
        return [(p.name, p.source, self.enabled_in(p.name)) for p in self.installed.values()]


def _load(plugin: InstalledPlugin) -> object:
    if plugin.source == SOURCE_ENTRY_POINT:
        for ep in entry_points(group=ENTRY_POINT_GROUP, name=plugin.name):
            return ep.load()
    return importlib.import_module(plugin.target)


def build_registry(settings: Settings, extra: dict[str, object] | None = None) -> PluginRegistry:
    """Load the core defaults and every plugin a country enables; check the names first.

    ``extra`` registers additional plugin objects under a name (tests and embedding use it);
    they are treated like shipped plugins and must still be enabled per country.
    """
    installed = installed_plugins()
    for name in extra or {}:
        installed[name] = InstalledPlugin(name, SOURCE_SHIPPED, "<object>")
    countries: dict[str, list[str]] = {}
    for code, country in settings.countries.items():
        for name in country.plugins:
            if name not in installed or installed[name].source == SOURCE_CORE:
                available = ", ".join(
                    sorted(n for n, p in installed.items() if p.source != SOURCE_CORE)
                )
                raise ConfigError(
                    f'config.toml: countries.{code}.plugins: the plugin "{name}" is not '
                    f"installed; installed plugins: {available or 'none'}"
                )
        countries[code] = list(country.plugins)
    for name in sorted(settings.plugins):
        if name not in installed or installed[name].source == SOURCE_CORE:
            raise ConfigError(
                f'config.toml: `plugins.{name}`: options for "{name}", which is not an '
                "installed plugin"
            )

    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    # Every shipped plugin is registered, so that an operator can enable one for a country
    # while the platform runs (a country's hooks still reach only its enabled plugins). An
    # entry point's plugin is someone else's code: it is imported only once enabled.
    wanted = {name for names in countries.values() for name in names}
    for name in sorted(
        n for n, p in installed.items() if p.source == SOURCE_SHIPPED or n in wanted
    ):
        plugin = (extra or {}).get(name) or _load(installed[name])
        pm.register(plugin, name=name)
        # A plugin that declares typed options (``OPTIONS``) has them checked at start-up.
        options = getattr(plugin, "OPTIONS", None)
        if options is not None:
            for code in sorted(c for c, names in countries.items() if name in names):
                plugin_options(settings, name, code, options)
    # The core's defaults go in last: pluggy calls the trylast implementation registered
    # first at the very end, so a plugin's own trylast answer (a country track's usual rule)
    # still comes before the core's, and any plain plugin before both.
    for name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    pm.check_pending()
    return PluginRegistry(
        pm=pm,
        installed=installed,
        countries=countries,
        configured={code: list(names) for code, names in countries.items()},
    )


def hook_names() -> list[str]:
    """Every hook spec's name, for documentation and the meta-tests."""
    return [
        name
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(fn, f"{PROJECT_NAME}_spec")
    ]


SPEC_NAMES = frozenset(hook_names())
