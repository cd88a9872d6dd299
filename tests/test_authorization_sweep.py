"""Authorization sweep: every route, asked by someone it does not belong to, answers 403 or 404
and changes nothing.

The route list comes from the application itself, so a new route is swept as soon as it exists:
if its parameters are unknown here, or it lets the wrong person through, this test fails. Routes
that anyone may read, or that only ever act on the caller, are listed below with the reason.

Two sweeps run on the demo data (both countries, every kind of object):

* an operator of France tries every route on Belgian objects, and an operator of Belgium every
  route on French ones: countries are separate;
* a Belgian member with no role tries every route on the objects of another Belgian member
  (their draft proposal, draft recommendation, notifications, proxy, group registration...) and
  every operator or facilitator route of their own country.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from core import clock, db
from core.app import create_app
from core.auth import services as auth
from core.auth.tables import WebSession
from core.config import Settings
from core.groups.tables import (
    GroupFacilitator,
    GroupRegistration,
    InfoSession,
    Meeting,
    MeetingSlot,
)
from core.members.tables import Member, RegisterImport
from core.notifications.tables import Notification, NotificationEvent, OutboxMessage
from core.polls.tables import Poll, Proxy
from core.recommendations.outcomes import ADOPTED
from core.recommendations.tables import Bundle, Decision, Milestone, Project, Recommendation
from core.themes.services import ACCEPTED
from core.themes.tables import Theme
from plugins.demo import seed_demo
from tests.conftest import csrf_token, sign_in
from tests.demo_helpers import open_agm_poll, open_slug
from tests.security_support import (
    UNSAFE,
    Endpoint,
    changed,
    demo_settings,
    endpoints,
    fill,
    fingerprint,
    json_body,
)

# -- routes that are not swept, each with the reason ---------------------------------------------

PUBLIC = {
    "GET /privacy": "what the platform keeps and for how long (from config.toml)",
    "GET /api/privacy": "what the platform keeps and for how long (from config.toml)",
    "GET /account/erase/{token:str}": "the erasure link is the secret",
    "GET /api/account/erase/{token:str}": "the erasure link is the secret",
    "POST /account/erase/{token:str}": "the erasure link is the secret",
    "POST /api/account/erase/{token:str}": "the erasure link is the secret",
    # The cooperative's process is public: editions, themes, polls and their published results,
    # groups, recommendations, projects and the record are read by anyone, members or not.
    "GET /": "home page",
    "GET /api/home": "home page",
    "GET /editions": "list of editions",
    "GET /api/editions": "list of editions",
    "GET /editions/{slug:str}": "an edition and its calendar",
    "GET /api/editions/{slug:str}": "an edition and its calendar",
    "GET /editions/{slug:str}/themes": "an edition's themes (drafts are not listed)",
    "GET /api/editions/{slug:str}/themes": "an edition's themes (drafts are not listed)",
    "GET /themes/{theme_id:int}": "a theme (a draft answers 404 to others: swept below)",
    "GET /api/themes/{theme_id:int}": "a theme (a draft answers 404 to others: swept below)",
    "GET /editions/{slug:str}/polls": "an edition's polls",
    "GET /api/editions/{slug:str}/polls": "an edition's polls",
    "GET /polls/{poll_id:int}": "a poll and its candidates",
    "GET /api/polls/{poll_id:int}": "a poll and its candidates",
    "GET /polls/{poll_id:int}/results": "a published result (404 before publication)",
    "GET /api/polls/{poll_id:int}/result": "a published result (404 before publication)",
    "GET /polls/{poll_id:int}/ballots.json": "the published ballot list, for recounts",
    "GET /polls/{poll_id:int}/ballots.csv": "the published ballot list, for recounts",
    "GET /api/polls/{poll_id:int}/ballots": "the published ballot list, for recounts",
    "GET /api/polls/{poll_id:int}/turnout": "turnout in numbers, never who or how",
    "GET /api/polls/{poll_id:int}/tellers": "a poll's tellers by name, as the poll page shows",
    "GET /polls/{poll_id:int}/box": "the public ballot box: trackers, never who or how",
    "GET /api/polls/{poll_id:int}/box": "the public ballot box: trackers, never who or how",
    "GET /polls/{poll_id:int}/trackers.txt": "the public ballot box: trackers, never who or how",
    "POST /polls/{poll_id:int}/box": "anyone checks a receipt in the public ballot box",
    "POST /api/polls/{poll_id:int}/receipt": "anyone checks a receipt in the public ballot box",
    "GET /polls/{poll_id:int}/count": "a blank form for the shares; counting is swept",
    "GET /editions/{slug:str}/groups": "an edition's working groups",
    "GET /api/editions/{slug:str}/groups": "an edition's working groups",
    "GET /api/editions/{slug:str}/groups/figures": "participation figures, in numbers",
    "GET /groups/{group_id:int}": "a working group (the viewer's own registration only)",
    "GET /api/groups/{group_id:int}": "a working group (the viewer's own registration only)",
    "GET /api/groups/{group_id:int}/meetings": "a group's meeting dates",
    "GET /api/groups/{group_id:int}/availability": "slots and answer counts; links: participants",
    "GET /editions/{slug:str}/info-sessions": "an edition's info sessions",
    "GET /api/editions/{slug:str}/info-sessions": "an edition's info sessions",
    "GET /info-sessions/{session_id:int}": "an info session",
    "GET /api/info-sessions/{session_id:int}": "an info session",
    "GET /editions/{slug:str}/extensions": "the themes extended from the last edition",
    "GET /api/editions/{slug:str}/extensions": "the themes extended from the last edition",
    "GET /groups/{group_id:int}/recommendations": "a group's recommendations (drafts: swept)",
    "GET /api/groups/{group_id:int}/recommendations": "a group's recommendations (drafts: swept)",
    "GET /editions/{slug:str}/recommendations": "an edition's submitted recommendations",
    "GET /api/editions/{slug:str}/recommendations": "an edition's submitted recommendations",
    "GET /recommendations/{rec_id:int}": "a recommendation (a draft: swept)",
    "GET /api/recommendations/{rec_id:int}": "a recommendation (a draft: swept)",
    "GET /api/recommendations/{rec_id:int}/decisions": "the board's public decisions",
    "GET /projects": "the projects",
    "GET /projects/new": "a blank form over public recommendations; creating is swept",
    "GET /api/projects": "the projects",
    "GET /projects/{project_id:int}": "a project",
    "GET /api/projects/{project_id:int}": "a project",
    "GET /record": "the public record since 2015",
    "GET /api/record": "the public record since 2015",
    "GET /record.csv": "the public record since 2015",
    "GET /record/{slug:str}": "the public record of an edition",
    "GET /api/record/{slug:str}": "the public record of an edition",
    "GET /record/{slug:str}/recommendations.csv": "the public record of an edition",
    "GET /api/plugins": "which plugins each country runs (settings masked)",
    "GET /api/members/import/columns": "the CSV columns an import expects",
    "GET /healthz": "liveness",
    "GET /static/{file_path:path}": "style sheets",
    "GET /schema": "the API's operations, a page that links the JSON schema",
    "GET /favicon.ico": "the site's icon",
    "GET /accessibility": "the accessibility statement",
    "GET /api/accessibility": "the accessibility statement",
    "GET /schema/{path:str}": "the OpenAPI description",
    "GET /schema/openapi.json": "the OpenAPI description",
    "GET /calendar/{feed:str}": "a capability URL: the feed name is an HMAC only its member has",
}

SELF = {
    "GET /account/data": "the caller's own data",
    "GET /api/account/data": "the caller's own data",
    "POST /account/erase": "the caller's own erasure request",
    "POST /api/account/erase": "the caller's own erasure request",
    # These name no object: they act on, or show, the signed-in member only.
    "GET /account": "the caller's account",
    "POST /account/password": "the caller's password",
    "GET /api/account/sessions": "the caller's own sessions",
    "POST /account/sessions/end-all": "the caller's own sessions",
    "POST /api/account/sessions/end-all": "the caller's own sessions",
    "GET /api/me": "the caller",
    "PUT /api/me/language": "the caller's language",
    "POST /api/me/password": "the caller's password",
    "POST /language": "the caller's (or visitor's) language",
    "POST /api/language": "the caller's (or visitor's) language",
    "GET /api/session": "the caller's session and CSRF token",
    "GET /notifications": "the caller's notifications",
    "GET /api/notifications": "the caller's notifications",
    "POST /notifications/read-all": "the caller's notifications",
    "POST /api/notifications/read-all": "the caller's notifications",
    "GET /notifications/preferences": "the caller's preferences",
    "GET /api/notifications/preferences": "the caller's preferences",
    "POST /notifications/preferences": "the caller's preferences",
    "PUT /api/notifications/preferences": "the caller's preferences",
    "GET /my/groups": "the caller's groups",
    "GET /api/me/groups": "the caller's groups",
    "GET /my/proposals": "the caller's proposals",
    "GET /api/me/proposals": "the caller's proposals",
    "GET /api/me/calendar": "the caller's calendar",
    "POST /my/calendar-feed": "the caller's feed address",
    "POST /api/me/calendar/feed": "the caller's feed address",
    "GET /sign-in": "sign-in form",
    "POST /sign-in/link": "asks for a link (silent for unknown addresses)",
    "POST /api/sign-in/link": "asks for a link (silent for unknown addresses)",
    "GET /sign-in/link/{token:str}": "the link is the secret",
    "POST /sign-in/link/{token:str}": "the link is the secret",
    "POST /api/sign-in/link/{token:str}": "the link is the secret",
    "POST /sign-in/password": "sign-in (limited: tests/test_security.py)",
    "POST /api/sign-in/password": "sign-in (limited: tests/test_security.py)",
    "POST /sign-out": "ends the caller's session",
    "POST /api/sign-out": "ends the caller's session",
    # A proposal is a draft of the caller's own, always in the caller's own country.
    "GET /editions/{slug:str}/propose": "the proposal form",
    "POST /editions/{slug:str}/propose": "a draft of one's own, in one's own country",
    "POST /api/editions/{slug:str}/themes": "a draft of one's own, in one's own country",
    # Undoing names a poll, group or theme but only ever touches the caller's own row (with none,
    # 409 and nothing changes).
    "POST /themes/{theme_id:int}/unsupport": "withdraws the caller's own support",
    "DELETE /api/themes/{theme_id:int}/support": "withdraws the caller's own support",
    "POST /recommendations/{rec_id:int}/unendorse": "the caller's own endorsement",
    "DELETE /api/recommendations/{rec_id:int}/endorsement": "the caller's own endorsement",
    "GET /polls/{poll_id:int}/proxy": "the proxies the caller gave and holds",
    "GET /api/polls/{poll_id:int}/proxy": "the proxies the caller gave and holds",
    "POST /polls/{poll_id:int}/proxy/revoke": "revokes the caller's own proxy",
    "GET /polls/{poll_id:int}/share": "the caller's own share form; collecting it is swept",
    "DELETE /api/polls/{poll_id:int}/proxy": "revokes the caller's own proxy",
    "POST /groups/{group_id:int}/withdraw": "withdraws the caller's own registration",
    "POST /api/groups/{group_id:int}/withdrawal": "withdraws the caller's own registration",
    "POST /info-sessions/{session_id:int}/unregister": "cancels the caller's own place",
    "DELETE /api/info-sessions/{session_id:int}/registration": "cancels the caller's own place",
}

# Not tied to one country: things any operator (or board member) does for the whole
# cooperative, and lists that show an operator their own countries only. Swept for a member
# with no role; an operator of either country may use them.
SHARED = {
    "GET /operator/members/erase": "the erasure form (the member's country is checked)",
    "GET /api/operator/members/erase": "the countries whose members the caller may erase",
    "GET /editions/new": "editions are the cooperative's, not a country's",
    "POST /editions": "editions are the cooperative's, not a country's",
    "POST /api/editions": "editions are the cooperative's, not a country's",
    "GET /editions/{slug:str}/board-theme": "the board-theme form (countries chosen inside)",
    "GET /members/import": "the import form (each row's country is checked)",
    "GET /operator/plugins": "which plugins run where, secrets masked",
    "GET /operator/roles": "the roles of the operator's own countries (or the board's)",
    "GET /api/roles": "the roles of the operator's own countries (or the board's)",
    "GET /bundles": "the bundles of the operator's own countries",
    "GET /api/bundles": "the bundles of the operator's own countries",
    "GET /operator/audit": "the audit log of the operator's own countries",
    "GET /api/audit": "the audit log of the operator's own countries",
    "POST /operator/audit": "the audit log's search, in the operator's own countries",
    "POST /api/audit/search": "the audit log's search, in the operator's own countries",
}

# Pages whose country is a query parameter: asked for the other country.
QUERIES = {
    "GET /moderation": "?country={country}",
    "GET /api/moderation": "?country={country}",
    "GET /outbox": "?country={country}",
}

# Actions any member of a country may take on its shared objects: swept for the other country's
# operator (countries are separate) but not for a member of the same country.
MEMBER_ACTIONS = {
    "POST /themes/{theme_id:int}/support": "support a proposal",
    "POST /api/themes/{theme_id:int}/support": "support a proposal",
    "POST /polls/{poll_id:int}/vote": "vote",
    "POST /api/polls/{poll_id:int}/ballot": "vote",
    "POST /polls/{poll_id:int}/proxy": "give one's own proxy",
    "POST /api/polls/{poll_id:int}/proxy": "give one's own proxy",
    "POST /groups/{group_id:int}/register": "register for a group",
    "POST /api/groups/{group_id:int}/registration": "register for a group",
    "POST /info-sessions/{session_id:int}/register": "register for an info session",
    "POST /api/info-sessions/{session_id:int}/registration": "register for an info session",
}

OK = {403, 404}
STATUS_OVERRIDES = {
    # A member import names its countries in the file: an operator's row for another country
    # is refused as a row error (400, nothing imported); a member with no role gets 403.
    "POST /members/import": {400, 403},
    "POST /api/members/import": {400, 403},
    # Every demo group is scheduled: answering slots is closed for everyone (409).
    "POST /groups/{group_id:int}/availability": {403, 404, 409},
    "PUT /api/groups/{group_id:int}/availability": {403, 404, 409},
    # The accepted theme is closed to support for everyone (409); the submitted one answers 403.
    "POST /themes/{theme_id:int}/support": {403, 404, 409},
    "POST /api/themes/{theme_id:int}/support": {403, 404, 409},
    # The published poll is closed to every ballot (409); the open one answers 403/404.
    "POST /api/polls/{poll_id:int}/proxy-ballot": {403, 404, 409},
    # Validated before the authorization check (400, nothing changes: the fingerprint proves
    # it); the JSON twins of these forms are swept with valid bodies and answer 403/404.
    "POST /themes/{theme_id:int}/merge": {400, 403, 404},
    "POST /api/themes/{theme_id:int}/merge": {400, 403, 404},
    "POST /editions/{slug:str}/extensions": {400, 403, 404},
    "POST /editions/{slug:str}/groups": {400, 403, 404},
    "POST /projects": {400, 403, 404},
    "POST /projects/{project_id:int}/sources": {400, 403, 404},
    "POST /polls/{poll_id:int}/proxy/vote": {400, 403, 404},
}


def swept(app: Any, *, leave_out: dict[str, str]) -> list[Endpoint]:
    skip = {**PUBLIC, **SELF, **leave_out}
    return [e for e in endpoints(app) if e.key not in skip]


async def member_id(number: str) -> int:
    return (await Member.select(Member.id).where(Member.member_number == number).first())["id"]


async def first_id(query: Any) -> int:
    row = await query.first()
    assert row is not None, str(query)
    return row["id"]


async def targets(country: str, owner: int) -> dict[str, list[Any]]:
    """For each path parameter, objects of ``country`` (and of its member ``owner``)."""
    open_poll = await first_id(
        Poll.select(Poll.id).where((Poll.country == country) & (Poll.state == "open"))
    )
    published = await first_id(
        Poll.select(Poll.id).where((Poll.country == country) & (Poll.state == "published"))
    )
    proxy = await Proxy.select(Proxy.grantor).where(Proxy.poll == open_poll).first()
    # A group of the country with candidate slots and meetings (ids differ per backend).
    slot_row = await (
        MeetingSlot.select(MeetingSlot.id, MeetingSlot.working_group)
        .where(MeetingSlot.working_group.country == country)
        .order_by(MeetingSlot.id)
        .first()
    )
    slot, group = slot_row["id"], slot_row["working_group"]
    meeting = await first_id(Meeting.select(Meeting.id).where(Meeting.working_group == group))
    session = await first_id(
        InfoSession.select(InfoSession.id).where(InfoSession.country == country)
    )
    adopted = await Decision.select(Decision.recommendation).where(
        (Decision.outcome == ADOPTED) & (Decision.recommendation.country == country)
    )
    recs = [{"id": adopted[0]["recommendation"]}]
    project = await first_id(Project.select(Project.id).where(Project.scope == country))
    milestone = await first_id(Milestone.select(Milestone.id).where(Milestone.project == project))
    bundle = await first_id(Bundle.select(Bundle.id).where(Bundle.country == country))
    themes = await Theme.select(Theme.id, Theme.status).where(Theme.scope.like(f"%{country}%"))
    by_status: dict[str, int] = {}
    for row in themes:
        by_status.setdefault(row["status"], row["id"])

    # The owner's own private things: a draft proposal, a draft recommendation in a group they
    # facilitate, a notification, a failed outbox message of the country.
    edition = (await Theme.select(Theme.edition).where(Theme.id == by_status["submitted"]).first())[
        "edition"
    ]
    draft = await Theme.insert(
        Theme(
            edition=edition,
            origin="member",
            status="draft",
            scope=country,
            original_language="en",
            proposer=owner,
        )
    )
    rec_group = (
        await Recommendation.select(
            Recommendation.working_group, Recommendation.edition, Recommendation.theme
        )
        .where(Recommendation.id == recs[0]["id"])
        .first()
    )
    draft_rec = await Recommendation.insert(
        Recommendation(
            working_group=rec_group["working_group"],
            edition=rec_group["edition"],
            theme=rec_group["theme"],
            country=country,
            language="en",
            title="A draft",
            status="draft",
            author=owner,
        )
    )
    await GroupFacilitator.insert(
        GroupFacilitator(working_group=rec_group["working_group"], member=owner)
    )
    event = await NotificationEvent.insert(
        NotificationEvent(
            key=f"sweep-{country}", event_type="theme_accepted", country=country, payload="{}"
        )
    )
    notification = await Notification.insert(
        Notification(member=owner, event=event[0]["id"], idempotency_key=f"sweep-{country}")
    )
    message = await OutboxMessage.insert(
        OutboxMessage(
            event=event[0]["id"],
            idempotency_key=f"sweep-out-{country}",
            event_type="theme_accepted",
            country=country,
            channel="email",
            member=owner,
            state="failed",
        )
    )
    await GroupRegistration.insert(
        GroupRegistration(
            working_group=group,
            edition=edition,
            member=owner,
            status="confirmed",
            pledged_at=clock.now() - timedelta(days=1),
        )
    )
    # A member import of the country, previewed and waiting (only its operators decide it).
    register_import = await RegisterImport.insert(
        RegisterImport(
            country=country, summary=json.dumps({"countries": [country], "allowed": [country]})
        )
    ).returning(RegisterImport.id)
    owner_session = await auth.start_session(owner, 14)
    web_session = await WebSession.select(WebSession.id).where(
        WebSession.token_hash == auth.token_hash(owner_session)
    )
    return {
        "web_session_id": [web_session[0]["id"]],
        "slug": [open_slug()],
        "country": [country],
        "language": ["fr"],
        "theme_id": [draft[0]["id"], by_status["submitted"], by_status[ACCEPTED]],
        "poll_id": [open_poll, published],
        "grantor_id": [proxy["grantor"] if proxy else owner],
        "member_id": [owner],
        "group_id": [group],
        "slot_id": [slot],
        "meeting_id": [meeting],
        "session_id": [session],
        "rec_id": [draft_rec[0]["id"], recs[0]["id"]],
        "project_id": [project],
        "milestone_id": [milestone],
        "bundle_id": [bundle],
        "notification_id": [notification[0]["id"]],
        "message_id": [message[0]["id"]],
        "import_id": [register_import[0]["id"]],
        # A plugin the country enables, and one it does not (an operator's switch).
        "name": ["extend_theme", "notify_email"],
    }


def urls(endpoint: Endpoint, values: dict[str, list[Any]]) -> list[str]:
    """Every combination of the endpoint's parameters over ``values``."""
    combos: list[dict[str, Any]] = [{}]
    for name, _kind in endpoint.params:
        options = values.get(name)
        assert options, f"{endpoint.key}: no object to try for {{{name}}}; add one to targets()"
        combos = [{**c, name: v} for c in combos for v in options]
    query = QUERIES.get(endpoint.key, "").format(country=values["country"][0])
    return [fill(endpoint, c) + query for c in combos]


