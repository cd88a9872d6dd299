"""The open edition, named after the year it is seeded in (``open_edition_slug``: 2026-2027 in
2026): its proposal phase is open on the day it is seeded, the AGM vote and the other phases
follow in order (``open_calendar``), with member proposals at every stage, made through the
themes services (propose, submit, support, reject, merge) with the clock frozen on the day
each step happened, in the order they happened."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta

from core import clock, db
from core.config import Settings
from core.editions.services import get_edition_by_id
from core.editions.tables import Edition
from core.members.model import CurrentMember
from core.members.services import load_member
from core.members.tables import Member
from core.plugins import build_registry
from core.rules import Rules
from core.themes import services as themes
from core.themes.tables import Support, Theme
from plugins.demo import frozen
from plugins.demo.calendars import add_edition, open_calendar, open_edition_slug
from plugins.demo.people import ACCOUNTS, LANGUAGE_OF, OPERATOR_OF, demo_member, extra_numbers
from plugins.demo.proposals import PROPOSALS_BY_COUNTRY, DemoProposal
from plugins.demo.themes import texts_in

Step = Callable[[date], Awaitable[object]]


async def _seed_open_edition(settings: Settings) -> bool:
    now = clock.now()
    today = now.date()
    slug = open_edition_slug(today)
    calendars = {c: open_calendar(today, c) for c in PROPOSALS_BY_COUNTRY}
    numbers = [a.member_number for a in ACCOUNTS]
    numbers += [n for c in PROPOSALS_BY_COUNTRY for n in extra_numbers(c)]
    rules = Rules(build_registry(settings), settings)
    async with db.write_transaction():
        if await Edition.exists().where(Edition.slug == slug):
            return False
        rows = await Member.select(Member.id, Member.member_number, Member.country).where(
            Member.member_number.is_in(numbers)
        )
        members = {r["member_number"]: (r["id"], r["country"]) for r in rows}
        edition_id = await add_edition(slug, now - timedelta(days=25), calendars)
        edition = await get_edition_by_id(edition_id, today)
        steps: list[tuple[datetime, Step]] = []
        for country, proposals in PROPOSALS_BY_COUNTRY.items():
            # Each country's support threshold, as the platform's rules give it (the
            # ``support_threshold`` hook: a plugin's answer, else the country's setting).
            threshold = rules.support_threshold(edition, country)
            operator = await demo_member(OPERATOR_OF[country])
            steps += _proposal_steps(
                rules, edition_id, country, proposals, members, threshold, now, operator
            )
        # In the order they happened (a stable sort: a proposal exists before its supports).
        for moment, step in sorted(steps, key=lambda s: s[0]):
            with frozen.at(moment):
                await step(moment.date())
    return True


def _proposal_steps(
    rules: Rules,
    edition_id: int,
    country: str,
    proposals: tuple[DemoProposal, ...],
    members: dict[str, tuple[int, str]],
    threshold: int,
    now: datetime,
    operator: CurrentMember | None,
) -> list[tuple[datetime, Step]]:
    """One country's proposals as dated steps through the services.

    A proposal whose proposer is missing (or moved country) is left out, and so is a merged
    proposal whose target is left out. Supporters are members of the country only. Without
    the country's demo operator the proposals stay submitted (nobody moderates them).
    """
    crowd = [members[n][0] for n in extra_numbers(country) if n in members]
    proposers: list[int | None] = [
        members[p.proposer][0]
        if p.proposer in members and members[p.proposer][1] == country
        else None
        for p in proposals
    ]

    def initial_supporters(i: int) -> list[int]:
        """Who supported proposal i before any merge (nobody supports a draft)."""
        proposal, proposer = proposals[i], proposers[i]
        if proposal.status == themes.DRAFT:
            return []
        chosen = [
            members[n][0]
            for n in proposal.supporters
            if n in members and members[n][1] == country and members[n][0] != proposer
        ]
        wanted = threshold + 2 if proposal.over_threshold else len(chosen) + proposal.crowd
        chosen += [m for m in crowd if m not in chosen][: max(0, wanted - len(chosen))]
        if proposal.merged_into is not None:
            # Merged before it reached the threshold (a reached threshold stays stamped).
            chosen = chosen[: max(0, threshold - 1)]
        return chosen

    kept = [
        i
        for i, p in enumerate(proposals)
        if proposers[i] is not None
        and (p.merged_into is None or proposers[p.merged_into] is not None)
    ]
    ids: dict[int, int] = {}
    merged_at = now - timedelta(days=2)
    steps: list[tuple[datetime, Step]] = []
    for i in kept:
        proposal = proposals[i]
        proposer = proposers[i]
        assert proposer is not None
        created = now - timedelta(days=proposal.days_ago)
        steps.append((created, _propose(rules, edition_id, proposal, proposer, i, ids)))
        if proposal.status == themes.DRAFT:
            continue
        submitted = created + timedelta(hours=20)
        steps.append((submitted, _submit(rules, proposer, i, ids)))
        moderated = operator is not None and proposal.status in (themes.REJECTED, themes.MERGED)
        # Its supports arrive between the submission and the decision (or now).
        own = initial_supporters(i)
        step = ((merged_at if moderated else now) - submitted) / (len(own) + 1)
        steps += [
            (submitted + step * (k + 1), _support(rules, member, i, ids))
            for k, member in enumerate(own)
        ]
        if moderated and operator is not None:
            steps.append((merged_at, _decide(rules, operator, proposal, i, ids)))
    return steps


def _propose(
    rules: Rules,
    edition_id: int,
    proposal: DemoProposal,
    proposer_id: int,
    i: int,
    ids: dict[int, int],
) -> Step:
    async def step(today: date) -> None:
        proposer = await _member(proposer_id)
        texts = texts_in(proposal.texts)
        # Written in the proposer's language; the translations follow.
        own = [t for t in texts if t.language == LANGUAGE_OF[proposal.proposer]] or texts[:1]
        ids[i] = await themes.propose(rules, proposer, edition_id, own[0], today)
        await themes.write_texts(ids[i], [t for t in texts if t is not own[0]])
        # The service does not take a creation time (the column's default is the real time).
        await Theme.update({Theme.created_at: clock.now()}).where(Theme.id == ids[i])

    return step


def _submit(rules: Rules, proposer_id: int, i: int, ids: dict[int, int]) -> Step:
    async def step(today: date) -> None:
        await themes.submit(rules, await _member(proposer_id), ids[i], today)

    return step


def _support(rules: Rules, member_id: int, i: int, ids: dict[int, int]) -> Step:
    async def step(today: date) -> None:
        await themes.support(rules, await _member(member_id), ids[i], today)
        await Support.update({Support.created_at: clock.now()}).where(
            (Support.theme == ids[i]) & (Support.member == member_id)
        )

    return step


def _decide(
    rules: Rules, operator: CurrentMember, proposal: DemoProposal, i: int, ids: dict[int, int]
) -> Step:
    async def step(today: date) -> None:
        if proposal.status == themes.REJECTED:
            await themes.reject(rules, operator, ids[i], proposal.rejection_reason)
            return
        assert proposal.merged_into is not None
        target = ids[proposal.merged_into]
        before = await Support.select(Support.member).where(Support.theme == target)
        await themes.merge(rules, operator, ids[i], target)
        # The supports it moved date from the merge.
        moved = Support.theme == target
        if before:
            moved &= Support.member.not_in([r["member"] for r in before])
        await Support.update({Support.created_at: clock.now()}).where(moved)

    return step


async def _member(member_id: int) -> CurrentMember:
    member = await load_member(member_id)
    assert member is not None
    return member
