"""Themes without HTTP: member proposals, supports, thresholds, moderation, events and lists.

Every test runs on SQLite and PostgreSQL. Phase gates are tested with the services' ``today``
argument against a fixed 2021-2022 calendar, never the wall clock.
"""

from __future__ import annotations

import asyncio
from datetime import date
from itertools import count

import pytest
from msgspec.structs import replace

from core import hookimpl
from core.config import Country, Settings
from core.editions.services import (
    AGM_VOTE,
    PROPOSALS,
    PhaseWindow,
    create_edition,
    get_edition_by_id,
    set_calendar,
)
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.events import (
    ThemeAccepted,
    ThemeMerged,
    ThemeProposed,
    ThemeRejected,
    ThresholdReached,
)
from core.members.model import CurrentMember
from core.members.services import load_member
from core.plugins import build_registry
from core.rules import Rules
from core.themes import services
from core.themes.queries import ThemeFilter, list_themes, moderation_queue, theme_detail
from core.themes.services import (
    ACCEPTED,
    DRAFT,
    MERGED,
    REJECTED,
    SUBMITTED,
    WITHDRAWN,
    ThemeTextIn,
)
from core.themes.tables import Support, Theme, ThemeText
from tests.conftest import add_member

# The proposal phase of 2021-2022: Belgium in September and October, France a fortnight later.
BE_PROPOSALS = PhaseWindow(PROPOSALS, date(2021, 9, 1), date(2021, 10, 31))
FR_PROPOSALS = PhaseWindow(PROPOSALS, date(2021, 9, 15), date(2021, 11, 15))
OPEN = date(2021, 10, 1)  # both countries take proposals
BEFORE = date(2021, 8, 20)  # nothing open yet
BE_CLOSED = date(2021, 11, 5)  # Belgium closed, France still open


# -- helpers --------------------------------------------------------------------------------------


class Listener:
    """A plugin that records every event it hears."""

    def __init__(self) -> None:
        self.events: list[object] = []

    @hookimpl
    def on_event(self, event):
        self.events.append(event)

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]


class FixedThreshold:
    """A plugin that answers the support_threshold hook with its own number."""

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold

    @hookimpl
    def support_threshold(self, edition, country, settings):
        return self.threshold


def rules_for(
    settings: Settings,
    *,
    be: tuple[str, ...] = (),
    fr: tuple[str, ...] = (),
    extra: dict[str, object] | None = None,
    be_threshold: int | None = None,
    fr_threshold: int | None = None,
) -> Rules:
    """The platform's rules with extra plugins enabled per country and thresholds in config."""
    settings = replace(
        settings,
        countries={
            "BE": Country(
                name="Belgium", plugins=["track_be", *be], support_threshold=be_threshold
            ),
            "FR": Country(name="France", plugins=["track_fr", *fr], support_threshold=fr_threshold),
        },
    )
    return Rules(registry=build_registry(settings, extra=extra or {}), settings=settings)


_numbers = count(1)


async def member(
    country: str = "BE", *, language: str = "en", operator_of: tuple[str, ...] = ()
) -> CurrentMember:
    n = next(_numbers)
    member_id = await add_member(
        f"member{n}@example.org",
        name=f"Member {n}",
        country=country,
        language=language,
        roles=tuple(("operator", c) for c in operator_of),
    )
    loaded = await load_member(member_id)
    assert loaded is not None
    return loaded


async def members(n: int, country: str = "BE") -> list[CurrentMember]:
    return [await member(country) for _ in range(n)]


async def edition(slug: str = "2021-2022") -> int:
    edition_id = await create_edition(slug)
    await set_calendar(edition_id, "BE", [BE_PROPOSALS])
    await set_calendar(edition_id, "FR", [FR_PROPOSALS])
    return edition_id


def text(title: str, description: str = "", language: str = "en") -> ThemeTextIn:
    return ThemeTextIn(title=title, description=description, language=language)


async def submitted(
    rules: Rules, proposer: CurrentMember, edition_id: int, title: str, **kwargs
) -> int:
    """A proposal drafted and submitted on a day both countries take proposals."""
    theme_id = await services.propose(rules, proposer, edition_id, text(title, **kwargs), OPEN)
    await services.submit(rules, proposer, theme_id, OPEN)
    return theme_id


async def supported_by(rules: Rules, theme_id: int, supporters: list[CurrentMember]) -> int:
    result = 0
    for supporter in supporters:
        result = await services.support(rules, supporter, theme_id, OPEN)
    return result


async def theme(theme_id: int) -> dict:
    row = await Theme.select().where(Theme.id == theme_id).first()
    assert row is not None
    return row


async def supporter_ids(theme_id: int) -> set[int]:
    return {r["member"] for r in await Support.select().where(Support.theme == theme_id)}


async def assert_counts_match_rows() -> None:
    """``support_count`` is always the number of support rows, for every theme."""
    for row in await Theme.select(Theme.id, Theme.support_count):
        rows = await Support.count().where(Support.theme == row["id"])
        assert row["support_count"] == rows, f"theme {row['id']}"


@pytest.fixture
def rules(database: Settings) -> Rules:
    return rules_for(database)


# -- proposals ------------------------------------------------------------------------------------


