"""The public record: per edition and across editions, per country, the themes and how they
came in, the AGM turnout, the working groups and their participants, the recommendations and
what became of them.

Every figure is counted from the rows the platform holds, except for the editions the
cooperative ran before the platform held their rows: where an ``ArchivedFigures`` row exists for
an edition and a country, its AGM turnout, groups, participants and meetings are the archive's
(from the cooperative's reports, named in ``source``), and the record says so. Recommendations,
decisions and projects are always counted from their rows.

* AGM voters: the participation rows of the country's published polls of the edition.
* Participants: distinct members with a place (confirmed registration) in a group of the
  edition in the country; groups and meetings: their rows.
* Recommendations: the submitted ones; outcomes by their current decision (``pending`` without
  one); projects: the distinct projects that come from them.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import msgspec

from core import db
from core.config import COUNTRIES
from core.editions.services import EditionInfo, get_edition, list_editions
from core.groups.services import CONFIRMED
from core.groups.tables import GroupRegistration, Meeting, WorkingGroup
from core.i18n import current_language
from core.polls.services import PUBLISHED
from core.polls.tables import Participation, Poll, PollCandidate
from core.recommendations.tables import (
    ArchivedFigures,
    Decision,
    Project,
    ProjectSource,
    Recommendation,
)
from core.spreadsheets import writer as csv_writer
from core.themes.extensions import ran_in
from core.themes.services import ACCEPTED, EXTENDED
from core.themes.tables import Theme, ThemeText

PLATFORM, ARCHIVE = "platform", "archive"
# How a theme came into its edition in a country.
AGM, AGM_ARCHIVE, EXTENSION, BOARD_ONLY = "agm", "agm_archive", "extension", "board"
RECORD_OUTCOMES = ("adopted", "adopted_with_changes", "rejected", "deferred", "pending")


class ThemeRoute(msgspec.Struct, frozen=True, kw_only=True):
    """How a theme came into its edition in one country: elected by the general meeting
    (``agm``: a published poll on the platform; ``agm_archive``: before the platform, from the
    archive), extended from the previous edition (``extension``), or accepted without a
    recorded vote (``board``)."""

    kind: str
    country: str
    poll_id: int | None = None
    held_on: date | None = None
    voters: int | None = None
    extended_from: int | None = None
    extended_from_title: str = ""
    extended_from_edition: str = ""
    rationale: str = ""


class RecordTheme(msgspec.Struct, frozen=True):
    id: int
    title: str
    language: str
    route: ThemeRoute


class CountryRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An edition in one country. ``agm_source`` and ``figures_source`` say where the AGM
    figures and the groups' figures come from: platform, archive, or None (nothing yet)."""

    country: str
    themes: list[RecordTheme]
    agm_source: str | None
    agm_on: date | None
    agm_voters: int | None
    agm_eligible: int | None
    agm_poll_ids: list[int]
    figures_source: str | None
    groups: int
    participants: int
    meetings: int
    archive_source: str
    recommendations: int
    outcomes: dict[str, int]
    projects: int


class ProjectRef(msgspec.Struct, frozen=True):
    id: int
    title: str
    status: str


class RecordRecommendation(msgspec.Struct, frozen=True, kw_only=True):
    """A submitted recommendation and what became of it."""

    id: int
    title: str
    language: str
    country: str
    theme_id: int
    theme_title: str
    group_id: int
    locality: str
    outcome: str | None
    decided_on: date | None
    entries: int
    projects: list[ProjectRef]


class EditionRecord(msgspec.Struct, frozen=True, kw_only=True):
    edition: str
    countries: list[CountryRecord]
    recommendations: list[RecordRecommendation]


class RecordRow(msgspec.Struct, frozen=True, kw_only=True):
    """One edition in one country, as the across-editions table and CSV show it."""

    edition: str
    country: str
    themes: int
    agm_voters: int | None
    agm_source: str | None
    groups: int
    participants: int
    meetings: int
    figures_source: str | None
    recommendations: int
    adopted: int
    adopted_with_changes: int
    rejected: int
    deferred: int
    pending: int
    projects: int


class RecordTotals(msgspec.Struct, frozen=True, kw_only=True):
    """Across editions and countries. ``participants`` adds up each edition's participants (a
    member who took part in two editions counts twice); ``projects`` are distinct."""

    editions: int
    participants: int
    agm_voters: int
    recommendations: int
    adopted: int
    projects: int


