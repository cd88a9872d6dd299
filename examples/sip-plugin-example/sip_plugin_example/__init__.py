"""An example plugin: what a third-party plugin for the platform looks like, whole.

It shows the four things most plugins do:

- typed options read from config.toml (``OPTIONS`` is checked at start-up, for every country
  that enables the plugin): ``[plugins.example]`` for all, ``[plugins.example.BE]`` for one;
- a rule answered per country (``support_threshold``): only countries that enable the plugin
  ask it, the others keep their own rule;
- a reaction to domain events (``on_event``), after their change is committed;
- a route of its own (``register_routes``): ``GET /api/example/heard`` lists the events heard.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from litestar import get

from core import hookimpl
from core.config import Settings, plugin_options

NAME = "example"  # the entry point's name in pyproject.toml, and what config.toml lists


class Options(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``[plugins.example]`` in config.toml."""

    # Supports a proposal needs in the countries that enable the plugin.
    support_threshold: int = 10


OPTIONS = Options  # the platform checks these options at start-up


class Heard(msgspec.Struct, frozen=True):
    type: str
    country: str


HEARD: list[Heard] = []  # what this process heard; a real plugin would write somewhere durable


# tryfirst: asked before the country's track, which has a threshold of its own.
@hookimpl(tryfirst=True)
def support_threshold(edition: Any, country: str, settings: Settings) -> int | None:
    threshold = plugin_options(settings, NAME, country, Options).support_threshold
    return threshold if threshold >= 1 else None  # None: leave it to the next rule


@hookimpl
def on_event(event: Any) -> None:
    HEARD.append(Heard(type=type(event).__name__, country=event.country))


@get("/api/example/heard", tags=["example plugin"], summary="Events the example plugin heard")
async def heard() -> list[Heard]:
    return list(HEARD)


@hookimpl
def register_routes() -> Sequence[Any]:
    return [heard]
