"""Themes through HTTP: the JSON API and the pages, their refusals, and what a refusal leaves.

Every test runs on SQLite and PostgreSQL. Each actor is a client of its own (its cookies, its
CSRF token, its session). Calendars are set through the API by an operator, in days relative
to today, so the phase gates are the real ones. After every refusal the test compares the
database with a snapshot taken before it: a refused request writes nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import date, timedelta
from itertools import count
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient
from markupsafe import escape

from core import hookimpl
from core.editions.tables import EditionPhase
from core.themes.tables import Support, Theme, ThemeText
from tests.conftest import add_member, csrf_token, sign_in
from tests.test_hooks import app_with

BASE_URL = "http://127.0.0.1:8000"
SLUG = "2021-2022"

# Windows of the proposal phase, in days from today.
OPEN = (-10, 10)
NOT_YET = (5, 20)
CLOSED = (-20, -5)

_numbers = count(1)


# -- actors ---------------------------------------------------------------------------------------


class Visitor:
    """One browser: an HTTP client with its own cookies and CSRF token, maybe signed in."""

    def __init__(self, http: AsyncTestClient[Any], csrf: str, member_id: int | None) -> None:
        self.http = http
        self.csrf = csrf
        self.id = member_id

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(url, **kwargs)

    async def send(self, method: str, url: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        """A JSON request with the CSRF header; ``body`` None sends no body."""
        headers = {"x-csrftoken": self.csrf, **kwargs.pop("headers", {})}
        return await self.http.request(method, url, json=body, headers=headers, **kwargs)

    async def post(self, url: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.send("POST", url, body, **kwargs)

    async def put(self, url: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.send("PUT", url, body, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.send("DELETE", url, **kwargs)

    async def raw(self, method: str, url: str, content: bytes) -> httpx.Response:
        """A body sent as is, declared as JSON."""
        headers = {"x-csrftoken": self.csrf, "content-type": "application/json"}
        return await self.http.request(method, url, content=content, headers=headers)

    async def form(self, url: str, data: dict[str, str] | None = None) -> httpx.Response:
        """A form posted the way the pages post it (CSRF token in a field), not following the
        redirect that answers a success."""
        return await self.http.post(
            url, data={"_csrf_token": self.csrf, **(data or {})}, follow_redirects=False
        )


Visit = Callable[..., Awaitable[Visitor]]


@pytest.fixture
async def visit(client: AsyncTestClient[Any]) -> AsyncIterator[Visit]:
    """``await visit()`` opens an anonymous browser, ``await visit(member_id)`` a signed-in one;
    ``app=`` points it at another application on the same database."""
    async with AsyncExitStack() as stack:

        async def open_visitor(member_id: int | None = None, *, app: Any = None) -> Visitor:
            http = await stack.enter_async_context(
                AsyncTestClient(app=app or client.app, base_url=BASE_URL)
            )
            if member_id is not None:
                await sign_in(http, member_id)
            return Visitor(http, await csrf_token(http), member_id)

        yield open_visitor


async def person(
    visit: Visit,
    country: str = "BE",
    *,
    language: str = "en",
    operator_of: tuple[str, ...] = (),
    app: Any = None,
) -> Visitor:
    """A new member, signed in in a browser of their own."""
    n = next(_numbers)
    member_id = await add_member(
        f"member{n}@example.org",
        name=f"Member {n}",
        country=country,
        language=language,
        roles=tuple(("operator", c) for c in operator_of),
    )
    return await visit(member_id, app=app)


def day(offset: int) -> date:
    return date.today() + timedelta(days=offset)


async def set_proposals(admin: Visitor, country: str, window: tuple[int, int]) -> tuple[date, date]:
    """Set a country's proposal phase through the API; returns its first and last day."""
    starts, ends = day(window[0]), day(window[1])
    response = await admin.put(
        f"/api/editions/{SLUG}/calendar/{country}",
        {"phases": [{"phase": "proposals", "starts_on": str(starts), "ends_on": str(ends)}]},
    )
    assert response.status_code == 200, response.text
    return starts, ends


async def open_edition(admin: Visitor) -> None:
    """Edition 2021-2022 with the proposal phase open today in both countries."""
    response = await admin.post("/api/editions", {"slug": SLUG})
    assert response.status_code == 201, response.text
    for country in ("BE", "FR"):
        await set_proposals(admin, country, OPEN)


@pytest.fixture
async def admin(visit: Visit) -> Visitor:
    """An operator of both countries, who opened edition 2021-2022 for proposals."""
    operator = await person(visit, operator_of=("BE", "FR"))
    await open_edition(operator)
    return operator


async def draft(author: Visitor, title: str, **fields: str) -> int:
    response = await author.post(f"/api/editions/{SLUG}/themes", {"title": title, **fields})
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "draft"
    return response.json()["id"]


async def submitted(author: Visitor, title: str, **fields: str) -> int:
    theme_id = await draft(author, title, **fields)
    response = await author.post(f"/api/themes/{theme_id}/submit")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "submitted"
    return theme_id


async def supported(theme_id: int, *supporters: Visitor) -> int:
    result = 0
    for supporter in supporters:
        response = await supporter.post(f"/api/themes/{theme_id}/support")
        assert response.status_code == 200, response.text
        result = response.json()["support_count"]
    return result


# -- what the database holds ----------------------------------------------------------------------