class Record(msgspec.Struct, frozen=True, kw_only=True):
    rows: list[RecordRow]
    totals: RecordTotals


# -- texts -------------------------------------------------------------------------------------


async def _titles(theme_ids: list[int], language: str) -> dict[int, tuple[str, str]]:
    """(title, its language) of each theme in the reader's language, else its original one."""
    if not theme_ids:
        return {}
    originals = {
        r["id"]: r["original_language"]
        for r in await Theme.select(Theme.id, Theme.original_language).where(
            Theme.id.is_in(theme_ids)
        )
    }
    texts: dict[int, dict[str, str]] = {}
    for t in await ThemeText.select(ThemeText.theme, ThemeText.language, ThemeText.title).where(
        ThemeText.theme.is_in(theme_ids)
    ):
        texts.setdefault(t["theme"], {})[t["language"]] = t["title"]
    found = {}
    for theme_id, by_language in texts.items():
        for choice in (language, originals.get(theme_id, ""), *sorted(by_language)):
            if choice in by_language:
                found[theme_id] = (by_language[choice], choice)
                break
    return found


# -- how a theme came in -----------------------------------------------------------------------


async def _archive(edition_id: int, country: str) -> dict[str, Any] | None:
    return (
        await ArchivedFigures.select()
        .where((ArchivedFigures.edition == edition_id) & (ArchivedFigures.country == country))
        .first()
    )


async def _published_polls(edition_id: int, country: str) -> list[dict[str, Any]]:
    return await (
        Poll.select()
        .where((Poll.edition == edition_id) & (Poll.country == country) & (Poll.state == PUBLISHED))
        .order_by(Poll.id)
    )


async def theme_route(theme_id: int, country: str, language: str | None = None) -> ThemeRoute:
    """How the theme came into its edition in ``country``."""
    reader = language or current_language.get()
    row = await Theme.select().where(Theme.id == theme_id).first()
    if row is None:
        return ThemeRoute(kind=BOARD_ONLY, country=country)
    if row["origin"] == EXTENDED and row["extended_from"] is not None:
        original = (
            await Theme.select(Theme.id, Theme.edition.slug)
            .where(Theme.id == row["extended_from"])
            .first()
        )
        titles = await _titles([row["extended_from"]], reader)
        return ThemeRoute(
            kind=EXTENSION,
            country=country,
            extended_from=row["extended_from"],
            extended_from_title=titles.get(row["extended_from"], ("", ""))[0],
            extended_from_edition=original["edition.slug"] if original else "",
            rationale=row["extension_rationale"],
        )
    for poll in await _published_polls(row["edition"], country):
        number = (
            await PollCandidate.select(PollCandidate.number)
            .where((PollCandidate.poll == poll["id"]) & (PollCandidate.theme == theme_id))
            .first()
        )
        winners = msgspec.json.decode(poll["result"]).get("winners", []) if poll["result"] else []
        if number is not None and (number["number"] in winners or str(number["number"]) in winners):
            return ThemeRoute(
                kind=AGM,
                country=country,
                poll_id=poll["id"],
                held_on=poll["closes_at"].date(),
                voters=await Participation.count().where(Participation.poll == poll["id"]),
            )
    archive = await _archive(row["edition"], country)
    if archive is not None and archive["agm_on"] is not None:
        return ThemeRoute(
            kind=AGM_ARCHIVE,
            country=country,
            held_on=archive["agm_on"],
            voters=archive["agm_voters"],
        )
    return ThemeRoute(kind=BOARD_ONLY, country=country)


# -- one edition -------------------------------------------------------------------------------


async def _ran_themes(edition_id: int, country: str, language: str) -> list[RecordTheme]:
    rows = await (
        Theme.select()
        .where(
            (Theme.edition == edition_id)
            & (Theme.status == ACCEPTED)
            & Theme.scope.like(f"%{country}%")
        )
        .order_by(Theme.id)
    )
    ran = [r for r in rows if country in await ran_in(r)]
    titles = await _titles([r["id"] for r in ran], language)
    return [
        RecordTheme(
            r["id"],
            *titles.get(r["id"], ("", r["original_language"])),
            await theme_route(r["id"], country, language),
        )
        for r in ran
    ]


async def _participants(group_ids: list[int]) -> int:
    if not group_ids:
        return 0
    rows = await GroupRegistration.select(GroupRegistration.member).where(
        GroupRegistration.working_group.is_in(group_ids) & (GroupRegistration.status == CONFIRMED)
    )
    return len({r["member"] for r in rows})


