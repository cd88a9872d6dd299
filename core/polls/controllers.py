"""Poll pages (operators run a poll; shareholders vote and get their tracker as a receipt;
anyone reads the result and the published list) and their JSON twins. The ballot box itself
(tellers, shares, the public box and the count) is in ``box_controllers``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from babel.dates import format_timedelta
from babel.lists import format_list
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody
from litestar.response import Redirect, Template

from core import clock
from core.editions import services as editions
from core.editions.services import EditionInfo
from core.errors import Conflict, DomainError, InvalidInput
from core.formats import count as figure
from core.formats import moment
from core.i18n import N_, _, country_name, current_language, ngettext
from core.polls import export, room
from core.polls import queries as poll_queries
from core.polls import services as polls
from core.polls.pictures import pictures
from core.polls.services import PollInfo
from core.rules import Rules
from core.voting import RANKED, voting_method, voting_methods
from core.voting.base import Tally, VotingMethod
from core.web.context import member_of, page
from core.web.deps import MemberDep, RulesDep, rules_of
from core.web.guards import signed_in
from core.web.twins import keep, kept, twin

Req = Request[Any, Any, Any]


class PollCreate(msgspec.Struct):
    country: str
    method: str
    seats: int
    opens_at: datetime
    closes_at: datetime
    quorum: int | None = None
    # One poll per edition and country: ``replace`` sets the earlier one aside, with a reason.
    replace: bool = False
    replace_reason: str = ""
    # A voting window outside the country's AGM vote phase needs a reason.
    window_reason: str = ""


class BallotIn(msgspec.Struct):
    choice: list[Any]


class Receipt(msgspec.Struct):
    """A cast ballot's receipt: the tracker of the sealed ballot, listed in the public box."""

    poll_id: int
    receipt: str
    note: str


class Candidate(msgspec.Struct):
    number: int
    theme_id: int
    title: str


class PollResult(msgspec.Struct):
    """A published poll's result: the elected themes, turnout per channel and the working."""

    poll: PollInfo
    winners: list[int]  # candidate numbers, best first (STV: in the order of election)
    elected: list[Candidate]
    turnout: room.Turnout
    tally: Tally


async def candidates_of(poll: PollInfo) -> list[Candidate]:
    """The candidates with their titles as frozen when the poll opened, in the reader's
    language (else the theme's original)."""
    language = current_language.get()
    texts = await polls.candidate_texts(poll)
    return [
        Candidate(number, theme_id, texts[number].title(language))
        for number, theme_id in poll.candidates
    ]


RECEIPT_NOTE = N_(
    "Keep this receipt: it is shown only once. It finds your sealed ballot in the public "
    "ballot box; it does not show anyone how you voted."
)


def receipt_of(poll_id: int, receipt: str) -> Receipt:
    return Receipt(poll_id=poll_id, receipt=receipt, note=_(RECEIPT_NOTE))


def parse_when(value: str, label: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(_("Give %(what)s as a date and time.") % {"what": label}) from None
    return moment  # without an offset: the poll's country's local time (the service reads it)


def ballot_from_form(form: Any, kind: str, numbers: list[int]) -> list[Any]:
    """A ranked form gives a rank per candidate (equal ranks tie); others tick candidates."""
    if kind != RANKED:
        return [int(v) for v in form.getall("choice")] if "choice" in form else []
    ranks: dict[int, list[int]] = {}
    for number in numbers:
        value = str(form.get(f"rank_{number}", "")).strip()
        if value:
            if not value.isascii() or not value.isdigit():
                raise InvalidInput(_("A rank is a whole number."))
            ranks.setdefault(int(value), []).append(number)
    return [group[0] if len(group) == 1 else group for _rank, group in sorted(ranks.items())]


# -- the ballot's review step and its receipt (the page only; the JSON API casts in one call) ---

# Pages that show a ballot's choices are kept by no browser, proxy or back button.
NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}


def confirmed(form: Any) -> bool:
    """Did the form say yes on a confirmation or review page (field ``confirm=yes``)?"""
    return str(form.get("confirm", "")) == "yes"


