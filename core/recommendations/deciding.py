"""The operators' bundle of a country's submitted recommendations and the board's
decisions on them (drafting with the group is in ``services``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from core import clock, db, formats
from core.audit import services as audit
from core.config import COUNTRIES
from core.editions.services import (
    get_edition_by_id,
)
from core.errors import Conflict, Forbidden, InvalidInput
from core.events import DecisionRecorded
from core.i18n import _, country_name
from core.members.model import CurrentMember
from core.recommendations.outcomes import (
    DEFERRED,
    OUTCOMES,
    SUBMITTED,
    outcome_label,
)
from core.recommendations.services import (
    DECISION_RATIONALE_MAX,
    DECISION_RATIONALE_MIN,
    DecisionIn,
    DecisionOut,
    RecommendationInfo,
    clean_line,
    current_decisions,
    decision_history,
    infos,
    latest_row,
    locked_row,
    visible_row,
)
from core.recommendations.tables import (
    Bundle,
    Decision,
    Recommendation,
)
from core.rules import Rules

# -- the bundle --------------------------------------------------------------------------------


def require_country_operator(actor: CurrentMember, country: str) -> None:
    if country not in COUNTRIES:
        raise InvalidInput(_("Unknown country %(code)s.") % {"code": country})
    if not actor.is_operator(country):
        raise Forbidden(_("Only operators of %(countries)s can do this.") % {"countries": country})


def may_read_bundles(actor: CurrentMember | None, country: str) -> bool:
    """The operators of the country, who make the bundle, and the board, who receives it."""
    return actor is not None and (actor.is_board or actor.is_operator(country))


async def pending_rows(edition_id: int, country: str) -> list[dict[str, Any]]:
    """The submitted recommendations of one country's edition not bundled yet."""
    r = Recommendation
    return await (
        r.select()
        .where(
            (r.edition == edition_id)
            & (r.country == country)
            & (r.status == SUBMITTED)
            & r.bundle.is_null()
        )
        .order_by(r.id)
    )


async def create_bundle(rules: Rules, actor: CurrentMember, edition_id: int, country: str) -> int:
    """An operator of the country hands its submitted recommendations of the edition to the
    board: they go into a new bundle, and the board can decide on them from now on."""
    require_country_operator(actor, country)
    edition = await get_edition_by_id(edition_id)
    r = Recommendation
    async with db.write_transaction():
        query = r.select(r.id).where(
            (r.edition == edition_id)
            & (r.country == country)
            & (r.status == SUBMITTED)
            & r.bundle.is_null()
        )
        if not db.is_sqlite():
            query = query.lock_rows("NO KEY UPDATE")  # a second operator waits, then finds none
        waiting = [row["id"] for row in await query]
        if not waiting:
            raise Conflict(
                _("No submitted recommendation of %(country)s in %(edition)s waits for a bundle.")
                % {"country": country_name(country), "edition": edition.slug}
            )
        rows = await Bundle.insert(
            Bundle(edition=edition_id, country=country, created_by=actor.id, created_at=clock.now())
        )
        bundle_id = int(rows[0]["id"])
        await r.update({r.bundle: bundle_id}).where(r.id.is_in(waiting) & r.bundle.is_null())
        await audit.record(
            "bundle.create",
            actor=actor,
            country=country,
            object_type="bundle",
            object_id=bundle_id,
            details={"edition": edition_id, "recommendations": waiting},
        )
    return bundle_id


# -- board decisions ---------------------------------------------------------------------------


def _stale(latest: dict[str, Any] | None) -> Conflict:
    if latest is None:  # the form named an entry, but there is none (or not that one)
        return Conflict(
            _(
                "The decision you meant to replace is not the board's latest one on this "
                "recommendation. Reload the page and read the history before deciding."
            )
        )
    return Conflict(
        _(
            "The board's decision on this recommendation changed since you opened the form: "
            "%(outcome)s on %(date)s, recorded by %(name)s. Read it; to change it, record a new "
            "entry that replaces it."
        )
        % {
            "outcome": outcome_label(latest["outcome"]),
            "date": formats.day(latest["decided_on"]),
            "name": latest["author_name"] or "?",
        }
    )


