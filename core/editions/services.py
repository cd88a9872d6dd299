"""Editions and their calendars: which phase is open, in which country, and until when."""

from __future__ import annotations

import re
from datetime import date

import msgspec

from core import clock, db, formats
from core.audit import services as audit
from core.config import COUNTRIES
from core.editions.tables import Edition, EditionPhase
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.i18n import _

# The yearly cycle, in order.
PROPOSALS = "proposals"
AGM_VOTE = "agm_vote"
REGISTRATION = "registration"
WORKING_GROUPS = "working_groups"
RECOMMENDATIONS = "recommendations"
BOARD_REVIEW = "board_review"
CLOSED = "closed"
PHASES = (PROPOSALS, AGM_VOTE, REGISTRATION, WORKING_GROUPS, RECOMMENDATIONS, BOARD_REVIEW, CLOSED)

SLUG = re.compile(r"^(\d{4})-(\d{4})$")


def phase_label(phase: str) -> str:
    """The phase's name in the current language."""
    labels = {
        PROPOSALS: _("Theme proposals"),
        AGM_VOTE: _("AGM vote"),
        REGISTRATION: _("Working-group registration"),
        WORKING_GROUPS: _("Working groups"),
        RECOMMENDATIONS: _("Recommendations"),
        BOARD_REVIEW: _("Board review"),
        CLOSED: _("Closed"),
    }
    return labels.get(phase, phase)


class PhaseWindow(msgspec.Struct, frozen=True):
    phase: str
    starts_on: date
    ends_on: date


class CountryCalendar(msgspec.Struct, frozen=True):
    country: str
    phases: list[PhaseWindow]
    current: str | None  # the phase open today, None before the first or between phases

    def window(self, phase: str) -> PhaseWindow | None:
        return next((w for w in self.phases if w.phase == phase), None)


class EditionInfo(msgspec.Struct, frozen=True):
    id: int
    slug: str
    calendars: list[CountryCalendar]

    def calendar(self, country: str) -> CountryCalendar | None:
        return next((c for c in self.calendars if c.country == country), None)

    def current_phase(self, country: str) -> str | None:
        calendar = self.calendar(country)
        return calendar.current if calendar else None


def current_of(windows: list[PhaseWindow], today: date) -> str | None:
    for window in windows:
        if window.starts_on <= today <= window.ends_on:
            return window.phase
    if windows and today > max(w.ends_on for w in windows):
        return CLOSED
    return None


async def create_edition(slug: str, *, actor: audit.Actor | None = None) -> int:
    """A new edition; with an ``actor`` (a person, not the platform's own seeding) audited."""
    match = SLUG.match(slug.strip())
    if not match or int(match.group(2)) != int(match.group(1)) + 1:
        raise InvalidInput(_("An edition is named after its two years, like 2021-2022."))
    exists = _("The edition %(slug)s exists already.") % {"slug": slug.strip()}
    if await Edition.exists().where(Edition.slug == slug.strip()):
        raise Conflict(exists)
    try:
        async with db.write_transaction():
            rows = await Edition.insert(Edition(slug=slug.strip()))
            if actor is not None:
                await audit.record(
                    "edition.create",
                    actor=actor,
                    object_type="edition",
                    object_id=int(rows[0]["id"]),
                    details={"slug": slug.strip()},
                )
    except Exception as exc:
        if db.is_unique_violation(exc):  # created by someone else a moment ago
            raise Conflict(exists) from None
        raise
    return int(rows[0]["id"])


async def set_calendar(
    edition_id: int,
    country: str,
    windows: list[PhaseWindow],
    *,
    actor: audit.Actor | None = None,
) -> None:
    """Replace one country's calendar. Phases keep the cycle's order and do not overlap.
    With an ``actor`` the change is audited."""
    if country not in COUNTRIES:
        raise InvalidInput(_("Unknown country %(code)s.") % {"code": country})
    order = {phase: i for i, phase in enumerate(PHASES)}
    for window in windows:
        if window.phase not in order:
            raise InvalidInput(_("Unknown phase %(phase)s.") % {"phase": window.phase})
        if window.ends_on < window.starts_on:
            raise InvalidInput(
                _("%(phase)s ends before it starts.") % {"phase": phase_label(window.phase)}
            )
    ordered = sorted(windows, key=lambda w: order[w.phase])
    if len({w.phase for w in windows}) != len(windows):
        raise InvalidInput(_("Each phase can appear only once."))
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.starts_on <= before.ends_on:
            raise InvalidInput(
                _("%(later)s must start after %(earlier)s ends.")
                % {"later": phase_label(after.phase), "earlier": phase_label(before.phase)}
            )
    async with db.write_transaction():
        if not await Edition.exists().where(Edition.id == edition_id):
            raise NotFound(_("No such edition."))
        await EditionPhase.delete().where(
            (EditionPhase.edition == edition_id) & (EditionPhase.country == country)
        )
        if ordered:
            await EditionPhase.insert(
                *[
                    EditionPhase(
                        edition=edition_id,
                        country=country,
                        phase=w.phase,
                        starts_on=w.starts_on,
                        ends_on=w.ends_on,
                    )
                    for w in ordered
                ]
            )
        if actor is not None:
            await audit.record(
                "edition.calendar",
                actor=actor,
                country=country,
                object_type="edition",
                object_id=edition_id,
                details={
                    "phases": {
                        w.phase: [w.starts_on.isoformat(), w.ends_on.isoformat()] for w in ordered
                    }
                },
            )


