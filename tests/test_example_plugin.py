"""The example plugin of docs/plugins.md, installed with pip through its entry point.

``examples/sip-plugin-example`` is a separate distribution. These tests install it the way an
operator would (``pip install``, here into a temporary folder, offline), then check that the
platform finds it by its entry point, enables it only where config.toml says, reads its typed
options, asks its rule for its countries only, hands it their events, and mounts its route.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from msgspec.structs import replace

from core.app import create_app
from core.config import ConfigError, Country
from core.editions.services import EditionInfo
from core.events import ThemeProposed
from core.plugins import SOURCE_ENTRY_POINT, build_registry, installed_plugins
from core.rules import Rules
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "sip-plugin-example"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``pip install`` the example into a folder of its own, put on sys.path like site-packages."""
    target = tmp_path_factory.mktemp("site-packages")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--target",
            str(target),
            str(EXAMPLE),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert list(target.glob("sip_plugin_example-1.0.0.dist-info/entry_points.txt"))
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    yield target
    sys.path.remove(str(target))
    sys.modules.pop("sip_plugin_example", None)
    importlib.invalidate_caches()


def settings_for(tmp_path: Path, options: str = "", be: tuple[str, ...] = ("example",)) -> Any:
    folder = tmp_path / "example-config"
    folder.mkdir(exist_ok=True)
    settings = make_settings(folder, f"sqlite:///{folder / 'db.sqlite3'}", extra=options)
    return replace(
        settings,
        countries={
            "BE": Country(name="Belgium", plugins=["track_be", *be]),
            "FR": Country(name="France", plugins=["track_fr"]),
        },
    )


EDITION = EditionInfo(id=1, slug="2021-2022", calendars=[])


def test_pip_install_makes_it_an_entry_point_plugin(installed):
    plugin = installed_plugins()["example"]
    assert plugin.source == SOURCE_ENTRY_POINT
    assert plugin.target == "sip_plugin_example"


def test_its_options_set_the_threshold_of_the_countries_that_enable_it(installed, tmp_path):
    settings = settings_for(tmp_path, "[plugins.example]\nsupport_threshold = 3\n")
    rules = Rules(build_registry(settings), settings)
    assert rules.support_threshold(EDITION, "BE") == 3
    assert rules.support_threshold(EDITION, "FR") == 25  # France does not enable it

    settings = settings_for(tmp_path, "[plugins.example.BE]\nsupport_threshold = 7\n")
    assert Rules(build_registry(settings), settings).support_threshold(EDITION, "BE") == 7

    settings = settings_for(tmp_path, "[plugins.example]\nsupport_threshold = 3\n", be=())
    assert Rules(build_registry(settings), settings).support_threshold(EDITION, "BE") == 25


def test_a_wrong_option_stops_the_start_naming_the_key(installed, tmp_path):
    settings = settings_for(tmp_path, '[plugins.example]\nsupport_threshold = "ten"\n')
    with pytest.raises(ConfigError, match=r"`plugins\.example\.support_threshold`: expected `int`"):
        build_registry(settings)
    settings = settings_for(tmp_path, "[plugins.example]\nthreshold = 3\n")
    with pytest.raises(ConfigError, match="threshold"):
        build_registry(settings)


def test_it_hears_its_countries_events_and_serves_its_route(installed, tmp_path):
    settings = settings_for(tmp_path)
    registry = build_registry(settings)
    module = sys.modules["sip_plugin_example"]
    module.HEARD.clear()
    for country in ("BE", "FR"):
        Rules(registry, settings).emit(
            ThemeProposed(
                country=country, theme_id=1, edition="2021-2022", title="T", proposer_id=1
            ),
        )
    app = create_app(settings, registry=registry)
    with TestClient(app) as client:
        answer = client.get("/api/example/heard")
        assert answer.status_code == 200
        assert answer.json() == [{"type": "ThemeProposed", "country": "BE"}]
        assert "/api/example/heard" in client.get("/schema/openapi.json").json()["paths"]
