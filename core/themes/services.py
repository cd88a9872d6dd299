"""Theme rules, independent of HTTP: board themes, member proposals, supports, moderation.

Every rule that reads before it writes runs in one write transaction (IMMEDIATE on SQLite),
and the unique index on (theme, member) decides double supports, also under races. Events go
to the country's plugins after the commit; notifications are written to the outbox inside the
transaction (``Rules.notify``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec

from core import clock, db
from core.audit import services as audit
from core.config import COUNTRIES, LANGUAGES
from core.editions.services import PROPOSALS, get_edition_by_id, require_phase
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.events import (
    Event,
    ThemeAccepted,
    ThemeMerged,
    ThemeProposed,
    ThemeRejected,
    ThresholdReached,
)
from core.i18n import _
from core.members.model import CurrentMember
from core.members.tables import Member
from core.rules import Rules
from core.text import has_control_characters
from core.themes.tables import Support, Theme, ThemeText

# Origins
BOARD = "board"
MEMBER = "member"
EXTENDED = "extended"
ORIGINS = (BOARD, MEMBER, EXTENDED)

# Statuses
DRAFT = "draft"
SUBMITTED = "submitted"
ACCEPTED = "accepted"
REJECTED = "rejected"
MERGED = "merged"
WITHDRAWN = "withdrawn"
STATUSES = (DRAFT, SUBMITTED, ACCEPTED, REJECTED, MERGED, WITHDRAWN)
PUBLIC_STATUSES = (SUBMITTED, ACCEPTED, REJECTED, MERGED)

ID_MAX = db.ID_MAX
TITLE_MIN, TITLE_MAX = 3, 200
DESCRIPTION_MAX = 5000
REASON_MIN, REASON_MAX = 3, 2000


class ThemeTextIn(msgspec.Struct):
    title: str
    description: str = ""
    language: str = ""


# -- validation -----------------------------------------------------------------------------


def clean_text(text: ThemeTextIn, default_language: str) -> ThemeTextIn:
    if has_control_characters(text.title, text.description):
        raise InvalidInput(_("The text contains control characters; type it again."))
    title = " ".join(text.title.split())
    description = text.description.strip()
    language = text.language or default_language
    if len(title) < TITLE_MIN:
        raise InvalidInput(
            _("Give the theme a title of at least %(n)d characters.") % {"n": TITLE_MIN}
        )
    if len(title) > TITLE_MAX:
        raise InvalidInput(
            _("The title is %(length)d characters long; it may have at most %(n)d.")
            % {"length": len(title), "n": TITLE_MAX}
        )
    if len(description) > DESCRIPTION_MAX:
        raise InvalidInput(
            _("The description is %(length)d characters long; it may have at most %(n)d.")
            % {"length": len(description), "n": DESCRIPTION_MAX}
        )
    if language not in LANGUAGES:
        raise InvalidInput(_("Unknown language %(code)s.") % {"code": language})
    return ThemeTextIn(title=title, description=description, language=language)


def parse_scope(countries: list[str] | str) -> str:
    codes = countries.split() if isinstance(countries, str) else countries
    chosen = [c for c in COUNTRIES if c in set(codes)]
    unknown = set(codes) - set(COUNTRIES)
    if unknown or not chosen:
        raise InvalidInput(_("Choose the countries: BE, FR or both."))
    return " ".join(chosen)


def scope_countries(scope: str) -> list[str]:
    return scope.split()


# -- reading --------------------------------------------------------------------------------


async def _theme_row(theme_id: int, actor: CurrentMember | None = None) -> dict[str, Any]:
    """The theme, as ``actor`` may see it: a draft or withdrawn proposal is its author's alone,
    so for anybody else it does not exist (the answer does not reveal it)."""
    if not 1 <= theme_id <= ID_MAX:  # cannot name a row; must not reach the database either
        raise NotFound(_("There is no theme %(id)d.") % {"id": theme_id})
    row = await Theme.select().where(Theme.id == theme_id).first()
    private = row is not None and row["status"] in (DRAFT, WITHDRAWN)
    if row is None or (private and (actor is None or actor.id != row["proposer"])):
        raise NotFound(_("There is no theme %(id)d.") % {"id": theme_id})
    return row


async def _title(theme_id: int, language: str) -> str:
    texts = await ThemeText.select(ThemeText.language, ThemeText.title).where(
        ThemeText.theme == theme_id
    )
    by_language = {t["language"]: t["title"] for t in texts}
    return by_language.get(language) or next(iter(by_language.values()), "")


def _require_operator(actor: CurrentMember, countries: list[str]) -> None:
    if not all(actor.is_operator(c) for c in countries):
        raise Forbidden(
            _("Only operators of %(countries)s can do this.") % {"countries": ", ".join(countries)}
        )


# -- board themes ---------------------------------------------------------------------------


async def add_board_theme(
    rules: Rules, actor: CurrentMember, edition_id: int, scope: list[str], text: ThemeTextIn
) -> int:
    """Board members and the operators of its countries add a theme straight to the ballot."""
    countries = scope_countries(parse_scope(scope))
    if not (actor.is_board or all(actor.is_operator(c) for c in countries)):
        raise Forbidden(_("Only board members and the countries' operators add board themes."))
    text = clean_text(text, actor.language)
    await get_edition_by_id(edition_id)
    async with db.write_transaction():
        rows = await Theme.insert(
            Theme(
                edition=edition_id,
                origin=BOARD,
                status=ACCEPTED,
                scope=" ".join(countries),
                original_language=text.language,
                decided_at=clock.now(),
            )
        )
        theme_id = int(rows[0]["id"])
        await _insert_text(theme_id, text)
        await audit.record(
            "theme.add",
            actor=actor,
            country=" ".join(countries),
            object_type="theme",
            object_id=theme_id,
            details={"edition": edition_id, "title": text.title},
        )
    return theme_id


async def _insert_text(theme_id: int, text: ThemeTextIn) -> None:
    await ThemeText.insert(
        ThemeText(
            theme=theme_id, language=text.language, title=text.title, description=text.description
        )
    )


async def _replace_text(theme_id: int, text: ThemeTextIn) -> None:
    """A theme's text in one language, replacing the one it had (inside a transaction)."""
    await ThemeText.delete().where(
        (ThemeText.theme == theme_id) & (ThemeText.language == text.language)
    )
    await _insert_text(theme_id, text)