def filled_from_form(form: Any, kind: str, numbers: list[int]) -> dict[int, str]:
    """What the voter filled in, to show the ballot again as they left it (a rank per
    candidate, or "1" for a ticked one); values that are not whole numbers are left out."""
    if kind != RANKED:
        ticked = {str(v) for v in form.getall("choice")} if "choice" in form else set()
        return {n: "1" for n in numbers if str(n) in ticked}
    filled = {}
    for number in numbers:
        value = str(form.get(f"rank_{number}", "")).strip()
        if value.isascii() and value.isdigit() and len(value) < 4:
            filled[number] = str(int(value))
    return filled


def filled_of(kind: str, ballot: Sequence[Any]) -> dict[int, str]:
    """A validated ballot as the form's values: ranks 1, 2 ... (tied candidates share one),
    or "1" for each chosen candidate."""
    if kind != RANKED:
        return {int(n): "1" for n in ballot}
    filled: dict[int, str] = {}
    for rank, item in enumerate(ballot, start=1):
        for number in item if isinstance(item, tuple | list) else (item,):
            filled[int(number)] = str(rank)
    return filled


def ballot_fields(kind: str, ballot: Sequence[Any]) -> list[tuple[str, str]]:
    """The hidden fields that post a validated ballot again (review page: cast or change)."""
    name = "rank_%d" if kind == RANKED else "choice"
    return [
        (name % number if kind == RANKED else name, value if kind == RANKED else str(number))
        for number, value in filled_of(kind, ballot).items()
    ]


def ballot_readout(
    kind: str, ballot: Sequence[Any], candidates: Sequence[Candidate]
) -> dict[str, Any]:
    """A validated ballot as the count reads it: ``lines`` (rank, text), best first, tied
    candidates on one line; ``left``: the titles of the candidates not ranked or not chosen."""
    titles = {c.number: c.title for c in candidates}
    language = current_language.get()
    lines: list[tuple[int, str]] = []
    used: set[int] = set()
    for rank, item in enumerate(ballot, start=1):
        group = [int(n) for n in (item if isinstance(item, tuple | list) else (item,))]
        used.update(group)
        names = [titles[n] for n in group]
        text = (
            names[0]
            if len(names) == 1
            else _("%(themes)s (equal)") % {"themes": format_list(names, locale=language)}
        )
        lines.append((rank if kind == RANKED else 0, text))
    left = [c.title for c in candidates if c.number not in used]
    return {"lines": lines, "left": left, "kind": kind}


async def checked_ballot(
    rules: Rules, voter: Any, poll_id: int, choice: Any, *, holder: Any = None
) -> tuple[Any, VotingMethod]:
    """What casting would check before it stores anything, in the same order, without
    storing: who may vote (``holder``: the proxy holder casting for ``voter``), the ballot
    itself, the poll open now, no ballot cast yet for ``voter``. Answers the validated ballot."""
    poll = await polls.get_poll(poll_id)  # as it is now: closed early, say
    if not await polls.may_vote(rules, holder or voter, poll):
        raise polls.not_eligible(rules, holder or voter, poll)
    method = voting_method(rules.registry, poll.method)
    numbers = [number for number, _theme in poll.candidates]
    normalised = method.validate(choice, numbers, poll.seats)
    now = clock.now()
    if poll.state != polls.OPEN or not poll.opens_at <= now < poll.closes_at:
        raise Conflict(_("This poll is not open: no ballot can be cast."))
    if await polls.has_voted(poll_id, voter.id):
        raise Conflict(_("A ballot was already cast for this member."))
    return normalised, method


def review_page(
    request: Req,
    context: dict[str, Any],
    ballot: Sequence[Any],
    action: str,
    hidden: Sequence[tuple[str, str]] = (),
    ballot_of: str = "",
) -> Template:
    """ "Check your ballot": the choices as the count reads them, with "Cast this ballot" (the
    same fields and confirm=yes) and "Change" (the ballot again, filled in)."""
    kind = context["method"].ballot_kind
    response = page(
        request,
        "ballot_review.html",
        {
            **context,
            "readout": ballot_readout(kind, ballot, context["candidates"]),
            "action": action,
            "fields": [*hidden, *ballot_fields(kind, ballot)],
            "ballot_of": ballot_of,
        },
    )
    response.headers.update(NO_STORE)
    return response


