"""The sealed ballot box's pages and their JSON twins: operators name a poll's tellers, each
teller collects their share of the key once, anyone looks into the public ballot box (the
trackers) and checks a receipt, and the tellers count. The rules live in ``services``."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody
from litestar.response import Redirect, Template

from core.errors import DomainError, Forbidden, InvalidInput
from core.formats import count as figure
from core.i18n import _, ngettext
from core.members.controllers import require_member
from core.members.model import CurrentMember
from core.polls import ballot_box, export
from core.polls import services as polls
from core.polls.agm_controllers import find_member
from core.polls.controllers import confirm_page, confirmed, poll_context
from core.polls.services import ShareOut, TellerInfo
from core.voting.base import Tally
from core.web.context import page
from core.web.deps import MemberDep, RulesDep, rules_of
from core.web.guards import signed_in
from core.web.twins import twin

Req = Request[Any, Any, Any]
# A share must never be kept by a browser, a proxy or a back button.
NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}
TRACKERS_PER_PAGE = 500


class TellersIn(msgspec.Struct):
    tellers: list[int | str]  # member ids, email addresses or member numbers
    needed: int


class CountIn(msgspec.Struct):
    shares: list[str]


class BallotBox(msgspec.Struct):
    poll_id: int
    state: str
    count: int
    trackers: list[str]


class ReceiptCheck(msgspec.Struct):
    receipt: str


class ReceiptFound(msgspec.Struct):
    listed: bool


async def _poll_page(request: Req, poll_id: int, exc: DomainError) -> Template:
    context = await poll_context(request, rules_of(request), poll_id, error=exc.message)
    return page(request, "poll.html", context, status_code=exc.status_code)


async def box_context(
    request: Req, poll_id: int, trackers: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    """The ballot box page (``trackers``: the box's trackers when the caller has them)."""
    context = await poll_context(request, rules_of(request), poll_id)
    if trackers is None:
        trackers = await polls.trackers_of(poll_id)
    wanted = str(request.query_params.get("page", "1"))
    number = int(wanted) if wanted.isascii() and wanted.isdigit() and len(wanted) < 7 else 1
    pages = max(1, -(-len(trackers) // TRACKERS_PER_PAGE))
    number = min(max(number, 1), pages)
    shown = trackers[(number - 1) * TRACKERS_PER_PAGE : number * TRACKERS_PER_PAGE]
    return {
        **context,
        "tracker_count": len(trackers),
        "trackers": shown,
        "page_number": number,
        "pages": pages,
        **extra,
    }


async def box_page_context(request: Req, found: BallotBox) -> dict[str, Any]:
    """The page shows the trackers a page at a time (``?page=``, the page's own: the JSON
    twin gives them all)."""
    return await box_context(request, found.poll_id, found.trackers)


@twin(
    "/polls/{poll_id:int}/box",
    name="poll_box",
    template="box.html",
    tags=["polls"],
    summary="The public ballot box: every ballot's tracker",
    context=box_page_context,
)
async def poll_box(poll_id: FromPath[int]) -> BallotBox:
    poll = await polls.get_poll(poll_id)
    trackers = await polls.trackers_of(poll_id)
    return BallotBox(poll_id=poll_id, state=poll.state, count=len(trackers), trackers=trackers)


async def confirm_count(
    request: Req, member: CurrentMember, poll_id: int, shares: list[str]
) -> Template | None:
    """What opening the ballot box does, to confirm, once the shares are found to open it
    (refused as counting would be: tellers and operators, a closed poll, shares that make its
    key); None when counting changes nothing or refuses by itself (a published poll answers
    its result, a poll not closed is refused)."""
    poll = await polls.get_poll(poll_id)
    if not polls.may_count(member, poll, await polls.tellers_of(poll)):
        raise Forbidden(_("Only this poll's tellers and its country's operators count it."))
    if poll.state != polls.CLOSED:
        return None
    if poll.public_key:  # the key in memory for this check only; nothing is opened
        ballot_box.private_key_from(shares, poll.public_key, poll.tellers_needed)
    ballots = len(await polls.trackers_of(poll_id))
    return confirm_page(
        request,
        heading=_("Open the ballot box and publish the result?"),
        consequences=[
            ngettext(
                "The %(num)s ballot in the box is opened, shuffled and published with the "
                "result, for everyone to read and recount.",
                "The %(num)s ballots in the box are opened, shuffled and published with the "
                "result, for everyone to read and recount.",
                ballots,
            )
            % {"num": figure(ballots)},
            _(
                "The sealed ballots are then erased. This cannot be undone: the result "
                "cannot be withdrawn and the poll cannot be counted again."
            ),
        ],
        action=f"/polls/{poll_id}/count",
        button=_("Yes, open the box and publish"),
        cancel=f"/polls/{poll_id}",
        fields=[("share", share) for share in shares],
        poll=poll,
    )


class BallotBoxPages(Controller):
    include_in_schema = False

    @post("/polls/{poll_id:int}/tellers", name="poll_tellers", guards=[signed_in])
    async def tellers(
        self, request: Req, member: MemberDep, rules: RulesDep, poll_id: FromPath[int]
    ) -> Template | Redirect:
        form = await request.form()
        try:
            chosen = [str(v) for v in form.getall("teller")] if "teller" in form else []
            if not all(v.isascii() and v.isdigit() and len(v) < 11 for v in chosen):
                raise InvalidInput(_("Choose the tellers in the list."))
            needed = str(form.get("needed", "")).strip()
            if not (needed.isascii() and needed.isdigit() and len(needed) < 4):
                raise InvalidInput(_("Say how many tellers must count together, as a number."))
            await polls.set_tellers(rules, member, poll_id, [int(v) for v in chosen], int(needed))
        except DomainError as exc:
            return await _poll_page(request, poll_id, exc)
        return Redirect(f"/polls/{poll_id}", status_code=303)

    @get("/polls/{poll_id:int}/share", name="poll_share", guards=[signed_in])
    async def share_page(
        self, request: Req, member: MemberDep, rules: RulesDep, poll_id: FromPath[int]
    ) -> Template:
        return page(request, "share.html", await poll_context(request, rules, poll_id))

    @post("/polls/{poll_id:int}/share", name="poll_share_collect", guards=[signed_in])
    async def collect(
        self, request: Req, member: MemberDep, rules: RulesDep, poll_id: FromPath[int]
    ) -> Template:
        try:
            share = await polls.collect_share(member, poll_id)
        except DomainError as exc:
            context = await poll_context(request, rules, poll_id, error=exc.message)
            return page(request, "share.html", context, status_code=exc.status_code)
        context = await poll_context(request, rules, poll_id, share=share)
        response = page(request, "share.html", context)
        response.headers.update(NO_STORE)
        return response

    @get("/polls/{poll_id:int}/count", name="poll_count_form", guards=[signed_in])
    async def count_form(
        self, request: Req, member: MemberDep, rules: RulesDep, poll_id: FromPath[int]
    ) -> Template:
        return page(request, "count.html", await poll_context(request, rules, poll_id))

    @post("/polls/{poll_id:int}/count", name="poll_count", guards=[signed_in])
    async def count(
        self, request: Req, member: MemberDep, rules: RulesDep, poll_id: FromPath[int]
    ) -> Template | Redirect:
        form = await request.form()
        shares = [str(v) for v in form.getall("share")] if "share" in form else []
        try:
            if len(shares) > 16 or any(len(s) > 1000 for s in shares):
                raise InvalidInput(_("A share is 20 to 33 words: this is not one."))
            if not confirmed(form):
                shown = await confirm_count(request, member, poll_id, shares)
                if shown is not None:
                    shown.headers.update(NO_STORE)
                    return shown
            await polls.count_poll(rules, member, poll_id, shares)
        except DomainError as exc:
            context = await poll_context(request, rules, poll_id, error=exc.message)
            response = page(request, "count.html", context, status_code=exc.status_code)
            response.headers.update(NO_STORE)
            return response
        return Redirect(f"/polls/{poll_id}/results", status_code=303)

    @post("/polls/{poll_id:int}/box", name="poll_box_check")
    async def check(self, request: Req, poll_id: FromPath[int]) -> Template:
        receipt = str((await request.form()).get("receipt", ""))[:200]
        try:
            listed = await polls.tracker_is_listed(poll_id, receipt)
        except DomainError as exc:
            context = await box_context(request, poll_id, error=exc.message)
            return page(request, "box.html", context, status_code=exc.status_code)
        context = await box_context(request, poll_id, checked=True, listed=listed)
        return page(request, "box.html", context)

    @get("/polls/{poll_id:int}/trackers.txt", name="poll_trackers_text")
    async def trackers_text(self, poll_id: FromPath[int]) -> Response[str]:
        return Response(
            await export.trackers_text(poll_id),
            media_type="text/plain; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="poll-{poll_id}-box.txt"'},
        )


class BallotBoxAPI(Controller):
    path = "/api"
    tags = ["polls"]

    @get("/polls/{poll_id:int}/tellers", summary="A poll's tellers and whether each has a share")
    async def tellers(self, poll_id: FromPath[int]) -> list[TellerInfo]:
        return await polls.tellers_of(await polls.get_poll(poll_id))

    @post(
        "/polls/{poll_id:int}/tellers",
        status_code=200,
        summary="Name a draft poll's tellers and how many count together (operators)",
        guards=[signed_in],
    )
    async def set_tellers(
        self,
        member: MemberDep,
        rules: RulesDep,
        poll_id: FromPath[int],
        data: JSONBody[TellersIn],
    ) -> list[TellerInfo]:
        if len(data.tellers) > 50:
            raise InvalidInput(_("A poll has at most 50 tellers."))
        ids = [(await find_member(ref)).id for ref in data.tellers]
        await polls.set_tellers(rules, member, poll_id, ids, data.needed)
        return await polls.tellers_of(await polls.get_poll(poll_id))

    @post(
        "/polls/{poll_id:int}/share",
        status_code=200,
        summary="Collect my share of the poll's key (tellers; shown once, never again)",
        guards=[signed_in],
    )
    async def share(self, member: MemberDep, poll_id: FromPath[int]) -> Response[ShareOut]:
        share = await polls.collect_share(member, poll_id)
        return Response(share, headers=NO_STORE)

    @post(
        "/polls/{poll_id:int}/count",
        status_code=200,
        summary="Count a closed poll with its tellers' shares and publish the result",
    )
    async def count(self, request: Req, poll_id: FromPath[int], data: JSONBody[CountIn]) -> Tally:
        if len(data.shares) > 16 or any(len(s) > 1000 for s in data.shares):
            raise InvalidInput(_("A share is 20 to 33 words: this is not one."))
        member = require_member(request)
        return await polls.count_poll(rules_of(request), member, poll_id, data.shares)

    @post(
        "/polls/{poll_id:int}/receipt",
        status_code=200,
        summary="Is my receipt's tracker in the ballot box?",
    )
    async def receipt(self, poll_id: FromPath[int], data: JSONBody[ReceiptCheck]) -> ReceiptFound:
        return ReceiptFound(listed=await polls.tracker_is_listed(poll_id, data.receipt[:200]))