async def test_a_member_drafts_edits_submits_and_withdraws_a_proposal(database, rules):
    edition_id = await edition()
    author = await member()
    theme_id = await services.propose(
        rules, author, edition_id, text("  Cheaper   bikes ", "For  everyone. "), OPEN
    )
    row = await theme(theme_id)
    assert (row["status"], row["origin"], row["proposer"]) == (DRAFT, "member", author.id)
    detail = await theme_detail(theme_id, "en", author)
    assert (detail.title, detail.description) == ("Cheaper bikes", "For  everyone.")

    await services.edit_draft(rules, author, theme_id, text("Cheaper bicycles", "For all."), OPEN)
    detail = await theme_detail(theme_id, "en", author)
    assert (detail.title, detail.description) == ("Cheaper bicycles", "For all.")
    assert await ThemeText.count().where(ThemeText.theme == theme_id) == 1

    await services.submit(rules, author, theme_id, OPEN)
    row = await theme(theme_id)
    assert row["status"] == SUBMITTED
    assert row["submitted_at"] is not None
    assert (await theme_detail(theme_id, "en", None)).status == SUBMITTED

    await services.withdraw(rules, author, theme_id, OPEN)
    assert (await theme(theme_id))["status"] == WITHDRAWN
    with pytest.raises(NotFound):
        await theme_detail(theme_id, "en", None)
    with pytest.raises(Conflict, match="can be withdrawn"):
        await services.withdraw(rules, author, theme_id, OPEN)


async def test_a_draft_can_be_withdrawn_before_it_is_submitted(database, rules):
    edition_id = await edition()
    author = await member()
    theme_id = await services.propose(rules, author, edition_id, text("Shared tools"), OPEN)
    await services.withdraw(rules, author, theme_id, OPEN)
    assert (await theme(theme_id))["status"] == WITHDRAWN
    with pytest.raises(Conflict, match="Only a draft can be submitted"):
        await services.submit(rules, author, theme_id, OPEN)


async def test_editing_in_another_language_replaces_the_original(database, rules):
    edition_id = await edition()
    author = await member(language="fr")
    theme_id = await services.propose(rules, author, edition_id, text("Vélos", language=""), OPEN)
    assert (await theme(theme_id))["original_language"] == "fr"  # the member's language
    await services.edit_draft(rules, author, theme_id, text("Fietsen", language="nl"), OPEN)
    detail = await theme_detail(theme_id, "fr", author)
    assert (detail.title, detail.language) == ("Fietsen", "nl")
    assert [t.language for t in detail.texts] == ["nl"]


async def test_only_the_author_edits_submits_or_withdraws_a_proposal(database, rules):
    edition_id = await edition()
    author, other = await member(), await member()
    operator = await member(operator_of=("BE",))
    theme_id = await services.propose(rules, author, edition_id, text("Cheaper bikes"), OPEN)
    for someone in (other, operator):
        # A draft is its author's alone: for anybody else it does not exist.
        with pytest.raises(NotFound) as refused:
            await services.edit_draft(rules, someone, theme_id, text("Hijacked"), OPEN)
        assert refused.value.status_code == 404
        with pytest.raises(NotFound):
            await services.submit(rules, someone, theme_id, OPEN)
        with pytest.raises(NotFound):
            await services.withdraw(rules, someone, theme_id, OPEN)
    submitted_id = await submitted(rules, author, edition_id, "Fairer fees")
    for someone in (other, operator):  # once public, it exists but stays the author's to change
        with pytest.raises(Forbidden, match="Only the member who proposed"):
            await services.withdraw(rules, someone, submitted_id, OPEN)
    assert (await theme(theme_id))["status"] == DRAFT
    assert (await theme_detail(theme_id, "en", author)).title == "Cheaper bikes"


async def test_a_submitted_proposal_can_no_longer_be_edited(database, rules):
    edition_id = await edition()
    author = await member()
    theme_id = await submitted(rules, author, edition_id, "Cheaper bikes")
    with pytest.raises(Conflict, match="Only a draft can be edited"):
        await services.edit_draft(rules, author, theme_id, text("Something else"), OPEN)
    with pytest.raises(Conflict, match="Only a draft can be submitted"):
        await services.submit(rules, author, theme_id, OPEN)
    assert (await theme_detail(theme_id, "en", None)).title == "Cheaper bikes"


async def test_proposing_outside_the_proposal_phase_is_refused_and_nothing_written(database, rules):
    edition_id = await edition()
    author = await member()
    with pytest.raises(Forbidden) as refused:
        await services.propose(rules, author, edition_id, text("Too early"), BEFORE)
    assert refused.value.message == "Theme proposals of 2021-2022 opens on 1 September 2021."
    with pytest.raises(Forbidden) as refused:
        await services.propose(rules, author, edition_id, text("Too late"), BE_CLOSED)
    assert refused.value.message == "Theme proposals of 2021-2022 closed on 31 October 2021."
    assert await Theme.count() == 0
    assert await ThemeText.count() == 0


async def test_a_draft_cannot_be_edited_submitted_or_withdrawn_once_the_phase_closed(
    database, rules
):
    edition_id = await edition()
    author = await member()
    theme_id = await services.propose(rules, author, edition_id, text("Cheaper bikes"), OPEN)
    with pytest.raises(Forbidden, match="closed on 31 October 2021"):
        await services.edit_draft(rules, author, theme_id, text("Late change"), BE_CLOSED)
    with pytest.raises(Forbidden, match="closed on 31 October 2021"):
        await services.submit(rules, author, theme_id, BE_CLOSED)
    with pytest.raises(Forbidden, match="closed on 31 October 2021"):
        await services.withdraw(rules, author, theme_id, BE_CLOSED)
    assert (await theme(theme_id))["status"] == DRAFT
    assert (await theme_detail(theme_id, "en", author)).title == "Cheaper bikes"