async def _country_record(
    edition: EditionInfo,
    country: str,
    recommendations: list[RecordRecommendation],
    language: str,
) -> CountryRecord:
    archive = await _archive(edition.id, country)
    polls = await _published_polls(edition.id, country)
    if polls:
        agm_source: str | None = PLATFORM
        agm_voters: int | None = await Participation.count().where(
            Participation.poll.is_in([p["id"] for p in polls])
        )
        agm_on: date | None = polls[-1]["closes_at"].date()
        agm_eligible = None
    elif archive is not None:
        agm_source, agm_voters = ARCHIVE, archive["agm_voters"]
        agm_on, agm_eligible = archive["agm_on"], archive["agm_eligible"]
    else:
        agm_source, agm_voters, agm_on, agm_eligible = None, None, None, None
    group_ids = [
        g["id"]
        for g in await WorkingGroup.select(WorkingGroup.id).where(
            (WorkingGroup.edition == edition.id) & (WorkingGroup.country == country)
        )
    ]
    if archive is not None:
        figures_source: str | None = ARCHIVE
        groups, participants, meetings = (
            archive["group_count"],
            archive["participant_count"],
            archive["meeting_count"],
        )
    else:
        figures_source = PLATFORM if group_ids else None
        groups = len(group_ids)
        participants = await _participants(group_ids)
        meetings = (
            await Meeting.count().where(Meeting.working_group.is_in(group_ids)) if group_ids else 0
        )
    mine = [r for r in recommendations if r.country == country]
    outcomes = dict.fromkeys(RECORD_OUTCOMES, 0)
    for r in mine:
        outcomes[r.outcome or "pending"] += 1
    return CountryRecord(
        country=country,
        themes=await _ran_themes(edition.id, country, language),
        agm_source=agm_source,
        agm_on=agm_on,
        agm_voters=agm_voters,
        agm_eligible=agm_eligible,
        agm_poll_ids=[p["id"] for p in polls],
        figures_source=figures_source,
        groups=groups,
        participants=participants,
        meetings=meetings,
        archive_source=archive["source"] if archive else "",
        recommendations=len(mine),
        outcomes=outcomes,
        projects=len({p.id for r in mine for p in r.projects}),
    )


async def _recommendations(edition_id: int, language: str) -> list[RecordRecommendation]:
    from core.groups.services import get_group

    rows = await (
        Recommendation.select()
        .where((Recommendation.edition == edition_id) & (Recommendation.status == "submitted"))
        .order_by(Recommendation.country)
        .order_by(Recommendation.id)
    )
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    decisions = await Decision.select().where(Decision.recommendation.is_in(ids))
    superseded = {d["supersedes"] for d in decisions if d["supersedes"] is not None}
    current = {d["recommendation"]: d for d in decisions if d["id"] not in superseded}
    entries: dict[int, int] = {}
    for d in decisions:
        entries[d["recommendation"]] = entries.get(d["recommendation"], 0) + 1
    links = await ProjectSource.select(ProjectSource.project, ProjectSource.recommendation).where(
        ProjectSource.recommendation.is_in(ids)
    )
    projects = {
        p["id"]: ProjectRef(p["id"], p["title"], p["status"])
        for p in await Project.select(Project.id, Project.title, Project.status).where(
            Project.id.is_in([x["project"] for x in links] or [0])
        )
    }
    groups = {g: await get_group(g, language) for g in {r["working_group"] for r in rows}}
    return [
        RecordRecommendation(
            id=r["id"],
            title=r["title"],
            language=r["language"],
            country=r["country"],
            theme_id=r["theme"],
            theme_title=groups[r["working_group"]].title,
            group_id=r["working_group"],
            locality=groups[r["working_group"]].locality,
            outcome=current[r["id"]]["outcome"] if r["id"] in current else None,
            decided_on=current[r["id"]]["decided_on"] if r["id"] in current else None,
            entries=entries.get(r["id"], 0),
            projects=[
                projects[x["project"]]
                for x in sorted(links, key=lambda x: x["project"])
                if x["recommendation"] == r["id"]
            ],
        )
        for r in rows
    ]