async def write_texts(theme_id: int, texts: list[ThemeTextIn]) -> None:
    """Give a theme these texts, each replacing the one it had in its language, inside the
    caller's transaction. For the platform's own writes (an extension copying its original's
    texts, the demo); people's edits go through ``set_text`` and ``edit_draft``."""
    for text in texts:
        await _replace_text(theme_id, text)


async def texts_of(theme_id: int) -> list[ThemeTextIn]:
    """Every language of a theme's text."""
    rows = await ThemeText.select().where(ThemeText.theme == theme_id).order_by(ThemeText.id)
    return [
        ThemeTextIn(title=r["title"], description=r["description"], language=r["language"])
        for r in rows
    ]


async def set_text(rules: Rules, actor: CurrentMember, theme_id: int, text: ThemeTextIn) -> None:
    """Add or correct a theme's title and description in one language.

    Operators of all the theme's countries may, and board members for board themes. The
    original text of a member's proposal stays the author's words.
    """
    row = await _theme_row(theme_id, actor)
    countries = scope_countries(row["scope"])
    if not may_translate(actor, countries, row["origin"]):
        raise Forbidden(
            _("Only operators of %(countries)s can do this.") % {"countries": ", ".join(countries)}
        )
    if row["status"] in (DRAFT, WITHDRAWN):
        raise Conflict(_("A draft or withdrawn proposal cannot be translated."))
    if not text.language:
        raise InvalidInput(_("Choose the language of the translation."))
    text = clean_text(text, text.language)
    if row["origin"] == MEMBER and text.language == row["original_language"]:
        raise Forbidden(
            _("The original text of a member's proposal can only be changed by its author.")
        )
    async with db.write_transaction():
        await _replace_text(theme_id, text)
        await audit.record(
            "theme.text",
            actor=actor,
            country=row["scope"],
            object_type="theme",
            object_id=theme_id,
            details={"language": text.language, "title": text.title},
        )


# -- member proposals -----------------------------------------------------------------------


async def propose(
    rules: Rules,
    actor: CurrentMember,
    edition_id: int,
    text: ThemeTextIn,
    today: date | None = None,
) -> int:
    """A member drafts a proposal for their country during the proposal phase."""
    edition = await get_edition_by_id(edition_id)
    require_phase(edition, actor.country, PROPOSALS, today)
    text = clean_text(text, actor.language)
    async with db.write_transaction():
        rows = await Theme.insert(
            Theme(
                edition=edition_id,
                origin=MEMBER,
                status=DRAFT,
                scope=actor.country,
                original_language=text.language,
                proposer=actor.id,
            )
        )
        theme_id = int(rows[0]["id"])
        await _insert_text(theme_id, text)
    return theme_id