def receipt_page(
    request: Req, context: dict[str, Any], receipt: str, ballot: Sequence[Any], **extra: Any
) -> Template:
    """The receipt, with what was just cast: rendered from this request only, never stored."""
    kind = context["method"].ballot_kind
    response = page(
        request,
        "receipt.html",
        {
            **context,
            "receipt": receipt,
            "readout": ballot_readout(kind, ballot, context["candidates"]),
            **extra,
        },
        status_code=201,
    )
    response.headers.update(NO_STORE)
    return response


def confirm_page(
    request: Req,
    *,
    heading: str,
    consequences: Sequence[str],
    action: str,
    button: str,
    cancel: str,
    fields: Sequence[tuple[str, str]] = (),
    quote: str = "",
    danger: bool = True,
    **extra: Any,
) -> Template:
    """The confirmation page of an irreversible action (``templates/confirm.html``): it names
    the consequences and posts the same ``fields`` to ``action`` with confirm=yes."""
    return page(
        request,
        "confirm.html",
        {
            "heading": heading,
            "consequences": list(consequences),
            "action": action,
            "button": button,
            "cancel": cancel,
            "fields": list(fields),
            "quote": quote,
            "danger": danger,
            **extra,
        },
    )


async def poll_context(request: Req, rules: Rules, poll_id: int, **extra: Any) -> dict[str, Any]:
    """What a poll's pages show, for whoever is asking (the operator sees turnout)."""
    poll = await polls.get_poll(poll_id)
    member = member_of(request)
    method = voting_method(rules.registry, poll.method)
    edition = await editions.get_edition_by_id(poll.edition_id)
    voted = member is not None and await polls.has_voted(poll_id, member.id)
    is_operator = member is not None and member.is_operator(poll.country)
    turnout = await poll_queries.turnout(poll_id) if is_operator else None
    tellers = await polls.tellers_of(poll)
    naming = is_operator and poll.state == polls.DRAFT
    return {
        "tellers": tellers,
        "eligible_tellers": await polls.eligible_tellers(poll.country) if naming else [],
        "is_teller": member is not None and any(t.member_id == member.id for t in tellers),
        "my_teller": next((t for t in tellers if member and t.member_id == member.id), None),
        "poll": poll,
        "edition": edition,
        "method": method,
        "candidates": await candidates_of(poll),
        "may_vote": member is not None and await polls.may_vote(rules, member, poll),
        "has_roll": polls.has_roll(poll),
        "roll_opened_at": await polls.opened_at(poll_id) if polls.has_roll(poll) else None,
        "voted": voted,
        "turnout": turnout,
        "is_operator": is_operator,
        **extra,
    }


def polls_context(rules: Rules, edition: EditionInfo, rows: Any) -> dict[str, Any]:
    """What the polls page shows: the edition's polls (id, country, state and method of
    each) and the voting methods an operator may choose."""
    return {"edition": edition, "polls": rows, "methods": voting_methods(rules.registry)}


async def edition_polls_context(request: Req, found: list[PollInfo]) -> dict[str, Any]:
    return polls_context(rules_of(request), kept("edition"), kept("rows"))


@twin(
    "/editions/{slug:str}/polls",
    name="polls",
    template="polls.html",
    tags=["polls"],
    summary="An edition's polls",
    context=edition_polls_context,
)
async def poll_list(slug: FromPath[str]) -> list[PollInfo]:
    edition = await editions.get_edition(slug)
    rows = await polls.edition_polls(edition.id)
    keep("edition", edition)  # the page shows them too
    keep("rows", rows)
    return [await polls.get_poll(r["id"]) for r in rows]


async def poll_show_context(request: Req, found: PollInfo) -> dict[str, Any]:
    return await poll_context(request, rules_of(request), found.id)


