"""The platform in a real browser: sign-in by link, language switch, keyboard, no JavaScript."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from plugins.demo import DEMO_PASSWORD
from tests.browser.conftest import Server

pytestmark = pytest.mark.browser

NORA = "nora.haddad@demo.smart.coop"  # BE member, language en
JULES = "jules.laurent@demo.smart.coop"  # FR member, language en


def test_sign_in_by_link_switch_language_sign_out(
    page: Any, server: Server, tmp_path: Path
) -> None:
    page.goto("/sign-in")
    link_form = page.locator("form[action='/sign-in/link']")
    link_form.get_by_label("Email address").fill(NORA)
    seen = len(server.sign_in_links(NORA))
    link_form.get_by_role("button", name="Send me a sign-in link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    link = server.wait_for_new_link(NORA, seen)
    assert link.startswith(f"{server.url}/sign-in/link/")
    response = page.goto(link)
    assert response is not None and response.status == 200
    page.get_by_role("button", name="Sign me in").click()

    expect(page).to_have_url(f"{server.url}/account")
    expect(page.get_by_role("heading", name="My account", level=1)).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("Nora Haddad")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    switch = page.locator("header form.language-switch")
    expect(switch.get_by_role("button", name="EN", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    switch.get_by_role("button", name="NL", exact=True).click()

    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page).to_have_url(f"{server.url}/account")
    expect(switch.get_by_role("button", name="NL", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(switch.get_by_role("button", name="EN", exact=True)).to_have_attribute(
        "aria-pressed", "false"
    )
    expect(page.get_by_role("heading", name="Mijn account", level=1)).to_be_visible()
    page.screenshot(path=tmp_path / "account-nl.png", full_page=True)

    page.locator("header").get_by_role("button", name="Afmelden").click()
    expect(page.locator("header").get_by_role("link", name="Aanmelden")).to_be_visible()
    expect(page.locator("header")).not_to_contain_text("Nora Haddad")
    response = page.goto("/account")
    assert response is not None and response.status == 401
    expect(page.locator("main").get_by_role("link", name="Aanmelden")).to_be_visible()

    # The link worked once; opening it again says it has been used.
    response = page.goto(link)
    assert response is not None and response.status == 410
    expect(page.locator("#link-error")).to_be_visible()
    expect(page.locator(f"form[action='{link.removeprefix(server.url)}']")).to_have_count(0)


def test_keyboard_skip_link_and_labelled_fields(page: Any) -> None:
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()  # shown while it has the focus
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))
    expect(page.locator("main")).to_be_focused()

    page.goto("/sign-in")
    fields = page.evaluate(
        """() => [...document.querySelectorAll(
                 'input:not([type=hidden]), select, textarea')].map(el => ({
               field: el.id || el.name,
               hidden: el.hidden,
               labels: [...el.labels].map(label => label.textContent.trim()),
               ariaLabel: el.getAttribute('aria-label') || el.getAttribute('aria-labelledby'),
           }))"""
    )
    assert len(fields) >= 3, fields
    unlabelled = [f for f in fields if not f["hidden"] and not f["labels"] and not f["ariaLabel"]]
    assert unlabelled == []
    assert {f["field"]: f["labels"] for f in fields} == {
        "link-email": ["Email address"],
        "pw-email": ["Email address"],
        "pw-password": ["Password"],
    }


def test_password_sign_in_and_out_without_javascript(new_context: Any, server: Server) -> None:
    page = new_context(java_script_enabled=False).new_page()
    page.goto("/sign-in")
    assert page.evaluate("1 + 1") == 2  # Playwright's own scripts still run; the page's do not
    form = page.locator("form[action='/sign-in/password']")
    form.get_by_label("Email address").fill(JULES)
    form.get_by_label("Password").fill(DEMO_PASSWORD)
    form.get_by_role("button", name="Sign in", exact=True).click()

    expect(page).to_have_url(f"{server.url}/")
    expect(page.locator("main")).to_contain_text("Welcome, Jules Laurent.")
    expect(page.locator("header")).to_contain_text("Jules Laurent")
    response = page.goto("/account")
    assert response is not None and response.status == 200
    expect(page.locator(".facts")).to_contain_text(JULES)

    page.locator("header").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{server.url}/")
    expect(page.locator("header").get_by_role("link", name="Sign in")).to_be_visible()
    response = page.goto("/account")
    assert response is not None and response.status == 401


def test_javascript_is_really_off(new_context: Any) -> None:
    """The no-JavaScript context runs no page script (so the test above proves something)."""
    page = new_context(java_script_enabled=False).new_page()
    page.set_content(
        "<p id=out>static</p><script>document.getElementById('out').textContent='ran'</script>"
    )
    expect(page.locator("#out")).to_have_text("static")
