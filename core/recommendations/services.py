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
import re
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any, ParamSpec, TypeVar

import msgspec

from core import clock, db
from core.audit import services as audit
from core.config import COUNTRIES, LANGUAGES
from core.editions.services import (
    RECOMMENDATIONS,
    WORKING_GROUPS,
    EditionInfo,
    get_edition_by_id,
    phase_label,
    require_phase,
)
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.events import DecisionRecorded, RecommendationSubmitted
from core.groups.services import GroupInfo, get_group, is_participant
from core.i18n import N_, _, country_name
from core.members.model import CurrentMember
from core.members.tables import Member
from core.recommendations.tables import (
    Bundle,
    Decision,
    Endorsement,
    Recommendation,
    RecommendationComment,
)
from core.themes.services import Rules

DRAFT, SUBMITTED = "draft", "submitted"
STATUS_NAMES = (N_("draft"), N_("submitted"))

ADOPTED = "adopted"
ADOPTED_WITH_CHANGES = "adopted_with_changes"
REJECTED = "rejected"
DEFERRED = "deferred"
OUTCOMES = (ADOPTED, ADOPTED_WITH_CHANGES, REJECTED, DEFERRED)
ADOPTING = (ADOPTED, ADOPTED_WITH_CHANGES)  # outcomes that can lead to a project
PENDING = "pending"  # no decision yet (not an outcome: a figure of the record)
OUTCOME_LABELS = {
    ADOPTED: N_("adopted"),
    ADOPTED_WITH_CHANGES: N_("adopted with changes"),
    REJECTED: N_("rejected"),
    DEFERRED: N_("deferred"),
    PENDING: N_("awaiting a decision"),
}

ID_MAX = db.ID_MAX
TITLE_MIN, TITLE_MAX = 3, 200
TEXT_MIN, TEXT_MAX = 10, 10_000
RATIONALE_MAX = 5000
COMMENT_MAX = 2000
DECISION_RATIONALE_MIN, DECISION_RATIONALE_MAX = 3, 5000
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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


def outcome_label(outcome: str | None) -> str:
    """An outcome (or ``pending``) in the current language."""
    return _(OUTCOME_LABELS.get(outcome or PENDING, outcome or PENDING))


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


async def _latest_row(recommendation_id: int) -> dict[str, Any] | None:
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


async def _row(recommendation_id: int, actor: CurrentMember | None) -> dict[str, Any]:
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
    return (await infos([await _row(recommendation_id, actor)], language))[0]


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


def _clean_line(value: str, what: str) -> str:
    if CONTROL.search(value):
        raise InvalidInput(
            _("%(what)s contains control characters; type it again.") % {"what": what}
        )
    return value


def clean(data: RecommendationIn, default_language: str) -> RecommendationIn:
    """A draft's text as it is stored, or a clear refusal."""
    title = " ".join(_clean_line(data.title, _("The title")).split())
    text = _clean_line(data.text, _("The text")).strip()
    rationale = _clean_line(data.rationale, _("The rationale")).strip()
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
                "date": windows[0].starts_on.isoformat(),
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


async def _locked(recommendation_id: int) -> dict[str, Any]:
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
    row = await _row(recommendation_id, actor)
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
    row = await _row(recommendation_id, actor)
    group = await get_group(row["working_group"])
    await require_in_group(actor, group)
    require_draft(row)
    edition = await get_edition_by_id(row["edition"])
    require_drafting(edition, row["country"], today)
    text = _clean_line(body, _("The comment")).strip()
    if not 1 <= len(text) <= COMMENT_MAX:
        raise InvalidInput(_("Write a comment of 1 to %(max)d characters.") % {"max": COMMENT_MAX})
    async with db.write_transaction():
        require_draft(await _locked(recommendation_id))
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
    row = await _row(recommendation_id, actor)
    group = await get_group(row["working_group"])
    await require_in_group(actor, group)
    require_draft(row)
    edition = await get_edition_by_id(row["edition"])
    require_drafting(edition, row["country"], today)
    try:
        async with db.write_transaction():
            require_draft(await _locked(recommendation_id))
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
    row = await _row(recommendation_id, actor)
    require_draft(row)
    edition = await get_edition_by_id(row["edition"])
    require_drafting(edition, row["country"], today)
    async with db.write_transaction():
        require_draft(await _locked(recommendation_id))
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
    row = await _row(recommendation_id, actor)
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
            "date": latest["decided_on"].isoformat(),
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
    row = await _row(recommendation_id, actor)
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
    rationale = _clean_line(data.rationale, _("The rationale")).strip()
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
            % {"date": row["submitted_at"].date().isoformat()}
        )
    edition = await get_edition_by_id(row["edition"])
    try:
        async with db.write_transaction():
            await _locked(recommendation_id)
            latest = await _latest_row(recommendation_id)
            if (latest["id"] if latest else None) != data.supersedes:
                raise _stale(latest)
            if latest is not None and decided_on < latest["decided_on"]:
                raise InvalidInput(
                    _("A new entry cannot be dated before the one it replaces (%(date)s).")
                    % {"date": latest["decided_on"].isoformat()}
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
            raise _stale(await _latest_row(recommendation_id)) from None
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
