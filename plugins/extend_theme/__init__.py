"""Extend a theme of the previous edition one more year, in some or all of its countries.

Enable it per country (``plugins = ["extend_theme"]`` in ``[countries.BE]``); its options:

    [plugins.extend_theme]        # every country
    max_consecutive = 1           # extensions in a row: 1 is "one more year"
    [plugins.extend_theme.FR]     # one country
    max_consecutive = 2

The rules are in ``services``; pages and the JSON API in ``controllers``. See README.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core import hookimpl
from core.config import Settings
from core.editions.services import EditionInfo
from core.i18n import N_
from core.themes.extensions import ExtensionCandidate, Refusal
from plugins.extend_theme import services
from plugins.extend_theme.services import ExtendOptions

# What the operators' plugin page says of this plugin, in their language.
DESCRIPTION = N_(
    "Extend a theme of the previous edition one more year, in some or all of its countries."
)

OPTIONS = ExtendOptions
TEMPLATES = Path(__file__).parent / "templates"


@hookimpl(trylast=True)
def extension_allowed(
    candidate: ExtensionCandidate, edition: EditionInfo, country: str, settings: Settings
) -> bool | Refusal:
    """This plugin's rules; trylast, so another plugin of the country may decide first."""
    return services.rules_answer(candidate, edition, country, settings)


@hookimpl
def register_routes() -> Sequence[Any]:
    from plugins.extend_theme.controllers import ExtensionPages, ExtensionsAPI

    return [ExtensionPages, ExtensionsAPI]


@hookimpl
def template_dirs() -> Sequence[Path]:
    return [TEMPLATES]