@twin(
    "/polls/{poll_id:int}",
    name="poll",
    template="poll.html",
    tags=["polls"],
    summary="A poll and its candidates",
    context=poll_show_context,
)
async def poll_show(poll_id: FromPath[int]) -> PollInfo:
    return await polls.get_poll(poll_id)


async def results_context(request: Req, found: PollResult) -> dict[str, Any]:
    """A published poll's results page: winners, working, pictures and turnout per channel."""
    poll_id = found.poll.id
    context = await poll_context(request, rules_of(request), poll_id)
    titles = {c.number: c.title for c in context["candidates"]}
    return {
        **context,
        "ballots_digest": await polls.ballots_digest(poll_id),
        "tally": found.tally,
        "titles": titles,
        "turnout": context["turnout"] or found.turnout,
        **pictures(found.tally),
    }


@twin(
    "/polls/{poll_id:int}/results",
    name="poll_results",
    template="results.html",
    tags=["polls"],
    summary="The published result with its working",
    context=results_context,
    api_path="/api/polls/{poll_id:int}/result",
)
async def poll_result(poll_id: FromPath[int]) -> PollResult:
    tally = await polls.result_of(poll_id)
    poll = await polls.get_poll(poll_id)
    by_number = {c.number: c for c in await candidates_of(poll)}
    return PollResult(
        poll=poll,
        winners=[int(n) for n in tally.winners],
        elected=[by_number[int(n)] for n in tally.winners],
        turnout=await poll_queries.turnout(poll_id),
        tally=tally,
    )


async def run_on_poll(request: Req, rules: Rules, poll_id: int, step: Any) -> Template | Redirect:
    """Run an operator's step on a poll from a form; on a refusal show the poll again with the
    message."""
    try:
        await step()
    except DomainError as exc:
        context = await poll_context(request, rules, poll_id, error=exc.message)
        return page(request, "poll.html", context, status_code=exc.status_code)
    return Redirect(f"/polls/{poll_id}", status_code=303)


async def confirm_open(request: Req, member: Any, poll_id: int) -> Template:
    """What opening the poll does, with its numbers, to confirm; refused as opening would be
    (an operator of the poll's country, a draft poll with its tellers named)."""
    poll = await polls.get_poll(poll_id)
    polls.require_operator(member, poll.country)
    if poll.state != polls.DRAFT:
        raise Conflict(_("Only a draft poll can be opened."))
    tellers = await polls.tellers_of(poll)
    if not tellers:
        raise Conflict(_("Name the poll's tellers before opening it: they hold its key."))
    eligible = (await poll_queries.turnout(poll_id)).eligible
    country = poll.country
    return confirm_page(
        request,
        heading=_("Open the poll now?"),
        consequences=[
            ngettext(
                "%(num)s shareholder of %(country)s is told the poll is open and may vote "
                "from %(opens)s until %(closes)s.",
                "%(num)s shareholders of %(country)s are told the poll is open and may vote "
                "from %(opens)s until %(closes)s.",
                eligible,
            )
            % {
                "num": figure(eligible),
                "country": country_name(country),
                "opens": moment(poll.opens_at, country),
                "closes": moment(poll.closes_at, country),
            },
            ngettext(
                "The ballot box's key is made now and given to its %(num)d teller; the "
                "candidates' texts are frozen as they are now.",
                "The ballot box's key is made now and split among its %(num)d tellers; the "
                "candidates' texts are frozen as they are now.",
                len(tellers),
            )
            % {"num": len(tellers)},
            _("An open poll cannot go back to a draft: it can only be closed."),
        ],
        action=f"/polls/{poll_id}/open",
        button=_("Yes, open the poll now"),
        cancel=f"/polls/{poll_id}",
        danger=False,
        poll=poll,
    )