async def attempt(
    client: AsyncTestClient[Any], endpoint: Endpoint, url: str, overrides: dict[str, Any]
) -> Any:
    csrf = await csrf_token(client)
    if endpoint.method not in UNSAFE:
        return await client.request(endpoint.method, url)
    headers = {"x-csrftoken": csrf}
    if endpoint.key == "POST /api/members/import":
        csv = "member_number,email,name,country,language,shareholder\n"
        csv += f"S-1,sweep@example.org,Sweep,{overrides['country']},en,yes\n"
        return await client.post(url, content=csv, headers={**headers, "content-type": "text/csv"})
    if endpoint.key == "POST /members/import":
        csv = "member_number,email,name,country,language,shareholder\n"
        csv += f"S-1,sweep@example.org,Sweep,{overrides['country']},en,yes\n"
        return await client.post(
            url, files={"file": ("m.csv", csv.encode(), "text/csv")}, data={"_csrf_token": csrf}
        )
    if endpoint.is_json:
        body = json_body(endpoint, overrides)
        return await client.request(endpoint.method, url, json=body, headers=headers)
    # Booleans as a form says them; a number as itself (1 == True: no dict lookup for it).
    as_text = {True: "yes", False: "no"}
    form = {
        k: [str(x) for x in v]
        if isinstance(v, list)
        else as_text[v]
        if isinstance(v, bool)
        else str(v)
        for k, v in overrides.items()
        if v != [] and not isinstance(v, dict)
    }
    return await client.request(endpoint.method, url, data={**form, "_csrf_token": csrf})