async def test_proposing_needs_a_proposal_phase_in_the_members_country(database, rules):
    edition_id = await create_edition("2021-2022")
    await set_calendar(edition_id, "BE", [BE_PROPOSALS])
    await set_calendar(
        edition_id, "FR", [PhaseWindow(AGM_VOTE, date(2022, 3, 1), date(2022, 3, 9))]
    )
    french = await member("FR")
    with pytest.raises(Forbidden) as refused:
        await services.propose(rules, french, edition_id, text("Une idée"), OPEN)
    assert refused.value.message == "Theme proposals of 2021-2022 has no dates for FR yet."
    assert await Theme.count() == 0


async def test_a_proposal_runs_in_its_proposers_country_on_its_calendar(database, rules):
    edition_id = await edition()
    belgian, french = await member("BE"), await member("FR", language="fr")
    be_theme = await services.propose(rules, belgian, edition_id, text("Fietsen"), OPEN)
    # Belgium's phase closed, France's is still open.
    fr_theme = await services.propose(rules, french, edition_id, text("Vélos"), BE_CLOSED)
    with pytest.raises(Forbidden):
        await services.propose(rules, belgian, edition_id, text("Late idea"), BE_CLOSED)
    assert (await theme(be_theme))["scope"] == "BE"
    assert (await theme(fr_theme))["scope"] == "FR"
    await services.submit(rules, french, fr_theme, BE_CLOSED)
    assert (await theme_detail(fr_theme, "fr", None)).countries == ["FR"]


BAD_TEXTS = {
    "empty title": (text(""), "at least 3 characters"),
    "whitespace-only title": (text("   \t  "), "at least 3 characters"),
    "2-character title": (text("ab"), "at least 3 characters"),
    "10,000-character title": (text("t" * 10_000), "10000 characters long"),
    "6,000-character description": (text("A fine title", "d" * 6_000), "6000 characters long"),
    "unknown language": (text("A fine title", language="de"), "Unknown language de"),
}


@pytest.mark.parametrize("case", list(BAD_TEXTS))
async def test_bad_proposal_input_is_refused_and_nothing_written(database, rules, case):
    bad, message = BAD_TEXTS[case]
    edition_id = await edition()
    author = await member()
    with pytest.raises(InvalidInput, match=message):
        await services.propose(rules, author, edition_id, bad, OPEN)
    assert await Theme.count() == 0
    assert await ThemeText.count() == 0

    theme_id = await services.propose(rules, author, edition_id, text("Cheaper bikes"), OPEN)
    with pytest.raises(InvalidInput, match=message):
        await services.edit_draft(rules, author, theme_id, bad, OPEN)
    assert (await theme_detail(theme_id, "en", author)).title == "Cheaper bikes"
    assert await ThemeText.count() == 1


async def test_the_longest_title_and_description_are_accepted(database, rules):
    edition_id = await edition()
    author = await member()
    theme_id = await services.propose(rules, author, edition_id, text("t" * 200, "d" * 5_000), OPEN)
    detail = await theme_detail(theme_id, "en", author)
    assert (len(detail.title), len(detail.description)) == (200, 5_000)


async def test_unknown_editions_and_themes_are_not_found(database, rules):
    author = await member()
    with pytest.raises(NotFound):
        await services.propose(rules, author, 999, text("Cheaper bikes"), OPEN)
    operator = await member(operator_of=("BE",))
    for call in (
        lambda: services.edit_draft(rules, author, 999, text("Cheaper bikes"), OPEN),
        lambda: services.submit(rules, author, 999, OPEN),
        lambda: services.withdraw(rules, author, 999, OPEN),
        lambda: services.support(rules, author, 999, OPEN),
        lambda: services.withdraw_support(rules, author, 999, OPEN),
        lambda: services.accept(rules, operator, 999),
        lambda: services.reject(rules, operator, 999, "Not for us"),
        lambda: theme_detail(999, "en", author),
    ):
        with pytest.raises(NotFound):
            await call()
    assert await Theme.count() == 0


# -- supports -------------------------------------------------------------------------------------


async def test_a_member_supports_a_proposal_and_takes_the_support_back(database, rules):
    edition_id = await edition()
    author, supporter = await member(), await member()
    theme_id = await submitted(rules, author, edition_id, "Cheaper bikes")
    assert await services.support(rules, supporter, theme_id, OPEN) == 1
    assert (await theme_detail(theme_id, "en", supporter)).supported_by_me
    assert not (await theme_detail(theme_id, "en", author)).supported_by_me
    assert await services.withdraw_support(rules, supporter, theme_id, OPEN) == 0
    assert not (await theme_detail(theme_id, "en", supporter)).supported_by_me
    with pytest.raises(Conflict, match="You do not support this proposal"):
        await services.withdraw_support(rules, supporter, theme_id, OPEN)
    assert await services.support(rules, supporter, theme_id, OPEN) == 1
    await assert_counts_match_rows()


async def test_a_member_supports_a_proposal_only_once(database, rules):
    edition_id = await edition()
    author, supporter = await member(), await member()
    theme_id = await submitted(rules, author, edition_id, "Cheaper bikes")
    await services.support(rules, supporter, theme_id, OPEN)
    with pytest.raises(Conflict, match="already support"):
        await services.support(rules, supporter, theme_id, OPEN)
    assert (await theme(theme_id))["support_count"] == 1
    assert await supporter_ids(theme_id) == {supporter.id}


async def test_nobody_supports_their_own_proposal(database, rules):
    edition_id = await edition()
    author = await member()
    theme_id = await submitted(rules, author, edition_id, "Cheaper bikes")
    with pytest.raises(Forbidden, match="your own proposal"):
        await services.support(rules, author, theme_id, OPEN)
    assert await Support.count() == 0