def may_translate(actor: CurrentMember | None, countries: list[str], origin: str) -> bool:
    """Who may add or correct a theme's texts: operators of all its countries, and board
    members for board themes."""
    return actor is not None and (
        all(actor.is_operator(c) for c in countries) or (origin == BOARD and actor.is_board)
    )


def require_proposer(actor: CurrentMember, proposer_id: int | None) -> None:
    """A member's proposal is changed by its author only."""
    if proposer_id != actor.id:
        raise Forbidden(_("Only the member who proposed this theme can change it."))


async def _own_proposal(actor: CurrentMember, theme_id: int) -> dict[str, Any]:
    row = await _theme_row(theme_id, actor)
    require_proposer(actor, row["proposer"])
    return row


async def edit_draft(
    rules: Rules, actor: CurrentMember, theme_id: int, text: ThemeTextIn, today: date | None = None
) -> None:
    row = await _own_proposal(actor, theme_id)
    if row["status"] != DRAFT:
        raise Conflict(_("Only a draft can be edited; this proposal was submitted already."))
    edition = await get_edition_by_id(row["edition"])
    require_phase(edition, row["scope"], PROPOSALS, today)
    text = clean_text(text, row["original_language"])
    async with db.write_transaction():
        await _replace_text(theme_id, text)
        if text.language != row["original_language"]:
            await Theme.update({Theme.original_language: text.language}).where(Theme.id == theme_id)
            await ThemeText.delete().where(
                (ThemeText.theme == theme_id) & (ThemeText.language != text.language)
            )


async def submit(
    rules: Rules, actor: CurrentMember, theme_id: int, today: date | None = None
) -> None:
    """The proposer submits a draft: members of its country can support it from now on."""
    row = await _own_proposal(actor, theme_id)
    edition = await get_edition_by_id(row["edition"])
    require_phase(edition, row["scope"], PROPOSALS, today)
    async with db.write_transaction():
        changed = await (
            Theme.update({Theme.status: SUBMITTED, Theme.submitted_at: clock.now()})
            .where((Theme.id == theme_id) & (Theme.status == DRAFT))
            .returning(Theme.id)
        )
    if not changed:
        raise Conflict(_("Only a draft can be submitted."))
    rules.emit(
        ThemeProposed(
            country=row["scope"].split()[0],
            theme_id=theme_id,
            edition=edition.slug,
            title=await _title(theme_id, row["original_language"]),
            proposer_id=actor.id,
        )
    )


async def withdraw(
    rules: Rules, actor: CurrentMember, theme_id: int, today: date | None = None
) -> None:
    row = await _own_proposal(actor, theme_id)
    edition = await get_edition_by_id(row["edition"])
    require_phase(edition, row["scope"], PROPOSALS, today)
    async with db.write_transaction():
        changed = await (
            Theme.update({Theme.status: WITHDRAWN})
            .where((Theme.id == theme_id) & Theme.status.is_in([DRAFT, SUBMITTED]))
            .returning(Theme.id)
        )
    if not changed:
        raise Conflict(_("Only a draft or a submitted proposal can be withdrawn."))


# -- supports -------------------------------------------------------------------------------


async def support(
    rules: Rules, actor: CurrentMember, theme_id: int, today: date | None = None
) -> int:
    """A member of the theme's country supports a submitted proposal, once. Returns the count."""
    row = await _theme_row(theme_id, actor)
    if row["status"] != SUBMITTED:
        raise Conflict(_("Only submitted proposals can be supported."))
    if row["proposer"] == actor.id:
        raise Forbidden(_("You cannot support your own proposal."))
    countries = scope_countries(row["scope"])
    if actor.country not in countries:
        raise Forbidden(
            _("Only members in %(countries)s can support this proposal.")
            % {"countries": ", ".join(countries)}
        )
    edition = await get_edition_by_id(row["edition"])
    require_phase(edition, actor.country, PROPOSALS, today)
    threshold = rules.support_threshold(edition, countries[0])
    announced: ThresholdReached | None = None
    try:
        async with db.write_transaction():
            if (await _locked_row(theme_id))["status"] != SUBMITTED:  # moderated meanwhile
                raise Conflict(_("Only submitted proposals can be supported."))
            await Support.insert(Support(theme=theme_id, member=actor.id))
            count = await _recount(theme_id)
            if await _stamp_threshold(theme_id, count, threshold):
                announced = ThresholdReached(
                    country=countries[0],
                    theme_id=theme_id,
                    edition=edition.slug,
                    title=await _title(theme_id, row["original_language"]),
                    supports=count,
                    threshold=threshold,
                    proposer_id=row["proposer"],
                )
                await rules.notify(announced)
    except Exception as exc:
        if db.is_unique_violation(exc):
            raise Conflict(_("You already support this proposal.")) from None
        raise
    if announced is not None:
        rules.emit(announced)
    return count


