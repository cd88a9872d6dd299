"""Every page a visitor can reach by links, on a phone and on a desktop, in a real browser.

Starting from the home page, the crawler follows every same-origin link (GET only) as an
anonymous visitor, a member, an operator and a board member, at 390 px and at 1280 px wide.
Each page must not scroll sideways and must have no axe-core violation, and no label of the
platform may be left in English: each role reads the phone-width crawl in Dutch and the desktop
one in French (switched with the page's own language buttons, then switched back), and no
English label of the catalog (one its translation changes) may be shown outside the texts
members wrote (marked with their own ``lang``). The failures are collected and reported
together at the end: page, role, width and what is wrong.

The crawl stays small: at most ``MAX_PAGES`` pages per role, and at most ``PER_PATTERN``
pages per route pattern (a path with its numbers and edition codes replaced, plus the names
of its query parameters), so ten themes of one edition count as one route. Links that leave
the pages (sign-out, downloads, the static files, the OpenAPI schema, the JSON API, other
sites, mail addresses) are not followed.
"""

from __future__ import annotations

import re
import time
from collections import deque
from typing import Any
from urllib.parse import parse_qsl, urldefrag, urlencode, urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe

from core.i18n import COUNTRY_NAMES, LOCALE_DIR
from tests.browser.conftest import Server
from tests.browser.test_themes_browser import press, sign_in

pytestmark = pytest.mark.browser

ROLES: dict[str, str | None] = {
    "anonymous": None,
    "member": "julie.lambert@demo.smart.coop",  # reads the platform in French: long words
    "operator": "operator.be@demo.smart.coop",
    "board": "board@demo.smart.coop",
}
WIDTHS = (390, 1280)
LANGUAGE_AT = {390: "nl", 1280: "fr"}  # every role reads the platform in both
HEIGHT = {390: 844, 1280: 800}
MAX_PAGES = 80
PER_PATTERN = 3
SKIP_PREFIXES = ("/sign-out", "/static/", "/schema/", "/api/", "/healthz")
SKIP_SUFFIXES = (".csv", ".json", ".ics", ".txt", ".svg", ".png", ".pdf", ".zip")
NUMBER = re.compile(r"(?<=/)\d+(?=/|$)")
EDITION = re.compile(r"(?<=/)\d{4}-\d{4}(?=/|$)")


def pattern_of(path_and_query: str) -> str:
    """The route pattern of a link: numeric ids and edition codes replaced, query keys only."""
    parts = urlsplit(path_and_query)
    path = NUMBER.sub("{id}", EDITION.sub("{edition}", parts.path))
    keys = sorted({key for key, _ in parse_qsl(parts.query, keep_blank_values=True)})
    return path + ("?" + "&".join(keys) if keys else "")


def local_link(href: str, origin: str) -> str | None:
    """The link as a path (and query) on the server, or None if the crawler leaves it alone."""
    href, _ = urldefrag(href)
    if not href.startswith(origin + "/") and href != origin:
        return None  # another site, mailto:, javascript:, tel:
    parts = urlsplit(href)
    path = parts.path or "/"
    if path.startswith(SKIP_PREFIXES) or path.lower().endswith(SKIP_SUFFIXES):
        return None
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return path + ("?" + query if query else "")


# Words the languages share with English (a label whose translation is the same word is not
# a label left untranslated when it shows): checked on the pages, they are not mistakes.
SHARED = {"AGM", "API", "Online", "online", "Email", "email", "Proxy", "Code", "Menu", "Plugins"}
PLACE_NAMES = set(COUNTRY_NAMES.values())
PLACEHOLDER = re.compile(r"%\(|%[sd]|\{")


def english_labels(language: str) -> list[re.Pattern[str]]:
    """The catalog's short English labels that ``language`` translates differently."""
    from babel.messages.pofile import read_po

    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=language)
    # Every word the language itself uses in its translations ("Participant", "Import" and
    # "Comment" are French words too; "start" is Dutch): such a word alone proves nothing.
    own_words = {
        word.lower()
        for message in catalog
        if message.string
        for text in ([message.string] if isinstance(message.string, str) else message.string)
        for word in re.findall(r"\w+", text)
    }
    labels = set()
    for message in catalog:
        if not message.id or isinstance(message.id, tuple) or not message.string:
            continue
        text = message.id.strip().rstrip(":.")
        words = text.split()
        if not 1 <= len(words) <= 5 or PLACEHOLDER.search(text) or text in SHARED:
            continue
        if text in PLACE_NAMES or any(
            path.startswith("plugins/track_") for path, _ in message.locations
        ):
            continue  # a place ("France", "Paris") is named so in French text on any page
        if len(words) == 1 and (len(text) < 5 or text.lower() in own_words):
            continue  # "Yes": too short to tell; "Participant": a word of the language too
        if message.string.strip().rstrip(":.") == text:
            continue
        labels.add(text)
    return [
        re.compile(r"(?<![\w-])" + re.escape(label) + r"(?![\w-])")
        for label in sorted(labels, key=len, reverse=True)
    ]