async def test_a_draft_cannot_be_supported(database, rules):
    edition_id = await edition()
    author, supporter = await member(), await member()
    theme_id = await services.propose(rules, author, edition_id, text("Cheaper bikes"), OPEN)
    with pytest.raises(NotFound):  # others cannot even see a draft
        await services.support(rules, supporter, theme_id, OPEN)
    with pytest.raises(Conflict, match="Only submitted proposals can be supported"):
        await services.support(rules, author, theme_id, OPEN)
    assert await Support.count() == 0


async def test_members_support_only_their_own_countrys_proposals(database, rules):
    edition_id = await edition()
    belgian, french = await member("BE"), await member("FR")
    theme_id = await submitted(rules, belgian, edition_id, "Cheaper bikes")
    with pytest.raises(Forbidden, match="Only members in BE can support"):
        await services.support(rules, french, theme_id, OPEN)
    assert await Support.count() == 0
    assert (await theme(theme_id))["support_count"] == 0


async def test_supports_are_given_and_taken_back_only_during_the_proposal_phase(database, rules):
    edition_id = await edition()
    author, early, late = await member(), await member(), await member()
    theme_id = await submitted(rules, author, edition_id, "Cheaper bikes")
    await services.support(rules, late, theme_id, OPEN)
    with pytest.raises(Forbidden, match="opens on 1 September 2021"):
        await services.support(rules, early, theme_id, BEFORE)
    with pytest.raises(Forbidden, match="closed on 31 October 2021"):
        await services.support(rules, early, theme_id, BE_CLOSED)
    with pytest.raises(Forbidden, match="closed on 31 October 2021"):
        await services.withdraw_support(rules, late, theme_id, BE_CLOSED)
    assert await supporter_ids(theme_id) == {late.id}
    assert (await theme(theme_id))["support_count"] == 1


async def test_the_support_count_always_equals_the_support_rows(database, rules):
    edition_id = await edition()
    author, *others = await members(5)
    first = await submitted(rules, author, edition_id, "Cheaper bikes")
    second = await submitted(rules, others[0], edition_id, "Shared tools")
    await supported_by(rules, first, others)
    await assert_counts_match_rows()
    await supported_by(rules, second, others[1:3])
    await services.withdraw_support(rules, others[1], first, OPEN)
    await assert_counts_match_rows()
    with pytest.raises(Conflict):
        await services.support(rules, others[2], first, OPEN)
    await assert_counts_match_rows()
    assert (await theme(first))["support_count"] == 3
    assert (await theme(second))["support_count"] == 2


async def test_two_simultaneous_supports_by_one_member_give_one_support(database, rules):
    edition_id = await edition()
    author, supporter = await member(), await member()
    theme_id = await submitted(rules, author, edition_id, "Cheaper bikes")
    results = await asyncio.gather(
        services.support(rules, supporter, theme_id, OPEN),
        services.support(rules, supporter, theme_id, OPEN),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "int"]
    assert 1 in results
    assert await Support.count().where(Support.theme == theme_id) == 1
    assert (await theme(theme_id))["support_count"] == 1


async def test_simultaneous_supports_by_many_members_are_all_counted(database, rules):
    edition_id = await edition()
    author, *supporters = await members(9)
    theme_id = await submitted(rules, author, edition_id, "Cheaper bikes")
    counts = await asyncio.gather(*(services.support(rules, s, theme_id, OPEN) for s in supporters))
    assert sorted(counts) == list(range(1, 9))
    assert (await theme(theme_id))["support_count"] == 8
    await assert_counts_match_rows()


async def test_simultaneous_supports_that_cross_the_threshold_announce_it_once(database):
    listener = Listener()
    rules = rules_for(database, be=("listener",), extra={"listener": listener}, be_threshold=2)
    edition_id = await edition()
    author, *supporters = await members(4)
    theme_id = await submitted(rules, author, edition_id, "Cheaper bikes")
    await services.support(rules, supporters[0], theme_id, OPEN)
    counts = await asyncio.gather(
        *(services.support(rules, s, theme_id, OPEN) for s in supporters[1:])
    )
    assert sorted(counts) == [2, 3]
    assert len(listener.of(ThresholdReached)) == 1
    await assert_counts_match_rows()


# -- the support threshold ------------------------------------------------------------------------


async def test_the_default_threshold_comes_from_config(database):
    rules = rules_for(database, be_threshold=3, fr_threshold=25)
    edition_info = await get_edition_by_id(await edition())
    assert rules.support_threshold(edition_info, "BE") == 3
    assert rules.support_threshold(edition_info, "FR") == 25
    assert rules_for(database).support_threshold(edition_info, "BE") == 25


