"""Switch a plugin for a country and set its options: checked, stored, audited.

Only an operator of the country may, and only for a plugin and country that config.toml does
not lock. Options are the plugin's typed ``OPTIONS`` (a msgspec Struct); each value is checked
on its own so that every wrong field gets its own message, then all together. A field whose
name says it is a secret (secret, password, token, key) is never taken from the web: secrets
stay in the environment.
"""

from __future__ import annotations

import json
import math
from typing import Any

import msgspec

from core import clock, db
from core.audit import services as audit
from core.config import Settings, lock_of, plugin_options
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.i18n import _, country_name
from core.members.model import CurrentMember
from core.plugins import SOURCE_CORE, PluginRegistry
from core.runtime.live import Live, Switch, bump_version
from core.runtime.tables import PluginSwitch

SECRET_WORDS = ("secret", "password", "token", "key")


class OptionField(msgspec.Struct, frozen=True, kw_only=True):
    """One typed option as the form shows it."""

    name: str
    kind: str  # "int", "float", "bool" or "str"
    value: Any
    default: Any
    minimum: float | None = None
    maximum: float | None = None


def is_secret(name: str) -> bool:
    return any(word in name.lower() for word in SECRET_WORDS)


def options_type(plugin: object) -> type | None:
    options = getattr(plugin, "OPTIONS", None)
    return options if isinstance(options, type) and issubclass(options, msgspec.Struct) else None


def option_fields(options: type, current: Any) -> list[OptionField]:
    """The editable fields of an ``OPTIONS`` struct with their current values."""
    info = msgspec.inspect.type_info(options)
    fields: list[OptionField] = []
    for field in getattr(info, "fields", ()):
        if is_secret(field.name):
            continue
        kind_of = {
            msgspec.inspect.IntType: "int",
            msgspec.inspect.FloatType: "float",
            msgspec.inspect.BoolType: "bool",
            msgspec.inspect.StrType: "str",
        }
        kind = kind_of.get(type(field.type))
        if kind is None:
            continue  # lists and tables stay in config.toml
        low = getattr(field.type, "ge", None)
        if low is None and getattr(field.type, "gt", None) is not None:
            low = field.type.gt
        high = getattr(field.type, "le", None)
        if high is None and getattr(field.type, "lt", None) is not None:
            high = field.type.lt
        default = field.default if field.default is not msgspec.NODEFAULT else None
        fields.append(
            OptionField(
                name=field.name,
                kind=kind,
                value=getattr(current, field.name, default),
                default=default,
                minimum=low,
                maximum=high,
            )
        )
    return fields


def check_options(
    options: type, fields: list[OptionField], given: dict[str, Any], *, typed: bool
) -> dict[str, Any]:
    """The values of ``given`` converted to the fields' types, or ``InvalidInput`` listing
    each wrong field. ``typed``: JSON values (strict); else form text (converted)."""
    known = {f.name: f for f in fields}
    errors: list[dict[str, Any]] = []
    values: dict[str, Any] = {}
    for name, raw in given.items():
        field = known.get(name)
        if field is None:
            message = _("There is no option named %(name)s.") % {"name": name}
            errors.append({"key": name, "message": message})
            continue
        if not typed and field.kind != "str":
            raw = str(raw).strip()
            if field.kind == "bool":
                raw = raw.lower() in ("1", "true", "on", "yes")
        try:
            converted = msgspec.convert({name: raw}, options, strict=typed)
        except msgspec.ValidationError as exc:
            errors.append({"key": name, "message": _field_message(field, str(exc))})
            continue
        value = getattr(converted, name)
        if (field.kind == "int" and not -(2**63) <= value < 2**63) or (
            field.kind == "float" and not math.isfinite(value)
        ):
            errors.append({"key": name, "message": _field_message(field, "")})
            continue
        values[name] = value
    if errors:
        raise InvalidInput(_("Some options are not valid; nothing was changed."), errors=errors)
    return values


