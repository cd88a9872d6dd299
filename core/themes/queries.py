"""Reading themes: lists with search, filters, sorting and pages; one theme; queues."""

from __future__ import annotations

from typing import Any

import msgspec

from core.config import COUNTRIES
from core.errors import Forbidden, InvalidInput, NotFound
from core.i18n import _
from core.members.model import CurrentMember
from core.members.tables import Member
from core.themes.services import (
    ACCEPTED,
    DRAFT,
    EXTENDED,
    ID_MAX,
    ORIGINS,
    PUBLIC_STATUSES,
    SUBMITTED,
    WITHDRAWN,
    scope_countries,
)
from core.themes.tables import Support, Theme, ThemeText

SORTS = ("supports", "newest", "oldest", "title")
PER_PAGE_MAX = 100
PAGE_MAX = 100_000


class ThemeTextOut(msgspec.Struct):
    language: str
    title: str
    description: str


class ThemeSummary(msgspec.Struct):
    id: int
    edition_id: int
    title: str
    description: str
    language: str  # the language title and description are in (the fallback when missing)
    origin: str
    status: str
    countries: list[str]
    support_count: int
    threshold_reached: bool
    proposer_id: int | None
    extended_from: int | None
    merged_into: int | None
    created_at: str


class ThemeDetail(ThemeSummary):
    texts: list[ThemeTextOut] = []
    proposer_name: str | None = None
    rejection_reason: str = ""
    extension_rationale: str = ""
    supported_by_me: bool = False
    # For an extension: the theme it continues, as the reader sees it.
    extended_from_title: str = ""
    extended_from_edition: str = ""


class ExtendedTheme(msgspec.Struct):
    """A theme that joined an edition as an extension, with the theme it continues."""

    id: int
    title: str
    language: str
    countries: list[str]
    rationale: str
    extended_from: int | None
    original_title: str
    original_edition: str


class ThemePage(msgspec.Struct):
    items: list[ThemeSummary]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


class ThemeFilter(msgspec.Struct):
    country: str | None = None
    q: str = ""
    origin: str | None = None
    status: str | None = None
    sort: str = "supports"
    page: int = 1
    per_page: int = 20


def _check(filters: ThemeFilter) -> None:
    if filters.country is not None and filters.country not in COUNTRIES:
        raise InvalidInput(_("Unknown country %(code)s.") % {"code": filters.country})
    if filters.origin is not None and filters.origin not in ORIGINS:
        raise InvalidInput(_("Unknown origin %(value)s.") % {"value": filters.origin})
    if filters.status is not None and filters.status not in PUBLIC_STATUSES:
        raise InvalidInput(_("Unknown status %(value)s.") % {"value": filters.status})
    if filters.sort not in SORTS:
        raise InvalidInput(_("Unknown sort order %(value)s.") % {"value": filters.sort})
    if not 1 <= filters.page <= PAGE_MAX or not 1 <= filters.per_page <= PER_PAGE_MAX:
        raise InvalidInput(_("Pages start at 1 and hold 1 to %(n)d themes.") % {"n": PER_PAGE_MAX})
    if len(filters.q) > 200:
        raise InvalidInput(_("Search for at most 200 characters."))


async def _texts(theme_ids: list[int]) -> dict[int, dict[str, dict[str, str]]]:
    if not theme_ids:
        return {}
    rows = await ThemeText.select().where(ThemeText.theme.is_in(theme_ids))
    texts: dict[int, dict[str, dict[str, str]]] = {}
    for row in rows:
        texts.setdefault(row["theme"], {})[row["language"]] = row
    return texts


def _summary(
    row: dict[str, Any], texts: dict[str, dict[str, str]], language: str
) -> dict[str, Any]:
    chosen = (
        texts.get(language)
        or texts.get(row["original_language"])
        or next(
            iter(texts.values()),
            {"title": "", "description": "", "language": row["original_language"]},
        )
    )
    return {
        "id": row["id"],
        "edition_id": row["edition"],
        "title": chosen["title"],
        "description": chosen["description"],
        "language": chosen["language"],
        "origin": row["origin"],
        "status": row["status"],
        "countries": scope_countries(row["scope"]),
        "support_count": row["support_count"],
        "threshold_reached": row["threshold_reached_at"] is not None,
        "proposer_id": row["proposer"],
        "extended_from": row["extended_from"],
        "merged_into": row["merged_into"],
        "created_at": row["created_at"].isoformat(),
    }