def english_on(page: Any, labels: list[re.Pattern[str]]) -> list[str]:
    """English labels shown on the page, outside what members wrote in a language of theirs
    (any element whose ``lang`` differs from the page's), names (``translate="no"``) and
    code."""
    text = page.evaluate(
        """() => {
            const lang = document.documentElement.lang;
            const body = document.body.cloneNode(true);
            // Names are not translated (translate="no": the platform's name).
            for (const el of body.querySelectorAll('[translate="no"]')) el.remove();
            for (const el of body.querySelectorAll('[lang], code, kbd, pre, script, style')) {
                if (!el.hasAttribute('lang') || el.getAttribute('lang') !== lang) el.remove();
            }
            const brand = document.querySelector('.brand');
            const name = brand ? brand.textContent.trim() : '';
            return name ? body.innerText.split(name).join(' ') : body.innerText;
        }"""
    )
    return sorted({p.pattern.split(")", 1)[1].rsplit("(", 1)[0] for p in labels if p.search(text)})


def switch_language(page: Any, language: str) -> None:
    """Press the page's own language button (a member's choice is kept for her)."""
    press(page, f"form.language-switch button[value='{language}']")


def links_on(page: Any, origin: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    found = []
    for href in hrefs:
        link = local_link(href, origin)
        if link is not None:
            found.append(link)
    return found


def check(page: Any, axe: Axe) -> list[str]:
    """What is wrong with the page as it is shown: sideways scrolling and axe-core rules."""
    problems = []
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if scroll > inner:
        wide = page.evaluate(
            """() => {
                const w = window.innerWidth;
                const out = [];
                for (const el of document.querySelectorAll('body *')) {
                    const r = el.getBoundingClientRect();
                    if (r.right > w + 1 && el.offsetParent !== null) {
                        const parentWide = el.parentElement &&
                            el.parentElement.getBoundingClientRect().right > w + 1;
                        if (!parentWide) {
                            out.push(el.tagName.toLowerCase() +
                                (el.id ? '#' + el.id : '') +
                                (el.className && typeof el.className === 'string'
                                    ? '.' + el.className.trim().split(/\\s+/).join('.') : ''));
                        }
                    }
                }
                return out.slice(0, 4);
            }"""
        )
        problems.append(f"scrolls sideways ({scroll} px > {inner} px; too wide: {wide})")
    results = axe.run(page)
    for violation in results.response.get("violations", []):
        targets = [", ".join(map(str, node.get("target", []))) for node in violation["nodes"]]
        problems.append(f"axe {violation['id']} on {targets[:3]}")
    return problems


def crawl(
    page: Any,
    server: Server,
    role: str,
    width: int,
    urls: list[str] | None,
    axe: Axe,
    failures: list[str],
    labels: list[re.Pattern[str]],
) -> list[str]:
    """Visit the pages (the given list, or a breadth-first crawl from the home page); add
    ``page role width problem`` lines to ``failures``; return the pages visited."""
    queue: deque[str] = deque(urls if urls is not None else ["/"])
    seen: set[str] = set(queue)
    per_pattern: dict[str, int] = {}
    visited: list[str] = []
    while queue and len(visited) < MAX_PAGES:
        link = queue.popleft()
        pattern = pattern_of(link)
        if urls is None:
            if per_pattern.get(pattern, 0) >= PER_PATTERN:
                continue
            per_pattern[pattern] = per_pattern.get(pattern, 0) + 1
        response = page.goto(link)
        visited.append(link)
        if response is None:
            failures.append(f"{link} | {role} | {width} px | no response")
            continue
        if response.status >= 400:
            failures.append(f"{link} | {role} | {width} px | HTTP {response.status}")
            continue
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        for problem in check(page, axe):
            failures.append(f"{link} | {role} | {width} px | {problem}")
        english = english_on(page, labels)
        if english:
            failures.append(f"{link} | {role} | {width} px | English on a page: {english[:6]}")
        if urls is None:
            for found in links_on(page, server.url):
                if found not in seen:
                    seen.add(found)
                    queue.append(found)
    return visited


def test_every_linked_page_fits_a_phone_and_passes_axe(new_context: Any, server: Server) -> None:
    failures: list[str] = []
    summary: list[str] = []
    axe = Axe()
    labels = {language: english_labels(language) for language in set(LANGUAGE_AT.values())}
    started = time.monotonic()
    for role, email in ROLES.items():
        urls: list[str] | None = None
        for width in WIDTHS:
            language = LANGUAGE_AT[width]
            context = new_context(viewport={"width": width, "height": HEIGHT[width]})
            page = context.new_page()
            page.goto("/")
            if email is not None:
                sign_in(page, email)
            own = page.evaluate("document.documentElement.lang")
            switch_language(page, language)
            assert page.evaluate("document.documentElement.lang") == language
            # The first width discovers the pages; the second visits the same list.
            try:
                urls = crawl(page, server, role, width, urls, axe, failures, labels[language])
            finally:
                page.goto("/")
                switch_language(page, own)  # the demo member keeps her own language
            summary.append(f"{role} at {width} px in {language}: {len(urls)} pages")
            context.close()
    print(f"crawl: {'; '.join(summary)} in {time.monotonic() - started:.0f} s")
    assert not failures, f"{len(failures)} problems (page | role | width | problem):\n" + "\n".join(
        failures
    )
