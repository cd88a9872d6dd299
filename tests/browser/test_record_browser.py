"""From a working group's recommendation to a project, in a real browser.

A facilitator drafts and submits a recommendation, the operator bundles it for the board (the
bundle prints as a clean document), a board member adopts it and starts a project, and the
project page shows its lineage back to the theme; anyone then finds it in the public record.

The browser server is shared with the other browser tests, so this one sets up an edition of
its own (2030-2031, recommendations phase open today in Belgium) through the JSON API as the
demo's Belgian operator, and leaves the demo's editions alone. Selectors use form actions and
element ids rather than wording: the demo members read the platform in nl and fr.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_themes_browser import press, sign_in, sign_out

pytestmark = pytest.mark.browser

EDITION = "2030-2031"
THEME = "Ethics in practice"
TITLE = "Un service de médiation entre membres"


def api(page: Any, method: str, path: str, body: Any) -> Any:
    """A JSON call with the page's session and CSRF token."""
    token = page.request.get("/api/session").json()["csrf_token"]
    response = page.request.fetch(path, method=method, data=body, headers={"x-csrftoken": token})
    assert response.ok, f"{method} {path}: {response.status} {response.text()}"
    return response.json()


def set_up_edition(page: Any) -> tuple[int, int]:
    """The edition, its Belgian calendar, a board theme and a working group: (theme, group)."""
    today = date.today()
    windows = [
        ("registration", -160, -120),
        ("working_groups", -119, -10),
        ("recommendations", -9, 20),
        ("board_review", 21, 40),
    ]
    api(page, "POST", "/api/editions/", {"slug": EDITION})
    api(
        page,
        "PUT",
        f"/api/editions/{EDITION}/calendar/BE",
        {
            "phases": [
                {
                    "phase": phase,
                    "starts_on": (today + timedelta(days=start)).isoformat(),
                    "ends_on": (today + timedelta(days=end)).isoformat(),
                }
                for phase, start, end in windows
            ]
        },
    )
    theme = api(
        page,
        "POST",
        f"/api/editions/{EDITION}/board-themes",
        {"title": THEME, "language": "en", "countries": ["BE"]},
    )
    group = api(
        page,
        "POST",
        f"/api/editions/{EDITION}/groups",
        {
            "theme_id": theme["id"],
            "country": "BE",
            "locality": "Brussels",
            "language": "fr",
            "capacity": 12,
            "facilitators": ["facilitator@demo.smart.coop"],
        },
    )
    return theme["id"], group["id"]


