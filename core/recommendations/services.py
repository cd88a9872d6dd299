"""Recommendation rules, independent of HTTP: drafting with the group, comments and
endorsements, submission in the recommendations phase, the bundle handed to the board, and the
board's decisions.

How the invariants hold:

* **Decisions are never edited.** This module has no UPDATE of a decision: a change is a new
  entry that names the latest one it ``supersedes``. The database backs it: one first entry per
  recommendation and one successor per entry (unique indexes), and a trigger that refuses any
  UPDATE of a decision's content. The current decision is the entry nothing supersedes.
* **A stale decision is refused.** The form carries the latest entry its author saw; if another
  entry was recorded meanwhile, the new one is refused with a 409 and nothing is written
  (checked in the write transaction, and by the unique indexes when two race).
* **Countries are separate.** Only operators of a recommendation's country bundle it; a bundle
  holds the recommendations of one edition and one country.
* **Notifications** (submitted, decided) are written to the outbox inside the change's
  transaction (``Rules.notify``); events go to the country's plugins after the commit.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any, ParamSpec, TypeVar

import msgspec

from core import clock, db, formats
from core.audit import services as audit
from core.config import LANGUAGES
from core.editions.services import (
    RECOMMENDATIONS,
    WORKING_GROUPS,
    EditionInfo,
    get_edition_by_id,
    phase_label,
    require_phase,
)
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.events import RecommendationSubmitted
from core.groups.services import GroupInfo, get_group, is_participant
from core.i18n import _
from core.members.model import CurrentMember
from core.members.tables import Member
from core.recommendations.outcomes import (
    DRAFT,
    SUBMITTED,
)
from core.recommendations.tables import (
    Decision,
    Endorsement,
    Recommendation,
    RecommendationComment,
)
from core.rules import Rules
from core.text import has_control_characters

ID_MAX = db.ID_MAX
TITLE_MIN, TITLE_MAX = 3, 200
TEXT_MIN, TEXT_MAX = 10, 10_000
RATIONALE_MAX = 5000
COMMENT_MAX = 2000
DECISION_RATIONALE_MIN, DECISION_RATIONALE_MAX = 3, 5000


P = ParamSpec("P")
T = TypeVar("T")


def snapshot(function: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Run a function that only reads in one read transaction: its many queries see one state
    of the database (and, on SQLite, share one connection instead of opening one each). Inside
    a caller's transaction it simply runs in that one."""

    @functools.wraps(function)
    async def reading(*args: P.args, **kwargs: P.kwargs) -> T:
        async with db.engine().transaction():
            return await function(*args, **kwargs)

    return reading


# -- what pages and the API see ----------------------------------------------------------------


