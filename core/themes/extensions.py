"""What the platform knows about a theme's history, for extending it one more year.

A theme *ran* in a country of its edition when it was accepted there and either the country's
general meeting elected it (a published poll lists it among the winners), or it was itself
an extension (extensions join an edition without a vote), or the edition recorded no AGM poll
in that country (the board's accepted themes ran). ``consecutive`` counts how many extensions
in a row a theme already is: 0 for a theme voted in, 1 for its first extension, and so on.

The rules that decide on an extension are the ``extension_allowed`` hook's (the shipped
``extend_theme`` plugin answers it); this module only gathers the facts they look at.
"""

from __future__ import annotations

from typing import Any

import msgspec

from core.editions.services import SLUG
from core.polls.services import PUBLISHED
from core.polls.tables import Poll, PollCandidate
from core.themes.services import ACCEPTED, EXTENDED, scope_countries
from core.themes.tables import Theme, ThemeText

CHAIN_MAX = 100  # a guard against a cycle of extended_from links in a damaged database


class ExtensionCandidate(msgspec.Struct, frozen=True, kw_only=True):
    """A theme of an earlier edition, as the extension rules see it."""

    theme_id: int
    title: str
    language: str  # the language of ``title``
    edition: str  # the slug of the theme's own edition
    origin: str
    status: str
    countries: list[str]  # its scope
    ran_in: list[str]  # the countries it ran in (see the module's docstring)
    consecutive: int  # extensions in a row it already is (0: not an extension)
    extended_from: int | None = None


class Refusal(msgspec.Struct, frozen=True):
    """A rule that refuses an extension: its short name (for programs) and a message naming it
    (for people, in the current language)."""

    rule: str
    message: str


def previous_slug(slug: str) -> str | None:
    """The edition just before: ``2020-2021`` -> ``2019-2020``."""
    found = SLUG.match(slug)
    if not found:
        return None
    first = int(found.group(1))
    return f"{first - 1}-{first}"


async def ran_in(row: dict[str, Any]) -> list[str]:
    """The countries of its scope where the theme ``row`` ran in its edition."""
    countries = scope_countries(row["scope"])
    if row["status"] != ACCEPTED:
        return []
    if row["origin"] == EXTENDED:
        return countries
    polls = await Poll.select(Poll.id, Poll.country, Poll.state, Poll.result).where(
        (Poll.edition == row["edition"]) & Poll.country.is_in(countries)
    )
    numbers = {
        c["poll"]: c["number"]
        for c in await PollCandidate.select(PollCandidate.poll, PollCandidate.number).where(
            (PollCandidate.theme == row["id"])
            & PollCandidate.poll.is_in([p["id"] for p in polls] or [0])
        )
    }
    ran = []
    for country in countries:
        voted = [p for p in polls if p["country"] == country]
        if not voted:
            ran.append(country)  # no AGM vote recorded: the accepted theme ran
            continue
        for poll in voted:
            if poll["state"] != PUBLISHED or poll["id"] not in numbers or not poll["result"]:
                continue
            winners = msgspec.json.decode(poll["result"]).get("winners", [])
            if numbers[poll["id"]] in winners or str(numbers[poll["id"]]) in winners:
                ran.append(country)
                break
    return ran


async def consecutive(row: dict[str, Any]) -> int:
    """How many extensions in a row the theme ``row`` already is."""
    count, current, seen = 0, row, set()
    while (
        current["origin"] == EXTENDED
        and current["extended_from"] is not None
        and current["id"] not in seen
        and count < CHAIN_MAX
    ):
        seen.add(current["id"])
        count += 1
        parent = await Theme.select().where(Theme.id == current["extended_from"]).first()
        if parent is None:
            break
        current = parent
    return count


async def candidate_of(row: dict[str, Any], edition_slug: str, language: str) -> ExtensionCandidate:
    """The facts about the theme ``row`` (of the edition ``edition_slug``) the rules look at."""
    texts = {
        t["language"]: t["title"]
        for t in await ThemeText.select(ThemeText.language, ThemeText.title).where(
            ThemeText.theme == row["id"]
        )
    }
    shown = language if language in texts else row["original_language"]
    if shown not in texts:
        shown = next(iter(texts), row["original_language"])
    return ExtensionCandidate(
        theme_id=row["id"],
        title=texts.get(shown, ""),
        language=shown,
        edition=edition_slug,
        origin=row["origin"],
        status=row["status"],
        countries=scope_countries(row["scope"]),
        ran_in=await ran_in(row),
        consecutive=await consecutive(row),
        extended_from=row["extended_from"],
    )