async def list_themes(edition_id: int, filters: ThemeFilter, language: str) -> ThemePage:
    """The public list of an edition's themes (drafts and withdrawn proposals stay private)."""
    _check(filters)
    where = (Theme.edition == edition_id) & Theme.status.is_in(
        [filters.status] if filters.status else list(PUBLIC_STATUSES)
    )
    if filters.country:
        where &= Theme.scope.like(f"%{filters.country}%")
    if filters.origin:
        where &= Theme.origin == filters.origin
    if filters.q.strip():
        # Matched here rather than with ILIKE: SQLite's LIKE folds the case of ASCII letters
        # only ("ÉNERGIE" would not find "énergie"), and the needle's % and _ stay literal.
        needle = filters.q.strip().casefold()
        texts = await ThemeText.select(
            ThemeText.theme, ThemeText.title, ThemeText.description
        ).where(ThemeText.theme.edition == edition_id)
        matching = sorted(
            {
                t["theme"]
                for t in texts
                if needle in t["title"].casefold() or needle in t["description"].casefold()
            }
        )
        if not matching:
            return ThemePage(items=[], total=0, page=filters.page, per_page=filters.per_page)
        where &= Theme.id.is_in(matching)
    total = await Theme.count().where(where)
    query = Theme.select().where(where)
    if filters.sort == "supports":
        query = query.order_by(Theme.support_count, ascending=False).order_by(Theme.id)
    elif filters.sort == "newest":
        query = query.order_by(Theme.created_at, ascending=False).order_by(
            Theme.id, ascending=False
        )
    elif filters.sort == "oldest":
        query = query.order_by(Theme.created_at).order_by(Theme.id)
    start = (filters.page - 1) * filters.per_page
    if filters.sort == "title":
        # Titles live in per-language rows with a fallback: sort what the reader will see.
        rows = await query
        texts = await _texts([r["id"] for r in rows])
        rows.sort(key=lambda r: _summary(r, texts.get(r["id"], {}), language)["title"].casefold())
        rows = rows[start : start + filters.per_page]
    else:
        rows = await query.offset(start).limit(filters.per_page)
        texts = await _texts([r["id"] for r in rows])
    items = [ThemeSummary(**_summary(r, texts.get(r["id"], {}), language)) for r in rows]
    return ThemePage(items=items, total=total, page=filters.page, per_page=filters.per_page)


async def theme_detail(theme_id: int, language: str, viewer: CurrentMember | None) -> ThemeDetail:
    row = (
        await Theme.select().where(Theme.id == theme_id).first()
        if 1 <= theme_id <= ID_MAX
        else None
    )
    if row is None:
        raise NotFound(_("There is no theme %(id)d.") % {"id": theme_id})
    private = row["status"] in (DRAFT, WITHDRAWN)
    if private and (viewer is None or viewer.id != row["proposer"]):
        # A draft is its author's alone; say "not found" rather than reveal it exists.
        raise NotFound(_("There is no theme %(id)d.") % {"id": theme_id})
    texts = (await _texts([theme_id])).get(theme_id, {})
    summary = _summary(row, texts, language)
    proposer = None
    if row["proposer"] is not None:
        found = await Member.select(Member.name).where(Member.id == row["proposer"]).first()
        proposer = found["name"] if found else None
    supported = False
    if viewer is not None:
        supported = await Support.exists().where(
            (Support.theme == theme_id) & (Support.member == viewer.id)
        )
    original_title, original_edition = await _original(row["extended_from"], language)
    return ThemeDetail(
        **summary,
        texts=[
            ThemeTextOut(language=t["language"], title=t["title"], description=t["description"])
            for t in texts.values()
        ],
        proposer_name=proposer,
        rejection_reason=row["rejection_reason"],
        extension_rationale=row["extension_rationale"],
        supported_by_me=supported,
        extended_from_title=original_title,
        extended_from_edition=original_edition,
    )