def _field_message(field: OptionField, raw: str) -> str:
    if field.kind in ("int", "float"):
        if field.minimum is not None and field.maximum is not None:
            return _("Give a number from %(low)s to %(high)s.") % {
                "low": _number(field.minimum),
                "high": _number(field.maximum),
            }
        if field.minimum is not None:
            return _("Give a number of at least %(low)s.") % {"low": _number(field.minimum)}
        if field.kind == "int":
            return _("Give a whole number.")
        return _("Give a number.")
    if field.kind == "bool":
        return _("Give true or false.")
    return _("This value is not valid.")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def unavailable(plugin: object, settings: Settings) -> str | None:
    """Why the plugin cannot be enabled with these settings (a message), if it says so: its
    module's ``unavailable(settings)``."""
    check = getattr(plugin, "unavailable", None)
    return check(settings) if callable(check) else None


def state_of(
    settings: Settings, registry: PluginRegistry, country: str, name: str
) -> dict[str, Any]:
    plugin = registry.pm.get_plugin(name)
    enabled = name in registry.countries.get(country, [])
    options: dict[str, Any] = {}
    kind = options_type(plugin) if plugin is not None else None
    if kind is not None:
        current = plugin_options(settings, name, country, kind)
        options = {f.name: f.value for f in option_fields(kind, current)}
    return {"enabled": enabled, "options": options}


async def set_switch(
    live: Live,
    actor: CurrentMember,
    country: str,
    name: str,
    *,
    enabled: bool,
    given: dict[str, Any],
    typed: bool,
) -> Switch:
    """Store the operator's choice for ``name`` in ``country``; the caller's worker applies
    it at once (``live.refresh(force=True)``), the others within seconds."""
    await live.refresh(force=True)  # decide on the latest switches of any machine
    registry, settings = live.registry, live.settings
    if country not in settings.countries:
        raise NotFound(_("Unknown country %(code)s.") % {"code": country})
    installed = registry.installed.get(name)
    if installed is None or installed.source == SOURCE_CORE:
        raise NotFound(_("No plugin named %(name)s is installed.") % {"name": name})
    if not actor.is_operator(country):
        raise Forbidden(
            _("Only operators of %(country)s change its plugins.")
            % {"country": country_name(country)}
        )
    lock = lock_of(live.base, name, country)
    if lock is not None:
        raise Conflict(
            _("config.toml locks this plugin for %(country)s (%(key)s): change it there.")
            % {"country": country_name(country), "key": lock}
        )
    plugin = registry.pm.get_plugin(name)
    values: dict[str, Any] = {}
    kind = options_type(plugin) if plugin is not None else None
    if kind is not None:
        current = plugin_options(settings, name, country, kind)
        fields = option_fields(kind, current)
        if not typed:  # a form sends every field; an unticked box sends nothing
            given = {
                **{f.name: "" for f in fields if f.kind == "bool"},
                **given,
            }
        values = check_options(kind, fields, given, typed=typed)
    elif given:
        raise InvalidInput(
            _("This plugin has no options."),
            errors=[{"key": k, "message": _("This plugin has no options.")} for k in given],
        )
    if enabled and plugin is not None and (reason := unavailable(plugin, settings)):
        raise Conflict(reason)
    before = state_of(settings, registry, country, name)
    now = clock.now()
    async with db.write_transaction():
        existing = (
            await PluginSwitch.objects()
            .where((PluginSwitch.country == country) & (PluginSwitch.plugin == name))
            .first()
        )
        stored = json.loads(existing.options or "{}") if existing is not None else {}
        options = {**(stored if isinstance(stored, dict) else {}), **values}
        text = json.dumps(options, sort_keys=True)
        if existing is None:
            await PluginSwitch.insert(
                PluginSwitch(
                    country=country,
                    plugin=name,
                    enabled=enabled,
                    options=text,
                    updated_at=now,
                    updated_by=actor.id,
                )
            )
        else:
            await PluginSwitch.update(
                {
                    PluginSwitch.enabled: enabled,
                    PluginSwitch.options: text,
                    PluginSwitch.updated_at: now,
                    PluginSwitch.updated_by: actor.id,
                }
            ).where(PluginSwitch.id == existing.id)
        await bump_version()
        await audit.record(
            "plugin.switch",
            actor=actor,
            country=country,
            object_type="plugin",
            object_id=name,
            details={
                "plugin": name,
                "before": before,
                "after": {"enabled": enabled, "options": {**before["options"], **values}},
            },
        )
    await live.refresh(force=True)
    return live.switches.get(
        (country, name),
        Switch(country, name, enabled, options, now, actor.id),
    )