async def confirm_close(request: Req, member: Any, poll_id: int) -> Template | None:
    """What closing the poll now does, with its numbers, to confirm; None when closing changes
    nothing (a closed or published poll: closing is idempotent)."""
    poll = await polls.get_poll(poll_id)
    polls.require_operator(member, poll.country)
    if poll.state not in (polls.DRAFT, polls.OPEN):
        return None
    turnout = await poll_queries.turnout(poll_id)
    waiting = max(turnout.eligible - turnout.voted, 0)
    consequences = [
        ngettext(
            "Closing ends voting now for %(num)s shareholder who has not voted yet.",
            "Closing ends voting now for %(num)s shareholders who have not voted yet.",
            waiting,
        )
        % {"num": figure(waiting)},
        ngettext(
            "%(voted)s of %(num)s shareholder has voted.",
            "%(voted)s of %(num)s shareholders have voted.",
            turnout.eligible,
        )
        % {"voted": figure(turnout.voted), "num": figure(turnout.eligible)},
    ]
    now = clock.now()
    if now < poll.closes_at:
        consequences.append(
            _("The poll was to close on %(when)s: closing now ends it %(left)s early.")
            % {
                "when": moment(poll.closes_at, poll.country),
                "left": format_timedelta(
                    poll.closes_at - now, threshold=1.5, locale=current_language.get()
                ),
            }
        )
    consequences.append(
        _("A closed poll cannot be opened again: its tellers then count the ballots.")
    )
    return confirm_page(
        request,
        heading=_("Close the poll now?"),
        consequences=consequences,
        action=f"/polls/{poll_id}/close",
        button=_("Yes, close the poll now"),
        cancel=f"/polls/{poll_id}",
        poll=poll,
    )


class PollPages(Controller):
    include_in_schema = False

    @post("/editions/{slug:str}/polls", name="poll_create", guards=[signed_in])
    async def create(
        self, request: Req, member: MemberDep, rules: RulesDep, slug: FromPath[str]
    ) -> Template | Redirect:
        edition = await editions.get_edition(slug)
        form = await request.form()
        try:
            seats = str(form.get("seats", ""))
            quorum = str(form.get("quorum", "")).strip()
            poll_id = await polls.create_poll(
                rules,
                member,
                edition.id,
                str(form.get("country", "")),
                str(form.get("method", "")),
                int(seats) if seats.isascii() and seats.isdigit() else 0,
                parse_when(str(form.get("opens_at", "")), _("the opening")),
                parse_when(str(form.get("closes_at", "")), _("the closing")),
                int(quorum) if quorum.isascii() and quorum.isdigit() else None,
                replace=str(form.get("replace", "")) in ("1", "on", "true"),
                replace_reason=str(form.get("replace_reason", "")),
                window_reason=str(form.get("window_reason", "")),
            )
        except DomainError as exc:
            rows = await polls.edition_polls(edition.id)
            return page(
                request,
                "polls.html",
                {
                    **polls_context(rules, edition, rows),
                    "error": exc.message,
                    "form": dict(form),
                },
                status_code=exc.status_code,
            )
        return Redirect(f"/polls/{poll_id}", status_code=303)

    @post("/polls/{poll_id:int}/vote", name="poll_vote", guards=[signed_in])
    async def vote(
        self, request: Req, member: MemberDep, rules: RulesDep, poll_id: FromPath[int]
    ) -> Template:
        """First "Check your ballot" (nothing stored); with confirm=yes, cast it; with
        change, the ballot again, filled in."""
        context = await poll_context(request, rules, poll_id)
        numbers = [c.number for c in context["candidates"]]
        kind = context["method"].ballot_kind
        form = await request.form()
        if form.get("change"):
            context["filled"] = filled_from_form(form, kind, numbers)
            return page(request, "poll.html", context)
        try:
            choice = ballot_from_form(form, kind, numbers)
            ballot, _method = await checked_ballot(rules, member, poll_id, choice)
            if not confirmed(form):
                return review_page(request, context, ballot, f"/polls/{poll_id}/vote")
            receipt = await polls.cast(rules, member, poll_id, choice)
        except DomainError as exc:
            context["error"] = exc.message
            context["filled"] = filled_from_form(form, kind, numbers)
            return page(request, "poll.html", context, status_code=exc.status_code)
        return receipt_page(request, context, receipt, ballot)

    @post("/polls/{poll_id:int}/open", name="poll_open", guards=[signed_in])
    async def open(
        self, request: Req, member: MemberDep, rules: RulesDep, poll_id: FromPath[int]
    ) -> Template | Redirect:
        """Without confirm=yes: what opening does, to confirm (nothing changes)."""
        if not confirmed(await request.form()):
            try:
                return await confirm_open(request, member, poll_id)
            except DomainError as exc:
                context = await poll_context(request, rules, poll_id, error=exc.message)
                return page(request, "poll.html", context, status_code=exc.status_code)
        return await run_on_poll(
            request, rules, poll_id, lambda: polls.open_poll(rules, member, poll_id)
        )

    @post("/polls/{poll_id:int}/close", name="poll_close", guards=[signed_in])
    async def close(
        self, request: Req, member: MemberDep, rules: RulesDep, poll_id: FromPath[int]
    ) -> Template | Redirect:
        """Without confirm=yes: what closing does now, to confirm (nothing changes)."""
        if not confirmed(await request.form()):
            try:
                shown = await confirm_close(request, member, poll_id)
            except DomainError as exc:
                context = await poll_context(request, rules, poll_id, error=exc.message)
                return page(request, "poll.html", context, status_code=exc.status_code)
            if shown is not None:
                return shown
        return await run_on_poll(
            request, rules, poll_id, lambda: polls.close_poll(rules, member, poll_id)
        )

    @get("/polls/{poll_id:int}/ballots.json", name="poll_ballots_json")
    async def ballots_json(self, poll_id: FromPath[int]) -> Response[bytes]:
        return Response(
            await export.export_json(poll_id),
            media_type="application/json",
            headers={"content-disposition": f'attachment; filename="poll-{poll_id}.json"'},
        )

    @get("/polls/{poll_id:int}/ballots.csv", name="poll_ballots_csv")
    async def ballots_csv(self, poll_id: FromPath[int]) -> Response[str]:
        return Response(
            await export.export_csv(poll_id),
            media_type="text/csv",
            headers={"content-disposition": f'attachment; filename="poll-{poll_id}.csv"'},
        )