async def test_a_threshold_plugin_changes_the_threshold_of_its_country_only(database):
    """A plugin enabled for BE answers 2; France keeps its configured 3, so it is not the
    plugin's answer that France hears (or France would reach its threshold at 2 too)."""
    listener = Listener()
    rules = rules_for(
        database,
        be=("threshold_two", "listener"),
        fr=("listener",),
        extra={"threshold_two": FixedThreshold(2), "listener": listener},
        fr_threshold=3,
    )
    edition_id = await edition()
    edition_info = await get_edition_by_id(edition_id)
    assert rules.support_threshold(edition_info, "BE") == 2
    assert rules.support_threshold(edition_info, "FR") == 3

    be_author, *be_supporters = await members(4, "BE")
    fr_author, *fr_supporters = await members(4, "FR")
    be_theme = await submitted(rules, be_author, edition_id, "Cheaper bikes")
    fr_theme = await submitted(rules, fr_author, edition_id, "Vélos moins chers")

    await supported_by(rules, be_theme, be_supporters[:1])
    assert listener.of(ThresholdReached) == []
    await supported_by(rules, be_theme, be_supporters[1:2])
    assert [(e.theme_id, e.supports, e.threshold) for e in listener.of(ThresholdReached)] == [
        (be_theme, 2, 2)
    ]
    assert (await theme(be_theme))["threshold_reached_at"] is not None

    await supported_by(rules, fr_theme, fr_supporters[:2])
    assert (await theme(fr_theme))["threshold_reached_at"] is None
    assert [e.theme_id for e in listener.of(ThresholdReached)] == [be_theme]
    await supported_by(rules, fr_theme, fr_supporters[2:3])
    reached = listener.of(ThresholdReached)
    assert [(e.theme_id, e.country, e.supports, e.threshold) for e in reached] == [
        (be_theme, "BE", 2, 2),
        (fr_theme, "FR", 3, 3),
    ]


async def test_the_threshold_is_announced_once_even_when_supports_come_and_go(database):
    listener = Listener()
    rules = rules_for(
        database,
        be=("threshold_two", "listener"),
        extra={"threshold_two": FixedThreshold(2), "listener": listener},
    )
    edition_id = await edition()
    author, first, second, third = await members(4)
    theme_id = await submitted(rules, author, edition_id, "Cheaper bikes")
    await supported_by(rules, theme_id, [first, second])
    assert len(listener.of(ThresholdReached)) == 1
    assert await services.withdraw_support(rules, second, theme_id, OPEN) == 1
    assert await services.support(rules, second, theme_id, OPEN) == 2
    assert await services.support(rules, third, theme_id, OPEN) == 3
    assert len(listener.of(ThresholdReached)) == 1
    await assert_counts_match_rows()


# -- moderation -----------------------------------------------------------------------------------


async def test_a_belgian_operator_accepts_a_belgian_proposal(database, rules):
    edition_id = await edition()
    operator, author = await member(operator_of=("BE",)), await member()
    theme_id = await submitted(rules, author, edition_id, "Cheaper bikes")
    await services.accept(rules, operator, theme_id)
    row = await theme(theme_id)
    assert row["status"] == ACCEPTED
    assert row["decided_at"] is not None
    with pytest.raises(Conflict, match="Only a submitted proposal can be accepted"):
        await services.accept(rules, operator, theme_id)
    assert (await theme(theme_id))["status"] == ACCEPTED


async def test_a_belgian_operator_rejects_a_belgian_proposal_with_a_reason(database, rules):
    edition_id = await edition()
    operator, author = await member(operator_of=("BE",)), await member()
    theme_id = await submitted(rules, author, edition_id, "Cheaper bikes")
    await services.reject(rules, operator, theme_id, "  Already on the ballot.  ")
    detail = await theme_detail(theme_id, "en", None)
    assert (detail.status, detail.rejection_reason) == (REJECTED, "Already on the ballot.")
    with pytest.raises(Conflict, match="Only a submitted proposal can be rejected"):
        await services.reject(rules, operator, theme_id, "Twice")


@pytest.mark.parametrize("reason", ["", "   ", "no", "x" * 2001])
async def test_a_rejection_needs_a_reason(database, rules, reason):
    edition_id = await edition()
    operator, author = await member(operator_of=("BE",)), await member()
    theme_id = await submitted(rules, author, edition_id, "Cheaper bikes")
    with pytest.raises(InvalidInput, match="Give the proposer a reason"):
        await services.reject(rules, operator, theme_id, reason)
    row = await theme(theme_id)
    assert (row["status"], row["rejection_reason"]) == (SUBMITTED, "")


async def test_drafts_are_not_moderated(database, rules):
    edition_id = await edition()
    operator, author = await member(operator_of=("BE",)), await member()
    draft = await services.propose(rules, author, edition_id, text("Cheaper bikes"), OPEN)
    with pytest.raises(NotFound):  # a draft is its author's alone, operators included
        await services.accept(rules, operator, draft)
    with pytest.raises(NotFound):
        await services.reject(rules, operator, draft, "Not yet")
    assert (await theme(draft))["status"] == DRAFT


async def test_operators_moderate_only_their_own_countrys_themes(database, rules):
    edition_id = await edition()
    be_operator = await member("BE", operator_of=("BE",))
    plain_member = await member("FR")
    fr_author, fr_supporter = await member("FR"), await member("FR")
    fr_theme = await submitted(rules, fr_author, edition_id, "Vélos moins chers")
    fr_target = await submitted(rules, fr_supporter, edition_id, "Des vélos")
    await services.support(rules, fr_supporter, fr_theme, OPEN)
    before = [await theme(fr_theme), await theme(fr_target)]
    for actor in (be_operator, plain_member):
        with pytest.raises(Forbidden, match="Only operators of FR"):
            await services.accept(rules, actor, fr_theme)
        with pytest.raises(Forbidden, match="Only operators of FR"):
            await services.reject(rules, actor, fr_theme, "Not for us")
        with pytest.raises(Forbidden, match="Only operators of FR"):
            await services.merge(rules, actor, fr_theme, fr_target)
    assert [await theme(fr_theme), await theme(fr_target)] == before
    assert await supporter_ids(fr_theme) == {fr_supporter.id}