async def _calendars(edition_id: int, today: date) -> list[CountryCalendar]:
    rows = await EditionPhase.select().where(EditionPhase.edition == edition_id)
    order = {phase: i for i, phase in enumerate(PHASES)}
    by_country: dict[str, list[PhaseWindow]] = {}
    for row in rows:
        by_country.setdefault(row["country"], []).append(
            PhaseWindow(row["phase"], row["starts_on"], row["ends_on"])
        )
    return [
        CountryCalendar(
            country=country,
            phases=sorted(windows, key=lambda w: order[w.phase]),
            current=current_of(windows, today),
        )
        for country, windows in sorted(by_country.items())
    ]


async def get_edition(slug: str, today: date | None = None) -> EditionInfo:
    # Only a well-formed name is looked up (a stray byte in a URL must not reach the database).
    found = SLUG.match(slug)
    row = (
        await Edition.select(Edition.id, Edition.slug).where(Edition.slug == slug).first()
        if found
        else None
    )
    if row is None:
        raise NotFound(_("There is no edition %(slug)s.") % {"slug": slug})
    return EditionInfo(
        id=row["id"],
        slug=row["slug"],
        calendars=await _calendars(row["id"], today or clock.today()),
    )


async def get_edition_by_id(edition_id: int, today: date | None = None) -> EditionInfo:
    row = await Edition.select(Edition.id, Edition.slug).where(Edition.id == edition_id).first()
    if row is None:
        raise NotFound(_("No such edition."))
    return EditionInfo(
        id=row["id"],
        slug=row["slug"],
        calendars=await _calendars(row["id"], today or clock.today()),
    )


async def list_editions(today: date | None = None) -> list[EditionInfo]:
    rows = await Edition.select(Edition.id, Edition.slug).order_by(Edition.slug, ascending=False)
    return [
        EditionInfo(r["id"], r["slug"], await _calendars(r["id"], today or clock.today()))
        for r in rows
    ]


def require_phase(
    edition: EditionInfo, country: str, phase: str, today: date | None = None
) -> None:
    """Refuse an action outside its phase, saying when the phase opens or that it closed."""
    calendar = edition.calendar(country)
    window = calendar.window(phase) if calendar else None
    day = today or clock.today()
    label = phase_label(phase)
    if window is None:
        raise Forbidden(
            _("%(phase)s of %(edition)s has no dates for %(country)s yet.")
            % {"phase": label, "edition": edition.slug, "country": country}
        )
    if day < window.starts_on:
        raise Forbidden(
            _("%(phase)s of %(edition)s opens on %(date)s.")
            % {"phase": label, "edition": edition.slug, "date": formats.day(window.starts_on)}
        )
    if day > window.ends_on:
        raise Forbidden(
            _("%(phase)s of %(edition)s closed on %(date)s.")
            % {"phase": label, "edition": edition.slug, "date": formats.day(window.ends_on)}
        )


class PhaseNow(msgspec.Struct, frozen=True, kw_only=True):
    """Where a country stands in an edition: the phase open today (with its window) and the
    next one to open, either None."""

    edition: str
    country: str
    current: PhaseWindow | None
    next: PhaseWindow | None


def now_and_next(edition: EditionInfo, country: str, today: date | None = None) -> PhaseNow:
    """The country's phase open today in the edition and the next one to open."""
    day = today or clock.today()
    calendar = edition.calendar(country)
    phases = calendar.phases if calendar else []
    current = next((w for w in phases if w.starts_on <= day <= w.ends_on), None)
    coming = next((w for w in phases if w.starts_on > day), None)
    return PhaseNow(edition=edition.slug, country=country, current=current, next=coming)


def live_edition(
    found: list[EditionInfo], country: str, today: date | None = None
) -> tuple[EditionInfo, PhaseNow] | None:
    """The edition a country is living now: the newest with a phase open today, else the
    newest with a phase still to come; None when every edition is over or unplanned."""
    day = today or clock.today()
    stands = [(e, now_and_next(e, country, day)) for e in found]
    return next(((e, s) for e, s in stands if s.current), None) or next(
        ((e, s) for e, s in stands if s.next), None
    )
