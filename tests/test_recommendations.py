"""Recommendations drafted with the group: who drafts, comments, endorses and submits, when,
and what a refusal leaves behind (nothing)."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest

from core import clock
from core.audit.tables import AuditEntry
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.notifications.tables import NotificationEvent, OutboxMessage
from core.recommendations import deciding
from core.recommendations import services as recs
from core.recommendations.tables import Endorsement, Recommendation, RecommendationComment
from tests.recommendations_support import build_cycle, counts

pytestmark = pytest.mark.usefixtures("database")

TEXT = recs.RecommendationIn(
    title="An ethics committee",
    text="The cooperative sets up an ethics committee that members can turn to.",
    rationale="Members asked who watches over the values of the cooperative.",
)


async def test_the_group_drafts_comments_endorses_and_the_facilitator_submits(database):
    cycle = await build_cycle(database)
    alice, bob, _carl = cycle.participants["BE"]
    rec_id = await recs.draft(cycle.rules, cycle.facilitator_be, cycle.group_be, TEXT)
    draft = await recs.get_recommendation(rec_id, alice)
    assert (draft.status, draft.country, draft.theme_id, draft.language) == (
        "draft",
        "BE",
        cycle.theme_id,
        "fr",  # the group's language by default
    )
    assert draft.author_name == "Fien Fac"

    await recs.comment(cycle.rules, alice, rec_id, "Who appoints its members?")
    await recs.comment(cycle.rules, cycle.facilitator_be, rec_id, "The general meeting.")
    assert [c.name for c in await recs.comments_of(rec_id)] == ["Part BE0", "Fien Fac"]
    assert await recs.endorse(cycle.rules, alice, rec_id) == 1
    assert await recs.endorse(cycle.rules, bob, rec_id) == 2
    assert await recs.withdraw_endorsement(cycle.rules, bob, rec_id) == 1

    await recs.edit(
        cycle.rules,
        cycle.facilitator_be,
        rec_id,
        recs.RecommendationIn(title="An ethics committee", text=TEXT.text + " Elected by the AGM."),
    )
    await recs.submit(cycle.rules, cycle.facilitator_be, rec_id)
    submitted = await recs.get_recommendation(rec_id, None)  # anyone reads it now
    assert submitted.status == "submitted" and submitted.submitted_at is not None
    assert submitted.endorsements == 1 and submitted.text.endswith("Elected by the AGM.")
    assert submitted.decision is None and submitted.bundle_id is None


async def test_drafting_and_each_edit_are_in_the_audit_log_without_the_drafts_words(database):
    cycle = await build_cycle(database)
    rec_id = await recs.draft(cycle.rules, cycle.facilitator_be, cycle.group_be, TEXT)
    longer = recs.RecommendationIn(
        title=TEXT.title, text=TEXT.text + " Elected by the AGM.", rationale=TEXT.rationale
    )
    await recs.edit(cycle.rules, cycle.facilitator_be, rec_id, longer)
    await recs.edit(cycle.rules, cycle.facilitator_be, rec_id, longer)  # the same words again

    rows = await AuditEntry.select().where(AuditEntry.action.like("recommendation.%"))
    assert [(r["action"], r["role"], r["actor"], r["object_id"]) for r in rows] == [
        ("recommendation.draft", "facilitator", cycle.facilitator_be.id, str(rec_id)),
        ("recommendation.edit", "facilitator", cycle.facilitator_be.id, str(rec_id)),
    ]
    drafted, edited = (json.loads(r["details"]) for r in rows)
    assert edited["changed"] == ["text"]
    assert edited["text_sha256"] == hashlib.sha256(longer.text.encode()).hexdigest()
    assert drafted["text_sha256"] == hashlib.sha256(TEXT.text.encode()).hexdigest()
    assert drafted["title"] == edited["title"] == TEXT.title
    assert "Elected by the AGM" not in rows[1]["details"]  # a digest, not the draft itself


async def test_submission_notifies_the_group_in_the_outbox(database):
    cycle = await build_cycle(database)
    rec_id = await cycle.submitted("BE")
    event = await NotificationEvent.select().where(
        NotificationEvent.event_type == "recommendation_submitted"
    )
    assert [e["key"] for e in event] == [f"recommendation_submitted:{rec_id}"]
    recipients = {
        r["member"]
        for r in await OutboxMessage.select(OutboxMessage.member).where(
            (OutboxMessage.event == event[0]["id"]) & OutboxMessage.member.is_not_null()
        )
    }
    group = {m.id for m in cycle.participants["BE"]} | {cycle.facilitator_be.id}
    assert recipients == group  # the group's participants and facilitator, nobody else


async def test_drafts_are_the_groups_until_submitted(database):
    cycle = await build_cycle(database)
    rec_id = await recs.draft(cycle.rules, cycle.facilitator_be, cycle.group_be, TEXT)
    for reader in (cycle.participants["BE"][0], cycle.facilitator_be, cycle.op_be):
        assert (await recs.get_recommendation(rec_id, reader)).id == rec_id
    for stranger in (None, cycle.outsider, cycle.op_fr, cycle.board, cycle.participants["FR"][0]):
        with pytest.raises(NotFound):
            await recs.get_recommendation(rec_id, stranger)
    group = await recs.get_group(cycle.group_be)
    assert await recs.group_recommendations(group, cycle.outsider) == []


async def test_only_the_groups_facilitators_draft_and_submit(database):
    cycle = await build_cycle(database)
    before = await counts()
    for someone in (cycle.participants["BE"][0], cycle.op_be, cycle.facilitator_fr, cycle.board):
        with pytest.raises(Forbidden, match="facilitators"):
            await recs.draft(cycle.rules, someone, cycle.group_be, TEXT)
    assert await counts() == before
    rec_id = await recs.draft(cycle.rules, cycle.facilitator_be, cycle.group_be, TEXT)
    with pytest.raises(Forbidden):
        await recs.submit(cycle.rules, cycle.participants["BE"][0], rec_id)
    assert (await recs.get_recommendation(rec_id, cycle.op_be)).status == "draft"


async def test_only_the_group_comments_and_endorses(database):
    cycle = await build_cycle(database)
    rec_id = await recs.draft(cycle.rules, cycle.facilitator_be, cycle.group_be, TEXT)
    before = await counts()
    with pytest.raises(NotFound):  # a draft does not exist for those outside the group
        await recs.comment(cycle.rules, cycle.outsider, rec_id, "Hello")
    with pytest.raises(Forbidden):  # the operator sees the draft but is not in the group
        await recs.endorse(cycle.rules, cycle.op_be, rec_id)
    assert await counts() == before


async def test_one_endorsement_per_member(database):
    cycle = await build_cycle(database)
    alice = cycle.participants["BE"][0]
    rec_id = await recs.draft(cycle.rules, cycle.facilitator_be, cycle.group_be, TEXT)
    await recs.endorse(cycle.rules, alice, rec_id)
    with pytest.raises(Conflict, match="already endorse"):
        await recs.endorse(cycle.rules, alice, rec_id)
    assert await Endorsement.count() == 1
    with pytest.raises(Conflict, match="do not endorse"):
        await recs.withdraw_endorsement(cycle.rules, cycle.participants["BE"][1], rec_id)


@pytest.mark.parametrize(
    ("title", "text", "message"),
    [
        ("", TEXT.text, "title of at least 3"),
        ("   ", TEXT.text, "title of at least 3"),
        ("x" * 201, TEXT.text, "at most 200"),
        ("An ethics committee", "", "10 to 10000"),
        ("Bad\x00title", TEXT.text, "control characters"),
    ],
)
async def test_bad_drafts_are_refused_and_write_nothing(database, title, text, message):
    cycle = await build_cycle(database)
    before = await counts()
    with pytest.raises(InvalidInput, match=message):
        await recs.draft(
            cycle.rules, cycle.facilitator_be, cycle.group_be, recs.RecommendationIn(title, text)
        )
    assert await counts() == before


async def test_submitting_outside_the_recommendations_phase_is_refused(database):
    cycle = await build_cycle(database, phase="working_groups")
    rec_id = await recs.draft(cycle.rules, cycle.facilitator_be, cycle.group_be, TEXT)
    await recs.comment(cycle.rules, cycle.participants["BE"][0], rec_id, "Drafting is open.")
    before = await counts()
    with pytest.raises(Forbidden, match="Recommendations of 2020-2021 opens on"):
        await recs.submit(cycle.rules, cycle.facilitator_be, rec_id)
    assert await counts() == before
    assert (await recs.get_recommendation(rec_id, cycle.op_be)).status == "draft"


async def test_after_the_recommendations_phase_nothing_is_drafted_or_submitted(database):
    cycle = await build_cycle(database)
    rec_id = await recs.draft(cycle.rules, cycle.facilitator_be, cycle.group_be, TEXT)
    later = clock.today() + timedelta(days=25)  # the board review phase
    before = await counts()
    with pytest.raises(Forbidden, match="closed on"):
        await recs.submit(cycle.rules, cycle.facilitator_be, rec_id, today=later)
    with pytest.raises(Forbidden, match="closed on"):
        await recs.draft(cycle.rules, cycle.facilitator_be, cycle.group_be, TEXT, today=later)
    with pytest.raises(Forbidden, match="closed on"):
        await recs.comment(cycle.rules, cycle.participants["BE"][0], rec_id, "Late", today=later)
    assert await counts() == before


async def test_a_submitted_recommendation_is_closed(database):
    cycle = await build_cycle(database)
    rec_id = await cycle.submitted("BE")
    before = await counts()
    alice = cycle.participants["BE"][0]
    with pytest.raises(Conflict, match="submitted"):
        await recs.submit(cycle.rules, cycle.facilitator_be, rec_id)
    with pytest.raises(Conflict, match="submitted"):
        await recs.edit(cycle.rules, cycle.facilitator_be, rec_id, TEXT)
    with pytest.raises(Conflict, match="submitted"):
        await recs.comment(cycle.rules, alice, rec_id, "Too late")
    with pytest.raises(Conflict, match="submitted"):
        await recs.endorse(cycle.rules, alice, rec_id)
    assert await counts() == before
    assert await RecommendationComment.count() == 0


@pytest.mark.parametrize("rec_id", [0, -1, 99999, 2**31, 2**63])
async def test_an_unknown_recommendation_is_not_found(database, rec_id):
    cycle = await build_cycle(database)
    with pytest.raises(NotFound, match="no recommendation"):
        await recs.get_recommendation(rec_id, cycle.board)
    with pytest.raises(NotFound):
        await recs.submit(cycle.rules, cycle.facilitator_be, rec_id)
    with pytest.raises(NotFound):
        await deciding.record_decision(
            cycle.rules, cycle.board, rec_id, recs.DecisionIn("adopted", "Yes, gladly.")
        )
    assert await Recommendation.count() == 0
