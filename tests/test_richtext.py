"""Descriptions keep their paragraphs and links, and nothing a member types becomes markup the
platform did not mean: the ``rich`` filter (core/richtext.py), tried the way an attacker would."""

from __future__ import annotations

import re

import pytest

from core.richtext import rich


def test_paragraphs_line_breaks_lists_and_emphasis_are_kept() -> None:
    html = rich("First paragraph,\nsecond line.\n\nSecond **paragraph**.\n\n- one\n- two")
    assert html.count("<p>") == 2
    assert "second line" in html and "<br>" in html
    assert "<strong>paragraph</strong>" in html
    assert "<ul>" in html and html.count("<li>") == 2


def test_bare_addresses_become_links_marked_as_members_links() -> None:
    html = rich("See https://smart.coop/membres and www.example.org.")
    assert '<a href="https://smart.coop/membres" rel="nofollow ugc">' in html
    assert '<a href="http://www.example.org" rel="nofollow ugc">' in html


@pytest.mark.parametrize(
    "attack",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        '<a href="javascript:alert(1)">x</a>',
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        "[click](vbscript:msgbox)",
        '<iframe src="https://evil.example"></iframe>',
        "![tracker](https://evil.example/pixel.png)",
    ],
)
def test_markup_and_dangerous_links_are_shown_as_text(attack: str) -> None:
    html = rich(attack)
    assert "<script" not in html and "<img" not in html and "<iframe" not in html
    # The only tags are the filter's own; an address is a link only when it is http(s).
    assert set(re.findall(r"<(\w+)", html)) <= {"p", "a"}
    assert all(href.startswith("https://") for href in re.findall(r'href="([^"]*)"', html))


def test_headings_and_tables_do_not_break_the_page_outline() -> None:
    html = rich("# Big title\n\n| a | b |\n|---|---|\n| 1 | 2 |")
    assert "<h1" not in html and "<table" not in html


def test_empty_text_gives_nothing() -> None:
    assert rich(None) == "" and rich("") == ""
