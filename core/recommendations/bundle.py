"""The bundle handed to the board: one country's submitted recommendations of an edition,
grouped by theme and working group, with each group's attendance figures; as a document (HTML
page with a print stylesheet), CSV and JSON.

The same structure shows the recommendations still waiting for a bundle, so the operator reads
exactly what the board will receive.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

import msgspec

from core.editions.services import EditionInfo, get_edition_by_id
from core.errors import NotFound
from core.groups.planning import meetings_of
from core.groups.services import get_group
from core.i18n import _, current_language
from core.members.tables import Member
from core.recommendations.deciding import pending_rows
from core.recommendations.services import ID_MAX, _endorsement_counts, current_decisions, snapshot
from core.recommendations.tables import Bundle, Recommendation
from core.spreadsheets import writer as csv_writer


class BundleItem(msgspec.Struct, frozen=True, kw_only=True):
    """A recommendation in the bundle, with the board's current decision once there is one."""

    id: int
    title: str
    text: str
    rationale: str
    language: str
    submitted_on: date | None
    endorsements: int
    decision: str | None
    decided_on: date | None


class BundleGroup(msgspec.Struct, frozen=True, kw_only=True):
    """A working group and its attendance: ``present`` of ``recorded`` attendance rows over its
    meetings (``attendance_rate`` None before anything is recorded)."""

    id: int
    locality: str
    language: str
    facilitators: list[str]
    participants: int
    capacity: int
    meetings: int
    meetings_recorded: int
    present: int
    recorded: int
    attendance_rate: float | None
    recommendations: list[BundleItem]


