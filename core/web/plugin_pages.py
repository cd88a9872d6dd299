"""The operators' plugin page: per country, the installed plugins, which are enabled, their
configuration (secrets masked) and what each adds to the platform. JSON twin at
``/api/plugins``. An operator switches a plugin for their country and sets its typed options
here (``core.runtime``); config.toml can lock a country or a plugin to the file.

An operator sees the countries they operate; a board member sees every country. A plugin's
configuration is what it reads: its typed ``OPTIONS`` for the country (``[plugins.<name>]``
and ``[plugins.<name>.<country>]``), and the config.toml section named by its module's
``CONFIG_SECTION`` (e.g. ``"notifications.email"``). A value whose key names a secret
(secret, password, token, key) is never shown, only whether it is set.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, post, put
from litestar.params import FromPath, JSONBody
from litestar.response import Redirect, Template

from core.config import ConfigError, Settings, lock_of, plugin_options
from core.errors import DomainError, Forbidden
from core.i18n import N_, _
from core.members.model import CurrentMember
from core.plugins import SOURCE_CORE, PluginRegistry
from core.runtime import services
from core.runtime.live import Live
from core.runtime.services import OptionField, option_fields, options_type
from core.web.context import page
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


class PluginInfo(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    source: str  # "shipped" or "entry point"
    description: str
    adds: list[str]  # hook names, in HOOK_LABELS order
    settings: list[PluginSetting]
    enabled: bool = True
    # "config.toml", or "web": an operator's switch (when, in the audit log: who and what)
    decided_by: str = "config.toml"
    changed_at: datetime | None = None
    locked_by: str = ""  # the config.toml key that locks it ("" : operators may change it)
    editable: bool = False  # the viewer may switch it (an operator of the country, not locked)
    options: list[OptionField] = []  # the typed options an operator may set here


class CountryPlugins(msgspec.Struct, frozen=True, kw_only=True):
    country: str
    name: str
    plugins: list[PluginInfo]  # enabled
    available: list[PluginInfo] = []  # installed, not enabled
    locked_by: str = ""  # "countries.<C>.locked" when the whole country is locked


class SwitchIn(msgspec.Struct, forbid_unknown_fields=True):
    """An operator's switch for one plugin in one country (``PUT /api/plugins/{c}/{name}``)."""

    enabled: bool
    options: dict[str, Any] = {}


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


def plugin_info(
    registry: PluginRegistry,
    settings: Settings,
    country: str,
    name: str,
    *,
    viewer: CurrentMember | None = None,
    live: Live | None = None,
) -> PluginInfo | None:
    installed = registry.installed.get(name)
    plugin = registry.pm.get_plugin(name)
    if installed is None or installed.source == SOURCE_CORE:
        return None
    hooks = (
        {caller.name for caller in registry.pm.get_hookcallers(plugin) or []}
        if plugin is not None
        else set()
    )
    base = live.base if live is not None else settings
    locked = lock_of(base, name, country) or ""
    switch = live.switches.get((country, name)) if live is not None else None
    if locked:
        switch = None  # the file decides
    kind = options_type(plugin) if plugin is not None else None
    fields: list[OptionField] = []
    if kind is not None:
        try:
            fields = option_fields(kind, plugin_options(settings, name, country, kind))
        except ConfigError:
            fields = []
    return PluginInfo(
        name=name,
        source=installed.source,
        description=describe(plugin) if plugin is not None else "",
        adds=[hook for hook in HOOK_LABELS if hook in hooks] + sorted(hooks - HOOK_LABELS.keys()),
        settings=plugin_settings(plugin, name, settings, country) if plugin is not None else [],
        enabled=name in registry.countries.get(country, []),
        decided_by="web" if switch is not None else "config.toml",
        changed_at=switch.updated_at if switch is not None else None,
        locked_by=locked,
        editable=bool(viewer is not None and viewer.is_operator(country) and not locked),
        options=fields,
    )


