"""Projects: only from adopted recommendations (one or several), with status, milestones and
progress, and a lineage back to the theme; an operator starts one only from their country."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core import clock
from core.errors import Conflict, Forbidden, InvalidInput
from core.notifications.tables import NotificationEvent, OutboxMessage
from core.recommendations import deciding, outcomes, projects
from core.recommendations import services as recs
from tests.recommendations_support import build_cycle, counts

pytestmark = pytest.mark.usefixtures("database")


async def adopted(cycle, country: str, title: str, outcome: str = "adopted") -> int:
    rec_id = await cycle.bundled(country, title)
    await deciding.record_decision(
        cycle.rules, cycle.board, rec_id, recs.DecisionIn(outcome, "Yes.")
    )
    return rec_id


async def test_a_project_from_two_adopted_recommendations_shows_its_lineage(database):
    cycle = await build_cycle(database)
    be = await adopted(cycle, "BE", "An ethics committee")
    fr = await adopted(cycle, "FR", "A charter of values", "adopted_with_changes")
    project_id = await projects.create_project(
        cycle.rules,
        cycle.board,
        projects.ProjectIn(title="Ethics committee", recommendation_ids=[be, fr]),
    )
    found = await projects.project_detail(project_id, "en")
    assert found.project.countries == ["BE", "FR"]
    assert found.project.recommendation_ids == sorted([be, fr])
    assert (found.project.status, found.project.progress) == ("planned", None)
    steps = {step.group_country: step for step in found.lineage}
    for country, rec_id in (("BE", be), ("FR", fr)):
        step = steps[country]
        assert (step.theme_id, step.theme_title, step.edition) == (
            cycle.theme_id,
            "Ethics",
            "2020-2021",
        )
        # A board theme of an edition without a published vote: no AGM vote is recorded.
        assert step.route.kind == "board"
        assert step.group_id == cycle.group(country)
        assert step.recommendation.id == rec_id
        assert step.decision.outcome in outcomes.ADOPTING and step.decision_entries == 1
    assert (await projects.projects_of([be]))[be][0].id == project_id


async def test_only_an_adopted_recommendation_leads_to_a_project(database):
    cycle = await build_cycle(database)
    rejected = await cycle.bundled("BE", "Rejected")
    await deciding.record_decision(
        cycle.rules, cycle.board, rejected, recs.DecisionIn("rejected", "No.")
    )
    waiting = await cycle.bundled("BE", "Waiting")
    before = await counts()
    for rec_id, shown in ((rejected, "rejected"), (waiting, "awaiting a decision")):
        with pytest.raises(Conflict, match=shown):
            await projects.create_project(
                cycle.rules,
                cycle.board,
                projects.ProjectIn(title="Something", recommendation_ids=[rec_id]),
            )
    with pytest.raises(InvalidInput, match="Choose the adopted"):
        await projects.create_project(
            cycle.rules, cycle.board, projects.ProjectIn(title="Nothing", recommendation_ids=[])
        )
    assert await counts() == before


async def test_a_decision_changed_to_rejected_stops_new_projects(database):
    cycle = await build_cycle(database)
    rec_id = await cycle.bundled("BE")
    first = await deciding.record_decision(
        cycle.rules, cycle.board, rec_id, recs.DecisionIn("adopted", "Yes.")
    )
    await deciding.record_decision(
        cycle.rules,
        cycle.board,
        rec_id,
        recs.DecisionIn("rejected", "On reflection, no.", supersedes=first.id),
    )
    with pytest.raises(Conflict, match="rejected"):
        await projects.create_project(
            cycle.rules,
            cycle.board,
            projects.ProjectIn(title="Too late", recommendation_ids=[rec_id]),
        )


async def test_an_operator_starts_projects_of_their_country_only(database):
    cycle = await build_cycle(database)
    be = await adopted(cycle, "BE", "Belgian")
    fr = await adopted(cycle, "FR", "French")
    before = await counts()
    for ids in ([fr], [be, fr]):
        with pytest.raises(Forbidden, match="operators of"):
            await projects.create_project(
                cycle.rules, cycle.op_be, projects.ProjectIn(title="Mine", recommendation_ids=ids)
            )
    with pytest.raises(Forbidden):
        await projects.create_project(
            cycle.rules,
            cycle.facilitator_be,
            projects.ProjectIn(title="Mine", recommendation_ids=[be]),
        )
    assert await counts() == before
    project_id = await projects.create_project(
        cycle.rules, cycle.op_be, projects.ProjectIn(title="Mine", recommendation_ids=[be])
    )
    with pytest.raises(Forbidden):  # the FR operator cannot widen a Belgian project
        await projects.add_source(cycle.rules, cycle.op_fr, project_id, fr)
    with pytest.raises(Forbidden):  # nor can the BE operator bring in a French recommendation
        await projects.add_source(cycle.rules, cycle.op_be, project_id, fr)
    summary = await projects.add_source(cycle.rules, cycle.board, project_id, fr)
    assert summary.countries == ["BE", "FR"] and summary.recommendation_ids == sorted([be, fr])
    with pytest.raises(Forbidden):  # now a project of both: the BE operator alone cannot edit it
        await projects.set_status(cycle.op_be, project_id, "in_progress")
    with pytest.raises(Conflict, match="already"):
        await projects.add_source(cycle.rules, cycle.board, project_id, fr)


async def test_status_milestones_and_progress(database):
    cycle = await build_cycle(database)
    rec_id = await adopted(cycle, "BE", "Mediation")
    project_id = await projects.create_project(
        cycle.rules,
        cycle.op_be,
        projects.ProjectIn(title="Mediation service", recommendation_ids=[rec_id]),
    )
    soon = clock.today() + timedelta(days=30)
    one = await projects.add_milestone(
        cycle.op_be, project_id, projects.MilestoneIn("Mediators hired", soon)
    )
    await projects.add_milestone(cycle.op_be, project_id, projects.MilestoneIn("First mediation"))
    await projects.set_status(cycle.op_be, project_id, "in_progress")
    done = await projects.complete_milestone(cycle.op_be, one.id)
    assert done.done_on == clock.today()
    summary = await projects.get_project(project_id)
    assert (summary.status, summary.milestones, summary.milestones_done, summary.progress) == (
        "in_progress",
        2,
        1,
        0.5,
    )
    before = await counts()
    with pytest.raises(Conflict, match="done already"):
        await projects.complete_milestone(cycle.op_be, one.id)
    with pytest.raises(InvalidInput, match="status"):
        await projects.set_status(cycle.op_be, project_id, "finished")
    with pytest.raises(InvalidInput, match="title"):
        await projects.add_milestone(cycle.op_be, project_id, projects.MilestoneIn(""))
    with pytest.raises(Forbidden):
        await projects.add_milestone(cycle.op_fr, project_id, projects.MilestoneIn("Not mine"))
    assert await counts() == before


async def test_the_groups_hear_about_their_project(database):
    cycle = await build_cycle(database)
    be = await adopted(cycle, "BE", "Belgian")
    fr = await adopted(cycle, "FR", "French")
    project_id = await projects.create_project(
        cycle.rules, cycle.board, projects.ProjectIn(title="Both", recommendation_ids=[be, fr])
    )
    events = await NotificationEvent.select().where(
        NotificationEvent.event_type == "project_created"
    )
    assert sorted(e["key"] for e in events) == [
        f"project_created:{project_id}:BE",
        f"project_created:{project_id}:FR",
    ]
    for event in events:
        recipients = {
            r["member"]
            for r in await OutboxMessage.select(OutboxMessage.member).where(
                (OutboxMessage.event == event["id"]) & OutboxMessage.member.is_not_null()
            )
        }
        country = event["country"]
        expected = {m.id for m in cycle.participants[country]} | {cycle.facilitator(country).id}
        assert recipients == expected


async def test_the_notifications_read_well_in_every_language(database):
    """Each new event is stored, read back from the outbox and rendered in nl, fr and en with
    a link to its page."""
    from core.notifications.catalog import decode_event, render

    cycle = await build_cycle(database)
    rec_id = await adopted(cycle, "BE", "Mediation")
    project_id = await projects.create_project(
        cycle.rules, cycle.board, projects.ProjectIn(title="Mediation", recommendation_ids=[rec_id])
    )
    paths = {
        "recommendation_submitted": f"/recommendations/{rec_id}",
        "decision_recorded": f"/recommendations/{rec_id}",
        "project_created": f"/projects/{project_id}",
    }
    rows = await NotificationEvent.select().where(NotificationEvent.event_type.is_in(list(paths)))
    assert {r["event_type"] for r in rows} == set(paths)
    for row in rows:
        event = decode_event(row["payload"])
        for language in ("nl", "fr", "en"):
            rendered = render(event, language)
            assert "Mediation" in rendered.subject and rendered.body
            assert rendered.path == paths[row["event_type"]]
