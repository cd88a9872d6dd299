"""The AGM polls: June 2020, published, and the open edition's, drafts that wait for its AGM
vote phase (their voting window lies inside it: no reason to hold them outside it)."""

from __future__ import annotations

from datetime import date, timedelta

from core import clock, db
from core.config import Settings
from core.editions.services import AGM_VOTE, get_edition_by_id
from core.editions.tables import Edition
from core.members.model import CurrentMember
from core.members.services import load_member
from core.members.tables import Member
from core.plugins import build_registry
from core.polls import proxies as poll_proxies
from core.polls import services as polls
from core.polls.tables import Poll
from core.rules import Rules
from core.themes.services import MEMBER
from core.themes.tables import Theme, ThemeText
from plugins.demo import frozen
from plugins.demo.calendars import moment, open_edition_slug
from plugins.demo.people import (
    ACCOUNTS,
    OPERATOR_OF,
    board_member,
    demo_member,
    extra_numbers,
    member_ids,
)
from plugins.demo.texts import (
    ECOLOGICAL_TRANSITION,
    MOBILITY,
    RIGHT_TO_DISCONNECT,
    SOCIAL_PROTECTION,
    YOUNG_MEMBERS,
)
from plugins.demo.themes import add_board_theme

_POLLS_2020: dict[str, tuple[str, tuple[int, int], tuple[int, int]]] = {
    "BE": ("schulze", (6, 3), (6, 14)),
    "FR": ("approval", (6, 8), (6, 22)),
}
_OPEN_POLLS = {"BE": "schulze", "FR": "stv"}
# The demo polls' tellers: any two of the three count.
TELLERS_OF = {"BE": ("D-0005", "D-0006", "D-0009"), "FR": ("D-0007", "D-0008", "D-0010")}
TELLERS_NEEDED = 2
# One proxy per country in the open edition's poll: (grantor, holder), shareholders who are
# not operators.
DEMO_PROXIES = {"BE": ("D-0101", "D-0105"), "FR": ("D-0203", "D-0204")}
# The demo operator of each country, who runs its polls.
Operators = dict[str, CurrentMember]
WON_2020 = ("Accompaniment", "New prospects after the health crisis")


def _ballot_2020(method: str, k: int, numbers: dict[str, int]) -> list[int]:
    """The k-th ballot of a 2020 poll: a mix in which the two voted-in themes win.

    ``numbers`` maps a for A(ccompaniment), c for C(risis), m for M(obility), s for S(ocial
    protection) to candidate numbers."""
    if method == "approval":
        patterns = ("ac", "a", "cm", "acs", "c", "ms", "ac")
    else:  # ranked (schulze): a and c beat m and s pairwise
        patterns = ("acms", "casm", "amcs", "csam", "macs")
    return [numbers[x] for x in patterns[k % len(patterns)]]


async def _seed_polls(settings: Settings) -> bool:
    """The AGM polls, written through the poll services in one transaction (theirs nest in
    it), so ballots and participations go in together and a failure leaves nothing."""
    rules = Rules(build_registry(settings), settings)
    open_slug = open_edition_slug(clock.today())
    async with db.write_transaction():
        editions = await Edition.select(Edition.id, Edition.slug).where(
            Edition.slug.is_in(["2020-2021", open_slug])
        )
        if not db.is_sqlite() and editions:
            # Two starts at once: the second waits here until the first has committed.
            await (
                Edition.select(Edition.id)
                .where(Edition.id.is_in([e["id"] for e in editions]))
                .order_by(Edition.id)
                .lock_rows("NO KEY UPDATE")
            )
        if await Poll.exists():
            return False
        slugs = {e["slug"]: e["id"] for e in editions}
        operators: Operators = {}
        for country, number in OPERATOR_OF.items():
            operator = await demo_member(number)
            if operator is None or not operator.is_operator(country):
                return False  # no demo operators to run the polls
            operators[country] = operator
        created = False
        if "2020-2021" in slugs:
            await _seed_polls_2020(rules, slugs["2020-2021"], operators)
            created = True
        # Only the demo's own open edition (with its proposals), not one made by hand.
        if open_slug in slugs and await Theme.exists().where(
            (Theme.edition == slugs[open_slug]) & (Theme.origin == MEMBER)
        ):
            await _seed_open_polls(rules, slugs[open_slug], operators)
            created = True
    # The 2020 counts erased their sealed ballots inside the transaction: scrub the files now.
    await db.scrub("sealed_ballot")
    return created


async def _titles(theme_ids: list[int]) -> dict[int, str]:
    rows = await ThemeText.select(ThemeText.theme, ThemeText.title).where(
        ThemeText.theme.is_in(theme_ids) & (ThemeText.language == "en")
    )
    return {r["theme"]: r["title"] for r in rows}


