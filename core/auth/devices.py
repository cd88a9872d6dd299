"""The device a session signed in from, in words: a browser and a system ("Firefox", "Android").

Only these two names are kept (read from the User-Agent at sign-in): enough for a member to
tell their sessions apart on the account page, not a fingerprint. The names are products, so
they are not translated; the sentence around them is.
"""

from __future__ import annotations

from core.i18n import _

# Checked in this order: many browsers also name the ones they are built on ("Edg/... Chrome/...
# Safari/..."), so the more specific come first.
BROWSERS = (
    ("Edg", "Edge"),
    ("OPR/", "Opera"),
    ("Opera", "Opera"),
    ("SamsungBrowser", "Samsung Internet"),
    ("Vivaldi", "Vivaldi"),
    ("FxiOS", "Firefox"),
    ("Firefox/", "Firefox"),
    ("CriOS", "Chrome"),
    ("Chromium", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
SYSTEMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("CrOS", "ChromeOS"),
    ("Macintosh", "macOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)
MAX_USER_AGENT = 1000  # longer headers are read only this far


def describe(user_agent: str | None) -> tuple[str, str]:
    """(browser, system) named in ``user_agent``; "" for what it does not name."""
    text = (user_agent or "")[:MAX_USER_AGENT]
    browser = next((name for mark, name in BROWSERS if mark in text), "")
    system = next((name for mark, name in SYSTEMS if mark in text), "")
    return browser, system


def label(browser: str, system: str) -> str:
    """The device as the account page names it, in the reader's language."""
    if browser and system:
        return _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    if browser:
        return browser
    if system:
        return _("A browser on %(system)s") % {"system": system}
    return _("An unknown browser")