async def sweep(
    client: AsyncTestClient[Any],
    selected: list[Endpoint],
    values: dict[str, list[Any]],
    overrides: dict[str, Any],
) -> list[str]:
    """Try each endpoint; the problems found (a status not 403/404, or any change)."""
    problems = []
    before = await fingerprint()
    for endpoint in selected:
        for url in urls(endpoint, values):
            response = await attempt(client, endpoint, url, overrides)
            allowed = STATUS_OVERRIDES.get(endpoint.key, OK)
            if response.status_code not in allowed:
                problems.append(
                    f"{endpoint.method} {url}: {response.status_code} {response.text[:160]!r}"
                )
    diff = changed(before, await fingerprint())
    if diff:
        problems.append(f"the sweep changed {diff}")
    return problems


def body_overrides(country: str, values: dict[str, list[Any]], victim: str) -> dict[str, Any]:
    """Field values that pass validation, aimed at ``country``'s objects."""
    return {
        "country": country,
        "countries": [country],
        "holder": victim,
        "member": victim,
        # A proxy ballot names its grantor by id: the grantor of the victim's country's proxy.
        "grantor": values["grantor_id"][0],
        # A poll's tellers (JSON: member numbers; the form: member ids) and the count.
        "tellers": [victim],
        "teller": [values["member_id"][0]],
        "needed": 1,
        "shares": ["a share of another poll"],
        "share": ["a share of another poll"],
        "present": [],
        "answers": {},
        "choice": [1],
        "into": values["theme_id"][0],
        "theme": values["theme_id"][2],
        "theme_id": values["theme_id"][2],
        "recommendation": values["rec_id"][1],
        "recommendation_id": values["rec_id"][1],
        "recommendation_ids": [values["rec_id"][1]],
        "reason": "A reason",
        "title": "A title",
        "description": "A description",
        "text": "A text",
        "rationale": "A rationale",
        "body": "A comment",
        "language": "en",
        "slug": "2099-2100",
        "method": "approval",
        "seats": 1,
        "capacity": 10,
        "meeting_count": 5,
        "day": "2030-01-07",
        "start": "18:00",
        "duration": 120,
        "duration_minutes": 120,
        "mode": "online",
        "place": "https://meet.example.org/x",
        "opens_at": "2030-01-01T10:00:00+00:00",
        "closes_at": "2030-01-08T10:00:00+00:00",
        "phases": [],
        "outcome": "adopted",
        "decided_on": "2021-06-01",
        "started_on": "2021-09-01",
        "status": "planned",
        "pledge": True,
        "waiting_list": True,
    }