async def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row a theme request could write, in a comparable form."""
    return {
        "themes": await Theme.select().order_by(Theme.id),
        "texts": await ThemeText.select().order_by(ThemeText.id),
        "supports": await Support.select().order_by(Support.id),
        "phases": await EditionPhase.select().order_by(EditionPhase.id),
    }


async def status_of(theme_id: int) -> str:
    row = await Theme.select(Theme.status).where(Theme.id == theme_id).first()
    assert row is not None
    return row["status"]


async def supporters_of(theme_id: int) -> set[int]:
    return {r["member"] for r in await Support.select().where(Support.theme == theme_id)}


async def assert_counts_match_rows() -> None:
    for row in await Theme.select(Theme.id, Theme.support_count):
        assert row["support_count"] == await Support.count().where(Support.theme == row["id"])


# -- what a response says -------------------------------------------------------------------------


def problem(response: httpx.Response, status: int, detail: str | None = None) -> dict[str, Any]:
    """A JSON refusal: problem details with the status, a title and the message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    if detail is not None:
        assert body["detail"] == detail
    return body


def page_says(response: httpx.Response, status: int, *messages: str) -> str:
    """An HTML page with the status that shows each message (escaped as Jinja escapes it)."""
    assert response.status_code == status, response.text[:2000]
    assert response.headers["content-type"].startswith("text/html")
    for message in messages:
        assert str(escape(message)) in response.text, message
    return response.text


# -- phase gates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("window", "phrase", "edge"),
    [(NOT_YET, "opens on", 0), (CLOSED, "closed on", 1)],
    ids=["before-the-phase", "after-the-phase"],
)
async def test_proposing_submitting_and_supporting_only_while_the_proposal_phase_is_open(
    visit, admin, window, phrase, edge
):
    author, supporter, late_supporter = [await person(visit) for _ in range(3)]
    waiting = await draft(author, "Cheaper bikes")
    open_one = await submitted(author, "Shared tools")
    await supported(open_one, supporter)

    dates = await set_proposals(admin, "BE", window)
    when = f"{dates[edge].day} {dates[edge]:%B %Y}"  # as people read it: "3 December 2026"
    message = f"Theme proposals of {SLUG} {phrase} {when}."
    before = await snapshot()

    problem(
        await author.post(f"/api/editions/{SLUG}/themes", {"title": "Too late or early"}),
        403,
        message,
    )
    problem(await author.post(f"/api/themes/{waiting}/submit"), 403, message)
    problem(await author.put(f"/api/themes/{waiting}", {"title": "Changed title"}), 403, message)
    problem(await author.post(f"/api/themes/{waiting}/withdraw"), 403, message)
    problem(await late_supporter.post(f"/api/themes/{open_one}/support"), 403, message)
    problem(await supporter.delete(f"/api/themes/{open_one}/support"), 403, message)

    # The pages: the form says so before anything is typed, and again when it is posted.
    page_says(await author.get(f"/editions/{SLUG}/propose"), 200, message)
    html = page_says(
        await author.form(
            f"/editions/{SLUG}/propose", {"title": "Typed anyway", "description": "Kept"}
        ),
        403,
        message,
    )
    assert 'value="Typed anyway"' in html
    page_says(await author.form(f"/themes/{waiting}/submit"), 403, message)
    page_says(await late_supporter.form(f"/themes/{open_one}/support"), 403, message)

    assert await snapshot() == before
    assert await status_of(waiting) == "draft"
    assert await supporters_of(open_one) == {supporter.id}


async def test_the_propose_form_says_when_a_country_has_no_proposal_dates(visit):
    operator = await person(visit, operator_of=("BE",))
    assert (await operator.post("/api/editions", {"slug": SLUG})).status_code == 201
    await set_proposals(operator, "BE", OPEN)
    french = await person(visit, "FR")
    message = f"Theme proposals of {SLUG} has no dates for FR yet."
    page_says(await french.get(f"/editions/{SLUG}/propose"), 200, message)
    problem(await french.post(f"/api/editions/{SLUG}/themes", {"title": "Une idée"}), 403, message)
    assert await Theme.count() == 0
    # The Belgian form, open today, shows no error.
    belgian = await person(visit, "BE")
    html = (await belgian.get(f"/editions/{SLUG}/propose")).text
    assert 'role="alert"' not in html


# -- the support threshold ------------------------------------------------------------------------


class FixedThreshold:
    """A plugin answering the support_threshold hook with its own number."""

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold

    @hookimpl
    def support_threshold(self, edition, country, settings):
        return self.threshold


async def test_the_threshold_comes_from_the_countrys_support_threshold_plugin(visit, database):
    app = app_with(database, ["track_be", "low_bar"], ["track_fr"], {"low_bar": FixedThreshold(2)})
    admin = await person(visit, operator_of=("BE", "FR"), app=app)
    await open_edition(admin)
    ids = {}
    for country in ("BE", "FR"):
        author = await person(visit, country, app=app)
        ids[country] = await submitted(author, f"A theme for {country}")
        fans = [await person(visit, country, app=app) for _ in range(2)]
        assert await supported(ids[country], *fans) == 2

    be = (await admin.get("/api/moderation/BE")).json()
    fr = (await admin.get("/api/moderation/FR")).json()
    assert ([t["id"] for t in be["over_threshold"]], be["gathering"]) == ([ids["BE"]], [])
    assert be["over_threshold"][0]["threshold_reached"] is True
    assert (fr["over_threshold"], [t["id"] for t in fr["gathering"]]) == ([], [ids["FR"]])
    assert fr["gathering"][0]["threshold_reached"] is False

    be_page = page_says(
        await admin.get(f"/themes/{ids['BE']}"),
        200,
        "A proposal with 2 supports goes to the operators",
        "Threshold reached, awaiting moderation",
    )
    assert '<strong class="support-count">2</strong> / 2' in be_page
    fr_page = page_says(
        await admin.get(f"/themes/{ids['FR']}"),
        200,
        "A proposal with 25 supports goes to the operators",  # the configured default
        "Gathering support",
    )
    assert '<strong class="support-count">2</strong> / 25' in fr_page
    moderation = page_says(await admin.get("/moderation?country=BE"), 200, "A theme for BE")
    assert "Waiting for a decision (1)" in moderation

    # The same database seen by the platform without the plugin: Belgium needs 25 again.
    plain = await visit()
    page_says(await plain.get(f"/themes/{ids['BE']}"), 200, "A proposal with 25 supports")