def test_a_recommendation_becomes_a_project_with_its_lineage(
    new_context: Any, tmp_path: Path
) -> None:
    page = new_context().new_page()
    sign_in(page, "operator.be@demo.smart.coop")
    theme_id, group_id = set_up_edition(page)
    sign_out(page)

    # The facilitator drafts the recommendation with the group, then submits it.
    sign_in(page, "facilitator@demo.smart.coop")
    page.goto(f"/groups/{group_id}/recommendations")
    draft_form = f"form[action='/groups/{group_id}/recommendations']"
    page.locator(f"{draft_form} button[type=submit]").click()  # empty: the browser asks first
    assert page.locator("#title:invalid").count() == 1
    assert re.search(rf"/groups/{group_id}/recommendations$", page.url)
    page.locator("#title").fill(TITLE)
    page.locator("#text").fill(
        "La coopérative met en place un service de médiation pour les membres en conflit "
        "avec un client ou entre eux."
    )
    page.locator("#rationale").fill("Les conflits sont la première raison des départs.")
    press(page, f"{draft_form} button[type=submit]")
    found = re.search(r"/recommendations/(\d+)$", page.url)
    assert found, page.url
    rec_id = int(found.group(1))
    assert page.locator("#status").get_attribute("class") == "badge badge-status-draft"
    press(page, f"form[action='/recommendations/{rec_id}/submit'] button")
    assert page.locator("#status").get_attribute("class") == "badge badge-status-submitted"
    assert page.locator(f"form[action='/recommendations/{rec_id}/submit']").count() == 0
    sign_out(page)

    # The operator finds it waiting and bundles it for the board.
    sign_in(page, "operator.be@demo.smart.coop")
    page.goto("/bundles")
    page.locator(f"#waiting a[href='/editions/{EDITION}/bundles/BE']").click()
    page.wait_for_url(re.compile(rf"/editions/{EDITION}/bundles/BE$"))
    assert page.locator(f"a[href='/recommendations/{rec_id}']").count() == 1
    press(page, "#bundle-form button[type=submit]")
    found = re.search(r"/bundles/(\d+)$", page.url)
    assert found, page.url
    bundle_id = int(found.group(1))
    assert page.locator(f".bundle-item a[href='/recommendations/{rec_id}']").inner_text() == TITLE
    exported = page.request.get(f"/bundles/{bundle_id}/bundle.csv")
    assert exported.ok and TITLE in exported.text()
    # Printed, the bundle is the document alone: no menus, no buttons.
    page.emulate_media(media="print")
    assert not page.locator("header.site-header").is_visible()
    assert page.locator("h1").is_visible()
    page.pdf(path=str(tmp_path / "bundle.pdf"))
    page.emulate_media(media="screen")
    assert page.locator("header.site-header").is_visible()
    sign_out(page)

    # A board member adopts it and starts a project from it.
    sign_in(page, "board@demo.smart.coop")
    page.goto("/bundles")
    page.locator(f"#awaiting a[href='/recommendations/{rec_id}']").click()
    page.wait_for_url(re.compile(rf"/recommendations/{rec_id}$"))
    assert page.locator("#decision-form input[name=supersedes]").get_attribute("value") == ""
    page.locator("#outcome-adopted").check()
    page.locator("#decision-rationale").fill("Adopted: a pilot in Brussels first.")
    press(page, "#decision-form button[type=submit]")
    assert "badge-outcome-adopted" in page.locator("#current-outcome").get_attribute("class")
    assert page.locator("#decision-history > li").count() == 1
    page.locator("#start-project").click()
    page.wait_for_url(re.compile(rf"/projects/new\?recommendation={rec_id}$"))
    assert page.locator(f"#source-{rec_id}").is_checked()
    page.locator("#project-title").fill("Mediation service")
    press(page, "#project-form button[type=submit]")
    found = re.search(r"/projects/(\d+)$", page.url)
    assert found, page.url
    project_url = page.url
    sign_out(page)

    # Anyone reads the project page: its lineage goes back to the theme.
    page = new_context().new_page()
    page.goto(project_url)
    lineage = page.locator("#lineage")
    assert lineage.locator(".lineage-theme a").get_attribute("href") == f"/themes/{theme_id}"
    assert lineage.locator(".lineage-theme a").inner_text() == THEME
    assert lineage.locator(".lineage-group a").get_attribute("href") == f"/groups/{group_id}"
    assert (
        lineage.locator(".lineage-recommendation a").get_attribute("href")
        == f"/recommendations/{rec_id}"
    )
    assert "badge-outcome-adopted" in (
        lineage.locator(".lineage-decision .badge").get_attribute("class") or ""
    )
    assert (
        "Adopted: a pilot in Brussels first." in lineage.locator(".lineage-decision").inner_text()
    )
    page.screenshot(path=str(tmp_path / "project.png"), full_page=True)
    lineage.locator(".lineage-theme a").click()
    page.wait_for_url(re.compile(rf"/themes/{theme_id}$"))
    assert page.locator("h1").inner_text() == THEME

    # The public record of the edition lists it with what became of it.
    page.goto(f"/record/{EDITION}")
    row = page.locator(f"#recommendation-{rec_id}")
    assert "badge-outcome-adopted" in (row.locator(".badge").get_attribute("class") or "")
    assert row.locator("a[href^='/projects/']").inner_text() == "Mediation service"
    assert page.locator("#outcomes-chart").is_visible()
