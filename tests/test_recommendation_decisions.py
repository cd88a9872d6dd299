"""The board's decisions: append-only, dated, signed, never silently changed.

A decision is a row that is never updated; a change is a new row that supersedes the latest,
and the current decision is the last entry of that chain. A decision based on an outdated
latest entry (a stale form, a second click, two board members at once) is refused.
"""

from __future__ import annotations

import asyncio
import inspect
from datetime import timedelta

import pytest

from core import clock
from core.errors import Conflict, Forbidden, InvalidInput
from core.notifications.tables import NotificationEvent, OutboxMessage
from core.recommendations import deciding
from core.recommendations import services as recs
from core.recommendations.tables import Decision, Recommendation
from tests.recommendations_support import build_cycle, counts, person

pytestmark = pytest.mark.usefixtures("database")


def decide(outcome: str, rationale: str, supersedes: int | None = None, **kw) -> recs.DecisionIn:
    return recs.DecisionIn(outcome=outcome, rationale=rationale, supersedes=supersedes, **kw)


async def test_every_entry_stays_with_its_date_and_author_and_the_latest_is_current(database):
    cycle = await build_cycle(database)
    rec_id = await cycle.bundled("BE")
    other = await person("second.board@example.org", roles=(("board", ""),), name="Bob Board")
    today = clock.today()
    # Submitted a week ago (arranged in the table: the phase is open today).
    await Recommendation.update(
        {Recommendation.submitted_at: clock.now() - timedelta(days=7)}
    ).where(Recommendation.id == rec_id)

    first = await deciding.record_decision(
        cycle.rules,
        cycle.board,
        rec_id,
        decide("deferred", "We need the cost first.", decided_on=today - timedelta(days=2)),
    )
    second = await deciding.record_decision(
        cycle.rules,
        other,
        rec_id,
        decide("adopted_with_changes", "Adopted, with one mediator per region.", first.id),
    )
    history = await recs.decision_history(rec_id)
    assert [
        (d.id, d.outcome, d.decided_on, d.author_name, d.supersedes, d.current) for d in history
    ] == [
        (first.id, "deferred", today - timedelta(days=2), "Bea Board", None, False),
        (second.id, "adopted_with_changes", today, "Bob Board", first.id, True),
    ]
    assert [d.author_id for d in history] == [cycle.board.id, other.id]
    assert all(d.recorded_at is not None for d in history)
    # The rows themselves: two, the first one unchanged by the second decision.
    rows = await Decision.select().where(Decision.recommendation == rec_id).order_by(Decision.id)
    assert [(r["outcome"], r["rationale"], r["decided_on"]) for r in rows] == [
        ("deferred", "We need the cost first.", today - timedelta(days=2)),
        ("adopted_with_changes", "Adopted, with one mediator per region.", today),
    ]
    info = await recs.get_recommendation(rec_id, None)
    assert info.decision is not None and info.decision.id == second.id
    assert (await recs.current_decisions([rec_id]))[rec_id].outcome == "adopted_with_changes"


async def test_the_service_has_no_update_path_for_decisions():
    """Nothing in the decision code can change a recorded decision: no Decision.update, no
    delete, and record_decision only inserts."""
    source = inspect.getsource(recs)
    assert "Decision.update" not in source and "Decision.delete" not in source
    assert "Decision.insert" in inspect.getsource(deciding.record_decision)
    from core.recommendations import bundle, projects, record

    for module in (deciding, bundle, projects, record):
        text = inspect.getsource(module)
        assert "Decision.update" not in text and "Decision.delete" not in text


async def test_the_database_refuses_to_update_a_decision(database):
    """Even a raw UPDATE, bypassing the services, cannot rewrite what the board decided."""
    cycle = await build_cycle(database)
    rec_id = await cycle.bundled("BE")
    decision = await deciding.record_decision(
        cycle.rules, cycle.board, rec_id, decide("rejected", "Not now.")
    )
    for change in (
        {Decision.outcome: "adopted"},
        {Decision.rationale: "Rewritten."},
        {Decision.decided_on: clock.today() - timedelta(days=9)},
        {Decision.author_name: "Someone else"},
    ):
        with pytest.raises(Exception, match="append-only"):
            await Decision.update(change).where(Decision.id == decision.id)
    row = await Decision.select().where(Decision.id == decision.id).first()
    assert (row["outcome"], row["rationale"]) == ("rejected", "Not now.")


async def test_deciding_again_without_naming_the_latest_entry_is_refused(database):
    """The same form sent twice (or a first-decision form opened before someone else decided)
    does not silently add or change anything."""
    cycle = await build_cycle(database)
    rec_id = await cycle.bundled("BE")
    await deciding.record_decision(cycle.rules, cycle.board, rec_id, decide("adopted", "Yes."))
    before = await counts()
    with pytest.raises(Conflict, match="changed since you opened the form"):
        await deciding.record_decision(cycle.rules, cycle.board, rec_id, decide("rejected", "No."))
    assert await counts() == before
    assert (await recs.get_recommendation(rec_id, None)).decision.outcome == "adopted"


async def test_a_stale_decision_is_refused_like_an_optimistic_lock(database):
    cycle = await build_cycle(database)
    rec_id = await cycle.bundled("BE")
    first = await deciding.record_decision(
        cycle.rules, cycle.board, rec_id, decide("deferred", "Later.")
    )
    second = await deciding.record_decision(
        cycle.rules, cycle.board, rec_id, decide("adopted", "Now yes.", first.id)
    )
    before = await counts()
    # A form opened when `first` was the latest: it names an entry that was superseded.
    with pytest.raises(Conflict, match="adopted on .* recorded by Bea Board"):
        await deciding.record_decision(
            cycle.rules, cycle.board, rec_id, decide("rejected", "No.", first.id)
        )
    with pytest.raises(Conflict):  # naming an entry of nowhere
        await deciding.record_decision(
            cycle.rules, cycle.board, rec_id, decide("rejected", "No.", 9999)
        )
    assert await counts() == before
    assert [d.id for d in await recs.decision_history(rec_id)] == [first.id, second.id]


