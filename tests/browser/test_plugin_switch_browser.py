"""An operator runs their country's plugins from the web, in a real browser.

A server of its own (the shared one must keep its plugins): config.toml enables no
extend_theme anywhere and locks Belgium. France's operator switches extend_theme on for
France with an option, first mistyped (the form says which field and why), then right; at once,
without a restart, the edition page offers France's operator the extension and the extension
page applies the option, while Belgium's operator gets neither; the change is in the audit log;
Belgium's plugins show read-only, with the reason. Each page at phone width and on a desktop,
checked by axe-core.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.conftest import Server, serving
from tests.browser.test_themes_browser import press, sign_in, sign_out
from tests.demo_helpers import open_slug

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def lock_belgium(text: str) -> str:
    return text.replace(
        '[countries.BE]\nname = "Belgium"\n', '[countries.BE]\nname = "Belgium"\nlocked = true\n'
    )


@pytest.fixture(scope="module")
def locked_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("plugin-switch-server"), lock_belgium) as running:
        yield running


def as_people_see_it(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} scrolls sideways: {width} px"
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def test_an_operator_enables_a_plugin_for_their_country_from_the_web(
    browser: Any, locked_server: Server
) -> None:
    context = browser.new_context(base_url=locked_server.url, locale="en-US", viewport=PHONE)
    context.set_default_timeout(10_000)
    page = context.new_page()
    slug = open_slug()
    try:
        sign_in(page, "operator.fr@demo.smart.coop")
        page.goto(f"/editions/{slug}")
        assert page.locator(f"a[href='/editions/{slug}/extensions']").count() == 0

        page.goto("/operator/plugins")
        card = page.locator("#plugin-FR-extend_theme")
        assert card.locator(".badge-off").count() == 1
        as_people_see_it(page)

        # A mistyped option: the form comes back with the field marked, nothing changed.
        form = card.locator("form")
        form.locator("input[name='enabled']").check()
        form.locator("input[name='option.max_consecutive']").fill("0")
        press(page, "#plugin-FR-extend_theme form button[type=submit]")
        field = page.locator("#opt-FR-extend_theme-max_consecutive")
        assert field.get_attribute("aria-invalid") == "true"
        error = page.locator("#opt-FR-extend_theme-max_consecutive-error").inner_text()
        assert "1" in error  # the lowest value allowed, in the operator's language
        assert page.locator("#plugin-FR-extend_theme .badge-off").count() == 1  # unchanged
        as_people_see_it(page)

        field.fill("2")
        press(page, "#plugin-FR-extend_theme form button[type=submit]")
        page.wait_for_url(re.compile(r"/operator/plugins"))
        card = page.locator("#plugin-FR-extend_theme")
        assert card.locator("h3 .badge-on").count() == 1  # now among the enabled ones
        assert card.locator("p.meta a[href='/operator/audit?action=plugin.switch']").count() == 1

        # At once, without a restart: France's operator is offered the extension.
        page.goto(f"/editions/{slug}")
        link = page.locator(f"a[href='/editions/{slug}/extensions']")
        assert link.count() == 1
        press(page, f"a[href='/editions/{slug}/extensions']")
        # France's operator reads French: "France: au plus 2 prolongations d'affilée".
        assert re.search(r"France: \D*2\D", page.locator("main").inner_text())

        # The audit log says who switched what.
        page.goto("/operator/audit?action=plugin.switch")
        assert "plugin.switch" in page.locator("main").inner_text()
        assert "extend_theme" in page.locator("main").inner_text()
        sign_out(page)

        # Belgium's operator: no extension, and Belgium's plugins are read-only, saying why.
        page.set_viewport_size(DESKTOP)
        sign_in(page, "operator.be@demo.smart.coop")
        page.goto(f"/editions/{slug}")
        assert page.locator(f"a[href='/editions/{slug}/extensions']").count() == 0
        page.goto("/operator/plugins")
        section = page.locator("#plugins-BE")
        assert "countries.BE.locked" in section.inner_text()
        assert section.locator("form").count() == 0
        assert section.locator("input, button").count() == 0
        as_people_see_it(page)
    finally:
        context.close()