def country_plugins(
    registry: PluginRegistry,
    settings: Settings,
    country: str,
    *,
    viewer: CurrentMember | None = None,
    live: Live | None = None,
) -> CountryPlugins:
    """The plugins enabled for ``country`` (and, apart, the others installed), with what each
    adds and reads."""
    enabled: list[PluginInfo] = []
    available: list[PluginInfo] = []
    names = list(registry.countries.get(country, []))  # config.toml's order, then the rest
    for name in names + sorted(set(registry.installed) - set(names)):
        info = plugin_info(registry, settings, country, name, viewer=viewer, live=live)
        if info is not None:
            (enabled if info.enabled else available).append(info)
    base = live.base if live is not None else settings
    configured = settings.countries[country].name if country in settings.countries else ""
    locked = base.countries.get(country)
    return CountryPlugins(
        country=country,
        name=configured or country,
        plugins=enabled,
        available=available,
        locked_by=f"countries.{country}.locked" if locked is not None and locked.locked else "",
    )


def visible_countries(member: CurrentMember, settings: Settings) -> list[str]:
    """Operators see their countries, board members every country, other members none."""
    if member.is_board:
        return list(settings.countries)
    countries = [c for c in settings.countries if member.is_operator(c)]
    if not countries:
        raise Forbidden(_("Only operators and board members see the plugins."))
    return countries


def live_of(request: Req) -> Live:
    return request.app.state.live


def plugins_context(request: Req, found: list[CountryPlugins]) -> dict[str, Any]:
    return {"countries": found, "labels": HOOK_LABELS, "errors": {}, "given": {}, "problem": {}}


@twin(
    "/operator/plugins",
    api_path="/api/plugins",
    name="operator_plugins",
    template="plugins.html",
    tags=["plugins"],
    summary="The plugins per country: enabled or not, options (operators: theirs; board: all)",
    context=plugins_context,
    guards=[signed_in],
)
async def plugin_list(member: MemberDep, rules: RulesDep) -> list[CountryPlugins]:
    live = rules.registry.live
    return [
        country_plugins(rules.registry, rules.settings, c, viewer=member, live=live)
        for c in visible_countries(member, rules.settings)
    ]


class PluginSwitchPages(Controller):
    include_in_schema = False

    @post(
        "/operator/plugins/{country:str}/{name:str}",
        name="operator_plugin_switch",
        guards=[signed_in],
    )
    async def switch(
        self, request: Req, member: MemberDep, country: FromPath[str], name: FromPath[str]
    ) -> Template | Redirect:
        form = await request.form()
        enabled = str(form.get("enabled", "")) in ("1", "on", "true", "yes")
        given = {
            key.removeprefix("option."): str(value)
            for key, value in form.items()
            if key.startswith("option.")
        }
        live = live_of(request)
        try:
            await services.set_switch(
                live, member, country, name, enabled=enabled, given=given, typed=False
            )
        except DomainError as exc:
            found = [
                country_plugins(live.registry, live.settings, c, viewer=member, live=live)
                for c in visible_countries(member, live.settings)
            ]
            return page(
                request,
                "plugins.html",
                {
                    **plugins_context(request, found),
                    "errors": {(country, name): {e["key"]: e["message"] for e in exc.errors}},
                    "given": {(country, name): {**given, "enabled": enabled}},
                    "problem": {(country, name): exc.message},
                },
                status_code=exc.status_code,
            )
        return Redirect(f"/operator/plugins#plugin-{country}-{name}", status_code=303)


class PluginSwitchAPI(Controller):
    path = "/api"
    tags = ["plugins"]

    @put(
        "/plugins/{country:str}/{name:str}",
        summary="Enable or disable a plugin for a country and set its options (its operators)",
        guards=[signed_in],
    )
    async def switch(
        self,
        request: Req,
        member: MemberDep,
        country: FromPath[str],
        name: FromPath[str],
        data: JSONBody[SwitchIn],
    ) -> PluginInfo:
        live = live_of(request)
        await services.set_switch(
            live, member, country, name, enabled=data.enabled, given=data.options, typed=True
        )
        info = plugin_info(live.registry, live.settings, country, name, viewer=member, live=live)
        assert info is not None  # set_switch refused an unknown plugin
        return info
