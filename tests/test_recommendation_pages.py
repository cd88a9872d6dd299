"""The recommendation, bundle, project and record pages and their JSON twins: bad input gets
a clear message (the form again, or a problem body), with a 4xx, and changes nothing; no page
answers 500."""

from __future__ import annotations

import re
from typing import Any

import pytest

from core.members.services import member_by_email
from core.recommendations import deciding
from core.recommendations import services as recs
from core.recommendations.tables import Decision, Recommendation
from plugins.demo import seed_demo
from tests.conftest import csrf_token, sign_in
from tests.recommendations_support import build_cycle, counts

GOOD = {
    "title": "A mediation service",
    "text": "The cooperative sets up a mediation service for members in conflict.",
    "rationale": "Conflicts with clients are the first reason members leave.",
}


async def post(client: Any, path: str, data: dict[str, Any] | None = None) -> Any:
    return await client.post(
        path, data={**(data or {}), "_csrf_token": await csrf_token(client)}, follow_redirects=False
    )


async def api(client: Any, method: str, path: str, body: Any = None) -> Any:
    headers = {"x-csrftoken": await csrf_token(client)}
    return await client.request(method, path, json=body, headers=headers)


def problem_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["detail"]
    return body


def error_of(response: Any, status: int) -> str:
    """The message of a form shown again (HTML, the refusal's status)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    found = re.search(r'<p class="error" role="alert"[^>]*>(.*?)</p>', response.text, re.S)
    assert found, response.text
    return found.group(1)


async def test_a_facilitator_drafts_and_submits_through_the_pages(client):
    cycle = await build_cycle(client.app.state.settings)
    await sign_in(client, cycle.facilitator_be.id)
    group_page = (await client.get(f"/groups/{cycle.group_be}")).text
    assert f'href="/groups/{cycle.group_be}/recommendations"' in group_page  # the way in
    form = await client.get(f"/groups/{cycle.group_be}/recommendations")
    assert (
        form.status_code == 200
        and f'action="/groups/{cycle.group_be}/recommendations"' in form.text
    )
    made = await post(client, f"/groups/{cycle.group_be}/recommendations", GOOD)
    assert made.status_code == 303
    url = made.headers["location"]
    rec_id = int(url.rsplit("/", 1)[1])
    shown = await client.get(url)
    assert shown.status_code == 200 and "A mediation service" in shown.text
    assert f'action="/recommendations/{rec_id}/submit"' in shown.text
    assert (await post(client, f"{url}/submit")).status_code == 303
    assert (await recs.get_recommendation(rec_id, None)).status == "submitted"


async def test_an_empty_title_shows_the_form_again_and_writes_nothing(client):
    cycle = await build_cycle(client.app.state.settings)
    await sign_in(client, cycle.facilitator_be.id)
    before = await counts()
    refused = await post(client, f"/groups/{cycle.group_be}/recommendations", {**GOOD, "title": ""})
    assert "title of at least 3 characters" in error_of(refused, 400)
    assert GOOD["text"] in refused.text  # what was typed is kept
    problem = problem_of(
        await api(
            client, "POST", f"/api/groups/{cycle.group_be}/recommendations", {**GOOD, "title": " "}
        ),
        400,
    )
    assert "title" in problem["detail"]
    malformed = await api(client, "POST", f"/api/groups/{cycle.group_be}/recommendations", {"x": 1})
    problem_of(malformed, 400)
    assert await counts() == before


async def test_submitting_outside_the_phase_is_refused_with_its_dates(client):
    cycle = await build_cycle(client.app.state.settings, phase="working_groups")
    rec_id = await recs.draft(
        cycle.rules, cycle.facilitator_be, cycle.group_be, recs.RecommendationIn(**GOOD)
    )
    await sign_in(client, cycle.facilitator_be.id)
    page = await client.get(f"/recommendations/{rec_id}")
    assert f'action="/recommendations/{rec_id}/submit"' not in page.text  # not offered
    before = await counts()
    refused = await post(client, f"/recommendations/{rec_id}/submit")
    assert "opens on" in error_of(refused, 403)
    problem = problem_of(
        await api(client, "POST", f"/api/recommendations/{rec_id}/submission"), 403
    )
    assert "opens on" in problem["detail"]
    assert await counts() == before


async def test_a_stale_decision_form_is_refused_and_the_history_shown(client):
    cycle = await build_cycle(client.app.state.settings)
    rec_id = await cycle.bundled("BE")
    await sign_in(client, cycle.board.id)
    page = await client.get(f"/recommendations/{rec_id}")
    assert 'name="supersedes" value=""' in page.text
    form = {"outcome": "adopted", "rationale": "Adopted as written.", "supersedes": ""}
    assert (await post(client, f"/recommendations/{rec_id}/decisions", form)).status_code == 303
    before = await counts()
    again = await post(
        client, f"/recommendations/{rec_id}/decisions", {**form, "outcome": "rejected"}
    )
    assert "changed since you opened the form" in error_of(again, 409)
    assert again.text.count('<li class="current"') == 1  # the history, with the one entry
    (entry,) = await recs.decision_history(rec_id)
    stale = await api(
        client,
        "POST",
        f"/api/recommendations/{rec_id}/decisions",
        {"outcome": "rejected", "rationale": "No.", "supersedes": None},
    )
    assert "changed since" in problem_of(stale, 409)["detail"]
    assert await counts() == before
    # Naming the latest entry records a new one; the first stays.
    newer = await post(
        client,
        f"/recommendations/{rec_id}/decisions",
        {"outcome": "deferred", "rationale": "Wait for the budget.", "supersedes": str(entry.id)},
    )
    assert newer.status_code == 303
    history = (await api(client, "GET", f"/api/recommendations/{rec_id}/decisions")).json()
    assert [(d["outcome"], d["current"]) for d in history] == [
        ("adopted", False),
        ("deferred", True),
    ]


async def test_a_decision_by_a_non_board_member_is_refused(client):
    cycle = await build_cycle(client.app.state.settings)
    rec_id = await cycle.bundled("BE")
    form = {"outcome": "adopted", "rationale": "Yes.", "supersedes": ""}
    for someone in (cycle.op_be, cycle.facilitator_be):
        await sign_in(client, someone.id)
        before = await counts()
        page = await client.get(f"/recommendations/{rec_id}")
        assert 'id="decision-form"' not in page.text
        refused = await post(client, f"/recommendations/{rec_id}/decisions", form)
        assert "Only board members" in error_of(refused, 403)
        problem_of(
            await api(
                client,
                "POST",
                f"/api/recommendations/{rec_id}/decisions",
                {**form, "supersedes": None},
            ),
            403,
        )
        assert await counts() == before
    assert await Decision.count() == 0


@pytest.mark.parametrize(
    ("field", "value", "message", "status"),
    [
        ("outcome", "", "Choose the decision", 400),
        ("rationale", "", "rationale", 400),
        ("decided_on", "next tuesday", "as a date", 400),
        ("decided_on", "2999-01-01", "future", 400),
        ("supersedes", "abc", "whole number", 400),
        ("supersedes", "12345", "Reload the page", 409),
    ],
)
async def test_bad_decision_forms_are_shown_again(client, field, value, message, status):
    cycle = await build_cycle(client.app.state.settings)
    rec_id = await cycle.bundled("BE")
    await sign_in(client, cycle.board.id)
    form = {"outcome": "adopted", "rationale": "Yes.", "supersedes": "", field: value}
    before = await counts()
    refused = await post(client, f"/recommendations/{rec_id}/decisions", form)
    assert message in error_of(refused, status)
    assert await counts() == before


@pytest.mark.parametrize("rec_id", ["99999", "0", "99999999999999999999"])
async def test_an_unknown_recommendation_is_a_clear_404(client, rec_id):
    cycle = await build_cycle(client.app.state.settings)
    await sign_in(client, cycle.board.id)
    before = await counts()
    assert (await client.get(f"/recommendations/{rec_id}")).status_code == 404
    refused = await post(client, f"/recommendations/{rec_id}/decisions", {"outcome": "adopted"})
    assert refused.status_code == 404
    problem_of(await api(client, "GET", f"/api/recommendations/{rec_id}"), 404)
    problem_of(
        await api(
            client,
            "POST",
            f"/api/recommendations/{rec_id}/decisions",
            {"outcome": "adopted", "rationale": "Yes."},
        ),
        404,
    )
    assert await counts() == before


async def test_a_be_operator_cannot_bundle_france_through_the_pages(client):
    cycle = await build_cycle(client.app.state.settings)
    await cycle.submitted("FR")
    await sign_in(client, cycle.op_be.id)
    before = await counts()
    refused = await post(client, "/editions/2020-2021/bundles/FR")
    assert refused.status_code == 403
    problem_of(await api(client, "POST", "/api/editions/2020-2021/bundles/FR"), 403)
    assert (await client.get("/editions/2020-2021/bundles/FR")).status_code == 403
    assert (await client.get("/editions/2020-2021/bundles/XX")).status_code == 404
    assert await counts() == before
    # Nothing to bundle in Belgium: the page again, with the reason.
    nothing = await post(client, "/editions/2020-2021/bundles/BE")
    assert "waits for a bundle" in error_of(nothing, 409)
    assert await counts() == before


async def test_a_project_form_refused_is_shown_again(client):
    cycle = await build_cycle(client.app.state.settings)
    rec_id = await cycle.bundled("BE")
    await deciding.record_decision(
        cycle.rules, cycle.board, rec_id, recs.DecisionIn("adopted", "Yes.")
    )
    await sign_in(client, cycle.board.id)
    form = await client.get(f"/projects/new?recommendation={rec_id}")
    assert f'value="{rec_id}" id="source-{rec_id}" checked' in form.text
    before = await counts()
    refused = await post(client, "/projects", {"title": "", "recommendation": str(rec_id)})
    assert "title" in error_of(refused, 400)
    refused = await post(client, "/projects", {"title": "Mediation"})
    assert "Choose the adopted" in error_of(refused, 400)
    assert await counts() == before
    made = await post(client, "/projects", {"title": "Mediation", "recommendation": str(rec_id)})
    assert made.status_code == 303
    page = await client.get(made.headers["location"])
    assert page.status_code == 200
    lineage = re.search(r'<section aria-labelledby="lineage-heading".*?</section>', page.text, re.S)
    assert f'href="/themes/{cycle.theme_id}"' in lineage.group(0)
    assert f'href="/groups/{cycle.group_be}"' in lineage.group(0)
    assert f'href="/recommendations/{rec_id}"' in lineage.group(0)


async def test_no_page_answers_500(client):
    """Every page and JSON route of the feature on the demo: the public ones as a visitor, the
    ones that differ by role as a facilitator, an operator and a board member too."""
    settings = client.app.state.settings
    await seed_demo(settings)
    record = (await client.get("/api/record")).json()
    slugs = sorted({r["edition"] for r in record["rows"]})
    recommendation_ids = [r["id"] for r in await Recommendation.select(Recommendation.id)]
    project_ids = [p["id"] for p in (await client.get("/api/projects")).json()]
    groups = [
        g["id"] for slug in slugs for g in (await client.get(f"/api/editions/{slug}/groups")).json()
    ]
    public = ["/record", "/record.csv", "/api/record", "/api/projects", "/projects/999999"]
    for slug in slugs:
        public += [f"/record/{slug}", f"/record/{slug}/recommendations.csv", f"/api/record/{slug}"]
        public += [f"/api/editions/{slug}/recommendations"]
    public += [f"/projects/{p}" for p in project_ids] + [f"/api/projects/{p}" for p in project_ids]
    public += [f"/api/recommendations/{r}/decisions" for r in recommendation_ids]
    by_role = [
        "/projects",
        "/projects/new",
        "/bundles",
        "/api/bundles",
        "/api/board/recommendations",
    ]
    for slug in slugs:
        by_role += [f"/editions/{slug}", f"/editions/{slug}/recommendations"]
        by_role += [f"/editions/{slug}/bundles/{c}" for c in ("BE", "FR")]
        by_role += [f"/api/editions/{slug}/bundles/{c}/pending" for c in ("BE", "FR")]
    by_role += [f"/groups/{g}/recommendations" for g in groups]
    by_role += [f"/api/groups/{g}/recommendations" for g in groups]
    by_role += [f"/recommendations/{r}" for r in recommendation_ids]
    by_role += [f"/api/recommendations/{r}" for r in recommendation_ids]
    people = [None, "facilitator@demo.smart.coop", "operator.fr@demo.smart.coop"]
    people += ["board@demo.smart.coop"]
    failures = []
    for email in people:
        visits = list(by_role) if email else [*public, *by_role]
        if email is not None:
            member = await member_by_email(email)
            await sign_in(client, member.id)
            if email.startswith(("board", "operator")):
                bundle_ids = [b["id"] for b in (await client.get("/api/bundles")).json()]
                visits += [f"/bundles/{b}" for b in bundle_ids]
                visits += [f"/bundles/{b}/bundle.csv" for b in bundle_ids]
                visits += [f"/bundles/{b}/bundle.json" for b in bundle_ids]
        for path in visits:
            response = await client.get(path)
            if response.status_code >= 500:
                failures.append((email, path, response.status_code))
        # Forms sent empty: refused with a 4xx, never a 500.
        for path in [
            "/projects",
            f"/groups/{groups[0]}/recommendations",
            f"/recommendations/{recommendation_ids[0]}/decisions",
            f"/recommendations/{recommendation_ids[0]}/comments",
            f"/recommendations/{recommendation_ids[0]}/endorse",
            f"/recommendations/{recommendation_ids[0]}/nonsense",
            f"/projects/{project_ids[0]}/milestones",
            f"/projects/{project_ids[0]}/status",
            f"/projects/{project_ids[0]}/sources",
            f"/projects/{project_ids[0]}/milestones/999999/done",
        ]:
            response = await post(client, path)
            if not (300 <= response.status_code < 500):
                failures.append((email, "POST " + path, response.status_code))
    assert failures == []