async def _original(theme_id: int | None, language: str) -> tuple[str, str]:
    """The title (in ``language`` when it has one) and edition of the theme an extension
    continues; empty strings when there is none."""
    if theme_id is None:
        return "", ""
    row = (
        await Theme.select(Theme.id, Theme.original_language, Theme.edition.slug)
        .where(Theme.id == theme_id)
        .first()
    )
    if row is None:
        return "", ""
    texts = (await _texts([theme_id])).get(theme_id, {})
    chosen = texts.get(language) or texts.get(row["original_language"]) or {"title": ""}
    return chosen["title"], row["edition.slug"]


async def extensions_in(edition_id: int, language: str) -> list[ExtendedTheme]:
    """The themes that joined the edition as extensions (no AGM vote), with their originals."""
    rows = (
        await Theme.select()
        .where(
            (Theme.edition == edition_id) & (Theme.origin == EXTENDED) & (Theme.status == ACCEPTED)
        )
        .order_by(Theme.id)
    )
    texts = await _texts([r["id"] for r in rows])
    found = []
    for row in rows:
        summary = _summary(row, texts.get(row["id"], {}), language)
        original_title, original_edition = await _original(row["extended_from"], language)
        found.append(
            ExtendedTheme(
                id=row["id"],
                title=summary["title"],
                language=summary["language"],
                countries=summary["countries"],
                rationale=row["extension_rationale"],
                extended_from=row["extended_from"],
                original_title=original_title,
                original_edition=original_edition,
            )
        )
    return found


async def my_proposals(member: CurrentMember, language: str) -> list[ThemeSummary]:
    rows = (
        await Theme.select()
        .where(Theme.proposer == member.id)
        .order_by(Theme.created_at, ascending=False)
    )
    texts = await _texts([r["id"] for r in rows])
    return [ThemeSummary(**_summary(r, texts.get(r["id"], {}), language)) for r in rows]


async def moderation_queue(
    operator: CurrentMember, country: str, language: str, edition_id: int | None = None
) -> tuple[list[ThemeSummary], list[ThemeSummary]]:
    """Submitted proposals of one country the operator runs: (over threshold, still gathering)."""
    if not operator.is_operator(country):
        raise Forbidden(_("Only operators of %(countries)s can do this.") % {"countries": country})
    where = (Theme.status == SUBMITTED) & Theme.scope.like(f"%{country}%")
    if edition_id is not None:
        where &= Theme.edition == edition_id
    rows = await Theme.select().where(where).order_by(Theme.support_count, ascending=False)
    texts = await _texts([r["id"] for r in rows])
    items = [ThemeSummary(**_summary(r, texts.get(r["id"], {}), language)) for r in rows]
    return [t for t in items if t.threshold_reached], [t for t in items if not t.threshold_reached]


async def supported_among(member_id: int, theme_ids: list[int]) -> set[int]:
    """Which of these themes the member supports."""
    if not theme_ids:
        return set()
    rows = await Support.select(Support.theme).where(
        (Support.member == member_id) & Support.theme.is_in(sorted(set(theme_ids)))
    )
    return {r["theme"] for r in rows}


async def supported_by(member_id: int, edition_id: int, language: str) -> list[ThemeSummary]:
    """The themes of an edition the member supports, the most supported first."""
    ids = [
        r["theme"]
        for r in await Support.select(Support.theme).where(
            (Support.member == member_id) & (Support.theme.edition == edition_id)
        )
    ]
    if not ids:
        return []
    rows = (
        await Theme.select()
        .where(Theme.id.is_in(ids))
        .order_by(Theme.support_count, ascending=False)
        .order_by(Theme.id)
    )
    texts = await _texts([r["id"] for r in rows])
    return [ThemeSummary(**_summary(r, texts.get(r["id"], {}), language)) for r in rows]


async def proposals_count(member_id: int) -> int:
    """How many proposals the member made (drafts included)."""
    return await Theme.count().where(Theme.proposer == member_id)


async def submitted_count(countries: list[str]) -> int:
    """Submitted proposals of any of these countries: what their operators moderate."""
    if not countries:
        return 0
    in_scope = Theme.scope.like(f"%{countries[0]}%")
    for country in countries[1:]:
        in_scope |= Theme.scope.like(f"%{country}%")
    return await Theme.count().where((Theme.status == SUBMITTED) & in_scope)
