"""The plugin system: discovery, per-country enablement, entry points, and hook hygiene."""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest
from msgspec.structs import replace

from core import hookimpl, hookspecs
from core.config import ConfigError, Country
from core.plugins import (
    DEFAULT_PLUGINS,
    SOURCE_CORE,
    SOURCE_ENTRY_POINT,
    SOURCE_SHIPPED,
    build_registry,
    hook_names,
    installed_plugins,
)
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parent.parent

EXAMPLE_PLUGIN = """
from core import hookimpl
from core.tracks import Track


@hookimpl
def register_tracks():
    return [Track(code="BE", name="Belgium (example plugin)", languages=("nl",))]
"""


@pytest.fixture
def entry_point_plugin(tmp_path, monkeypatch):
    """A tiny installed distribution, as pip leaves it: a module and a dist-info folder whose
    entry_points.txt declares the plugin in the "sip" group."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sip_example_plugin.py").write_text(EXAMPLE_PLUGIN)
    dist = site / "sip_example-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: sip-example\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[sip]\nexample = sip_example_plugin\n")
    (dist / "RECORD").write_text("")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    yield site
    sys.modules.pop("sip_example_plugin", None)


def settings_with(tmp_path, be: list[str], fr: list[str]):
    config = tmp_path / "plugins-config"
    config.mkdir(exist_ok=True)
    settings = make_settings(config, f"sqlite:///{config / 'db.sqlite3'}")
    return replace(
        settings,
        countries={
            "BE": Country(name="Belgium", plugins=be),
            "FR": Country(name="France", plugins=fr),
        },
    )


def test_installed_plugins_lists_core_shipped_and_their_sources():
    installed = installed_plugins()
    for name in DEFAULT_PLUGINS:
        assert installed[name].source == SOURCE_CORE
    assert installed["track_be"].source == SOURCE_SHIPPED
    assert installed["track_fr"].source == SOURCE_SHIPPED


def test_entry_point_plugin_is_found_but_not_enabled_until_configured(entry_point_plugin, tmp_path):
    assert installed_plugins()["example"].source == SOURCE_ENTRY_POINT
    idle = build_registry(settings_with(tmp_path, be=["track_be"], fr=["track_fr"]))
    assert "sip_example_plugin" not in sys.modules  # installed is not enabled: not even imported
    assert not idle.pm.has_plugin("example")

    enabled = build_registry(settings_with(tmp_path, be=["example"], fr=["track_fr"]))
    be_tracks = [t for ts in enabled.for_country("BE").register_tracks() for t in ts]
    fr_tracks = [t for ts in enabled.for_country("FR").register_tracks() for t in ts]
    assert [t.name for t in be_tracks] == ["Belgium (example plugin)"]
    assert [t.code for t in fr_tracks] == ["FR"]
    assert enabled.enabled_in("example") == ["BE"]


def test_sip_plugins_command_lists_every_plugin_with_source_and_countries(
    entry_point_plugin, tmp_path
):
    config = tmp_path / "cli"
    config.mkdir()
    path = config / "config.toml"
    path.write_text(
        '[database]\nurl = "sqlite:///db.sqlite3"\n'
        '[countries.BE]\nplugins = ["track_be", "example"]\n'
        '[countries.FR]\nplugins = ["track_fr"]\n'
    )
    env = {
        **os.environ,
        "SIP_CONFIG": str(path),
        "PYTHONPATH": str(entry_point_plugin),
        "SIP_SECRET_KEY": "x" * 40,
        "COLUMNS": "200",
    }
    out = subprocess.run(
        [sys.executable, "-m", "core.cli", "plugins"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") >= 3}
    assert "core" in rows["core.defaults.sign_in"] and "BE, FR" in rows["core.defaults.sign_in"]
    assert "shipped" in rows["track_be"] and "BE" in rows["track_be"]
    assert "FR" not in rows["track_be"]
    assert "shipped" in rows["track_fr"] and "FR" in rows["track_fr"]
    assert "entry point" in rows["example"] and "BE" in rows["example"]
    assert not (config / "db.sqlite3").exists()  # listing plugins touches no database


def test_unknown_plugin_name_is_a_startup_error_naming_it_and_the_installed_ones(tmp_path):
    with pytest.raises(ConfigError) as error:
        build_registry(settings_with(tmp_path, be=["track_be", "tracj_fr"], fr=[]))
    message = str(error.value)
    assert '"tracj_fr" is not installed' in message
    assert "countries.BE.plugins" in message
    assert "track_be" in message and "track_fr" in message


def test_core_defaults_cannot_be_listed_as_country_plugins(tmp_path):
    with pytest.raises(ConfigError, match="core.defaults.events"):
        build_registry(settings_with(tmp_path, be=["core.defaults.events"], fr=[]))


def test_a_misspelled_hook_is_an_error_not_a_hook_nobody_answers(tmp_path):
    """Asking a country for a hook that no spec declares fails loudly (it would otherwise answer
    an empty list, or None, and a rule would silently fall back to its default)."""
    hooks = build_registry(settings_with(tmp_path, be=["track_be"], fr=[])).for_country("BE")
    assert hooks.support_threshold(edition=None, country="BE", settings=None) == 25
    with pytest.raises(AttributeError, match="no hook named 'suport_threshold'"):
        hooks.suport_threshold  # noqa: B018


def test_plugin_enabled_for_one_country_has_no_effect_on_the_other(tmp_path):
    class Recorder:
        def __init__(self) -> None:
            self.links: list[str] = []

        @hookimpl
        def deliver_sign_in_link(self, member, url):
            self.links.append(url)
            return True

    recorder = Recorder()
    registry = build_registry(
        settings_with(tmp_path, be=["recorder"], fr=[]), extra={"recorder": recorder}
    )

    class M:
        email = "x@example.org"

    settings = settings_with(tmp_path, be=["recorder"], fr=[])
    assert registry.for_country("BE").deliver_sign_in_link(
        member=M(), url="be-link", expires_minutes=30, settings=settings
    )
    assert registry.for_country("FR").deliver_sign_in_link(
        member=M(), url="fr-link", expires_minutes=30, settings=settings
    )
    assert recorder.links == ["be-link"]  # FR fell through to the core default (the log)


def test_hook_specs_are_keyword_documented_and_checked():
    """Every spec has a docstring; implementations with unknown hook names fail to register."""
    names = hook_names()
    assert names, "no hook specs found"
    for name in names:
        doc = inspect.getdoc(getattr(hookspecs, name))
        assert doc and len(doc) > 20, f"hook {name} has no documentation in core/hookspecs.py"


def _test_function_names() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names.add(node.name)
    return names


@pytest.mark.parametrize("name", hook_names())
def test_plugin_hooks_have_docs_and_tests(name):
    """A hook without a test or without a section in docs/plugins.md fails here."""
    assert f"test_hook_{name}" in _test_function_names(), (
        f"hook {name} has no test: write test_hook_{name} (tests/test_hooks.py)"
    )
    docs = (ROOT / "docs" / "plugins.md").read_text()
    assert f"### `{name}`" in docs, f"hook {name} is not documented in docs/plugins.md"
