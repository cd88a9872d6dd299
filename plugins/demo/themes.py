"""The past editions 2019-2020 and 2020-2021 with their themes, seeded through the editions and
themes services (and extend_theme's) with the clock frozen on the day each thing happened."""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from core import db
from core.config import Country, Settings
from core.editions.tables import Edition
from core.members.model import CurrentMember
from core.plugins import build_registry
from core.rules import Rules
from core.themes import services as themes
from core.themes.tables import Theme
from plugins.demo import frozen
from plugins.demo.calendars import PAST_CALENDARS, PAST_EDITIONS, add_edition, moment, past_calendar
from plugins.demo.people import board_member
from plugins.demo.texts import (
    ACCOMPANIMENT,
    AFTER_THE_CRISIS,
    FAIR_PRICE,
    GENDER_EQUALITY,
    GENDER_EQUALITY_RATIONALE,
    GENDER_EQUALITY_YEAR_TWO,
    GOVERNANCE,
    SHARING_ECONOMY,
    SHARING_ECONOMY_RATIONALE,
    SHARING_ECONOMY_YEAR_TWO,
    Texts,
)
from plugins.extend_theme.services import NAME as EXTEND_THEME
from plugins.extend_theme.services import extend_theme


def texts_in(texts: Texts) -> list[themes.ThemeTextIn]:
    return [
        themes.ThemeTextIn(title=title, description=description, language=language)
        for language, (title, description) in texts.items()
    ]


async def add_board_theme(
    rules: Rules,
    board: CurrentMember,
    edition_id: int,
    texts: Texts,
    created_at: datetime,
    decided_at: datetime | None = None,
) -> int:
    """A board theme of both countries, written in French, added by the board on ``decided_at``
    (``created_at`` unless given) through the themes service; its translations follow."""
    french, *others = sorted(texts_in(texts), key=lambda text: text.language != "fr")
    with frozen.at(decided_at or created_at):
        theme_id = await themes.add_board_theme(rules, board, edition_id, ["BE", "FR"], french)
        await themes.write_texts(theme_id, others)
    # The service does not take a creation time (the column's default is the real time).
    await Theme.update({Theme.created_at: created_at}).where(Theme.id == theme_id)
    return theme_id


async def _seed_past_editions(settings: Settings | None = None) -> bool:
    async with db.write_transaction():
        if await Edition.exists().where(Edition.slug.is_in(list(PAST_EDITIONS))):
            return False
        board = await board_member()
        if board is None:
            return False  # no demo board member to add the themes
        # The extensions go through extend_theme's rules, as the board would make them.
        rules = extension_rules(settings)
        first = await add_edition(
            "2019-2020",
            moment(date(2019, 1, 15)),
            {c: past_calendar(2019, c) for c in PAST_CALENDARS},
        )
        added_2019 = moment(date(2019, 2, 20))
        gender = await add_board_theme(rules, board, first, GENDER_EQUALITY, added_2019)
        sharing = await add_board_theme(rules, board, first, SHARING_ECONOMY, added_2019)
        await add_board_theme(rules, board, first, FAIR_PRICE, added_2019)
        await add_board_theme(rules, board, first, GOVERNANCE, added_2019)

        second = await add_edition(
            "2020-2021",
            moment(date(2020, 1, 15)),
            {c: past_calendar(2020, c) for c in PAST_CALENDARS},
        )
        # On the ballot of the June 2020 general assemblies, and won.
        proposed, elected = moment(date(2020, 3, 2)), moment(date(2020, 6, 22), 18)
        for texts in (ACCOMPANIMENT, AFTER_THE_CRISIS):
            await add_board_theme(rules, board, second, texts, proposed, elected)
        for original, countries, rationale, texts in (
            (gender, ["BE", "FR"], GENDER_EQUALITY_RATIONALE, GENDER_EQUALITY_YEAR_TWO),
            (sharing, ["FR"], SHARING_ECONOMY_RATIONALE, SHARING_ECONOMY_YEAR_TWO),
        ):
            extension = await extend_theme(rules, board, original, second, countries, rationale)
            # Its texts are the original's; the demo gives them their second-year wording.
            await themes.write_texts(extension, texts_in(texts))
            await Theme.update({Theme.created_at: proposed, Theme.decided_at: elected}).where(
                Theme.id == extension
            )
    return True


def extension_rules(settings: Settings | None) -> Rules:
    """The platform's rules, with extend_theme enabled in both countries where the settings do
    not enable it (the demo's past extensions are made through it, whatever the operator
    enables today; the shipped config.toml enables it). ``settings`` is left as it is."""
    base = settings or Settings(
        countries={"BE": Country(name="Belgium"), "FR": Country(name="France")}
    )
    countries = dict(base.countries)
    for code in ("BE", "FR"):
        country = countries.get(code) or Country(name=code)
        if EXTEND_THEME not in country.plugins:
            country = msgspec.structs.replace(country, plugins=[*country.plugins, EXTEND_THEME])
        countries[code] = country
    enabled = msgspec.structs.replace(base, countries=countries)
    return Rules(build_registry(enabled), enabled)
