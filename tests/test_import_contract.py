"""The import contract (.importlinter) holds for the tree, and breaks on what it forbids: a
cycle (also one hidden in an import inside a function), the core importing a plugin, and a
domain service importing the web framework. Each break is made in a throw-away copy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).parent / "lint-imports"


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT), "--no-cache"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The packages, the contract and its contract type, copied where a change harms nothing."""
    ignore = shutil.ignore_patterns("__pycache__", "locale", "static", "templates")
    for package in ("core", "plugins"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=ignore)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "__init__.py").write_text("")
    shutil.copy(ROOT / "tests" / "import_contracts.py", tmp_path / "tests")
    shutil.copy(ROOT / ".importlinter", tmp_path)
    return tmp_path


def test_the_tree_keeps_the_import_contract():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_import_inside_a_function_that_closes_a_circle_breaks_it(copy):
    config = copy / "core" / "config.py"
    config.write_text(
        config.read_text() + "\n\ndef _late() -> object:\n"
        "    from core.rules import Rules\n\n    return Rules\n"
    )
    result = lint(copy)
    assert result.returncode == 1
    assert "No module imports itself through others" in result.stdout
    assert "BROKEN" in result.stdout
    broken = result.stdout.split("Broken contracts", 1)[1]
    assert "core.config" in broken and "core.rules" in broken


def test_the_core_importing_a_plugin_breaks_it(copy):
    (copy / "core" / "throwaway.py").write_text("import plugins.track_be\n")
    result = lint(copy)
    assert result.returncode == 1
    assert "core.throwaway -> plugins.track_be" in result.stdout


def test_a_domain_service_importing_the_web_framework_breaks_it(copy):
    services = copy / "core" / "themes" / "services.py"
    services.write_text(services.read_text() + "\nfrom litestar import Request  # noqa\n")
    result = lint(copy)
    assert result.returncode == 1
    assert "core.themes.services -> litestar" in result.stdout


def test_the_notification_catalog_importing_a_domain_breaks_it(copy):
    catalog = copy / "core" / "notifications" / "catalog.py"
    catalog.write_text(catalog.read_text() + "\nimport core.groups.audience  # noqa\n")
    result = lint(copy)
    assert result.returncode == 1
    assert "core.notifications.catalog -> core.groups.audience" in result.stdout
