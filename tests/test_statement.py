"""The accessibility statement says what is tested, and the tests do what it says."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from core.web.statement import STANDARD, TESTED_ROLES, TESTED_WIDTHS


async def test_the_statement_names_the_standard_the_tests_and_whom_to_write_to(
    client: AsyncTestClient[Any],
) -> None:
    page = await client.get("/accessibility", headers={"accept-language": "fr"})
    assert page.status_code == 200
    assert STANDARD in page.text
    assert "1280 pixels" in page.text and "390 pixels" in page.text
    contact = client.app.state.settings.platform.contact_email
    assert f'href="mailto:{contact}"' in page.text
    twin = (await client.get("/api/accessibility")).json()
    assert twin["tested_widths"] == [390, 1280] and twin["contact_email"] == contact
    # Every page links to it, in the footer.
    assert 'href="/accessibility"' in (await client.get("/")).text


def test_the_browser_crawl_checks_exactly_the_roles_and_widths_the_statement_names() -> None:
    # Read from the crawl's source, so this holds without Chromium installed.
    from tests.browser import test_crawl_browser as crawl

    assert tuple(crawl.ROLES) == TESTED_ROLES
    assert tuple(crawl.WIDTHS) == TESTED_WIDTHS