# -- supports -------------------------------------------------------------------------------------


async def test_a_second_support_is_refused_and_a_support_can_be_taken_back_and_given_again(
    visit, admin
):
    author, fan = await person(visit), await person(visit)
    theme_id = await submitted(author, "Cheaper bikes")
    first = await fan.post(f"/api/themes/{theme_id}/support")
    assert first.status_code == 200, first.text
    assert first.json() == {"theme_id": theme_id, "support_count": 1, "supported_by_me": True}
    before = await snapshot()

    problem(
        await fan.post(f"/api/themes/{theme_id}/support"), 409, "You already support this proposal."
    )
    page_says(
        await fan.form(f"/themes/{theme_id}/support"), 409, "You already support this proposal."
    )
    assert await snapshot() == before
    assert (await fan.get(f"/api/themes/{theme_id}")).json()["support_count"] == 1

    taken_back = await fan.delete(f"/api/themes/{theme_id}/support")
    assert taken_back.status_code == 200, taken_back.text
    assert taken_back.json() == {"theme_id": theme_id, "support_count": 0, "supported_by_me": False}
    problem(
        await fan.delete(f"/api/themes/{theme_id}/support"),
        409,
        "You do not support this proposal.",
    )
    assert await Support.count() == 0

    again = await fan.post(f"/api/themes/{theme_id}/support")
    assert again.json() == {"theme_id": theme_id, "support_count": 1, "supported_by_me": True}
    shown = (await fan.get(f"/api/themes/{theme_id}")).json()
    assert (shown["support_count"], shown["supported_by_me"]) == (1, True)
    assert await supporters_of(theme_id) == {fan.id}
    await assert_counts_match_rows()

    # The page's forms do the same: take back, support again.
    assert (await fan.form(f"/themes/{theme_id}/unsupport")).status_code == 303
    assert await supporters_of(theme_id) == set()
    assert (await fan.form(f"/themes/{theme_id}/support")).status_code == 303
    assert await supporters_of(theme_id) == {fan.id}
    await assert_counts_match_rows()


async def test_nobody_supports_their_own_draft_or_proposal(visit, admin):
    author = await person(visit)
    own_draft = await draft(author, "Cheaper bikes")
    own_proposal = await submitted(author, "Shared tools")
    before = await snapshot()
    problem(
        await author.post(f"/api/themes/{own_draft}/support"),
        409,
        "Only submitted proposals can be supported.",
    )
    problem(
        await author.post(f"/api/themes/{own_proposal}/support"),
        403,
        "You cannot support your own proposal.",
    )
    page_says(
        await author.form(f"/themes/{own_proposal}/support"),
        403,
        "You cannot support your own proposal.",
    )
    assert await snapshot() == before
    assert await Support.count() == 0


async def test_a_french_member_cannot_support_a_belgian_proposal(visit, admin):
    author, french = await person(visit, "BE"), await person(visit, "FR")
    theme_id = await submitted(author, "Cheaper bikes")
    before = await snapshot()
    message = "Only members in BE can support this proposal."
    problem(await french.post(f"/api/themes/{theme_id}/support"), 403, message)
    page_says(await french.form(f"/themes/{theme_id}/support"), 403, message, "Cheaper bikes")
    assert await snapshot() == before
    assert (await french.get(f"/api/themes/{theme_id}")).json()["support_count"] == 0
    # The page offers no support button to the French member.
    assert (
        f'action="/themes/{theme_id}/support"' not in (await french.get(f"/themes/{theme_id}")).text
    )


# -- merging --------------------------------------------------------------------------------------


async def test_merging_through_the_api_counts_each_supporter_once(visit, admin):
    source_author, target_author = await person(visit), await person(visit)
    both, source_only, target_only = await person(visit), await person(visit), await person(visit)
    source = await submitted(source_author, "Cheap bikes")
    target = await submitted(target_author, "Cheaper bicycles")
    # The target's proposer supports the source; one member supports both.
    assert await supported(source, target_author, both, source_only) == 3
    assert await supported(target, both, target_only) == 2

    merged = await admin.post(f"/api/themes/{source}/merge", {"into": target})
    assert merged.status_code == 200, merged.text
    assert (merged.json()["id"], merged.json()["support_count"]) == (target, 3)

    shown = (await visit()).http
    source_now = (await shown.get(f"/api/themes/{source}")).json()
    assert (source_now["status"], source_now["merged_into"], source_now["support_count"]) == (
        "merged",
        target,
        0,
    )
    assert await supporters_of(target) == {both.id, source_only.id, target_only.id}
    assert await supporters_of(source) == set()
    await assert_counts_match_rows()
    assert (await both.get(f"/api/themes/{target}")).json()["supported_by_me"] is True
    listed = (await shown.get(f"/api/editions/{SLUG}/themes?status=merged")).json()
    assert [(t["id"], t["merged_into"]) for t in listed["items"]] == [(source, target)]

    before = await snapshot()
    problem(
        await admin.post(f"/api/themes/{source}/merge", {"into": target}),
        409,
        "Only a submitted proposal can be merged.",
    )
    problem(
        await admin.post(f"/api/themes/{target}/merge", {"into": target}),
        400,
        "A theme cannot be merged into itself.",
    )
    problem(
        await admin.post(f"/api/themes/{target}/merge", {"into": 999}),
        404,
        "There is no theme 999.",
    )
    assert await snapshot() == before


