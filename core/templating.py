"""The Jinja2 environment and its loader chain.

Lookup order: the operator's folder (config ``platform.template_dir``), then each enabled
plugin's folders (``template_dirs`` hook), then the core's ``templates/``. The core's templates
stay reachable under the ``default:`` prefix so an override can extend the original.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PrefixLoader,
    pass_context,
    select_autoescape,
)

from core import formats, i18n
from core.config import LANGUAGES, PROJECT_ROOT
from core.richtext import rich
from core.tracks import Track, track_of
from core.voting.notes import tie_note_text

CORE_TEMPLATES = PROJECT_ROOT / "templates"


def make_environment(extra_dirs: Iterable[str | Path]) -> Environment:
    core = FileSystemLoader(str(CORE_TEMPLATES))
    loaders = [FileSystemLoader(str(d)) for d in extra_dirs if d]
    env = Environment(
        loader=ChoiceLoader([*loaders, core, PrefixLoader({"default": core}, delimiter=":")]),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=True
    )
    env.globals["languages"] = LANGUAGES
    env.globals["language_names"] = i18n.LANGUAGE_NAMES
    env.globals["current_language"] = i18n.current_language.get
    # Translated names: country_name(code, configured name), role_labels(member.roles).
    env.globals["country_name"] = i18n.country_name
    env.globals["role_labels"] = i18n.role_labels
    env.globals["track"] = _track
    # What members write (descriptions, rationales): paragraphs, lists, links; no raw HTML.
    env.filters["rich"] = rich
    # How a tie was broken, in the reader's language: tie_note(note, titles).
    env.globals["tie_note"] = tie_note_text
    # Dates, times and numbers the reader's way (core/formats.py): never ISO strings on a page.
    for name in ("day", "moment", "short_moment", "clock", "zone_name", "count", "local_input"):
        env.globals[name] = getattr(formats, name)
    return env


@pass_context
def _track(context: Any, code: str) -> Track:
    """A country's track in a page: ``track("BE").agm.method``, ``track("FR").localities``."""
    state = context["request"].app.state
    live = state.get("live")  # the settings with the operators' plugin switches applied
    return track_of(state.registry, live.settings if live is not None else state.settings, code)
