"""Extending a theme one more year, independent of HTTP.

The operators of the countries concerned, or the board, extend a theme of the previous edition
into the current one for some or all of the countries it ran in, with a rationale shown on the
theme's page. The extension joins the edition without an AGM vote (``origin`` "extended",
``extended_from`` the theme it continues) and carries its original's texts in every language.

Whether a country allows it is the ``extension_allowed`` hook of that country; this plugin's
own answer (``rules_answer``) applies the rules below, each refusal naming its rule:

* **previous edition**: only a theme of the edition just before can be extended;
* **within its countries**: an extension runs only in countries of the original's scope;
* **ran there**: the theme ran in that country (voted in, itself extended, or no AGM poll);
* **max consecutive**: at most ``max_consecutive`` extensions in a row (default 1, "one more
  year"), set per country in config.toml (``[plugins.extend_theme.BE] max_consecutive = 1``).

A refusal changes nothing. The check that the theme is not already extended into the edition
for one of the countries runs inside the write transaction (the original's row locked on
PostgreSQL, SQLite's IMMEDIATE transaction serialising writers), so two operators extending at
once get one extension and one clear refusal.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from core import clock, db
from core.audit import services as audit
from core.config import COUNTRIES, Settings, plugin_options
from core.editions.services import EditionInfo, get_edition, get_edition_by_id
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.i18n import N_, _, country_name, ngettext
from core.members.model import CurrentMember
from core.plugins import PluginRegistry
from core.rules import Rules
from core.text import has_control_characters
from core.themes.extensions import ExtensionCandidate, Refusal, candidate_of, previous_slug
from core.themes.services import (
    ACCEPTED,
    DRAFT,
    EXTENDED,
    ID_MAX,
    REASON_MAX,
    REASON_MIN,
    WITHDRAWN,
    parse_scope,
    scope_countries,
    texts_of,
    write_texts,
)
from core.themes.tables import Theme

NAME = "extend_theme"

# Rule names, as refusals carry them (``Refusal.rule``; ``errors[].rule`` in a JSON problem).
ENABLED = "enabled"
PREVIOUS_EDITION = "previous_edition"
WITHIN_COUNTRIES = "within_countries"
RAN_THERE = "ran_there"
MAX_CONSECUTIVE = "max_consecutive"
ALREADY_EXTENDED = "already_extended"


class ExtendOptions(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``[plugins.extend_theme]`` (every country) or ``[plugins.extend_theme.<country>]``."""

    # Extensions in a row a theme may have: 1 is "one more year", and an extension of an
    # extension is refused.
    max_consecutive: Annotated[int, msgspec.Meta(ge=1)] = 1


class ExtensionRefused(Conflict):
    """An extension rule says no; the message names the rule."""

    title = N_("Extension refused")

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message, errors=[{"rule": refusal.rule, "msg": refusal.message}])
        self.rule = refusal.rule


class NotEnabled(Forbidden):
    def __init__(self, country: str) -> None:
        message = _("Extending themes is not enabled in %(country)s.") % {
            "country": country_name(country)
        }
        super().__init__(message, errors=[{"rule": ENABLED, "msg": message}])
        self.rule = ENABLED


def options_for(settings: Settings, country: str) -> ExtendOptions:
    return plugin_options(settings, NAME, country, ExtendOptions)


def enabled_countries(registry: PluginRegistry) -> list[str]:
    """The countries whose config.toml enables this plugin."""
    return [c for c in COUNTRIES if NAME in registry.countries.get(c, [])]


def countries_of(registry: PluginRegistry, actor: CurrentMember) -> list[str]:
    """The countries ``actor`` may extend themes into: the board every enabled country, an
    operator the enabled ones they run."""
    enabled = enabled_countries(registry)
    return enabled if actor.is_board else [c for c in actor.operator_countries if c in enabled]


# -- the rules (this plugin's answer to the extension_allowed hook) --------------------------


