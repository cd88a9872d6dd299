from __future__ import annotations

from piccolo.columns import Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.members.tables import Member


class PluginSwitch(Table, tablename="plugin_switch"):
    """An operator's choice for one plugin in one country: enabled or not, and its options
    (JSON, the plugin's typed ``OPTIONS`` only; never a secret). (country, plugin) is unique.
    Without a row, config.toml decides."""

    country = Varchar(length=2)
    plugin = Varchar(length=100)
    enabled = Boolean(default=False)
    options = Text(default="{}")
    updated_at = Timestamptz(default=TimestamptzNow())
    updated_by = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null)


class SettingsVersion(Table, tablename="settings_version"):
    """One row whose ``version`` grows with every change to the switches: a worker compares
    it with the version it loaded to know when to read them again."""

    version = Integer(default=0)