class DecisionOut(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of the board's decision. ``current`` for the entry nothing supersedes."""

    id: int
    recommendation_id: int
    outcome: str
    rationale: str
    decided_on: date
    author_id: int | None
    author_name: str
    supersedes: int | None
    recorded_at: datetime
    current: bool


class RecommendationInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A recommendation with its group, theme, endorsements and current decision (None before
    the board decided). ``theme_title`` is in the reader's language where the theme has it."""

    id: int
    group_id: int
    edition_id: int
    edition: str
    theme_id: int
    theme_title: str
    country: str
    locality: str
    language: str
    title: str
    text: str
    rationale: str
    status: str
    author_id: int | None
    author_name: str
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    bundle_id: int | None
    endorsements: int
    decision: DecisionOut | None


class CommentOut(msgspec.Struct, frozen=True):
    id: int
    member_id: int | None
    name: str
    body: str
    created_at: datetime


class RecommendationIn(msgspec.Struct):
    """A draft's text. ``language`` defaults to the group's."""

    title: str
    text: str = ""
    rationale: str = ""
    language: str = ""


class CommentIn(msgspec.Struct):
    body: str


class DecisionIn(msgspec.Struct):
    """A board decision. ``supersedes`` is the latest entry the board member saw (None for the
    first decision): if another was recorded since, the decision is refused. ``decided_on``
    defaults to today."""

    outcome: str
    rationale: str
    decided_on: date | None = None
    supersedes: int | None = None


# -- reading -----------------------------------------------------------------------------------


def _decision_out(row: dict[str, Any], current: bool) -> DecisionOut:
    return DecisionOut(
        id=row["id"],
        recommendation_id=row["recommendation"],
        outcome=row["outcome"],
        rationale=row["rationale"],
        decided_on=row["decided_on"],
        author_id=row["author"],
        author_name=row["author_name"],
        supersedes=row["supersedes"],
        recorded_at=row["recorded_at"],
        current=current,
    )


def _chain(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A recommendation's decision rows in the order of the chain, first entry first."""
    by_predecessor = {r["supersedes"]: r for r in rows}
    ordered, previous = [], None
    while previous in by_predecessor and len(ordered) < len(rows):
        entry = by_predecessor[previous]
        ordered.append(entry)
        previous = entry["id"]
    return ordered


async def decision_history(recommendation_id: int) -> list[DecisionOut]:
    """Every entry of the board's decision on a recommendation, the first first; the last one
    is the current decision."""
    rows = await Decision.select().where(Decision.recommendation == recommendation_id)
    ordered = _chain(rows)
    return [_decision_out(r, i == len(ordered) - 1) for i, r in enumerate(ordered)]


async def current_decisions(recommendation_ids: list[int]) -> dict[int, DecisionOut]:
    """The current decision of each recommendation that has one."""
    if not recommendation_ids:
        return {}
    rows = await Decision.select().where(Decision.recommendation.is_in(recommendation_ids))
    superseded = {r["supersedes"] for r in rows if r["supersedes"] is not None}
    return {r["recommendation"]: _decision_out(r, True) for r in rows if r["id"] not in superseded}


async def latest_row(recommendation_id: int) -> dict[str, Any] | None:
    rows = await Decision.select().where(Decision.recommendation == recommendation_id)
    superseded = {r["supersedes"] for r in rows if r["supersedes"] is not None}
    latest = [r for r in rows if r["id"] not in superseded]
    return latest[0] if latest else None


async def _endorsement_counts(recommendation_ids: list[int]) -> dict[int, int]:
    if not recommendation_ids:
        return {}
    rows = await Endorsement.select(Endorsement.recommendation).where(
        Endorsement.recommendation.is_in(recommendation_ids)
    )
    counts: dict[int, int] = {}
    for row in rows:
        counts[row["recommendation"]] = counts.get(row["recommendation"], 0) + 1
    return counts


async def _names(member_ids: set[int]) -> dict[int, str]:
    ids = [i for i in member_ids if i is not None]
    if not ids:
        return {}
    rows = await Member.select(Member.id, Member.name).where(Member.id.is_in(ids))
    return {r["id"]: r["name"] for r in rows}


@snapshot
async def infos(
    rows: list[dict[str, Any]], language: str | None = None
) -> list[RecommendationInfo]:
    """Recommendation rows as pages and the API see them (in the rows' order)."""
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    groups: dict[int, GroupInfo] = {}
    for group_id in {r["working_group"] for r in rows}:
        groups[group_id] = await get_group(group_id, language)
    editions = {g.edition_id: g.edition for g in groups.values()}
    endorsements = await _endorsement_counts(ids)
    decisions = await current_decisions(ids)
    names = await _names({r["author"] for r in rows})
    return [
        RecommendationInfo(
            id=r["id"],
            group_id=r["working_group"],
            edition_id=r["edition"],
            edition=editions.get(r["edition"], ""),
            theme_id=r["theme"],
            theme_title=groups[r["working_group"]].title,
            country=r["country"],
            locality=groups[r["working_group"]].locality,
            language=r["language"],
            title=r["title"],
            text=r["text"],
            rationale=r["rationale"],
            status=r["status"],
            author_id=r["author"],
            author_name=names.get(r["author"], ""),
            created_at=r["created_at"],
            updated_at=r["updated_at"],
            submitted_at=r["submitted_at"],
            bundle_id=r["bundle"],
            endorsements=endorsements.get(r["id"], 0),
            decision=decisions.get(r["id"]),
        )
        for r in rows
    ]


async def edition_recommendations(edition_id: int, language: str) -> list[RecommendationInfo]:
    """An edition's submitted recommendations, in the order they were written."""
    rows = await (
        Recommendation.select()
        .where((Recommendation.edition == edition_id) & (Recommendation.status == SUBMITTED))
        .order_by(Recommendation.id)
    )
    return await infos(rows, language)


async def submitted_per_group(edition_id: int) -> dict[int, int]:
    """How many recommendations each working group of the edition has submitted."""
    counts: dict[int, int] = {}
    for r in await Recommendation.select(Recommendation.working_group).where(
        (Recommendation.edition == edition_id) & (Recommendation.status == SUBMITTED)
    ):
        counts[r["working_group"]] = counts.get(r["working_group"], 0) + 1
    return counts


def is_facilitator(actor: CurrentMember | None, group: GroupInfo) -> bool:
    return actor is not None and any(f.id == actor.id for f in group.facilitators)


async def in_group(actor: CurrentMember | None, group: GroupInfo) -> bool:
    """A participant with a place in the group, or one of its facilitators."""
    if actor is None:
        return False
    return is_facilitator(actor, group) or await is_participant(actor.id, group.id)


async def may_see_drafts(actor: CurrentMember | None, group: GroupInfo) -> bool:
    """Drafts are the group's work: its participants, its facilitators and the operators of its
    country see them (and their comments); anyone sees a submitted recommendation."""
    if actor is None:
        return False
    return actor.is_operator(group.country) or await in_group(actor, group)


async def visible_row(recommendation_id: int, actor: CurrentMember | None) -> dict[str, Any]:
    """The recommendation, as ``actor`` may see it: a draft is the group's, so for anybody else
    it does not exist (the answer does not reveal it)."""
    missing = NotFound(_("There is no recommendation %(id)d.") % {"id": recommendation_id})
    if not 1 <= recommendation_id <= ID_MAX:
        raise missing
    row = await Recommendation.select().where(Recommendation.id == recommendation_id).first()
    if row is None:
        raise missing
    if row["status"] == DRAFT and not await may_see_drafts(
        actor, await get_group(row["working_group"])
    ):
        raise missing
    return row


async def get_recommendation(
    recommendation_id: int, actor: CurrentMember | None, language: str | None = None
) -> RecommendationInfo:
    return (await infos([await visible_row(recommendation_id, actor)], language))[0]


@snapshot
async def group_recommendations(
    group: GroupInfo, actor: CurrentMember | None, language: str | None = None
) -> list[RecommendationInfo]:
    """The group's recommendations as ``actor`` may see them (drafts for the group only)."""
    where = Recommendation.working_group == group.id
    if not await may_see_drafts(actor, group):
        where &= Recommendation.status == SUBMITTED
    rows = await Recommendation.select().where(where).order_by(Recommendation.id)
    return await infos(rows, language)


async def comments_of(recommendation_id: int) -> list[CommentOut]:
    c = RecommendationComment
    rows = await (
        c.select(c.id, c.member, c.member.name.as_alias("name"), c.body, c.created_at)
        .where(c.recommendation == recommendation_id)
        .order_by(c.id)
    )
    return [
        CommentOut(r["id"], r["member"], r["name"] or "", r["body"], r["created_at"]) for r in rows
    ]


async def endorsers(recommendation_id: int) -> list[str]:
    e = Endorsement
    rows = await e.select(e.member.name.as_alias("name")).where(
        e.recommendation == recommendation_id
    )
    return sorted(r["name"] for r in rows)


async def endorsed_by(recommendation_id: int, member_id: int) -> bool:
    return await Endorsement.exists().where(
        (Endorsement.recommendation == recommendation_id) & (Endorsement.member == member_id)
    )


# -- checks ------------------------------------------------------------------------------------


def clean_line(value: str, what: str) -> str:
    if has_control_characters(value):
        raise InvalidInput(
            _("%(what)s contains control characters; type it again.") % {"what": what}
        )
    return value


def clean(data: RecommendationIn, default_language: str) -> RecommendationIn:
    """A draft's text as it is stored, or a clear refusal."""
    title = " ".join(clean_line(data.title, _("The title")).split())
    text = clean_line(data.text, _("The text")).strip()
    rationale = clean_line(data.rationale, _("The rationale")).strip()
    language = data.language or default_language
    if len(title) < TITLE_MIN:
        raise InvalidInput(
            _("Give the recommendation a title of at least %(n)d characters.") % {"n": TITLE_MIN}
        )
    if len(title) > TITLE_MAX:
        raise InvalidInput(
            _("The title is %(length)d characters long; it may have at most %(n)d.")
            % {"length": len(title), "n": TITLE_MAX}
        )
    if not TEXT_MIN <= len(text) <= TEXT_MAX:
        raise InvalidInput(
            _("Write what the group recommends in %(min)d to %(max)d characters.")
            % {"min": TEXT_MIN, "max": TEXT_MAX}
        )
    if len(rationale) > RATIONALE_MAX:
        raise InvalidInput(
            _("The rationale is %(length)d characters long; it may have at most %(n)d.")
            % {"length": len(rationale), "n": RATIONALE_MAX}
        )
    if language not in LANGUAGES:
        raise InvalidInput(_("Unknown language %(code)s.") % {"code": language})
    return RecommendationIn(title=title, text=text, rationale=rationale, language=language)


def require_drafting(edition: EditionInfo, country: str, today: date | None = None) -> None:
    """Recommendations are drafted, commented and endorsed while the groups meet and in the
    recommendations phase; outside them, say when it opens or that it closed."""
    day = today or clock.today()
    calendar = edition.calendar(country)
    windows = [calendar.window(p) for p in (WORKING_GROUPS, RECOMMENDATIONS)] if calendar else []
    windows = [w for w in windows if w is not None]
    if any(w.starts_on <= day <= w.ends_on for w in windows):
        return
    if windows and day < windows[0].starts_on:
        raise Forbidden(
            _("%(phase)s of %(edition)s opens on %(date)s.")
            % {
                "phase": phase_label(windows[0].phase),
                "edition": edition.slug,
                "date": formats.day(windows[0].starts_on),
            }
        )
    require_phase(edition, country, RECOMMENDATIONS, day)
    raise Forbidden(  # between the two phases: the calendar leaves a gap
        _("%(phase)s of %(edition)s is not open today.")
        % {"phase": phase_label(RECOMMENDATIONS), "edition": edition.slug}
    )


def require_facilitator(actor: CurrentMember, group: GroupInfo) -> None:
    if not is_facilitator(actor, group):
        raise Forbidden(_("Only the group's facilitators draft and submit its recommendations."))


async def require_in_group(actor: CurrentMember, group: GroupInfo) -> None:
    if not await in_group(actor, group):
        raise Forbidden(
            _("Only the group's participants and facilitators comment on and endorse its drafts.")
        )


def require_draft(row: dict[str, Any]) -> None:
    if row["status"] != DRAFT:
        raise Conflict(
            _("This recommendation was submitted: its text, comments and endorsements are closed.")
        )


async def locked_row(recommendation_id: int) -> dict[str, Any]:
    """The recommendation as it is now, inside the caller's write transaction, locked against
    other writers until the commit (SQLite's IMMEDIATE transaction already serialises them)."""
    query = Recommendation.select().where(Recommendation.id == recommendation_id)
    if not db.is_sqlite():
        query = query.lock_rows("NO KEY UPDATE")
    row = await query.first()
    if row is None:
        raise NotFound(_("There is no recommendation %(id)d.") % {"id": recommendation_id})
    return row


# -- drafting with the group -------------------------------------------------------------------


async def draft(
    rules: Rules,
    actor: CurrentMember,
    group_id: int,
    data: RecommendationIn,
    today: date | None = None,
) -> int:
    """A facilitator of the group starts a draft recommendation."""
    group = await get_group(group_id)
    require_facilitator(actor, group)
    edition = await get_edition_by_id(group.edition_id)
    require_drafting(edition, group.country, today)
    data = clean(data, group.language)
    now = clock.now()
    async with db.write_transaction():
        rows = await Recommendation.insert(
            Recommendation(
                working_group=group.id,
                edition=group.edition_id,
                theme=group.theme_id,
                country=group.country,
                language=data.language,
                title=data.title,
                text=data.text,
                rationale=data.rationale,
                status=DRAFT,
                author=actor.id,
                created_at=now,
                updated_at=now,
            )
        )
        await audit.record(
            "recommendation.draft",
            actor=actor,
            role=audit.ROLE_FACILITATOR,
            country=group.country,
            object_type="recommendation",
            object_id=rows[0]["id"],
            details={"working_group": group.id, **_text_digests(data)},
        )
    return int(rows[0]["id"])


def _text_digests(data: RecommendationIn) -> dict[str, Any]:
    """What the audit log keeps of a recommendation's wording: the title and language, and a
    SHA-256 of the text and of the rationale (the versions can be told apart and matched to
    the published text without copying the drafts into the log)."""
    return {
        "title": data.title,
        "language": data.language,
        "text_sha256": hashlib.sha256(data.text.encode()).hexdigest(),
        "rationale_sha256": hashlib.sha256(data.rationale.encode()).hexdigest(),
    }


async def edit(
    rules: Rules,
    actor: CurrentMember,
    recommendation_id: int,
    data: RecommendationIn,
    today: date | None = None,
) -> None:
    """A facilitator rewrites a draft (what the group's comments asked for)."""
    row = await visible_row(recommendation_id, actor)
    group = await get_group(row["working_group"])
    require_facilitator(actor, group)
    require_draft(row)
    edition = await get_edition_by_id(row["edition"])
    require_drafting(edition, row["country"], today)
    data = clean(data, row["language"])
    r = Recommendation
    async with db.write_transaction():
        changed = await (
            r.update(
                {
                    r.title: data.title,
                    r.text: data.text,
                    r.rationale: data.rationale,
                    r.language: data.language,
                    r.updated_at: clock.now(),
                }
            )
            .where((r.id == recommendation_id) & (r.status == DRAFT))
            .returning(r.id)
        )
        fields = [
            f for f in ("title", "text", "rationale", "language") if getattr(data, f) != row[f]
        ]
        if changed and fields:  # saving the same words again is no edit
            await audit.record(
                "recommendation.edit",
                actor=actor,
                role=audit.ROLE_FACILITATOR,
                country=row["country"],
                object_type="recommendation",
                object_id=recommendation_id,
                details={"working_group": group.id, "changed": fields, **_text_digests(data)},
            )
    if not changed:
        raise Conflict(_("This recommendation was submitted: its text can no longer change."))


async def comment(
    rules: Rules,
    actor: CurrentMember,
    recommendation_id: int,
    body: str,
    today: date | None = None,
) -> int:
    """A member of the group comments on a draft."""
    row = await visible_row(recommendation_id, actor)
    group = await get_group(row["working_group"])
    await require_in_group(actor, group)
    require_draft(row)
    edition = await get_edition_by_id(row["edition"])
    require_drafting(edition, row["country"], today)
    text = clean_line(body, _("The comment")).strip()
    if not 1 <= len(text) <= COMMENT_MAX:
        raise InvalidInput(_("Write a comment of 1 to %(max)d characters.") % {"max": COMMENT_MAX})
    async with db.write_transaction():
        require_draft(await locked_row(recommendation_id))
        rows = await RecommendationComment.insert(
            RecommendationComment(
                recommendation=recommendation_id,
                member=actor.id,
                body=text,
                created_at=clock.now(),
            )
        )
    return int(rows[0]["id"])


async def endorse(
    rules: Rules, actor: CurrentMember, recommendation_id: int, today: date | None = None
) -> int:
    """A member of the group endorses a draft, once. Returns the count."""
    row = await visible_row(recommendation_id, actor)
    group = await get_group(row["working_group"])
    await require_in_group(actor, group)
    require_draft(row)
    edition = await get_edition_by_id(row["edition"])
    require_drafting(edition, row["country"], today)
    try:
        async with db.write_transaction():
            require_draft(await locked_row(recommendation_id))
            await Endorsement.insert(
                Endorsement(
                    recommendation=recommendation_id, member=actor.id, created_at=clock.now()
                )
            )
    except Exception as exc:
        if db.is_unique_violation(exc):
            raise Conflict(_("You already endorse this recommendation.")) from None
        raise
    return await Endorsement.count().where(Endorsement.recommendation == recommendation_id)


async def withdraw_endorsement(
    rules: Rules, actor: CurrentMember, recommendation_id: int, today: date | None = None
) -> int:
    """Take an endorsement back while the recommendation is a draft. Returns the count."""
    row = await visible_row(recommendation_id, actor)
    require_draft(row)
    edition = await get_edition_by_id(row["edition"])
    require_drafting(edition, row["country"], today)
    async with db.write_transaction():
        require_draft(await locked_row(recommendation_id))
        removed = await (
            Endorsement.delete()
            .where(
                (Endorsement.recommendation == recommendation_id) & (Endorsement.member == actor.id)
            )
            .returning(Endorsement.id)
        )
        if not removed:
            raise Conflict(_("You do not endorse this recommendation."))
    return await Endorsement.count().where(Endorsement.recommendation == recommendation_id)


async def submit(
    rules: Rules, actor: CurrentMember, recommendation_id: int, today: date | None = None
) -> None:
    """A facilitator submits the draft in the recommendations phase of the group's country;
    the group is notified. It waits for the operators' bundle from now on."""
    row = await visible_row(recommendation_id, actor)
    group = await get_group(row["working_group"])
    require_facilitator(actor, group)
    require_draft(row)
    edition = await get_edition_by_id(row["edition"])
    require_phase(edition, row["country"], RECOMMENDATIONS, today)
    submitted = RecommendationSubmitted(
        country=row["country"],
        recommendation_id=recommendation_id,
        group_id=group.id,
        edition=edition.slug,
        title=row["title"],
    )
    r = Recommendation
    async with db.write_transaction():
        changed = await (
            r.update({r.status: SUBMITTED, r.submitted_at: clock.now(), r.submitted_by: actor.id})
            .where((r.id == recommendation_id) & (r.status == DRAFT))
            .returning(r.id)
        )
        if changed:
            await rules.notify(submitted)
            await audit.record(
                "recommendation.submit",
                actor=actor,
                role=audit.ROLE_FACILITATOR,
                country=row["country"],
                object_type="recommendation",
                object_id=recommendation_id,
                details={"working_group": group.id, "title": row["title"]},
            )
    if not changed:
        raise Conflict(_("Only a draft can be submitted; this one was submitted already."))
    rules.emit(submitted)