def rules_answer(
    candidate: ExtensionCandidate, edition: EditionInfo, country: str, settings: Settings
) -> bool | Refusal:
    title = candidate.title
    previous = previous_slug(edition.slug)
    if candidate.edition != previous:
        return Refusal(
            PREVIOUS_EDITION,
            _(
                'Rule "previous edition": only a theme of %(previous)s can be extended into '
                '%(edition)s; "%(title)s" belongs to %(its)s.'
            )
            % {
                "previous": previous,
                "edition": edition.slug,
                "title": title,
                "its": candidate.edition,
            },
        )
    if country not in candidate.countries:
        return Refusal(
            WITHIN_COUNTRIES,
            _(
                'Rule "within its countries": "%(title)s" ran in %(countries)s only; its '
                "extension cannot reach %(country)s."
            )
            % {
                "title": title,
                "countries": ", ".join(country_name(c) for c in candidate.countries),
                "country": country_name(country),
            },
        )
    if country not in candidate.ran_in:
        return Refusal(
            RAN_THERE,
            _(
                'Rule "ran in the previous edition": "%(title)s" did not run in %(country)s in '
                "%(its)s: it was not accepted, or the general meeting did not elect it."
            )
            % {"title": title, "country": country_name(country), "its": candidate.edition},
        )
    limit = options_for(settings, country).max_consecutive
    if candidate.consecutive + 1 > limit:
        return Refusal(
            MAX_CONSECUTIVE,
            ngettext(
                'Rule "at most %(n)d extension in a row" in %(country)s: "%(title)s" is '
                "already extension number %(count)d of its theme; it cannot run another year.",
                'Rule "at most %(n)d extensions in a row" in %(country)s: "%(title)s" is '
                "already extension number %(count)d of its theme; it cannot run another year.",
                limit,
            )
            % {
                "n": limit,
                "country": country_name(country),
                "title": title,
                "count": candidate.consecutive,
            },
        )
    return True


def decide(
    rules: Rules, candidate: ExtensionCandidate, edition: EditionInfo, country: str
) -> Refusal | None:
    """The country's ``extension_allowed`` answer: None to allow, else the refusal."""
    if country not in enabled_countries(rules.registry):
        raise NotEnabled(country)
    answer = rules.extension_allowed(candidate, edition, country)
    if answer is True:
        return None
    if isinstance(answer, Refusal):
        return answer
    if isinstance(answer, str) and answer:
        return Refusal("plugin", answer)
    if answer is None:
        raise NotEnabled(country)
    return Refusal(
        "plugin",
        _('A rule of %(country)s refuses to extend "%(title)s".')
        % {"country": country_name(country), "title": candidate.title},
    )


# -- reading ----------------------------------------------------------------------------------


class ThemeReview(msgspec.Struct, kw_only=True):
    """A theme of the previous edition, for the operators' extension page."""

    candidate: ExtensionCandidate
    allowed: list[str]  # countries it may be extended into now
    refusals: list[Refusal]  # one per country it may not, naming the rule
    extended_into: list[str]  # countries it already runs in, in the edition, as an extension
    extension_id: int | None = None  # the first such extension


class ExtensionList(msgspec.Struct, kw_only=True):
    edition: str
    previous: str | None
    countries: list[str]  # the countries reviewed
    max_consecutive: dict[str, int]  # per country
    themes: list[ThemeReview]


async def _extensions_in(edition_id: int, theme_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    if not theme_ids:
        return {}
    rows = await Theme.select(Theme.id, Theme.extended_from, Theme.scope).where(
        (Theme.edition == edition_id)
        & (Theme.origin == EXTENDED)
        & (Theme.status == ACCEPTED)
        & Theme.extended_from.is_in(theme_ids)
    )
    found: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row["extended_from"], []).append(row)
    return found


async def review(
    rules: Rules, edition: EditionInfo, countries: list[str], language: str
) -> ExtensionList:
    """Every accepted theme of the previous edition, with the countries (among ``countries``)
    it may be extended into and the rule refusing each other one."""
    previous = previous_slug(edition.slug)
    rows: list[dict[str, Any]] = []
    if previous is not None:
        try:
            before = await get_edition(previous)
        except NotFound:
            before = None
        if before is not None:
            rows = (
                await Theme.select()
                .where((Theme.edition == before.id) & (Theme.status == ACCEPTED))
                .order_by(Theme.id)
            )
    existing = await _extensions_in(edition.id, [r["id"] for r in rows])
    reviewed = []
    for row in rows:
        candidate = await candidate_of(row, previous or "", language)
        extended_into = sorted(
            {c for e in existing.get(row["id"], []) for c in scope_countries(e["scope"])}
        )
        allowed, refusals = [], []
        for country in countries:
            if country in extended_into:
                continue
            refusal = decide(rules, candidate, edition, country)
            if refusal is None:
                allowed.append(country)
            else:
                refusals.append(refusal)
        reviewed.append(
            ThemeReview(
                candidate=candidate,
                allowed=allowed,
                refusals=refusals,
                extended_into=extended_into,
                extension_id=existing[row["id"]][0]["id"] if row["id"] in existing else None,
            )
        )
    return ExtensionList(
        edition=edition.slug,
        previous=previous,
        countries=countries,
        max_consecutive={c: options_for(rules.settings, c).max_consecutive for c in countries},
        themes=reviewed,
    )