async def _name_tellers(
    rules: Rules, operator: CurrentMember, poll_id: int, country: str
) -> list[CurrentMember]:
    ids = await member_ids(list(TELLERS_OF[country]))
    tellers = [await load_member(ids[number]) for number in TELLERS_OF[country]]
    await polls.set_tellers(rules, operator, poll_id, [t.id for t in tellers if t], TELLERS_NEEDED)
    return [t for t in tellers if t is not None]


async def _seed_polls_2020(rules: Rules, edition_id: int, operators: Operators) -> None:
    # Two more themes were on the June 2020 ballots and were not elected.
    board = await board_member()
    if board is not None:
        for texts in (MOBILITY, SOCIAL_PROTECTION):
            await add_board_theme(rules, board, edition_id, texts, moment(date(2020, 3, 2)))
    for country, (method, (m1, d1), (m2, d2)) in _POLLS_2020.items():
        operator = operators[country]
        # Through the services, with the clock frozen on each step's day in June 2020.
        opens_at = moment(date(2020, m1, d1), 9)
        closes_at = moment(date(2020, m2, d2), 17)
        created_at = opens_at - timedelta(days=14)
        with frozen.at(created_at):
            poll_id = await polls.create_poll(
                rules, operator, edition_id, country, method, 2, opens_at, closes_at
            )
            tellers = await _name_tellers(rules, operator, poll_id, country)
        # The service does not take a creation time (the column's default is the real time).
        await Poll.update({Poll.created_at: created_at}).where(Poll.id == poll_id)
        with frozen.at(opens_at):
            await polls.open_poll(rules, operator, poll_id)
            # The 2020 tellers collected their shares then and counted together after the vote.
            shares = [(await polls.collect_share(t, poll_id)).share for t in tellers]
        shares = shares[:TELLERS_NEEDED]
        poll = await polls.get_poll(poll_id)
        title = await _titles([t for _n, t in poll.candidates])
        letter = {
            "Accompaniment": "a",
            "New prospects after the health crisis": "c",
            MOBILITY["en"][0]: "m",
            SOCIAL_PROTECTION["en"][0]: "s",
        }
        numbers = {letter[title[t]]: n for n, t in poll.candidates}
        extras = extra_numbers(country)
        voters = [a.member_number for a in ACCOUNTS if a.country == country and a.shareholder]
        voters += [n for i, n in enumerate(extras) if i % 5 != 4]  # not everyone voted
        rows = await Member.select(Member.id).where(
            Member.member_number.is_in(voters)
            & (Member.country == country)
            & (Member.shareholder == True)  # noqa: E712
        )
        # Who voted, dated within the vote (one moment for all: it tells nothing anyway).
        with frozen.at(opens_at + timedelta(days=1)):
            for k, row in enumerate(sorted(rows, key=lambda r: r["id"])):
                voter = await load_member(row["id"])
                assert voter is not None
                await polls.cast(rules, voter, poll_id, _ballot_2020(method, k, numbers))
        with frozen.at(closes_at):
            await polls.close_poll(rules, operator, poll_id)
        with frozen.at(closes_at + timedelta(minutes=30)):
            await polls.count_poll(rules, tellers[0], poll_id, shares)


async def _seed_open_polls(rules: Rules, edition_id: int, operators: Operators) -> None:
    """A draft poll per country, its window inside the country's AGM vote phase, its tellers
    named and one proxy given: an operator opens it when the AGM vote comes."""
    # The board's themes for the ballot (member proposals keep gathering supports).
    now = clock.now()
    board = await board_member()
    if board is not None:
        for texts in (ECOLOGICAL_TRANSITION, YOUNG_MEMBERS, RIGHT_TO_DISCONNECT):
            await add_board_theme(rules, board, edition_id, texts, now - timedelta(days=24))
    edition = await get_edition_by_id(edition_id)
    for country, method in _OPEN_POLLS.items():
        calendar = edition.calendar(country)
        window = calendar.window(AGM_VOTE) if calendar is not None else None
        if window is None:
            continue  # no AGM vote phase to hold it in
        operator = operators[country]
        poll_id = await polls.create_poll(
            rules,
            operator,
            edition_id,
            country,
            method,
            2,
            # From the phase's first morning to its last evening (UTC).
            moment(window.starts_on, 9),
            moment(window.ends_on, 20),
        )
        grantor_number, holder_number = DEMO_PROXIES[country]
        ids = await member_ids([grantor_number, holder_number])
        grantor = await load_member(ids[grantor_number]) if grantor_number in ids else None
        if grantor is not None and holder_number in ids:
            # Online proxies are given until the poll opens: while it is a draft.
            await poll_proxies.grant_proxy(rules, grantor, poll_id, ids[holder_number])
        await _name_tellers(rules, operator, poll_id, country)