# -- one country's operators do not moderate the other's ------------------------------------------


async def french_proposals(visit: Visit) -> tuple[int, int]:
    author, fan = await person(visit, "FR"), await person(visit, "FR")
    fr_theme = await submitted(author, "Vélos moins chers", language="fr")
    fr_target = await submitted(fan, "Des vélos", language="fr")
    await supported(fr_theme, fan)
    return fr_theme, fr_target


async def test_a_belgian_operator_cannot_moderate_french_proposals_through_the_api(visit, admin):
    fr_theme, fr_target = await french_proposals(visit)
    be_operator = await person(visit, "BE", operator_of=("BE",))
    before = await snapshot()
    message = "Only operators of FR can do this."
    problem(await be_operator.post(f"/api/themes/{fr_theme}/accept"), 403, message)
    problem(
        await be_operator.post(f"/api/themes/{fr_theme}/reject", {"reason": "Not for us"}),
        403,
        message,
    )
    problem(
        await be_operator.post(f"/api/themes/{fr_theme}/merge", {"into": fr_target}), 403, message
    )
    problem(await be_operator.get("/api/moderation/FR"), 403, message)
    problem(
        await be_operator.put(
            f"/api/editions/{SLUG}/calendar/FR",
            {
                "phases": [
                    {"phase": "proposals", "starts_on": "2030-01-01", "ends_on": "2030-02-01"}
                ]
            },
        ),
        403,
        message,
    )
    assert await snapshot() == before
    assert [await status_of(fr_theme), await status_of(fr_target)] == ["submitted", "submitted"]
    # Their own country's queue is theirs.
    assert (await be_operator.get("/api/moderation/BE")).status_code == 200


async def test_a_belgian_operator_cannot_moderate_french_proposals_through_the_pages(visit, admin):
    fr_theme, fr_target = await french_proposals(visit)
    be_operator = await person(visit, "BE", operator_of=("BE",))
    page = (await be_operator.get(f"/themes/{fr_theme}")).text
    assert f'action="/themes/{fr_theme}/accept"' not in page  # no moderation forms offered
    before = await snapshot()
    message = "Only operators of FR can do this."
    for action, data in (
        ("accept", {}),
        ("reject", {"reason": "Not for us"}),
        ("merge", {"into": str(fr_target)}),
    ):
        response = await be_operator.form(f"/themes/{fr_theme}/{action}", data)
        page_says(response, 403, message, "Vélos moins chers")  # the theme page, re-shown
    page_says(await be_operator.get("/moderation?country=FR"), 403, message)
    assert await snapshot() == before
    # The French operator's forms work.
    fr_operator = await person(visit, "FR", operator_of=("FR",))
    assert (
        f'action="/themes/{fr_theme}/accept"' in (await fr_operator.get(f"/themes/{fr_theme}")).text
    )
    confirmed = await fr_operator.form(f"/themes/{fr_theme}/accept", {"confirm": "yes"})
    assert confirmed.status_code == 303
    assert await status_of(fr_theme) == "accepted"


# -- bad input ------------------------------------------------------------------------------------

BAD_TITLES = {
    "empty": ("", "Give the theme a title of at least 3 characters."),
    "whitespace": ("  \t  ", "Give the theme a title of at least 3 characters."),
    "10,000 characters": (
        "t" * 10_000,
        "The title is 10000 characters long; it may have at most 200.",
    ),
}


@pytest.mark.parametrize("case", list(BAD_TITLES))
async def test_a_bad_title_is_refused_through_the_api(visit, admin, case):
    title, message = BAD_TITLES[case]
    author = await person(visit)
    problem(await author.post(f"/api/editions/{SLUG}/themes", {"title": title}), 400, message)
    assert await Theme.count() == 0
    assert await ThemeText.count() == 0
    theme_id = await draft(author, "Cheaper bikes")
    before = await snapshot()
    problem(await author.put(f"/api/themes/{theme_id}", {"title": title}), 400, message)
    assert await snapshot() == before
    assert (await author.get(f"/api/themes/{theme_id}")).json()["title"] == "Cheaper bikes"


@pytest.mark.parametrize("case", list(BAD_TITLES))
async def test_a_bad_title_re_shows_the_form_with_the_message_and_the_typed_text(
    visit, admin, case
):
    title, message = BAD_TITLES[case]
    author = await person(visit)
    typed = {"title": title, "description": "Bikes for everyone, & cheaper.", "language": "fr"}
    html = page_says(await author.form(f"/editions/{SLUG}/propose", typed), 400, message)
    assert f'value="{escape(title)}"' in html
    assert ">Bikes for everyone, &amp; cheaper.</textarea>" in html
    assert '<option value="fr" selected>' in html
    assert await Theme.count() == 0
    # Editing a draft re-shows its form the same way.
    theme_id = await draft(author, "Cheaper bikes")
    before = await snapshot()
    html = page_says(await author.form(f"/themes/{theme_id}/edit", typed), 400, message)
    assert f'value="{escape(title)}"' in html
    assert await snapshot() == before