async def extendable_themes(
    rules: Rules, edition: EditionInfo, country: str, language: str
) -> list[ExtensionCandidate]:
    """The themes operators of ``country`` may extend into ``edition`` for it, now."""
    listed = await review(rules, edition, [country], language)
    return [t.candidate for t in listed.themes if country in t.allowed]


# -- extending --------------------------------------------------------------------------------


def clean_rationale(rationale: str) -> str:
    if has_control_characters(rationale):
        raise InvalidInput(_("The rationale contains control characters; type it again."))
    text = rationale.strip()
    if not REASON_MIN <= len(text) <= REASON_MAX:
        raise InvalidInput(
            _(
                "Say why the theme runs one more year (%(min)d to %(max)d characters); the "
                "rationale is shown on its page."
            )
            % {"min": REASON_MIN, "max": REASON_MAX}
        )
    return text


async def extend_theme(
    rules: Rules,
    actor: CurrentMember,
    theme_id: int,
    edition_id: int,
    countries: list[str] | str,
    rationale: str,
) -> int:
    """Extend the theme ``theme_id`` into the edition ``edition_id`` for ``countries``.

    Returns the new theme's id. Raises ``InvalidInput`` (400) for malformed input,
    ``Forbidden`` (403) for an actor who may not or a country that does not enable extending,
    ``NotFound`` (404) for an unknown theme or edition, and ``ExtensionRefused`` (409) naming
    the rule that refuses; nothing is written then.
    """
    if not 1 <= theme_id <= ID_MAX:
        raise NotFound(_("There is no theme %(id)d.") % {"id": theme_id})
    chosen = scope_countries(parse_scope(countries))
    text = clean_rationale(rationale)
    if not (actor.is_board or all(actor.is_operator(c) for c in chosen)):
        raise Forbidden(
            _("Only the board and operators of %(countries)s can extend a theme into them.")
            % {"countries": ", ".join(country_name(c) for c in chosen)}
        )
    edition = await get_edition_by_id(edition_id)
    row = await Theme.select().where(Theme.id == theme_id).first()
    if row is None or row["status"] in (DRAFT, WITHDRAWN):  # a private draft is not found
        raise NotFound(_("There is no theme %(id)d.") % {"id": theme_id})
    its_edition = await get_edition_by_id(row["edition"])
    language = row["original_language"]
    candidate = await candidate_of(row, its_edition.slug, language)
    for country in chosen:
        refusal = decide(rules, candidate, edition, country)
        if refusal is not None:
            raise ExtensionRefused(refusal)
    texts = await texts_of(theme_id)
    async with db.write_transaction():
        locked = Theme.select(Theme.id).where(Theme.id == theme_id)
        if not db.is_sqlite():
            locked = locked.lock_rows("NO KEY UPDATE")
        if not await locked.first():
            raise NotFound(_("There is no theme %(id)d.") % {"id": theme_id})
        existing = await _extensions_in(edition.id, [theme_id])
        taken = sorted(
            {c for e in existing.get(theme_id, []) for c in scope_countries(e["scope"])}
            & set(chosen)
        )
        if taken:
            raise ExtensionRefused(
                Refusal(
                    ALREADY_EXTENDED,
                    _('"%(title)s" is already extended into %(edition)s for %(countries)s.')
                    % {
                        "title": candidate.title,
                        "edition": edition.slug,
                        "countries": ", ".join(country_name(c) for c in taken),
                    },
                )
            )
        rows = await Theme.insert(
            Theme(
                edition=edition.id,
                origin=EXTENDED,
                status=ACCEPTED,
                scope=" ".join(chosen),
                original_language=row["original_language"],
                extended_from=theme_id,
                extension_rationale=text,
                decided_at=clock.now(),
            )
        )
        new_id = int(rows[0]["id"])
        await write_texts(new_id, texts)
        await audit.record(
            "theme.extend",
            actor=actor,
            country=" ".join(chosen),
            object_type="theme",
            object_id=new_id,
            details={"extended_from": theme_id, "edition": edition.slug},
        )
    return new_id