@pytest.fixture
async def demo(database: Settings) -> Settings:
    settings = await demo_settings(database)
    await seed_demo(settings)
    # An open poll per country, as an operator opens it: the AGM vote phase moved to today.
    for country in ("BE", "FR"):
        await open_agm_poll(settings, country)
    return settings


async def test_every_route_is_swept_or_has_a_reason(demo: Settings) -> None:
    app = create_app(demo, engine=db.engine())
    keys = {e.key for e in endpoints(app)}
    for listed in (PUBLIC, SELF, SHARED, MEMBER_ACTIONS, QUERIES):
        stale = sorted(set(listed) - keys)
        assert not stale, f"listed routes that no longer exist: {stale}"
    assert not set(PUBLIC) & set(SELF)
    for endpoint in swept(app, leave_out={}):
        for name, _kind in endpoint.params:
            assert name == "action" or name in await_names(), endpoint.key


def await_names() -> set[str]:
    return {
        "slug", "country", "language", "theme_id", "poll_id", "grantor_id", "member_id",
        "group_id", "slot_id", "meeting_id", "session_id", "rec_id", "project_id",
        "milestone_id", "bundle_id", "notification_id", "message_id", "web_session_id",
        "import_id",
        "name",
    }  # fmt: skip


async def sweep_as(
    settings: Settings, attacker: str, victim: str, country: str, leave_out: dict[str, str]
) -> list[str]:
    """Sign in as member ``attacker`` and try every swept route on ``country``'s objects and
    member ``victim``'s own things."""
    values = await targets(country, await member_id(victim))
    app = create_app(settings, engine=db.engine())
    selected = swept(app, leave_out=leave_out)
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
        await sign_in(client, await member_id(attacker))
        return await sweep(client, selected, values, body_overrides(country, values, victim))