class PollsAPI(Controller):
    path = "/api"
    tags = ["polls"]

    @post(
        "/editions/{slug:str}/polls",
        status_code=201,
        summary="Create a poll (operators)",
        guards=[signed_in],
    )
    async def create(
        self, member: MemberDep, rules: RulesDep, slug: FromPath[str], data: JSONBody[PollCreate]
    ) -> PollInfo:
        edition = await editions.get_edition(slug)
        poll_id = await polls.create_poll(
            rules,
            member,
            edition.id,
            data.country,
            data.method,
            data.seats,
            data.opens_at,  # without an offset: the country's local time
            data.closes_at,
            data.quorum,
            replace=data.replace,
            replace_reason=data.replace_reason,
            window_reason=data.window_reason,
        )
        return await polls.get_poll(poll_id)

    @post(
        "/polls/{poll_id:int}/ballot",
        status_code=201,
        summary="Cast the signed-in shareholder's ballot; the receipt is shown only now",
        guards=[signed_in],
    )
    async def ballot(
        self, member: MemberDep, rules: RulesDep, poll_id: FromPath[int], data: JSONBody[BallotIn]
    ) -> Receipt:
        receipt = await polls.cast(rules, member, poll_id, data.choice)
        return receipt_of(poll_id, receipt)

    @post(
        "/polls/{poll_id:int}/open",
        status_code=200,
        summary="Open a draft poll",
        guards=[signed_in],
    )
    async def open(self, member: MemberDep, rules: RulesDep, poll_id: FromPath[int]) -> PollInfo:
        await polls.open_poll(rules, member, poll_id)
        return await polls.get_poll(poll_id)

    @post(
        "/polls/{poll_id:int}/close",
        status_code=200,
        summary="Close a poll (idempotent)",
        guards=[signed_in],
    )
    async def close(self, member: MemberDep, rules: RulesDep, poll_id: FromPath[int]) -> PollInfo:
        await polls.close_poll(rules, member, poll_id)
        return await polls.get_poll(poll_id)

    @get("/polls/{poll_id:int}/ballots", summary="The published ballot list (export format)")
    async def ballots(self, poll_id: FromPath[int]) -> dict[str, Any]:
        return await export.export(poll_id)