async def test_merging_counts_every_supporter_once(database, rules):
    edition_id = await edition()
    operator = await member(operator_of=("BE",))
    source_author, target_author, both, source_only, target_only = await members(5)
    source = await submitted(rules, source_author, edition_id, "Cheap bikes")
    target = await submitted(rules, target_author, edition_id, "Cheaper bicycles")
    # The target's proposer supports the source; one member supports both.
    await supported_by(rules, source, [target_author, both, source_only])
    await supported_by(rules, target, [both, target_only])

    assert await services.merge(rules, operator, source, target) == 3

    merged = await theme(source)
    assert (merged["status"], merged["merged_into"], merged["support_count"]) == (
        MERGED,
        target,
        0,
    )
    assert await supporter_ids(source) == set()
    assert await supporter_ids(target) == {both.id, source_only.id, target_only.id}
    assert (await theme(target))["support_count"] == 3
    await assert_counts_match_rows()
    detail = await theme_detail(source, "en", None)
    assert (detail.status, detail.merged_into) == (MERGED, target)
    with pytest.raises(Conflict, match="Only a submitted proposal can be merged"):
        await services.merge(rules, operator, source, target)


async def test_a_proposal_merges_into_an_accepted_board_theme(database, rules):
    edition_id = await edition()
    board, operator = await member(operator_of=("BE", "FR")), await member(operator_of=("BE",))
    author, supporter = await member(), await member()
    board_theme = await services.add_board_theme(
        rules, board, edition_id, ["BE", "FR"], text("Housing")
    )
    source = await submitted(rules, author, edition_id, "Cooperative housing")
    await services.support(rules, supporter, source, OPEN)
    assert await services.merge(rules, operator, source, board_theme) == 1
    assert await supporter_ids(board_theme) == {supporter.id}
    assert (await theme(board_theme))["status"] == ACCEPTED


async def test_merging_across_editions_or_into_itself_is_refused(database, rules):
    edition_id = await edition()
    other_edition = await edition("2022-2023")
    operator = await member(operator_of=("BE", "FR"))
    author, supporter = await member(), await member()
    source = await submitted(rules, author, edition_id, "Cheaper bikes")
    await services.support(rules, supporter, source, OPEN)
    elsewhere = await services.add_board_theme(
        rules, operator, other_edition, ["BE"], text("Bikes")
    )
    french = await submitted(rules, await member("FR"), edition_id, "Vélos")
    before = await theme(source)
    with pytest.raises(InvalidInput, match="same edition"):
        await services.merge(rules, operator, source, elsewhere)
    with pytest.raises(InvalidInput, match="cannot be merged into itself"):
        await services.merge(rules, operator, source, source)
    with pytest.raises(InvalidInput, match="same countries"):
        await services.merge(rules, operator, source, french)
    with pytest.raises(NotFound):
        await services.merge(rules, operator, source, 999)
    assert await theme(source) == before
    assert await supporter_ids(source) == {supporter.id}
    assert (await theme(elsewhere))["support_count"] == 0


async def test_a_merge_that_takes_the_target_over_the_threshold_announces_it(database):
    listener = Listener()
    rules = rules_for(database, be=("listener",), extra={"listener": listener}, be_threshold=3)
    edition_id = await edition()
    operator = await member(operator_of=("BE",))
    source_author, target_author, *others = await members(5)
    source = await submitted(rules, source_author, edition_id, "Cheap bikes")
    target = await submitted(rules, target_author, edition_id, "Cheaper bicycles")
    await supported_by(rules, source, others[:2])
    await supported_by(rules, target, others[1:3])
    assert listener.of(ThresholdReached) == []

    assert await services.merge(rules, operator, source, target) == 3

    merged = listener.of(ThemeMerged)
    assert [(e.theme_id, e.into_theme_id, e.supports_moved) for e in merged] == [
        (source, target, 1)
    ]
    reached = listener.of(ThresholdReached)
    assert [(e.theme_id, e.supports, e.threshold, e.title) for e in reached] == [
        (target, 3, 3, "Cheaper bicycles")
    ]
    assert (await theme(target))["threshold_reached_at"] is not None


# -- events ---------------------------------------------------------------------------------------


async def moderated_cycle(rules: Rules, edition_id: int, country: str) -> dict[str, int]:
    """In one country: a proposal supported and accepted, one rejected, one merged."""
    operator = await member(country, operator_of=(country,))
    author, supporter = await member(country), await member(country)
    accepted = await submitted(rules, author, edition_id, f"Accepted in {country}")
    await services.support(rules, supporter, accepted, OPEN)  # threshold 1: reached
    await services.accept(rules, operator, accepted)
    rejected = await submitted(rules, author, edition_id, f"Rejected in {country}")
    await services.reject(rules, operator, rejected, "Out of scope")
    merged = await submitted(rules, author, edition_id, f"Merged in {country}")
    await services.merge(rules, operator, merged, accepted)
    return {
        "accepted": accepted,
        "rejected": rejected,
        "merged": merged,
        "author": author.id,
        "operator": operator.id,
    }


