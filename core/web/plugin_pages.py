"""The operators' plugin page: per country, the enabled plugins, their configuration (secrets
masked) and what each adds to the platform. JSON twin at ``/api/plugins``.

An operator sees the countries they operate; a board member sees every country. A plugin's
configuration is what it reads: its typed ``OPTIONS`` for the country (``[plugins.<name>]``
and ``[plugins.<name>.<country>]``), and the config.toml section named by its module's
``CONFIG_SECTION`` (e.g. ``"notifications.email"``). A value whose key names a secret
(secret, password, token, key) is never shown, only whether it is set.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

import msgspec
from litestar import Request

from core.config import Settings, plugin_options
from core.errors import Forbidden
from core.i18n import N_, _
from core.members.model import CurrentMember
from core.plugins import SOURCE_CORE, PluginRegistry
from core.web.deps import MemberDep, RulesDep
from core.web.guards import signed_in
from core.web.twins import twin

Req = Request[Any, Any, Any]

SECRET_WORDS = ("secret", "password", "token", "key")
SOURCE_NAMES = (N_("shipped"), N_("entry point"))  # for extraction: the page shows _(source)
MASK = "••••••••"

# What a hook adds, in the words an operator reads; the page lists them in this order.
HOOK_LABELS = {
    "register_tracks": N_("the country track: languages, localities, AGM habits"),
    "support_threshold": N_("the support threshold of proposals"),
    "extension_allowed": N_("the rules for extending a theme into a new edition"),
    "vote_eligibility": N_("who may vote in a poll"),
    "proxy_limit": N_("how many proxies one shareholder may hold"),
    "register_voting_methods": N_("voting methods"),
    "register_notifiers": N_("a notification channel"),
    "deliver_sign_in_link": N_("the delivery of sign-in links"),
    "on_event": N_("reactions to the platform's events"),
    "register_routes": N_("pages and API routes"),
    "template_dirs": N_("page templates"),
}


class PluginSetting(msgspec.Struct, frozen=True):
    key: str  # as written in config.toml
    value: str  # shown as text; a secret is masked
    secret: bool = False


class PluginInfo(msgspec.Struct, frozen=True):
    name: str
    source: str  # "shipped" or "entry point"
    description: str
    adds: list[str]  # hook names, in HOOK_LABELS order
    settings: list[PluginSetting]


class CountryPlugins(msgspec.Struct, frozen=True):
    country: str
    name: str
    plugins: list[PluginInfo]


def is_secret(key: str) -> bool:
    last = key.rsplit(".", 1)[-1].lower()
    return any(word in last for word in SECRET_WORDS)


def shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(shown(v) for v in value)
    return str(value)


def flatten(prefix: str, value: Any) -> Iterable[PluginSetting]:
    """A struct or table as dotted keys; secrets masked (an empty one reads as not set)."""
    if isinstance(value, msgspec.Struct):
        value = {f: getattr(value, f) for f in value.__struct_fields__}
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from flatten(f"{prefix}.{key}" if prefix else str(key), inner)
        return
    if is_secret(prefix):
        yield PluginSetting(key=prefix, value=MASK if value else "", secret=True)
    else:
        yield PluginSetting(key=prefix, value=shown(value))


def _section(settings: Settings, dotted: str) -> Any:
    value: Any = settings
    for part in dotted.split("."):
        value = getattr(value, part, None) if not isinstance(value, dict) else value.get(part)
    return value


def plugin_settings(
    plugin: object, name: str, settings: Settings, country: str
) -> list[PluginSetting]:
    found: list[PluginSetting] = []
    options = getattr(plugin, "OPTIONS", None)
    if options is not None:
        found.extend(flatten(f"plugins.{name}", plugin_options(settings, name, country, options)))
    section = getattr(plugin, "CONFIG_SECTION", None)
    if isinstance(section, str) and _section(settings, section) is not None:
        found.extend(flatten(section, _section(settings, section)))
    return found


def describe(plugin: object) -> str:
    """The plugin's ``DESCRIPTION`` (a message the page translates), else its docstring's
    first paragraph."""
    description = getattr(plugin, "DESCRIPTION", None)
    if isinstance(description, str) and description:
        return description
    doc = inspect.getdoc(plugin) or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ")


def country_plugins(registry: PluginRegistry, settings: Settings, country: str) -> CountryPlugins:
    """The plugins config.toml enables for ``country``, with what each adds and reads."""
    plugins = []
    for name in registry.countries.get(country, []):
        installed = registry.installed.get(name)
        plugin = registry.pm.get_plugin(name)
        if installed is None or plugin is None or installed.source == SOURCE_CORE:
            continue
        hooks = {caller.name for caller in registry.pm.get_hookcallers(plugin) or []}
        plugins.append(
            PluginInfo(
                name=name,
                source=installed.source,
                description=describe(plugin),
                adds=[hook for hook in HOOK_LABELS if hook in hooks]
                + sorted(hooks - HOOK_LABELS.keys()),
                settings=plugin_settings(plugin, name, settings, country),
            )
        )
    configured = settings.countries[country].name if country in settings.countries else ""
    return CountryPlugins(country=country, name=configured or country, plugins=plugins)


def visible_countries(member: CurrentMember, settings: Settings) -> list[str]:
    """Operators see their countries, board members every country, other members none."""
    if member.is_board:
        return list(settings.countries)
    countries = [c for c in settings.countries if member.is_operator(c)]
    if not countries:
        raise Forbidden(_("Only operators and board members see the plugins."))
    return countries


@twin(
    "/operator/plugins",
    api_path="/api/plugins",
    name="operator_plugins",
    template="plugins.html",
    tags=["plugins"],
    summary="The plugins enabled per country (operators: theirs; board: all)",
    context=lambda request, found: {"countries": found, "labels": HOOK_LABELS},
    guards=[signed_in],
)
async def plugin_list(member: MemberDep, rules: RulesDep) -> list[CountryPlugins]:
    return [
        country_plugins(rules.registry, rules.settings, c)
        for c in visible_countries(member, rules.settings)
    ]