class BundleTheme(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    title: str
    groups: list[BundleGroup]


class BundleDocument(msgspec.Struct, frozen=True, kw_only=True):
    """A bundle (``id`` None: the recommendations still waiting for one)."""

    id: int | None
    edition: str
    country: str
    created_at: datetime | None
    created_by: str
    recommendations: int
    themes: list[BundleTheme]


class BundleSummary(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    edition: str
    country: str
    created_at: datetime
    created_by: str
    recommendations: int


@snapshot
async def document(
    edition: EditionInfo,
    country: str,
    rows: list[dict[str, Any]],
    *,
    bundle_id: int | None = None,
    created_at: datetime | None = None,
    created_by: str = "",
    language: str | None = None,
) -> BundleDocument:
    """The document of these recommendation rows (all of one edition and country)."""
    reader = language or current_language.get()
    ids = [r["id"] for r in rows]
    endorsements = await _endorsement_counts(ids)
    decisions = await current_decisions(ids)
    by_group: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_group.setdefault(row["working_group"], []).append(row)
    themes: dict[int, tuple[str, list[BundleGroup]]] = {}
    for group_id, mine in by_group.items():
        group = await get_group(group_id, reader)
        meetings = await meetings_of(group_id)
        present = sum(m.present for m in meetings)
        recorded = sum(m.recorded for m in meetings)
        items = [
            BundleItem(
                id=r["id"],
                title=r["title"],
                text=r["text"],
                rationale=r["rationale"],
                language=r["language"],
                submitted_on=r["submitted_at"].date() if r["submitted_at"] else None,
                endorsements=endorsements.get(r["id"], 0),
                decision=decisions[r["id"]].outcome if r["id"] in decisions else None,
                decided_on=decisions[r["id"]].decided_on if r["id"] in decisions else None,
            )
            for r in mine
        ]
        themes.setdefault(group.theme_id, (group.title, []))[1].append(
            BundleGroup(
                id=group.id,
                locality=group.locality,
                language=group.language,
                facilitators=[f.name for f in group.facilitators],
                participants=group.confirmed,
                capacity=group.capacity,
                meetings=len(meetings),
                meetings_recorded=sum(1 for m in meetings if m.recorded),
                present=present,
                recorded=recorded,
                attendance_rate=present / recorded if recorded else None,
                recommendations=items,
            )
        )
    return BundleDocument(
        id=bundle_id,
        edition=edition.slug,
        country=country,
        created_at=created_at,
        created_by=created_by,
        recommendations=len(rows),
        themes=[
            BundleTheme(id=theme_id, title=title, groups=sorted(groups, key=lambda g: g.id))
            for theme_id, (title, groups) in sorted(themes.items(), key=lambda t: t[1][0])
        ],
    )


async def _creator(member_id: int | None) -> str:
    if member_id is None:
        return ""
    row = await Member.select(Member.name).where(Member.id == member_id).first()
    return row["name"] if row else ""


async def bundle_row(bundle_id: int) -> dict[str, Any]:
    row = (
        await Bundle.select().where(Bundle.id == bundle_id).first()
        if 1 <= bundle_id <= ID_MAX
        else None
    )
    if row is None:
        raise NotFound(_("There is no bundle %(id)d.") % {"id": bundle_id})
    return row


async def bundle_document(bundle_id: int, language: str | None = None) -> BundleDocument:
    row = await bundle_row(bundle_id)
    rows = await (
        Recommendation.select()
        .where(Recommendation.bundle == bundle_id)
        .order_by(Recommendation.id)
    )
    return await document(
        await get_edition_by_id(row["edition"]),
        row["country"],
        rows,
        bundle_id=bundle_id,
        created_at=row["created_at"],
        created_by=await _creator(row["created_by"]),
        language=language,
    )


async def pending_document(
    edition: EditionInfo, country: str, language: str | None = None
) -> BundleDocument:
    return await document(
        edition, country, await pending_rows(edition.id, country), language=language
    )


async def bundles(
    edition_id: int | None = None, countries: list[str] | None = None
) -> list[BundleSummary]:
    """The bundles made so far, newest first."""
    query = Bundle.select(
        Bundle.id,
        Bundle.country,
        Bundle.created_at,
        Bundle.created_by,
        Bundle.edition.slug.as_alias("edition_slug"),
    )
    if edition_id is not None:
        query = query.where(Bundle.edition == edition_id)
    rows = await query.order_by(Bundle.created_at, ascending=False).order_by(
        Bundle.id, ascending=False
    )
    if countries is not None:
        rows = [r for r in rows if r["country"] in countries]
    counts: dict[int, int] = {}
    if rows:
        for r in await Recommendation.select(Recommendation.bundle).where(
            Recommendation.bundle.is_in([b["id"] for b in rows])
        ):
            counts[r["bundle"]] = counts.get(r["bundle"], 0) + 1
    names = {}
    for r in rows:
        if r["created_by"] not in names:
            names[r["created_by"]] = await _creator(r["created_by"])
    return [
        BundleSummary(
            id=r["id"],
            edition=r["edition_slug"],
            country=r["country"],
            created_at=r["created_at"],
            created_by=names[r["created_by"]],
            recommendations=counts.get(r["id"], 0),
        )
        for r in rows
    ]


CSV_COLUMNS = (
    "bundle",
    "edition",
    "country",
    "theme",
    "group",
    "locality",
    "participants",
    "meetings",
    "attendance_present",
    "attendance_recorded",
    "attendance_rate",
    "recommendation",
    "title",
    "text",
    "rationale",
    "language",
    "submitted_on",
    "endorsements",
    "decision",
    "decided_on",
)


def bundle_csv(doc: BundleDocument) -> str:
    """One row per recommendation, with its theme, group and the group's attendance."""
    out = io.StringIO()
    writer = csv_writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for theme in doc.themes:
        for group in theme.groups:
            for item in group.recommendations:
                writer.writerow(
                    (
                        doc.id or "",
                        doc.edition,
                        doc.country,
                        theme.title,
                        group.id,
                        group.locality,
                        group.participants,
                        group.meetings,
                        group.present,
                        group.recorded,
                        "" if group.attendance_rate is None else f"{group.attendance_rate:.3f}",
                        item.id,
                        item.title,
                        item.text,
                        item.rationale,
                        item.language,
                        item.submitted_on.isoformat() if item.submitted_on else "",
                        item.endorsements,
                        item.decision or "",
                        item.decided_on.isoformat() if item.decided_on else "",
                    )
                )
    return out.getvalue()


def bundle_json(doc: BundleDocument) -> bytes:
    return msgspec.json.encode(doc)