async def record_decision(
    rules: Rules,
    actor: CurrentMember,
    recommendation_id: int,
    data: DecisionIn,
    today: date | None = None,
) -> DecisionOut:
    """A board member records the board's decision on a bundled recommendation: a new, dated
    entry that supersedes the latest one (``data.supersedes``, None for the first). The group's
    participants and facilitators are notified."""
    if not actor.is_board:
        raise Forbidden(_("Only board members record the board's decisions."))
    row = await visible_row(recommendation_id, actor)
    if row["status"] != SUBMITTED or row["bundle"] is None:
        raise Conflict(
            _(
                "This recommendation has not been handed to the board yet: the operators of "
                "its country bundle it first."
            )
        )
    if data.outcome not in OUTCOMES:
        raise InvalidInput(
            _("Choose the decision: adopted, adopted with changes, rejected or deferred.")
        )
    rationale = clean_line(data.rationale, _("The rationale")).strip()
    if not DECISION_RATIONALE_MIN <= len(rationale) <= DECISION_RATIONALE_MAX:
        raise InvalidInput(
            _("Give the board's rationale (%(min)d to %(max)d characters).")
            % {"min": DECISION_RATIONALE_MIN, "max": DECISION_RATIONALE_MAX}
        )
    day = today or clock.today()
    decided_on = data.decided_on or day
    if decided_on > day:
        raise InvalidInput(_("A decision cannot be dated in the future."))
    if row["submitted_at"] is not None and decided_on < row["submitted_at"].date():
        raise InvalidInput(
            _("The board cannot have decided before the recommendation was submitted (%(date)s).")
            % {"date": formats.day(row["submitted_at"].date())}
        )
    edition = await get_edition_by_id(row["edition"])
    try:
        async with db.write_transaction():
            await locked_row(recommendation_id)
            latest = await latest_row(recommendation_id)
            if (latest["id"] if latest else None) != data.supersedes:
                raise _stale(latest)
            if latest is not None and decided_on < latest["decided_on"]:
                raise InvalidInput(
                    _("A new entry cannot be dated before the one it replaces (%(date)s).")
                    % {"date": formats.day(latest["decided_on"])}
                )
            inserted = await Decision.insert(
                Decision(
                    recommendation=recommendation_id,
                    outcome=data.outcome,
                    rationale=rationale,
                    decided_on=decided_on,
                    author=actor.id,
                    author_name=actor.name,
                    supersedes=data.supersedes,
                    recorded_at=clock.now(),
                )
            )
            decision_id = int(inserted[0]["id"])
            recorded = DecisionRecorded(
                country=row["country"],
                recommendation_id=recommendation_id,
                group_id=row["working_group"],
                edition=edition.slug,
                title=row["title"],
                decision_id=decision_id,
                outcome=data.outcome,
                decided_on=decided_on,
                supersedes=data.supersedes,
            )
            await rules.notify(recorded)
            await audit.record(
                "decision.record",
                actor=actor,
                role=audit.ROLE_BOARD,
                country=row["country"],
                object_type="recommendation",
                object_id=recommendation_id,
                details={
                    "decision": decision_id,
                    "outcome": data.outcome,
                    "decided_on": decided_on.isoformat(),
                    "supersedes": data.supersedes,
                },
            )
    except Exception as exc:
        if db.is_unique_violation(exc):  # another entry on the same latest one, a moment ago
            raise _stale(await latest_row(recommendation_id)) from None
        raise
    rules.emit(recorded)
    history = await decision_history(recommendation_id)
    return next(d for d in history if d.id == decision_id)


async def awaiting_decision(language: str | None = None) -> list[RecommendationInfo]:
    """Bundled recommendations whose current decision is none yet, or deferred: the board's
    list of work."""
    rows = await (
        Recommendation.select()
        .where((Recommendation.status == SUBMITTED) & Recommendation.bundle.is_not_null())
        .order_by(Recommendation.id)
    )
    decisions = await current_decisions([r["id"] for r in rows])
    waiting = [
        r for r in rows if r["id"] not in decisions or decisions[r["id"]].outcome == DEFERRED
    ]
    return await infos(waiting, language)