async def _stamp_threshold(theme_id: int, count: int, threshold: int) -> bool:
    """Stamp the moment a proposal reaches its threshold, once: True only for the change that
    stamps it, which alone announces it (a row read earlier may be stale; the stamp never
    moves, even when supports are withdrawn and come back)."""
    if count < threshold:
        return False
    stamped = (
        await Theme.update({Theme.threshold_reached_at: clock.now()})
        .where((Theme.id == theme_id) & Theme.threshold_reached_at.is_null())
        .returning(Theme.id)
    )
    return bool(stamped)


async def withdraw_support(
    rules: Rules, actor: CurrentMember, theme_id: int, today: date | None = None
) -> int:
    """Take a support back while the proposal phase is open. Returns the new count."""
    row = await _theme_row(theme_id, actor)
    edition = await get_edition_by_id(row["edition"])
    require_phase(edition, actor.country, PROPOSALS, today)
    if row["status"] != SUBMITTED:
        raise Conflict(_("Supports can only be taken back from a proposal still open to support."))
    async with db.write_transaction():
        if (await _locked_row(theme_id))["status"] != SUBMITTED:
            raise Conflict(
                _("Supports can only be taken back from a proposal still open to support.")
            )
        removed = await (
            Support.delete()
            .where((Support.theme == theme_id) & (Support.member == actor.id))
            .returning(Support.id)
        )
        if not removed:
            raise Conflict(_("You do not support this proposal."))
        return await _recount(theme_id)


async def _locked_row(theme_id: int) -> dict[str, Any]:
    """The theme as it is now, inside the caller's write transaction, locked against other
    writers until the commit (SQLite's IMMEDIATE transaction already serialises writers)."""
    query = Theme.select().where(Theme.id == theme_id)
    if not db.is_sqlite():
        query = query.lock_rows("NO KEY UPDATE")
    row = await query.first()
    if row is None:
        raise NotFound(_("There is no theme %(id)d.") % {"id": theme_id})
    return row


async def _recount(theme_id: int) -> int:
    """Count the support rows and store the count; inside the caller's write transaction.

    On PostgreSQL the theme's row is locked first, so a concurrent writer waits for this one to
    commit and then counts its support too (SQLite's IMMEDIATE transaction already serialises).
    """
    if not db.is_sqlite():
        await Theme.select(Theme.id).where(Theme.id == theme_id).lock_rows("NO KEY UPDATE")
    count = await Support.count().where(Support.theme == theme_id)
    await Theme.update({Theme.support_count: count}).where(Theme.id == theme_id)
    return count


# -- moderation -----------------------------------------------------------------------------


async def _decide(
    rules: Rules,
    actor: CurrentMember,
    theme_id: int,
    changes: dict[Any, Any],
    refused: str,
    event: type[ThemeAccepted] | type[ThemeRejected],
    action: str,
    check: Any = None,
    **details: Any,
) -> None:
    """An operator's decision on a submitted proposal: one conditional UPDATE (a proposal
    decided meanwhile is refused with ``refused``) with its notifications, then the event
    after the commit."""
    row = await _theme_row(theme_id, actor)
    _require_operator(actor, scope_countries(row["scope"]))
    if check is not None:
        check()
    edition = await get_edition_by_id(row["edition"])
    decided = event(
        country=scope_countries(row["scope"])[0],
        theme_id=theme_id,
        edition=edition.slug,
        title=await _title(theme_id, row["original_language"]),
        actor_id=actor.id,
        proposer_id=row["proposer"],
        **details,
    )
    async with db.write_transaction():
        changed = await (
            Theme.update({**changes, Theme.decided_at: clock.now()})
            .where((Theme.id == theme_id) & (Theme.status == SUBMITTED))
            .returning(Theme.id)
        )
        if changed:
            await rules.notify(decided)
            await audit.record(
                action,
                actor=actor,
                country=row["scope"],
                object_type="theme",
                object_id=theme_id,
                details=details,
            )
    if not changed:
        raise Conflict(refused)
    rules.emit(decided)


