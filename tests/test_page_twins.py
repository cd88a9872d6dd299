"""Every page has a JSON twin (DESIGN.md: "every page has a JSON twin in the OpenAPI schema").

The route list comes from the application itself: a new page without ``/api`` + its own path
(same path parameters) fails here until it gets a twin, or an entry below saying why not. A
refusal must not depend on how one asks: a page and its twin answer the same status code.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from core import db
from core.app import create_app
from core.config import Settings
from core.web.twins import is_twin_page
from tests.conftest import add_member, sign_in

# Not pages: files to download, sign-in (a browser's own flow), the liveness probe, the icon.
DOWNLOADS = (".csv", ".ics", ".json", ".txt")
NOT_PAGES = ("/api", "/static", "/schema", "/sign-in", "/healthz", "/favicon.ico")

# Pages whose JSON twin has another address (named in the reason, which must exist), and
# pages that are only a form or a view of their own, each with the reason.
EXCEPTIONS = {
    "/": "the home page's twin is /api/home",
    "/account": "the account's twins are /api/me and /api/account/sessions",
    "/my/groups": "the caller's groups: /api/me/groups",
    "/my/proposals": "the caller's proposals: /api/me/proposals",
    "/operator/audit": "the audit log: /api/audit (its search: POST /api/audit/search)",
    "/operator/plugins": "which plugins run where: /api/plugins",
    "/operator/roles": "roles one manages: /api/roles (POST /api/roles, POST /api/roles/revoke)",
    "/outbox": "the outbox of one country: /api/outbox/{country:str}",
    "/polls/{poll_id:int}/results": "the published result: /api/polls/{poll_id:int}/result",
    "/polls/{poll_id:int}/room": "the AGM room's figures: /api/polls/{poll_id:int}/turnout",
    "/editions/{slug:str}/bundles/{country:str}": (
        "the recommendations waiting for a bundle: "
        "/api/editions/{slug:str}/bundles/{country:str}/pending"
    ),
    "/calendar/{feed:str}": (
        "an iCalendar file for calendar apps at a capability address; its data: /api/me/calendar"
    ),
    # Forms: the page is the form, the twin is the JSON operation it posts to.
    "/editions/new": "a form; the JSON operation is POST /api/editions",
    "/editions/{slug:str}/propose": "a form; POST /api/editions/{slug:str}/themes",
    "/editions/{slug:str}/board-theme": "a form; POST /api/editions/{slug:str}/board-themes",
    "/editions/{slug:str}/calendar/{country:str}": (
        "a form over the phases of /api/editions/{slug:str}; "
        "PUT /api/editions/{slug:str}/calendar/{country:str}"
    ),
    "/themes/{theme_id:int}/edit": "a form; PUT /api/themes/{theme_id:int}",
    "/members/import": "a form; POST /api/members/import (columns: /api/members/import/columns)",
    "/polls/{poll_id:int}/share": "a teller's form; POST /api/polls/{poll_id:int}/share",
    "/polls/{poll_id:int}/count": "a form for the shares; POST /api/polls/{poll_id:int}/count",
    "/projects/new": "a form; POST /api/projects",
}

# Pages that are not one view with their twin, each with the reason.
HAND_WRITTEN = {
    "/editions/{slug:str}/extensions": (
        "a shipped plugin's page (plugins/extend_theme: a list and its extend form), mounted "
        "for every country that may enable it; its twin is /api/editions/{slug:str}/extensions"
    ),
    "/calendar/{feed:str}": "an iCalendar file at a capability address, not a page of the site",
    "/outbox": (
        "one page over the operator's countries (?country=, their first by default, failed "
        "messages first); the twin is per country in the path: /api/outbox/{country:str}"
    ),
}


def routes_by_path(app: Litestar) -> dict[str, set[str]]:
    """Each path of the application and its HTTP methods."""
    paths: dict[str, set[str]] = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                paths.setdefault(route.path, set()).update(handler.http_methods)
    return paths


def pages(app: Litestar) -> list[str]:
    return sorted(
        path
        for path, methods in routes_by_path(app).items()
        if "GET" in methods and not path.startswith(NOT_PAGES) and not path.endswith(DOWNLOADS)
    )


def twin_of(path: str) -> str:
    return "/api" if path == "/" else "/api" + path


async def test_every_page_has_a_json_twin_or_a_reason(database: Settings) -> None:
    app = create_app(database, engine=db.engine())
    paths = routes_by_path(app)
    without = [p for p in pages(app) if twin_of(p) not in paths and p not in EXCEPTIONS]
    assert not without, "pages without a JSON twin at /api + their path: " + ", ".join(without)


async def test_the_exceptions_are_pages_and_name_twins_that_exist(database: Settings) -> None:
    app = create_app(database, engine=db.engine())
    paths = routes_by_path(app)
    stale = sorted(set(EXCEPTIONS) - set(pages(app)))
    assert not stale, f"listed pages that are no longer pages: {stale}"
    for page, reason in EXCEPTIONS.items():
        named = re.findall(r"(?:(GET|POST|PUT|DELETE) )?(/api/[^\s,;)]*)", reason)
        assert named, f"{page}: the reason names no JSON twin"
        for method, path in named:
            assert path in paths, f"{page}: {path} does not exist"
            assert (method or "GET") in paths[path], f"{page}: no {method or 'GET'} {path}"


async def same_status(client: AsyncTestClient[Any], page: str) -> tuple[int, int]:
    path, mark, query = page.partition("?")
    page_answer = await client.get(page)
    twin_answer = await client.get(twin_of(path) + mark + query)
    assert twin_answer.headers["content-type"].startswith("application/problem+json")
    assert page_answer.headers["content-type"].startswith("text/html")
    return page_answer.status_code, twin_answer.status_code


async def test_a_page_and_its_twin_refuse_alike(database: Settings) -> None:
    app = create_app(database, engine=db.engine())
    unknown = [
        "/editions/no-such-edition",
        "/themes/999999",
        "/polls/999999",
        "/groups/999999",
        "/info-sessions/999999",
        "/recommendations/999999",
        "/projects/999999",
    ]
    operators_only = ["/moderation", "/moderation?country=FR", "/bundles", "/bundles/999999"]
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
        for page in unknown:
            assert await same_status(client, page) == (404, 404), page
        for page in operators_only:  # a visitor
            assert await same_status(client, page) == (401, 401), page
        await sign_in(client, await add_member(country="BE"))
        for page in operators_only[:3]:  # a member with no role
            assert await same_status(client, page) == (403, 403), page


def twins(app: Litestar) -> list[str]:
    """Every page whose JSON twin is at ``/api`` + its path."""
    paths = routes_by_path(app)
    return [p for p in pages(app) if twin_of(p) in paths and "GET" in paths[twin_of(p)]]


def unknown_address(path: str) -> str:
    """The path with every parameter naming nothing that exists."""
    path = re.sub(r"\{[a-z_]+:int\}", "999999", path)
    return re.sub(r"\{[a-z_]+:str\}", "no-such-thing", path)


async def test_every_page_and_its_twin_refuse_alike_built_from_the_routes(
    database: Settings,
) -> None:
    """Each page with a twin, asked with addresses that name nothing, by a visitor, a member
    without a role and an operator of France: the page and its twin answer the same status."""
    app = create_app(database, engine=db.engine())
    asked = [unknown_address(p) for p in twins(app)]
    assert len(asked) >= 20, asked  # the application's pages, not an empty list
    differ: list[str] = []
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
        for who in ("visitor", "member", "operator"):
            if who == "member":
                await sign_in(client, await add_member(country="BE"))
            if who == "operator":
                operator = await add_member(
                    "operator@example.org", country="FR", roles=(("operator", "FR"),)
                )
                await sign_in(client, operator)
            for page in asked:
                page_answer = await client.get(page)
                twin_answer = await client.get(twin_of(page))
                if page_answer.status_code != twin_answer.status_code:
                    differ.append(
                        f"{who} {page}: page {page_answer.status_code}, "
                        f"twin {twin_answer.status_code}"
                    )
    assert not differ, "a page and its twin answer differently:\n" + "\n".join(differ)


def page_handlers(app: Litestar) -> dict[str, HTTPRouteHandler]:
    """Each page's GET handler."""
    found: dict[str, HTTPRouteHandler] = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                if "GET" in handler.http_methods:
                    found[route.path] = handler
    return found


def is_form(reason: str) -> bool:
    return reason.startswith(("a form", "a teller's form"))


async def test_every_page_with_a_twin_is_made_with_it_from_one_view(database: Settings) -> None:
    """One way to make a page and its twin: ``core.web.twins.twin`` builds both from one view
    function, so they cannot drift apart. A page written by hand next to a hand-written twin
    fails here (forms, whose twin is the operation they post, and the pages listed in
    ``HAND_WRITTEN`` with their reason, aside)."""
    app = create_app(database, engine=db.engine())
    handlers = page_handlers(app)
    hand_written = [
        page
        for page in pages(app)
        if not is_twin_page(handlers[page])
        and not is_form(EXCEPTIONS.get(page, ""))
        and page not in HAND_WRITTEN
    ]
    assert not hand_written, "pages written by hand beside their twin: " + ", ".join(hand_written)
    stale = [page for page in HAND_WRITTEN if page in handlers and is_twin_page(handlers[page])]
    assert not stale, f"made with twin() now, no longer hand-written: {stale}"
