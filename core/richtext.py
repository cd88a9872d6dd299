"""What members write, shown as they meant it: paragraphs, line breaks, emphasis, lists, quotes
and links, by markdown-it-py (CommonMark) with linkify-it-py for bare addresses.

Raw HTML is never passed through (``html`` off: it is shown as text), headings, images and
tables are off (a description cannot break the page's outline or load anything), and a link
may only be http(s) or mailto. Links open as plain links, marked ``rel="nofollow ugc"``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup

_SAFE_SCHEMES = ("http:", "https:", "mailto:")
_RULES = (
    "paragraph",
    "newline",
    "emphasis",
    "list",
    "blockquote",
    "backticks",
    "link",
    "linkify",
    "autolink",
    "escape",
    "entity",
    "text_join",
)


def _safe_link(url: str) -> bool:
    lowered = url.strip().lower()
    return lowered.startswith(_SAFE_SCHEMES) or lowered.startswith(("/", "#"))


@cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("zero", {"html": False, "linkify": True, "breaks": True, "typographer": False})
    md.enable([rule for rule in _RULES if rule != "text_join"])
    md.validateLink = _safe_link  # type: ignore[method-assign]

    def link_open(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        tokens[idx].attrSet("rel", "nofollow ugc")
        return renderer.renderToken(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)
    return md


def rich(text: str | None) -> Markup:
    """``text`` (Markdown, as typed) as safe HTML; empty for None."""
    if not text:
        return Markup("")
    return Markup(_parser().render(text))  # noqa: S704 - raw HTML is off: the parser escapes it