async def test_an_unknown_edition_is_not_found(visit, admin):
    member = await person(visit)
    message = "There is no edition 1999-2000."
    problem(await member.get("/api/editions/1999-2000"), 404, message)
    problem(await member.get("/api/editions/1999-2000/themes"), 404, message)
    problem(
        await member.post("/api/editions/1999-2000/themes", {"title": "Cheaper bikes"}),
        404,
        message,
    )
    page_says(await member.get("/editions/1999-2000/themes"), 404, message)
    page_says(await member.get("/editions/1999-2000/propose"), 404, message)
    page_says(
        await member.form("/editions/1999-2000/propose", {"title": "Cheaper bikes"}), 404, message
    )
    assert await Theme.count() == 0


async def test_unknown_themes_are_not_found(visit, admin):
    member = await person(visit)
    problem(await member.get("/api/themes/999"), 404, "There is no theme 999.")
    problem(await member.post("/api/themes/999/support"), 404, "There is no theme 999.")
    problem(await admin.post("/api/themes/999/accept"), 404, "There is no theme 999.")
    page_says(await member.get("/themes/999"), 404, "There is no theme 999.")


async def test_malformed_json_and_wrong_types_are_refused(visit, admin):
    author = await person(visit)
    theme_id = await submitted(author, "Cheaper bikes")
    other = await submitted(author, "Shared tools")
    before = await snapshot()
    for method, url in (
        ("POST", f"/api/editions/{SLUG}/themes"),
        ("PUT", f"/api/themes/{theme_id}"),
        ("POST", f"/api/themes/{theme_id}/reject"),
        ("POST", f"/api/themes/{theme_id}/merge"),
        ("PUT", f"/api/editions/{SLUG}/calendar/BE"),
    ):
        actor = admin if "calendar" in url or "reject" in url or "merge" in url else author
        problem(await actor.raw(method, url, b'{"title": "unfinished'), 400)

    for actor, method, url, body, key in (
        (author, "POST", f"/api/editions/{SLUG}/themes", {"title": 5}, "title"),
        (author, "POST", f"/api/editions/{SLUG}/themes", {"description": "no title"}, "title"),
        (author, "POST", f"/api/editions/{SLUG}/themes", ["Cheaper bikes"], None),
        (author, "PUT", f"/api/themes/{theme_id}", {"title": ["a", "list"]}, "title"),
        (admin, "POST", f"/api/themes/{theme_id}/reject", {"reason": 42}, "reason"),
        (admin, "POST", f"/api/themes/{theme_id}/merge", {"into": "the other one"}, "into"),
        (admin, "POST", f"/api/themes/{theme_id}/merge", {}, "into"),
        (
            admin,
            "PUT",
            f"/api/editions/{SLUG}/calendar/BE",
            {"phases": [{"phase": "proposals", "starts_on": "soon", "ends_on": "later"}]},
            None,
        ),
    ):
        body_ = problem(await actor.send(method, url, body), 400)
        assert body_["errors"], body_
        if key is not None:
            assert key in str(body_["errors"]), body_
    problem(await author.get(f"/api/editions/{SLUG}/themes?page=two"), 400)
    problem(await author.get("/api/themes/first"), 404)  # not a theme number: no such route
    assert await snapshot() == before
    assert [await status_of(theme_id), await status_of(other)] == ["submitted", "submitted"]


FILTER_ERRORS = {
    "sort=random": "Unknown sort order random.",
    "status=draft": "Unknown status draft.",
    "status=bogus": "Unknown status bogus.",
    "country=DE": "Unknown country DE.",
    "origin=nobody": "Unknown origin nobody.",
    "page=0": "Pages start at 1 and hold 1 to 100 themes.",
    "per_page=101": "Pages start at 1 and hold 1 to 100 themes.",
}


@pytest.mark.parametrize("query", list(FILTER_ERRORS))
async def test_an_unknown_filter_on_the_list_is_refused_with_a_message(visit, admin, query):
    message = FILTER_ERRORS[query]
    author = await person(visit)
    await submitted(author, "Cheaper bikes")
    anonymous = await visit()
    problem(await anonymous.get(f"/api/editions/{SLUG}/themes?{query}"), 400, message)
    if not query.startswith("per_page"):  # the page has 20 a page, always
        html = page_says(await anonymous.get(f"/editions/{SLUG}/themes?{query}"), 400, message)
        assert "Cheaper bikes" not in html
        assert "0 themes" in html


async def test_a_non_numeric_merge_target_in_the_form_is_refused(visit, admin):
    author = await person(visit)
    source = await submitted(author, "Cheap bikes")
    await submitted(author, "Cheaper bicycles")
    before = await snapshot()
    for into in ("the other one", "", "-1", "1.5"):
        page_says(
            await admin.form(f"/themes/{source}/merge", {"into": into}),
            400,
            "Choose the theme to merge into.",
            "Cheap bikes",
        )
    page_says(await admin.form(f"/themes/{source}/merge"), 400, "Choose the theme to merge into.")
    assert await snapshot() == before