async def test_an_operator_of_france_cannot_touch_belgian_things(demo: Settings) -> None:
    # D-0002 is an operator of FR; D-0101 a Belgian shareholder with a proxy and a group.
    problems = await sweep_as(demo, "D-0002", "D-0101", "BE", leave_out=SHARED)
    assert not problems, "\n".join(problems)


async def test_an_operator_of_belgium_cannot_touch_french_things(demo: Settings) -> None:
    # D-0001 is an operator of BE; D-0203 a French shareholder who gave a proxy.
    problems = await sweep_as(demo, "D-0001", "D-0203", "FR", leave_out=SHARED)
    assert not problems, "\n".join(problems)


async def test_a_teller_of_france_cannot_touch_belgian_things(demo: Settings) -> None:
    # D-0007 is a teller (and shareholder) of FR: it holds a share of the French polls' keys,
    # and may neither collect a share of, nor count, nor name the tellers of a Belgian poll.
    problems = await sweep_as(demo, "D-0007", "D-0101", "BE", leave_out={})
    assert not problems, "\n".join(problems)


async def test_a_member_cannot_reach_another_members_things_or_operator_actions(
    demo: Settings,
) -> None:
    # D-0106 is a Belgian shareholder with no role; D-0101 another Belgian shareholder.
    problems = await sweep_as(demo, "D-0106", "D-0101", "BE", leave_out=MEMBER_ACTIONS)
    assert not problems, "\n".join(problems)
