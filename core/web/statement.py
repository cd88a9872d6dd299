"""The accessibility statement (WCAG 2.2 level AA): what is tested, how, and whom to write to.

What it says about the tests is held by the tests themselves: tests/browser/test_crawl_browser.py
crawls with exactly ``TESTED_ROLES`` at ``TESTED_WIDTHS`` and checks it (tests/test_statement.py).
"""

from __future__ import annotations

import msgspec

from core.i18n import N_, _
from core.web.deps import SettingsDep
from core.web.twins import twin

STANDARD = "WCAG 2.2 AA"
# Who the browser tests sign in as, and the window widths (CSS pixels) they look at.
TESTED_ROLES = ("anonymous", "member", "operator", "board")
TESTED_WIDTHS = (390, 1280)
ROLE_NAMES = {
    "anonymous": N_("a visitor who is not signed in"),
    "member": N_("a member"),
    "operator": N_("an operator"),
    "board": N_("a board member"),
}


class AccessibilityStatement(msgspec.Struct, kw_only=True):
    standard: str
    tested_roles: list[str]
    tested_widths: list[int]
    checks: list[str]
    known_limitations: list[str]
    contact_email: str


@twin(
    "/accessibility",
    name="accessibility",
    template="accessibility.html",
    tags=["platform"],
    summary="The accessibility statement: the standard, what is tested and how, whom to write to",
    context=lambda request, found: {
        "accessibility": found,
        "role_names": {k: _(v) for k, v in ROLE_NAMES.items()},
    },
)
async def accessibility(settings: SettingsDep) -> AccessibilityStatement:
    return AccessibilityStatement(
        standard=STANDARD,
        tested_roles=list(TESTED_ROLES),
        tested_widths=list(TESTED_WIDTHS),
        checks=[
            _(
                "Every page reachable by links from the home page is opened in Chromium and "
                "checked with axe-core: no violation is allowed."
            ),
            _("No page may be wider than the screen: wide tables scroll inside their own box."),
            _("The menu is checked on a phone and on a desktop with JavaScript turned off."),
            _("Pages are offered in Dutch, French and English; the page says its language."),
        ],
        known_limitations=[
            _(
                "Texts written by members (proposals, recommendations) are shown in the "
                "language they were written in, which may not be yours."
            ),
            _(
                "The charts of results are pictures with a text description and the same "
                "figures in a table beside them."
            ),
        ],
        contact_email=settings.platform.contact_email,
    )