async def test_a_rejection_without_a_reason_is_refused(visit, admin):
    author = await person(visit)
    theme_id = await submitted(author, "Cheaper bikes")
    before = await snapshot()
    message = "Give the proposer a reason (3 to 2000 characters)."
    problem(await admin.post(f"/api/themes/{theme_id}/reject", {}), 400, message)
    problem(await admin.post(f"/api/themes/{theme_id}/reject", {"reason": "   "}), 400, message)
    problem(
        await admin.post(f"/api/themes/{theme_id}/reject", {"reason": "x" * 2001}), 400, message
    )
    page_says(await admin.form(f"/themes/{theme_id}/reject"), 400, message, "Cheaper bikes")
    page_says(await admin.form(f"/themes/{theme_id}/reject", {"reason": " "}), 400, message)
    assert await snapshot() == before
    rejected = await admin.post(f"/api/themes/{theme_id}/reject", {"reason": "Already covered"})
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["rejection_reason"]) == (
        "rejected",
        "Already covered",
    )


# -- drafts are private ---------------------------------------------------------------------------


async def test_a_draft_is_seen_by_its_author_only(visit, admin):
    author = await person(visit)
    theme_id = await draft(author, "Secret bikes draft", description="Not ready yet.")
    other = await person(visit)
    be_operator = await person(visit, operator_of=("BE",))
    anonymous = await visit()
    message = f"There is no theme {theme_id}."
    for someone in (other, be_operator, admin, anonymous):
        problem(await someone.get(f"/api/themes/{theme_id}"), 404, message)
        page_says(await someone.get(f"/themes/{theme_id}"), 404, message)
        listed = (await someone.get(f"/api/editions/{SLUG}/themes?q=secret")).json()
        assert (listed["total"], listed["items"]) == (0, [])
    assert (await other.get("/api/me/proposals")).json() == []
    assert "Secret bikes draft" not in (await other.get("/my/proposals")).text
    page_says(await other.get(f"/themes/{theme_id}/edit"), 404, message)

    mine = await author.get("/api/me/proposals")
    assert [(t["id"], t["title"], t["status"]) for t in mine.json()] == [
        (theme_id, "Secret bikes draft", "draft")
    ]
    page_says(await author.get("/my/proposals"), 200, "Secret bikes draft", "Draft")
    shown = (await author.get(f"/api/themes/{theme_id}")).json()
    assert (shown["status"], shown["description"]) == ("draft", "Not ready yet.")
    page_says(
        await author.get(f"/themes/{theme_id}"),
        200,
        "Secret bikes draft",
        "This is a draft: only you can see it.",
    )


# -- the list: search, filters, sorting, pages, languages -----------------------------------------


async def catalogue(visit: Visit, admin: Visitor) -> dict[str, int]:
    """Five public themes in three languages, a draft and a withdrawn proposal."""
    be_author, fr_author = await person(visit, "BE"), await person(visit, "FR", language="fr")
    fans = [await person(visit) for _ in range(2)]
    fr_fan = await person(visit, "FR")
    ids = {
        "bikes": await submitted(be_author, "Cheaper bikes", description="Two wheels for all."),
        "energy": await submitted(
            be_author,
            "Énergie solidaire",
            description="Des coopératives d'ÉLECTRICITÉ verte.",
            language="fr",
        ),
        "housing": await submitted(be_author, "Coöperatief wonen", language="nl"),
        "artists": await submitted(fr_author, "Mutuelle des artistes"),  # the author's French
    }
    board = await admin.post(
        f"/api/editions/{SLUG}/board-themes",
        {"title": "Annual report", "language": "en", "countries": ["BE", "FR"]},
    )
    assert board.status_code == 201, board.text
    ids["report"] = board.json()["id"]
    ids["draft"] = await draft(be_author, "Secret bikes draft")
    ids["withdrawn"] = await submitted(be_author, "Withdrawn bikes")
    assert (await be_author.post(f"/api/themes/{ids['withdrawn']}/withdraw")).status_code == 200
    await supported(ids["bikes"], *fans)
    await supported(ids["energy"], fans[0])
    await supported(ids["artists"], fr_fan)
    assert (await admin.post(f"/api/themes/{ids['housing']}/accept")).status_code == 200
    rejected = await admin.post(f"/api/themes/{ids['artists']}/reject", {"reason": "Covered"})
    assert rejected.status_code == 200
    return ids