async def accept(rules: Rules, actor: CurrentMember, theme_id: int) -> None:
    """An operator of the theme's country puts a submitted proposal on the ballot."""
    await _decide(
        rules,
        actor,
        theme_id,
        {Theme.status: ACCEPTED},
        _("Only a submitted proposal can be accepted."),
        ThemeAccepted,
        "theme.accept",
    )


async def reject(rules: Rules, actor: CurrentMember, theme_id: int, reason: str) -> None:
    """An operator rejects a submitted proposal; the reason is shown to the proposer."""
    reason = reason.strip()

    def check() -> None:
        if not REASON_MIN <= len(reason) <= REASON_MAX:
            raise InvalidInput(
                _("Give the proposer a reason (%(min)d to %(max)d characters).")
                % {"min": REASON_MIN, "max": REASON_MAX}
            )

    await _decide(
        rules,
        actor,
        theme_id,
        {Theme.status: REJECTED, Theme.rejection_reason: reason},
        _("Only a submitted proposal can be rejected."),
        ThemeRejected,
        "theme.reject",
        check,
        reason=reason,
    )


async def merge(rules: Rules, actor: CurrentMember, theme_id: int, into_id: int) -> int:
    """Merge a submitted proposal into another theme of the same edition and country.

    Its supporters now support the target, each counted once (a member who supported both, or
    who proposed the target, is not counted again). Returns the target's new support count.
    """
    if theme_id == into_id:
        raise InvalidInput(_("A theme cannot be merged into itself."))
    row = await _theme_row(theme_id, actor)
    target = await _theme_row(into_id, actor)
    source_countries = scope_countries(row["scope"])
    _require_operator(actor, source_countries)
    if target["edition"] != row["edition"]:
        raise InvalidInput(_("Both themes must belong to the same edition."))
    if not set(source_countries) <= set(scope_countries(target["scope"])):
        raise InvalidInput(_("The target theme must run in the same countries."))
    if target["status"] not in (SUBMITTED, ACCEPTED):
        raise Conflict(_("Merge into a submitted or accepted theme."))
    edition = await get_edition_by_id(row["edition"])
    threshold = rules.support_threshold(edition, source_countries[0])
    async with db.write_transaction():
        # Lock both themes in a fixed order, so merging A into B while B goes into A waits
        # instead of deadlocking; then decide on their state as it is now.
        locked = {t: await _locked_row(t) for t in sorted((theme_id, into_id))}
        target = locked[into_id]
        if target["status"] not in (SUBMITTED, ACCEPTED):
            raise Conflict(_("Merge into a submitted or accepted theme."))
        changed = await (
            Theme.update(
                {Theme.status: MERGED, Theme.merged_into: into_id, Theme.decided_at: clock.now()}
            )
            .where((Theme.id == theme_id) & (Theme.status == SUBMITTED))
            .returning(Theme.id)
        )
        if not changed:
            raise Conflict(_("Only a submitted proposal can be merged."))
        supporters = {
            r["member"]
            for r in await Support.select(Support.member).where(Support.theme == theme_id)
        }
        already = {
            r["member"]
            for r in await Support.select(Support.member).where(Support.theme == into_id)
        }
        moved = supporters - already - {target["proposer"]}
        if moved:
            await Support.insert(*[Support(theme=into_id, member=m) for m in sorted(moved)])
        await Support.delete().where(Support.theme == theme_id)
        await _recount(theme_id)
        count = await _recount(into_id)
        reached = target["status"] == SUBMITTED and await _stamp_threshold(
            into_id, count, threshold
        )
        events: list[Event] = [
            ThemeMerged(
                country=source_countries[0],
                theme_id=theme_id,
                edition=edition.slug,
                title=await _title(theme_id, row["original_language"]),
                actor_id=actor.id,
                into_theme_id=into_id,
                supports_moved=len(moved),
                proposer_id=row["proposer"],
            )
        ]
        if reached:
            events.append(
                ThresholdReached(
                    country=source_countries[0],
                    theme_id=into_id,
                    edition=edition.slug,
                    title=await _title(into_id, target["original_language"]),
                    supports=count,
                    threshold=threshold,
                    proposer_id=target["proposer"],
                )
            )
        await rules.notify(*events)
        await audit.record(
            "theme.merge",
            actor=actor,
            country=row["scope"],
            object_type="theme",
            object_id=theme_id,
            details={"into": into_id, "supports_moved": len(moved)},
        )
    rules.emit(*events)
    return count


async def member_name(member_id: int | None) -> str | None:
    if member_id is None:
        return None
    row = await Member.select(Member.name).where(Member.id == member_id).first()
    return row["name"] if row else None