async def test_theme_events_reach_the_listeners_of_their_country_only(database):
    be_listener, fr_listener = Listener(), Listener()
    rules = rules_for(
        database,
        be=("be_listener",),
        fr=("fr_listener",),
        extra={"be_listener": be_listener, "fr_listener": fr_listener},
        be_threshold=1,
        fr_threshold=1,
    )
    edition_id = await edition()
    be = await moderated_cycle(rules, edition_id, "BE")
    fr = await moderated_cycle(rules, edition_id, "FR")

    kinds = [
        ThemeProposed,
        ThresholdReached,
        ThemeAccepted,
        ThemeProposed,
        ThemeRejected,
        ThemeProposed,
        ThemeMerged,
    ]
    for listener, country, ids in ((be_listener, "BE", be), (fr_listener, "FR", fr)):
        assert [type(e) for e in listener.events] == kinds
        assert {e.country for e in listener.events} == {country}
        assert {e.theme_id for e in listener.events} == {
            ids["accepted"],
            ids["rejected"],
            ids["merged"],
        }
        assert listener.of(ThemeProposed)[0] == ThemeProposed(
            country=country,
            theme_id=ids["accepted"],
            edition="2021-2022",
            title=f"Accepted in {country}",
            proposer_id=ids["author"],
        )
        assert listener.of(ThemeAccepted)[0] == ThemeAccepted(
            country=country,
            theme_id=ids["accepted"],
            edition="2021-2022",
            title=f"Accepted in {country}",
            actor_id=ids["operator"],
            proposer_id=ids["author"],
        )
        assert listener.of(ThemeRejected)[0].reason == "Out of scope"
        assert listener.of(ThemeMerged)[0].into_theme_id == ids["accepted"]


# -- queries --------------------------------------------------------------------------------------


async def catalogue(rules: Rules) -> dict[str, int]:
    """An edition's themes in three languages, some public and some not."""
    edition_id = await edition()
    operator = await member("BE", operator_of=("BE", "FR"))
    be_author, *supporters = await members(3, "BE")
    fr_author = await member("FR", language="fr")
    fr_supporter = await member("FR")
    ids = {"edition": edition_id}
    ids["bikes"] = await submitted(
        rules, be_author, edition_id, "Cheaper bikes", description="Two wheels for all."
    )
    ids["energy"] = await submitted(
        rules,
        be_author,
        edition_id,
        "Énergie solidaire",
        description="Des coopératives d'ÉLECTRICITÉ verte.",
        language="fr",
    )
    ids["housing"] = await submitted(
        rules, be_author, edition_id, "Coöperatief wonen", language="nl"
    )
    ids["artists"] = await submitted(
        rules, fr_author, edition_id, "Mutuelle des artistes", language="fr"
    )
    ids["report"] = await services.add_board_theme(
        rules, operator, edition_id, ["BE", "FR"], text("Annual report")
    )
    ids["draft"] = await services.propose(
        rules, be_author, edition_id, text("Secret bikes draft"), OPEN
    )
    ids["withdrawn"] = await submitted(rules, be_author, edition_id, "Withdrawn bikes")
    await services.withdraw(rules, be_author, ids["withdrawn"], OPEN)
    await supported_by(rules, ids["bikes"], supporters[:2])
    await supported_by(rules, ids["energy"], supporters[:1])
    await services.support(rules, fr_supporter, ids["artists"], OPEN)
    await services.accept(rules, operator, ids["housing"])
    await services.reject(rules, operator, ids["artists"], "Already covered")
    return ids


async def titles(edition_id: int, language: str = "en", **filters) -> list[str]:
    page = await list_themes(edition_id, ThemeFilter(per_page=100, **filters), language)
    return [t.title for t in page.items]


async def test_the_list_shows_public_themes_only(database, rules):
    ids = await catalogue(rules)
    page = await list_themes(ids["edition"], ThemeFilter(per_page=100), "en")
    shown = {t.id for t in page.items}
    assert shown == {ids[k] for k in ("bikes", "energy", "housing", "artists", "report")}
    assert page.total == 5
    assert ids["draft"] not in shown
    assert ids["withdrawn"] not in shown


async def test_the_list_filters_by_country_origin_and_status(database, rules):
    ids = await catalogue(rules)
    edition_id = ids["edition"]
    assert sorted(await titles(edition_id, country="FR")) == [
        "Annual report",
        "Mutuelle des artistes",
    ]
    assert sorted(await titles(edition_id, country="BE")) == [
        "Annual report",
        "Cheaper bikes",
        "Coöperatief wonen",
        "Énergie solidaire",
    ]
    assert await titles(edition_id, origin="board") == ["Annual report"]
    assert "Annual report" not in await titles(edition_id, origin="member")
    assert sorted(await titles(edition_id, status="accepted")) == [
        "Annual report",
        "Coöperatief wonen",
    ]
    assert await titles(edition_id, status="rejected") == ["Mutuelle des artistes"]
    assert await titles(edition_id, status="rejected", country="BE") == []
    for bad in (
        ThemeFilter(status="draft"),
        ThemeFilter(country="DE"),
        ThemeFilter(origin="nobody"),
        ThemeFilter(sort="random"),
        ThemeFilter(page=0),
        ThemeFilter(per_page=101),
    ):
        with pytest.raises(InvalidInput):
            await list_themes(edition_id, bad, "en")


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("bikes", ["Cheaper bikes"]),  # drafts and withdrawn proposals are never found
        ("CHEAPER", ["Cheaper bikes"]),
        ("wheels", ["Cheaper bikes"]),  # in the description
        ("énergie", ["Énergie solidaire"]),
        ("ÉNERGIE", ["Énergie solidaire"]),
        ("électricité", ["Énergie solidaire"]),  # description written in capitals
        ("coöperatief", ["Coöperatief wonen"]),
        ("COÖPERATIEF", ["Coöperatief wonen"]),
        ("  Mutuelle  ", ["Mutuelle des artistes"]),
        ("%", []),  # no wildcards: a search for a percent sign finds none here
        ("_", []),
        ("nothing like this", []),
    ],
)
async def test_the_list_searches_titles_and_descriptions_in_any_case_and_language(
    database, rules, q, expected
):
    ids = await catalogue(rules)
    assert await titles(ids["edition"], q=q) == expected
    page = await list_themes(ids["edition"], ThemeFilter(q=q), "en")
    assert page.total == len(expected)