async def listing(visitor: Visitor, query: str = "", **headers: str) -> dict[str, Any]:
    response = await visitor.get(f"/api/editions/{SLUG}/themes?{query}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def titles(visitor: Visitor, query: str = "") -> list[str]:
    return [t["title"] for t in (await listing(visitor, f"per_page=100&{query}"))["items"]]


async def test_the_list_api_searches_filters_sorts_and_pages(visit, admin):
    ids = await catalogue(visit, admin)
    reader = await visit()

    everything = await listing(reader)
    assert {t["id"] for t in everything["items"]} == {
        ids[k] for k in ("bikes", "energy", "housing", "artists", "report")
    }
    assert (everything["total"], everything["page"], everything["per_page"]) == (5, 1, 20)

    assert await titles(reader, "q=bikes") == ["Cheaper bikes"]  # not the draft, not withdrawn
    assert await titles(reader, "q=WHEELS") == ["Cheaper bikes"]  # in the description
    assert await titles(reader, "q=%C3%89NERGIE") == ["Énergie solidaire"]
    assert await titles(reader, "q=électricité") == ["Énergie solidaire"]
    assert await titles(reader, "q=%25") == []
    assert (await listing(reader, "q=nothing+like+this"))["total"] == 0

    assert sorted(await titles(reader, "country=FR")) == ["Annual report", "Mutuelle des artistes"]
    assert await titles(reader, "origin=board") == ["Annual report"]
    assert sorted(await titles(reader, "status=accepted")) == ["Annual report", "Coöperatief wonen"]
    assert await titles(reader, "status=rejected") == ["Mutuelle des artistes"]
    assert await titles(reader, "status=rejected&country=BE") == []

    by_supports = (await listing(reader, "sort=supports"))["items"]
    assert [(t["title"], t["support_count"]) for t in by_supports[:3]] == [
        ("Cheaper bikes", 2),
        ("Énergie solidaire", 1),
        ("Mutuelle des artistes", 1),
    ]
    newest = await titles(reader, "sort=newest")
    assert newest[0] == "Annual report" and newest[-1] == "Cheaper bikes"
    assert await titles(reader, "sort=oldest") == list(reversed(newest))
    assert await titles(reader, "sort=title&origin=member&country=BE") == [
        "Cheaper bikes",
        "Coöperatief wonen",
        "Énergie solidaire",
    ]

    pages = [await listing(reader, f"sort=title&per_page=2&page={n}") for n in (1, 2, 3, 4)]
    assert [(p["total"], p["page"], p["per_page"]) for p in pages] == [
        (5, 1, 2),
        (5, 2, 2),
        (5, 3, 2),
        (5, 4, 2),
    ]
    assert [len(p["items"]) for p in pages] == [2, 2, 1, 0]
    assert [t["title"] for p in pages for t in p["items"]] == await titles(reader, "sort=title")

    # The page shows the same list, with its pager.
    html = page_says(
        await reader.get(f"/editions/{SLUG}/themes?sort=title&q=bikes"), 200, "Cheaper bikes"
    )
    assert "1 theme<" in html and "Secret bikes draft" not in html
    html = (await reader.get(f"/editions/{SLUG}/themes?status=accepted")).text
    assert "Coöperatief wonen" in html and "Cheaper bikes" not in html


async def test_the_list_speaks_the_readers_language_and_falls_back_to_the_original(visit, admin):
    ids = await catalogue(visit, admin)
    await ThemeText.insert(
        ThemeText(theme=ids["energy"], language="nl", title="Solidaire energie", description="")
    )
    anonymous = await visit()

    def shown(page: dict[str, Any]) -> dict[int, tuple[str, str]]:
        return {t["id"]: (t["title"], t["language"]) for t in page["items"]}

    in_dutch = shown(await listing(anonymous, **{"accept-language": "nl-BE,nl;q=0.9"}))
    assert in_dutch[ids["energy"]] == ("Solidaire energie", "nl")
    assert in_dutch[ids["artists"]] == ("Mutuelle des artistes", "fr")  # no Dutch: the original
    in_english = shown(await listing(anonymous, **{"accept-language": "en"}))
    assert in_english[ids["energy"]] == ("Énergie solidaire", "fr")
    assert in_english[ids["housing"]] == ("Coöperatief wonen", "nl")

    # A signed-in member reads in their own language, whatever the browser says.
    dutch_member = await person(visit, language="nl")
    as_member = shown(await listing(dutch_member, **{"accept-language": "en"}))
    assert as_member[ids["energy"]] == ("Solidaire energie", "nl")
    detail = (
        await dutch_member.get(f"/api/themes/{ids['energy']}", headers={"accept-language": "fr"})
    ).json()
    assert (detail["title"], detail["language"]) == ("Solidaire energie", "nl")
    assert sorted(t["language"] for t in detail["texts"]) == ["fr", "nl"]
    html = (await dutch_member.get(f"/themes/{ids['energy']}")).text
    assert '<h1 lang="nl">Solidaire energie</h1>' in html


# -- anonymous visitors ---------------------------------------------------------------------------


async def test_anonymous_visitors_read_but_every_write_asks_them_to_sign_in(visit, admin):
    author = await person(visit)
    theme_id = await submitted(author, "Cheaper bikes")
    other = await submitted(author, "Shared tools")
    anonymous = await visit()

    assert (await anonymous.get(f"/api/editions/{SLUG}/themes")).json()["total"] == 2
    assert (await anonymous.get(f"/api/themes/{theme_id}")).json()["title"] == "Cheaper bikes"
    assert (await anonymous.get("/api/editions")).status_code == 200
    assert (await anonymous.get(f"/api/editions/{SLUG}")).status_code == 200
    page_says(await anonymous.get(f"/editions/{SLUG}/themes"), 200, "Cheaper bikes")
    page_says(
        await anonymous.get(f"/themes/{theme_id}"),
        200,
        "Cheaper bikes",
        "Sign in to support this proposal.",
    )
    page_says(await anonymous.get(f"/editions/{SLUG}"), 200, SLUG)

    before = await snapshot()
    window = {"phase": "proposals", "starts_on": "2030-01-01", "ends_on": "2030-02-01"}
    for method, url, body in (
        ("POST", f"/api/editions/{SLUG}/themes", {"title": "Cheaper bikes"}),
        ("POST", f"/api/editions/{SLUG}/board-themes", {"title": "Report", "countries": ["BE"]}),
        ("PUT", f"/api/themes/{theme_id}", {"title": "Changed"}),
        ("POST", f"/api/themes/{theme_id}/submit", None),
        ("POST", f"/api/themes/{theme_id}/withdraw", None),
        ("POST", f"/api/themes/{theme_id}/support", None),
        ("DELETE", f"/api/themes/{theme_id}/support", None),
        ("POST", f"/api/themes/{theme_id}/accept", None),
        ("POST", f"/api/themes/{theme_id}/reject", {"reason": "Not for us"}),
        ("POST", f"/api/themes/{theme_id}/merge", {"into": other}),
        ("GET", "/api/me/proposals", None),
        ("GET", "/api/moderation/BE", None),
        ("POST", "/api/editions", {"slug": "2030-2031"}),
        ("PUT", f"/api/editions/{SLUG}/calendar/BE", {"phases": [window]}),
    ):
        body_ = problem(await anonymous.send(method, url, body), 401)
        assert body_["title"] == "Sign-in required", (method, url)

    for url, data in (
        (f"/editions/{SLUG}/propose", {"title": "Cheaper bikes"}),
        (f"/editions/{SLUG}/board-theme", {"title": "Report", "countries": "BE"}),
        (f"/themes/{theme_id}/edit", {"title": "Changed"}),
        (f"/themes/{theme_id}/submit", {}),
        (f"/themes/{theme_id}/withdraw", {}),
        (f"/themes/{theme_id}/support", {}),
        (f"/themes/{theme_id}/unsupport", {}),
        (f"/themes/{theme_id}/accept", {}),
        (f"/themes/{theme_id}/reject", {"reason": "Not for us"}),
        (f"/themes/{theme_id}/merge", {"into": str(other)}),
        ("/editions", {"slug": "2030-2031"}),
    ):
        page_says(await anonymous.form(url, data), 401, "Sign in to see this page.")
    for url in (
        f"/editions/{SLUG}/propose",
        f"/editions/{SLUG}/board-theme",
        "/my/proposals",
        "/moderation",
        f"/editions/{SLUG}/calendar/BE",
    ):
        page_says(await anonymous.get(url), 401, "Sign in to see this page.")
    assert await snapshot() == before


# -- the OpenAPI schema ---------------------------------------------------------------------------

API_ROUTES = {
    "/api/editions": {"get", "post"},
    "/api/editions/{slug}": {"get"},
    "/api/editions/{slug}/calendar/{country}": {"put"},
    "/api/editions/{slug}/themes": {"get", "post"},
    "/api/editions/{slug}/board-themes": {"post"},
    "/api/themes/{theme_id}": {"get", "put"},
    "/api/themes/{theme_id}/submit": {"post"},
    "/api/themes/{theme_id}/withdraw": {"post"},
    "/api/themes/{theme_id}/support": {"post", "delete"},
    "/api/themes/{theme_id}/accept": {"post"},
    "/api/themes/{theme_id}/reject": {"post"},
    "/api/themes/{theme_id}/merge": {"post"},
    "/api/me/proposals": {"get"},
    "/api/moderation/{country}": {"get"},
}


async def test_the_openapi_schema_lists_every_theme_and_edition_route(client):
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path, methods in API_ROUTES.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))
        for method in methods:
            assert paths[path][method].get("summary"), (path, method)
    pages = ("/editions/{slug}/themes", "/themes/{theme_id}", "/my/proposals", "/moderation")
    assert not any(p in paths for p in pages)  # the pages stay out of the schema