async def _countries_of(edition: EditionInfo) -> list[str]:
    """The countries the edition ran in: a calendar, archived figures or a group there."""
    found = {c.country for c in edition.calendars}
    found |= {
        r["country"]
        for r in await ArchivedFigures.select(ArchivedFigures.country).where(
            ArchivedFigures.edition == edition.id
        )
    }
    found |= {
        r["country"]
        for r in await WorkingGroup.select(WorkingGroup.country).where(
            WorkingGroup.edition == edition.id
        )
    }
    return [c for c in COUNTRIES if c in found]


async def edition_record(edition: EditionInfo, language: str | None = None) -> EditionRecord:
    reader = language or current_language.get()
    async with db.engine().transaction():  # one snapshot (and, on SQLite, one connection)
        recommendations = await _recommendations(edition.id, reader)
        return EditionRecord(
            edition=edition.slug,
            countries=[
                await _country_record(edition, country, recommendations, reader)
                for country in await _countries_of(edition)
            ],
            recommendations=recommendations,
        )


async def edition_record_of(slug: str, language: str | None = None) -> EditionRecord:
    return await edition_record(await get_edition(slug), language)


# -- across editions ---------------------------------------------------------------------------


def _row(edition: str, c: CountryRecord) -> RecordRow:
    return RecordRow(
        edition=edition,
        country=c.country,
        themes=len(c.themes),
        agm_voters=c.agm_voters,
        agm_source=c.agm_source,
        groups=c.groups,
        participants=c.participants,
        meetings=c.meetings,
        figures_source=c.figures_source,
        recommendations=c.recommendations,
        adopted=c.outcomes["adopted"],
        adopted_with_changes=c.outcomes["adopted_with_changes"],
        rejected=c.outcomes["rejected"],
        deferred=c.outcomes["deferred"],
        pending=c.outcomes["pending"],
        projects=c.projects,
    )


async def record(language: str | None = None) -> Record:
    """Every edition, oldest first, in each of its countries, with the totals."""
    async with db.engine().transaction():  # one snapshot: the totals match the rows
        editions = sorted(await list_editions(), key=lambda e: e.slug)
        rows = []
        for edition in editions:
            found = await edition_record(edition, language)
            rows += [_row(edition.slug, c) for c in found.countries]
        adopting = await _adopted_count()
        projects = await Project.count()
    return Record(
        rows=rows,
        totals=RecordTotals(
            editions=len({r.edition for r in rows}),
            participants=sum(r.participants for r in rows),
            agm_voters=sum(r.agm_voters or 0 for r in rows),
            recommendations=sum(r.recommendations for r in rows),
            adopted=adopting,
            projects=projects,
        ),
    )


async def _adopted_count() -> int:
    """Submitted recommendations whose current decision adopts them (with changes or not)."""
    rows = await Decision.select(Decision.id, Decision.supersedes, Decision.outcome)
    superseded = {r["supersedes"] for r in rows if r["supersedes"] is not None}
    return sum(
        1
        for r in rows
        if r["id"] not in superseded and r["outcome"] in ("adopted", "adopted_with_changes")
    )


CSV_COLUMNS = (
    "edition",
    "country",
    "themes",
    "agm_voters",
    "agm_source",
    "groups",
    "participants",
    "meetings",
    "figures_source",
    "recommendations",
    "adopted",
    "adopted_with_changes",
    "rejected",
    "deferred",
    "pending",
    "projects",
)


def record_csv(found: Record) -> str:
    """The across-editions table as CSV: one row per edition and country."""
    out = io.StringIO()
    writer = csv_writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in found.rows:
        data = msgspec.to_builtins(row)
        writer.writerow(["" if data[c] is None else data[c] for c in CSV_COLUMNS])
    return out.getvalue()


RECOMMENDATION_COLUMNS = (
    "id",
    "country",
    "theme",
    "group",
    "locality",
    "title",
    "decision",
    "decided_on",
    "decision_entries",
    "projects",
)


def recommendations_csv(found: EditionRecord) -> str:
    """An edition's submitted recommendations and what became of them, as CSV."""
    out = io.StringIO()
    writer = csv_writer(out, lineterminator="\r\n")
    writer.writerow(RECOMMENDATION_COLUMNS)
    for r in found.recommendations:
        writer.writerow(
            (
                r.id,
                r.country,
                r.theme_title,
                r.group_id,
                r.locality,
                r.title,
                r.outcome or "pending",
                r.decided_on.isoformat() if r.decided_on else "",
                r.entries,
                "; ".join(f"{p.id}: {p.title}" for p in r.projects),
            )
        )
    return out.getvalue()