async def test_the_list_sorts_by_supports_newest_and_title(database, rules):
    ids = await catalogue(rules)
    edition_id = ids["edition"]
    by_supports = await list_themes(edition_id, ThemeFilter(sort="supports"), "en")
    # The rejected proposal keeps its support; equal counts come in the order they were added.
    assert [(t.title, t.support_count) for t in by_supports.items[:3]] == [
        ("Cheaper bikes", 2),
        ("Énergie solidaire", 1),
        ("Mutuelle des artistes", 1),
    ]
    assert [t.support_count for t in by_supports.items[3:]] == [0, 0]
    newest = await titles(edition_id, sort="newest")
    assert newest == [
        "Annual report",
        "Mutuelle des artistes",
        "Coöperatief wonen",
        "Énergie solidaire",
        "Cheaper bikes",
    ]
    assert await titles(edition_id, sort="oldest") == list(reversed(newest))
    assert await titles(edition_id, sort="title", origin="member", country="BE") == [
        "Cheaper bikes",
        "Coöperatief wonen",
        "Énergie solidaire",
    ]
    assert await titles(edition_id, sort="title", country="FR") == [
        "Annual report",
        "Mutuelle des artistes",
    ]


async def test_the_list_is_paginated(database, rules):
    ids = await catalogue(rules)
    pages = [
        await list_themes(ids["edition"], ThemeFilter(sort="newest", per_page=2, page=n), "en")
        for n in (1, 2, 3, 4)
    ]
    assert [p.total for p in pages] == [5, 5, 5, 5]
    assert [p.pages for p in pages] == [3, 3, 3, 3]
    assert [len(p.items) for p in pages] == [2, 2, 1, 0]
    seen = [t.id for p in pages for t in p.items]
    assert len(seen) == len(set(seen)) == 5
    by_title = [
        await list_themes(ids["edition"], ThemeFilter(sort="title", per_page=2, page=n), "en")
        for n in (1, 2, 3)
    ]
    assert [t.title for p in by_title for t in p.items] == await titles(
        ids["edition"], sort="title"
    )
    empty = await list_themes(ids["edition"], ThemeFilter(q="nothing like this"), "en")
    assert (empty.total, empty.pages, empty.items) == (0, 1, [])


async def test_the_list_falls_back_to_the_original_language(database, rules):
    ids = await catalogue(rules)
    await ThemeText.insert(
        ThemeText(theme=ids["energy"], language="nl", title="Solidaire energie", description="")
    )
    in_dutch = {
        t.id: (t.title, t.language)
        for t in (await list_themes(ids["edition"], ThemeFilter(), "nl")).items
    }
    assert in_dutch[ids["energy"]] == ("Solidaire energie", "nl")
    assert in_dutch[ids["artists"]] == ("Mutuelle des artistes", "fr")  # no Dutch text
    in_english = {
        t.id: (t.title, t.language)
        for t in (await list_themes(ids["edition"], ThemeFilter(), "en")).items
    }
    assert in_english[ids["energy"]] == ("Énergie solidaire", "fr")
    assert in_english[ids["housing"]] == ("Coöperatief wonen", "nl")
    detail = await theme_detail(ids["energy"], "en", None)
    assert detail.title == "Énergie solidaire"
    assert sorted(t.language for t in detail.texts) == ["fr", "nl"]


async def test_a_draft_is_visible_to_its_author_only(database, rules):
    ids = await catalogue(rules)
    row = await theme(ids["draft"])
    author = await load_member(row["proposer"])
    other = await member()
    operator = await member(operator_of=("BE",))
    assert (await theme_detail(ids["draft"], "en", author)).title == "Secret bikes draft"
    assert (await theme_detail(ids["withdrawn"], "en", author)).status == WITHDRAWN
    for viewer in (None, other, operator):
        for private in (ids["draft"], ids["withdrawn"]):
            with pytest.raises(NotFound, match=f"There is no theme {private}"):
                await theme_detail(private, "en", viewer)


async def test_the_moderation_queue_splits_by_threshold_and_keeps_to_its_country(database):
    rules = rules_for(database, be_threshold=2, fr_threshold=1)
    edition_id = await edition()
    be_operator = await member("BE", operator_of=("BE",))
    fr_operator = await member("FR", operator_of=("FR",))
    be_author, *be_supporters = await members(3, "BE")
    fr_author, fr_supporter = await member("FR"), await member("FR")
    ready = await submitted(rules, be_author, edition_id, "Ready")
    gathering = await submitted(rules, be_author, edition_id, "Gathering")
    quiet = await submitted(rules, be_author, edition_id, "Quiet")
    decided = await submitted(rules, be_author, edition_id, "Decided")
    draft = await services.propose(rules, be_author, edition_id, text("Draft"), OPEN)
    french = await submitted(rules, fr_author, edition_id, "Français")
    await supported_by(rules, ready, be_supporters[:2])
    await supported_by(rules, gathering, be_supporters[:1])
    await supported_by(rules, decided, be_supporters[:2])
    await services.accept(rules, be_operator, decided)
    await services.support(rules, fr_supporter, french, OPEN)

    over, under = await moderation_queue(be_operator, "BE", "en", edition_id)
    assert [t.id for t in over] == [ready]
    assert [t.id for t in under] == [gathering, quiet]
    assert draft not in {t.id for t in over + under}

    over, under = await moderation_queue(fr_operator, "FR", "en")
    assert ([t.id for t in over], under) == ([french], [])

    with pytest.raises(Forbidden):
        await moderation_queue(be_operator, "FR", "en", edition_id)