# -- bugs found by these tests, each now guarded -------------------------------------------------


async def test_a_merge_target_that_only_looks_numeric_is_refused_with_a_message(visit, admin):
    author = await person(visit)
    source = await submitted(author, "Cheap bikes")
    before = await snapshot()
    page_says(
        await admin.form(f"/themes/{source}/merge", {"into": "²"}),
        400,
        "Choose the theme to merge into.",
    )
    assert await snapshot() == before


async def test_a_page_number_beyond_any_list_is_refused_with_a_message(visit, admin):
    anonymous = await visit()
    problem(await anonymous.get(f"/api/editions/{SLUG}/themes?page=10000000000000000000"), 400)


@pytest.mark.parametrize("theme_id", [3_000_000_000, 10**20])
async def test_a_theme_number_beyond_the_databases_range_is_not_found(visit, admin, theme_id):
    anonymous = await visit()
    problem(await anonymous.get(f"/api/themes/{theme_id}"), 404)
    page_says(await anonymous.get(f"/themes/{theme_id}"), 404)
    problem(await admin.post(f"/api/themes/{theme_id}/accept"), 404)


async def test_a_nul_character_in_a_title_is_refused_with_a_message(visit, admin):
    author = await person(visit)
    problem(await author.post(f"/api/editions/{SLUG}/themes", {"title": "Cheaper\x00bikes"}), 400)
    assert await Theme.count() == 0


async def test_writing_to_someone_elses_draft_says_not_found(visit, admin):
    author, other = await person(visit), await person(visit)
    secret = await draft(author, "Secret bikes draft")
    before = await snapshot()
    message = f"There is no theme {secret}."
    for method, url, body in (
        ("PUT", f"/api/themes/{secret}", {"title": "Hijacked"}),
        ("POST", f"/api/themes/{secret}/submit", None),
        ("POST", f"/api/themes/{secret}/withdraw", None),
        ("POST", f"/api/themes/{secret}/support", None),
    ):
        problem(await other.send(method, url, body), 404, message)
    assert await snapshot() == before


async def test_a_description_keeps_its_paragraphs_and_links_and_never_becomes_markup(visit, admin):
    author = await person(visit)
    description = (
        "First paragraph, see https://smart.coop/coop.\n\n"
        "Second <script>alert(1)</script> [click](javascript:alert(1)) "
        '<img src=x onerror="alert(1)">'
    )
    theme_id = await draft(author, "Cheaper bikes", description=description)
    page = await author.get(f"/themes/{theme_id}")
    assert page.status_code == 200
    shown = page.text.split('class="description"', 1)[1].split("</div>", 1)[0]
    assert shown.count("<p>") == 2
    assert '<a href="https://smart.coop/coop" rel="nofollow ugc">' in shown
    assert "<script" not in shown and "<img" not in shown
    assert 'href="javascript' not in shown
    assert "&lt;script&gt;" in shown
