"""AGM pages and their JSON twins: proxies (a shareholder gives, revokes and uses them) and the
room (operators of the poll's country check members in and out, record paper proxies, enter
paper ballots, and follow the turnout, as numbers only, never a partial result). The rules live
in ``proxies`` and ``room``. Each view of the room's attendance list, which shows who has
voted, is audited (``room.list_shown``).

No route names a member in its path or query string: addresses end up in server and proxy
logs, browser history and Referer headers, so the member a form or a request acts on (a
grantor, a member checked out, a paper ballot's member) travels in the POST body
(``tests/test_private_urls.py`` walks the routes).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, delete, post
from litestar.params import FromPath, JSONBody
from litestar.response import Redirect, Template

from core import clock
from core.errors import DomainError, Forbidden, InvalidInput, NotFound
from core.i18n import _
from core.members.controllers import require_member
from core.members.model import CurrentMember
from core.polls import proxies, room
from core.polls import queries as poll_queries
from core.polls import services as polls
from core.polls.controllers import (
    Receipt,
    ballot_from_form,
    checked_ballot,
    confirmed,
    filled_from_form,
    poll_context,
    receipt_page,
    review_page,
)
from core.polls.proxies import ProxyInfo
from core.polls.room import Turnout
from core.polls.services import DRAFT, OPEN
from core.web.context import page
from core.web.deps import MemberDep, RulesDep, rules_of
from core.web.guards import signed_in
from core.web.twins import twin

Req = Request[Any, Any, Any]


class ProxyIn(msgspec.Struct):
    holder: str


class ProxiesOut(msgspec.Struct):
    given: ProxyInfo | None
    held: list[ProxyInfo]
    rules: list[str]


class ProxyBallotIn(msgspec.Struct):
    """A grantor's ballot cast by their proxy holder: the grantor by id (``grantor_id`` in the
    list of proxies held)."""

    grantor: int
    choice: list[Any]


class PresenceIn(msgspec.Struct):
    """A member by email address or member number (or id, a number)."""

    member: str | int


class PresenceOut(msgspec.Struct):
    member_id: int
    name: str
    checked_in: bool  # False: the member was already checked in


class PaperBallotIn(msgspec.Struct):
    member: str | int
    choice: list[Any]


class PaperProxyIn(msgspec.Struct):
    """A paper proxy: grantor and holder by email address or member number (or id, a number)."""

    grantor: str | int
    holder: str | int


class CheckOutOut(msgspec.Struct):
    member_id: int
    name: str
    checked_out: bool  # False: the member was not checked in


def receipt_of(poll_id: int, receipt: str) -> Receipt:
    return Receipt(
        poll_id=poll_id,
        receipt=receipt,
        note=_("Keep this receipt: it is shown only once and finds your ballot in the list."),
    )


async def find_member(ref: str | int) -> CurrentMember:
    """A member by email address, member number or (in JSON, as a number) id."""
    found = await proxies.member_from_ref(ref)
    if found is None:
        raise NotFound(
            _("No member has the email address or member number %(ref)s.") % {"ref": ref}
        )
    return found


async def named_member(ref: str | int) -> CurrentMember:
    """The member a request body names (as ``find_member``), where naming no member is bad
    input (400) rather than a missing page."""
    found = await proxies.member_from_ref(ref)
    if found is not None:
        return found
    if isinstance(ref, int):
        raise InvalidInput(_("There is no member %(who)s.") % {"who": ref})
    raise InvalidInput(
        _("No member has the email address or member number %(ref)s.") % {"ref": ref}
    )


def id_in_form(value: Any, missing: str) -> int:
    """A member's id as a form sends it (a hidden field or a list's option): whole digits, or
    400 with the message ``missing``."""
    text = str(value if value is not None else "").strip()
    if not (text.isascii() and text.isdigit() and len(text) < 11):
        raise InvalidInput(missing)
    return int(text)


async def member_in_form(value: Any, missing: str) -> CurrentMember:
    """The member a form names by id; 400 for no id, a value that is not one, or no member."""
    return await named_member(id_in_form(value, missing))


# -- proxy page -------------------------------------------------------------------------------


async def proxy_context(
    request: Req, poll_id: int, found: ProxiesOut | None = None, **extra: Any
) -> dict[str, Any]:
    """The proxy page (``found``: the member's proxies and the rules, when the caller has
    them)."""
    member = require_member(request)
    context = await poll_context(request, rules_of(request), poll_id)
    poll = context["poll"]
    if found is None:
        found = ProxiesOut(
            given=await proxies.proxy_given(member, poll_id),
            held=await proxies.proxies_held(member, poll_id),
            rules=proxies.rules_text(rules_of(request), poll),
        )
    return {
        **context,
        "rules_text": found.rules,
        "given": found.given,
        "held": found.held,
        "may_give": poll.state == DRAFT or (poll.state == OPEN and clock.now() < poll.opens_at),
        **extra,
    }


async def proxy_page(
    request: Req, poll_id: int, exc: DomainError | None = None, **extra: Any
) -> Template:
    """The proxy page; with ``exc``, again with its message and status; ``extra``: a ballot
    filled in again (``filled``, for the grantor ``for_``)."""
    if exc is None:
        return page(request, "proxy.html", await proxy_context(request, poll_id, **extra))
    context = await proxy_context(request, poll_id, error=exc.message)
    return page(request, "proxy.html", context, status_code=exc.status_code)


async def my_proxies_context(request: Req, found: ProxiesOut) -> dict[str, Any]:
    return await proxy_context(request, request.path_params["poll_id"], found)


@twin(
    "/polls/{poll_id:int}/proxy",
    name="poll_proxy",
    template="proxy.html",
    tags=["polls"],
    summary="The proxy I gave and the proxies I hold",
    context=my_proxies_context,
    guards=[signed_in],
)
async def my_proxies(member: MemberDep, rules: RulesDep, poll_id: FromPath[int]) -> ProxiesOut:
    poll = await polls.get_poll(poll_id)
    return ProxiesOut(
        given=await proxies.proxy_given(member, poll_id),
        held=await proxies.proxies_held(member, poll_id),
        rules=proxies.rules_text(rules, poll),
    )


class ProxyPages(Controller):
    include_in_schema = False

    @post("/polls/{poll_id:int}/proxy", name="poll_proxy_grant", guards=[signed_in])
    async def grant(
        self, request: Req, member: MemberDep, rules: RulesDep, poll_id: FromPath[int]
    ) -> Template | Redirect:
        holder = str((await request.form()).get("holder", "")).strip()
        try:
            if not holder:
                raise InvalidInput(_("Give the email address of your proxy holder."))
            await proxies.grant_proxy(rules, member, poll_id, holder)
        except DomainError as exc:
            return await proxy_page(request, poll_id, exc)
        return Redirect(f"/polls/{poll_id}/proxy", status_code=303)

    @post("/polls/{poll_id:int}/proxy/revoke", name="poll_proxy_revoke", guards=[signed_in])
    async def revoke(
        self, request: Req, member: MemberDep, rules: RulesDep, poll_id: FromPath[int]
    ) -> Template | Redirect:
        try:
            await proxies.revoke_proxy(rules, member, poll_id)
        except DomainError as exc:
            return await proxy_page(request, poll_id, exc)
        return Redirect(f"/polls/{poll_id}/proxy", status_code=303)

    @post("/polls/{poll_id:int}/proxy/vote", name="poll_proxy_vote", guards=[signed_in])
    async def vote(
        self, request: Req, member: MemberDep, rules: RulesDep, poll_id: FromPath[int]
    ) -> Template:
        """The holder casts a grantor's ballot; the form names the grantor (field ``grantor``,
        their id), never the address. First "Check the ballot" (nothing stored); with
        confirm=yes, cast it; with change, the proxy page with that ballot filled in."""
        context = await poll_context(request, rules, poll_id)
        numbers = [c.number for c in context["candidates"]]
        kind = context["method"].ballot_kind
        form = await request.form()
        try:
            grantor = await member_in_form(
                form.get("grantor"), _("Choose the member whose ballot you cast.")
            )
            if form.get("change"):
                return await proxy_page(
                    request, poll_id, filled=filled_from_form(form, kind, numbers), for_=grantor.id
                )
            choice = ballot_from_form(form, kind, numbers)
            held = await proxies.proxies_held(member, poll_id)
            if not any(p.grantor_id == grantor.id for p in held):
                raise Forbidden(_("You hold no active proxy of this member in this poll."))
            ballot, _method = await checked_ballot(rules, grantor, poll_id, choice, holder=member)
            if not confirmed(form):
                return review_page(
                    request,
                    context,
                    ballot,
                    f"/polls/{poll_id}/proxy/vote",
                    [("grantor", str(grantor.id))],
                    ballot_of=grantor.name,
                )
            receipt = await proxies.cast_as_proxy(rules, member, poll_id, grantor.id, choice)
        except DomainError as exc:
            return await proxy_page(request, poll_id, exc)
        return receipt_page(request, context, receipt, ballot, ballot_of=grantor.name)


# -- room page --------------------------------------------------------------------------------


async def require_room_operator(request: Req, poll_id: int) -> CurrentMember:
    """The signed-in operator of the poll's country (403 for anyone else, 404 for no poll),
    checked before any input is read, so a refused request changes nothing."""
    member = require_member(request)
    polls.require_operator(member, (await polls.get_poll(poll_id)).country)
    return member


async def room_context(
    request: Req, poll_id: int, ballot_for: int | None = None, **extra: Any
) -> dict[str, Any]:
    """The room page's context; ``ballot_for``, a checked-in member who has not voted yet, gets
    the paper ballot form (anyone else: the list to choose from)."""
    await require_room_operator(request, poll_id)
    context = await poll_context(request, rules_of(request), poll_id)
    present = await room.present_members(poll_id)
    return {
        **context,
        "present": present,
        "ballot_for": next((p for p in present if p.id == ballot_for and not p.voted), None),
        "paper_proxies": await proxies.paper_proxies(poll_id),
        **extra,
    }


async def room_page(
    request: Req,
    poll_id: int,
    exc: DomainError | None = None,
    ballot_for: int | None = None,
    **form: str,
) -> Template:
    """The room page; with ``exc``, again with its message and status, and the ``form``'s
    values (the paper proxy form) filled back in; with ``ballot_for``, that member's paper
    ballot form. The view of its attendance list is audited."""
    extra: dict[str, Any] = {"form": form}
    if exc is not None:
        extra["error"] = exc.message
    context = await room_context(request, poll_id, ballot_for, **extra)
    await room.list_shown(require_member(request), context["poll"], context["present"])
    return page(
        request, "room.html", context, status_code=exc.status_code if exc is not None else 200
    )


async def room_show_context(request: Req, found: Turnout) -> dict[str, Any]:
    """The room page (its JSON twin gives the figures only). The view of its attendance list
    is audited."""
    context = await room_context(request, request.path_params["poll_id"], form={})
    await room.list_shown(require_member(request), context["poll"], context["present"])
    return context


@twin(
    "/polls/{poll_id:int}/room",
    name="poll_room",
    template="room.html",
    tags=["polls"],
    summary="Turnout and quorum, numbers only (operators)",
    context=room_show_context,
    guards=[signed_in],
    api_path="/api/polls/{poll_id:int}/turnout",
)
async def poll_turnout(member: MemberDep, poll_id: FromPath[int]) -> Turnout:
    polls.require_operator(member, (await polls.get_poll(poll_id)).country)
    return await poll_queries.turnout(poll_id)


class RoomPages(Controller):
    include_in_schema = False

    @post("/polls/{poll_id:int}/room/check-in", name="poll_room_check_in", guards=[signed_in])
    async def check_in(
        self, request: Req, member: MemberDep, rules: RulesDep, poll_id: FromPath[int]
    ) -> Template | Redirect:
        """``member`` is the operator; the form names the attendee."""
        ref = str((await request.form()).get("member", "")).strip()
        try:
            if not ref:
                raise InvalidInput(_("Give the member's email address or member number."))
            attendee = await find_member(ref)
            await room.check_in(rules, member, poll_id, attendee)
        except DomainError as exc:
            return await room_page(request, poll_id, exc)
        return Redirect(f"/polls/{poll_id}/room", status_code=303)

    @post("/polls/{poll_id:int}/room/check-out", name="poll_room_check_out")
    async def check_out(
        self, request: Req, rules: RulesDep, poll_id: FromPath[int]
    ) -> Template | Redirect:
        """The form names the member (field ``member``, their id)."""
        operator = await require_room_operator(request, poll_id)
        form = await request.form()
        try:
            member = await member_in_form(form.get("member"), _("Choose a member in the list."))
            await room.check_out(rules, operator, poll_id, member)
        except DomainError as exc:
            return await room_page(request, poll_id, exc)
        return Redirect(f"/polls/{poll_id}/room", status_code=303)

    @post("/polls/{poll_id:int}/room/proxy", name="poll_room_paper_proxy")
    async def paper_proxy(
        self, request: Req, rules: RulesDep, poll_id: FromPath[int]
    ) -> Template | Redirect:
        operator = await require_room_operator(request, poll_id)
        form = await request.form()
        grantor = str(form.get("grantor", "")).strip()
        holder = str(form.get("holder", "")).strip()
        try:
            if not grantor or not holder:
                raise InvalidInput(
                    _(
                        "Give the email address or member number of both the shareholder who "
                        "gives the proxy and the one who holds it."
                    )
                )
            await proxies.record_paper_proxy(rules, operator, poll_id, grantor, holder)
        except DomainError as exc:
            return await room_page(request, poll_id, exc, grantor=grantor, holder=holder)
        return Redirect(f"/polls/{poll_id}/room#paper-proxies-heading", status_code=303)

    @post("/polls/{poll_id:int}/room/paper-for", name="poll_room_paper_for")
    async def paper_for(self, request: Req, poll_id: FromPath[int]) -> Template:
        """The room with the paper ballot form of the member chosen in the list (field
        ``member``, their id): a checked-in member who has not voted yet."""
        await require_room_operator(request, poll_id)
        form = await request.form()
        try:
            chosen = id_in_form(form.get("member"), _("Choose a member in the list."))
            present = await room.present_members(poll_id)
            if not any(p.id == chosen and not p.voted for p in present):
                raise InvalidInput(_("Choose a member in the list."))
        except DomainError as exc:
            return await room_page(request, poll_id, exc)
        return await room_page(request, poll_id, ballot_for=chosen)

    @post("/polls/{poll_id:int}/room/paper", name="poll_room_paper", guards=[signed_in])
    async def paper(
        self, request: Req, member: MemberDep, rules: RulesDep, poll_id: FromPath[int]
    ) -> Template:
        """A paper ballot, entered by ``member`` (the operator); the form names the voter
        (field ``member``, their id)."""
        context = await room_context(request, poll_id)
        numbers = [c.number for c in context["candidates"]]
        form = await request.form()
        try:
            voter = await member_in_form(form.get("member"), _("Choose a member in the list."))
            choice = ballot_from_form(form, context["method"].ballot_kind, numbers)
            receipt = await room.enter_paper_ballot(rules, member, poll_id, voter, choice)
        except DomainError as exc:
            return await room_page(request, poll_id, exc)
        return page(
            request,
            "receipt.html",
            {**context, "receipt": receipt, "ballot_of": voter.name},
            status_code=201,
        )


# -- JSON twins -------------------------------------------------------------------------------


class AgmAPI(Controller):
    path = "/api"
    tags = ["polls"]

    @post(
        "/polls/{poll_id:int}/proxy",
        status_code=201,
        summary="Give my vote by proxy",
        guards=[signed_in],
    )
    async def grant(
        self,
        member: MemberDep,
        rules: RulesDep,
        poll_id: FromPath[int],
        data: JSONBody[ProxyIn],
    ) -> ProxyInfo | None:
        await proxies.grant_proxy(rules, member, poll_id, data.holder)
        return await proxies.proxy_given(member, poll_id)

    @delete(
        "/polls/{poll_id:int}/proxy", status_code=204, summary="Revoke my proxy", guards=[signed_in]
    )
    async def revoke(self, member: MemberDep, rules: RulesDep, poll_id: FromPath[int]) -> None:
        await proxies.revoke_proxy(rules, member, poll_id)

    @post(
        "/polls/{poll_id:int}/proxy-ballot",
        status_code=201,
        summary="Cast a grantor's ballot as their proxy holder (`grantor`: their id); the "
        "receipt is shown only now",
        guards=[signed_in],
    )
    async def proxy_ballot(
        self,
        member: MemberDep,
        rules: RulesDep,
        poll_id: FromPath[int],
        data: JSONBody[ProxyBallotIn],
    ) -> Receipt:
        grantor = await named_member(data.grantor)
        receipt = await proxies.cast_as_proxy(rules, member, poll_id, grantor.id, data.choice)
        return receipt_of(poll_id, receipt)

    @post(
        "/polls/{poll_id:int}/presence",
        status_code=200,
        summary="Check a member in (operators)",
        guards=[signed_in],
    )
    async def presence(
        self, member: MemberDep, rules: RulesDep, poll_id: FromPath[int], data: JSONBody[PresenceIn]
    ) -> PresenceOut:
        """``member`` is the operator; the body names the attendee."""
        polls.require_operator(member, (await polls.get_poll(poll_id)).country)
        attendee = await find_member(data.member)
        added = await room.check_in(rules, member, poll_id, attendee)
        return PresenceOut(member_id=attendee.id, name=attendee.name, checked_in=added)

    @post(
        "/polls/{poll_id:int}/check-out",
        status_code=200,
        summary="Check a member out of the room (operators; `member` as for check-in); refused "
        "after their paper ballot",
        guards=[signed_in],
    )
    async def check_out(
        self, member: MemberDep, rules: RulesDep, poll_id: FromPath[int], data: JSONBody[PresenceIn]
    ) -> CheckOutOut:
        polls.require_operator(member, (await polls.get_poll(poll_id)).country)
        attendee = await named_member(data.member)
        removed = await room.check_out(rules, member, poll_id, attendee)
        return CheckOutOut(member_id=attendee.id, name=attendee.name, checked_out=removed)

    @post(
        "/polls/{poll_id:int}/paper-proxy",
        status_code=201,
        summary="Record a paper proxy handed in at the general meeting (operators)",
        guards=[signed_in],
    )
    async def paper_proxy(
        self,
        member: MemberDep,
        rules: RulesDep,
        poll_id: FromPath[int],
        data: JSONBody[PaperProxyIn],
    ) -> ProxyInfo:
        polls.require_operator(member, (await polls.get_poll(poll_id)).country)
        proxy_id = await proxies.record_paper_proxy(
            rules, member, poll_id, data.grantor, data.holder
        )
        recorded = await proxies.proxy_by_id(proxy_id)
        if recorded is None:  # revoked in the instant since: as if never recorded
            raise NotFound(_("This proxy is no longer active."))
        return recorded

    @post(
        "/polls/{poll_id:int}/paper-ballot",
        status_code=201,
        summary="Enter a checked-in member's paper ballot (operators); answers its receipt",
        guards=[signed_in],
    )
    async def paper_ballot(
        self,
        member: MemberDep,
        rules: RulesDep,
        poll_id: FromPath[int],
        data: JSONBody[PaperBallotIn],
    ) -> Receipt:
        polls.require_operator(member, (await polls.get_poll(poll_id)).country)
        voter = await find_member(data.member)
        receipt = await room.enter_paper_ballot(rules, member, poll_id, voter, data.choice)
        return receipt_of(poll_id, receipt)