async def test_two_board_members_deciding_at_once_cannot_both_win(pooled):
    cycle = await build_cycle(pooled)
    rec_id = await cycle.bundled("BE")
    other = await person("second.board@example.org", roles=(("board", ""),), name="Bob Board")
    results = await asyncio.gather(
        deciding.record_decision(cycle.rules, cycle.board, rec_id, decide("adopted", "Yes.")),
        deciding.record_decision(cycle.rules, other, rec_id, decide("rejected", "No.")),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, recs.DecisionOut)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1 and len(lost) == 1 and isinstance(lost[0], Conflict), results
    assert await Decision.count() == 1
    assert (await recs.decision_history(rec_id))[0].id == won[0].id


async def test_only_board_members_decide(database):
    cycle = await build_cycle(database)
    rec_id = await cycle.bundled("BE")
    before = await counts()
    for someone in (cycle.op_be, cycle.facilitator_be, cycle.participants["BE"][0], cycle.outsider):
        with pytest.raises(Forbidden, match="Only board members"):
            await deciding.record_decision(cycle.rules, someone, rec_id, decide("adopted", "Yes."))
    assert await counts() == before


async def test_the_board_decides_on_bundled_recommendations_only(database):
    cycle = await build_cycle(database)
    rec_id = await cycle.submitted("BE")
    before = await counts()
    with pytest.raises(Conflict, match="not been handed to the board"):
        await deciding.record_decision(cycle.rules, cycle.board, rec_id, decide("adopted", "Yes."))
    assert await counts() == before


@pytest.mark.parametrize(
    ("outcome", "rationale", "days", "message"),
    [
        ("approved", "Yes.", 0, "Choose the decision"),
        ("adopted", "", 0, "rationale"),
        ("adopted", "  ", 0, "rationale"),
        ("adopted", "Yes.", -1, "future"),
        ("adopted", "Yes.", 400, "before the recommendation was submitted"),
    ],
)
async def test_bad_decisions_are_refused_and_write_nothing(
    database, outcome, rationale, days, message
):
    cycle = await build_cycle(database)
    rec_id = await cycle.bundled("BE")
    before = await counts()
    day = clock.today() - timedelta(days=days)
    with pytest.raises(InvalidInput, match=message):
        await deciding.record_decision(
            cycle.rules, cycle.board, rec_id, decide(outcome, rationale, decided_on=day)
        )
    assert await counts() == before


async def test_a_new_entry_is_not_dated_before_the_one_it_replaces(database):
    cycle = await build_cycle(database)
    rec_id = await cycle.bundled("BE")
    await Recommendation.update(
        {Recommendation.submitted_at: clock.now() - timedelta(days=7)}
    ).where(Recommendation.id == rec_id)
    first = await deciding.record_decision(
        cycle.rules,
        cycle.board,
        rec_id,
        decide("deferred", "Later.", decided_on=clock.today() - timedelta(days=2)),
    )
    before = await counts()
    with pytest.raises(InvalidInput, match="before the one it replaces"):
        await deciding.record_decision(
            cycle.rules,
            cycle.board,
            rec_id,
            decide("adopted", "Yes.", first.id, decided_on=clock.today() - timedelta(days=3)),
        )
    assert await counts() == before


async def test_each_decision_notifies_the_group(database):
    cycle = await build_cycle(database)
    rec_id = await cycle.bundled("BE")
    first = await deciding.record_decision(
        cycle.rules, cycle.board, rec_id, decide("deferred", "Later.")
    )
    second = await deciding.record_decision(
        cycle.rules, cycle.board, rec_id, decide("adopted", "Yes.", first.id)
    )
    events = (
        await NotificationEvent.select()
        .where(NotificationEvent.event_type == "decision_recorded")
        .order_by(NotificationEvent.id)
    )
    assert [e["key"] for e in events] == [
        f"decision_recorded:{first.id}",
        f"decision_recorded:{second.id}",
    ]
    group = {m.id for m in cycle.participants["BE"]} | {cycle.facilitator_be.id}
    for event in events:
        recipients = {
            r["member"]
            for r in await OutboxMessage.select(OutboxMessage.member).where(
                (OutboxMessage.event == event["id"]) & OutboxMessage.member.is_not_null()
            )
        }
        assert recipients == group


async def test_a_refused_decision_notifies_nobody(database):
    cycle = await build_cycle(database)
    rec_id = await cycle.bundled("BE")
    await deciding.record_decision(cycle.rules, cycle.board, rec_id, decide("adopted", "Yes."))
    messages = await OutboxMessage.count()
    with pytest.raises(Conflict):
        await deciding.record_decision(cycle.rules, cycle.board, rec_id, decide("rejected", "No."))
    assert await OutboxMessage.count() == messages


async def test_the_board_sees_what_awaits_its_decision(database):
    cycle = await build_cycle(database)
    decided = await cycle.bundled("BE", "Decided")
    deferred = await cycle.bundled("FR", "Deferred")
    waiting = await cycle.bundled("BE", "Waiting")
    not_bundled = await cycle.submitted("FR", "Not bundled")
    await deciding.record_decision(cycle.rules, cycle.board, decided, decide("rejected", "No."))
    await deciding.record_decision(cycle.rules, cycle.board, deferred, decide("deferred", "Later."))
    awaiting = {r.id for r in await deciding.awaiting_decision()}
    assert awaiting == {deferred, waiting}
    assert not_bundled not in awaiting
