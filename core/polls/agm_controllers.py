"""AGM pages and their JSON twins: proxies (a shareholder gives, revokes and uses them) and the
room (operators of the poll's country check members in and enter paper ballots, and follow the
turnout, as numbers only, never a partial result). The rules live in ``proxies`` and ``room``.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, JSONBody
from litestar.response import Redirect, Template

from core import clock
from core.errors import DomainError, InvalidInput, NotFound
from core.i18n import _
from core.members.controllers import require_member
from core.members.model import CurrentMember
from core.members.services import load_member
from core.polls import proxies, room
from core.polls import services as polls
from core.polls.controllers import Receipt, ballot_from_form, poll_context
from core.polls.proxies import ProxyInfo
from core.polls.room import Turnout
from core.polls.services import DRAFT, OPEN
from core.polls.tables import Participation, Presence
from core.themes.controllers import rules_of
from core.web.context import page

Req = Request[Any, Any, Any]


class ProxyIn(msgspec.Struct):
    holder: str


class ProxiesOut(msgspec.Struct):
    given: ProxyInfo | None
    held: list[ProxyInfo]
    rules: list[str]


class ProxyBallotIn(msgspec.Struct):
    choice: list[Any]


class PresenceIn(msgspec.Struct):
    member: str | int


class PresenceOut(msgspec.Struct):
    member_id: int
    name: str
    checked_in: bool  # False: the member was already checked in


class PaperBallotIn(msgspec.Struct):
    member: str | int
    choice: list[Any]


class PresentMember(msgspec.Struct):
    id: int
    name: str
    member_number: str
    voted: bool


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


async def present_members(poll_id: int) -> list[PresentMember]:
    """The members checked in at the room, by name, and whether each has voted (any channel)."""
    rows = await Presence.select(
        Presence.member,
        Presence.member.name.as_alias("name"),
        Presence.member.member_number.as_alias("member_number"),
    ).where(Presence.poll == poll_id)
    if not rows:
        return []
    voted = {
        r["member"]
        for r in await Participation.select(Participation.member).where(
            (Participation.poll == poll_id)
            & Participation.member.is_in([r["member"] for r in rows])
        )
    }
    return [
        PresentMember(r["member"], r["name"], r["member_number"], r["member"] in voted)
        for r in sorted(rows, key=lambda r: (r["name"], r["member"]))
    ]


# -- proxy page -------------------------------------------------------------------------------


async def proxy_context(request: Req, poll_id: int, **extra: Any) -> dict[str, Any]:
    member = require_member(request)
    context = await poll_context(request, poll_id)
    poll = context["poll"]
    return {
        **context,
        "rules_text": proxies.rules_text(rules_of(request), poll),
        "given": await proxies.proxy_given(member, poll_id),
        "held": await proxies.proxies_held(member, poll_id),
        "may_give": poll.state == DRAFT or (poll.state == OPEN and clock.now() < poll.opens_at),
        **extra,
    }


async def proxy_page(request: Req, poll_id: int, exc: DomainError | None = None) -> Template:
    if exc is None:
        return page(request, "proxy.html", await proxy_context(request, poll_id))
    context = await proxy_context(request, poll_id, error=exc.message)
    return page(request, "proxy.html", context, status_code=exc.status_code)


class ProxyPages(Controller):
    include_in_schema = False

    @get("/polls/{poll_id:int}/proxy", name="poll_proxy")
    async def show(self, request: Req, poll_id: FromPath[int]) -> Template:
        return await proxy_page(request, poll_id)

    @post("/polls/{poll_id:int}/proxy", name="poll_proxy_grant")
    async def grant(self, request: Req, poll_id: FromPath[int]) -> Template | Redirect:
        member = require_member(request)
        holder = str((await request.form()).get("holder", "")).strip()
        try:
            if not holder:
                raise InvalidInput(_("Give the email address of your proxy holder."))
            await proxies.grant_proxy(rules_of(request), member, poll_id, holder)
        except DomainError as exc:
            return await proxy_page(request, poll_id, exc)
        return Redirect(f"/polls/{poll_id}/proxy", status_code=303)

    @post("/polls/{poll_id:int}/proxy/revoke", name="poll_proxy_revoke")
    async def revoke(self, request: Req, poll_id: FromPath[int]) -> Template | Redirect:
        member = require_member(request)
        try:
            await proxies.revoke_proxy(rules_of(request), member, poll_id)
        except DomainError as exc:
            return await proxy_page(request, poll_id, exc)
        return Redirect(f"/polls/{poll_id}/proxy", status_code=303)

    @post("/polls/{poll_id:int}/proxy/vote/{grantor_id:int}", name="poll_proxy_vote")
    async def vote(
        self, request: Req, poll_id: FromPath[int], grantor_id: FromPath[int]
    ) -> Template:
        member = require_member(request)
        context = await poll_context(request, poll_id)
        numbers = [c.number for c in context["candidates"]]
        try:
            choice = ballot_from_form(await request.form(), context["method"].ballot_kind, numbers)
            receipt = await proxies.cast_as_proxy(
                rules_of(request), member, poll_id, grantor_id, choice
            )
        except DomainError as exc:
            return await proxy_page(request, poll_id, exc)
        grantor = await load_member(grantor_id)
        return page(
            request,
            "receipt.html",
            {**context, "receipt": receipt, "ballot_of": grantor.name if grantor else ""},
            status_code=201,
        )


# -- room page --------------------------------------------------------------------------------


async def room_context(request: Req, poll_id: int, **extra: Any) -> dict[str, Any]:
    member = require_member(request)
    poll = await polls.get_poll(poll_id)
    polls.require_operator(member, poll.country)
    context = await poll_context(request, poll_id)
    present = await present_members(poll_id)
    ballot_for = None
    wanted = str(request.query_params.get("ballot_for", ""))
    if wanted.isascii() and wanted.isdigit():
        ballot_for = next((p for p in present if p.id == int(wanted) and not p.voted), None)
    return {**context, "present": present, "ballot_for": ballot_for, **extra}


async def room_page(request: Req, poll_id: int, exc: DomainError | None = None) -> Template:
    if exc is None:
        return page(request, "room.html", await room_context(request, poll_id))
    context = await room_context(request, poll_id, error=exc.message)
    return page(request, "room.html", context, status_code=exc.status_code)


class RoomPages(Controller):
    include_in_schema = False

    @get("/polls/{poll_id:int}/room", name="poll_room")
    async def show(self, request: Req, poll_id: FromPath[int]) -> Template:
        return await room_page(request, poll_id)

    @post("/polls/{poll_id:int}/room/check-in", name="poll_room_check_in")
    async def check_in(self, request: Req, poll_id: FromPath[int]) -> Template | Redirect:
        operator = require_member(request)
        ref = str((await request.form()).get("member", "")).strip()
        try:
            if not ref:
                raise InvalidInput(_("Give the member's email address or member number."))
            member = await find_member(ref)
            await room.check_in(rules_of(request), operator, poll_id, member)
        except DomainError as exc:
            return await room_page(request, poll_id, exc)
        return Redirect(f"/polls/{poll_id}/room", status_code=303)

    @post("/polls/{poll_id:int}/room/paper/{member_id:int}", name="poll_room_paper")
    async def paper(
        self, request: Req, poll_id: FromPath[int], member_id: FromPath[int]
    ) -> Template:
        operator = require_member(request)
        context = await room_context(request, poll_id)
        numbers = [c.number for c in context["candidates"]]
        try:
            member = await find_member(member_id)
            choice = ballot_from_form(await request.form(), context["method"].ballot_kind, numbers)
            receipt = await room.enter_paper_ballot(
                rules_of(request), operator, poll_id, member, choice
            )
        except DomainError as exc:
            return await room_page(request, poll_id, exc)
        return page(
            request,
            "receipt.html",
            {**context, "receipt": receipt, "ballot_of": member.name},
            status_code=201,
        )


# -- JSON twins -------------------------------------------------------------------------------


class AgmAPI(Controller):
    path = "/api"
    tags = ["polls"]

    @get("/polls/{poll_id:int}/proxy", summary="The proxy I gave and the proxies I hold")
    async def proxies(self, request: Req, poll_id: FromPath[int]) -> ProxiesOut:
        member = require_member(request)
        poll = await polls.get_poll(poll_id)
        return ProxiesOut(
            given=await proxies.proxy_given(member, poll_id),
            held=await proxies.proxies_held(member, poll_id),
            rules=proxies.rules_text(rules_of(request), poll),
        )

    @post("/polls/{poll_id:int}/proxy", status_code=201, summary="Give my vote by proxy")
    async def grant(
        self, request: Req, poll_id: FromPath[int], data: JSONBody[ProxyIn]
    ) -> ProxyInfo | None:
        member = require_member(request)
        await proxies.grant_proxy(rules_of(request), member, poll_id, data.holder)
        return await proxies.proxy_given(member, poll_id)

    @delete("/polls/{poll_id:int}/proxy", status_code=204, summary="Revoke my proxy")
    async def revoke(self, request: Req, poll_id: FromPath[int]) -> None:
        await proxies.revoke_proxy(rules_of(request), require_member(request), poll_id)

    @post(
        "/polls/{poll_id:int}/proxy/{grantor_id:int}/ballot",
        status_code=201,
        summary="Cast a grantor's ballot as their proxy holder; the receipt is shown only now",
    )
    async def proxy_ballot(
        self,
        request: Req,
        poll_id: FromPath[int],
        grantor_id: FromPath[int],
        data: JSONBody[ProxyBallotIn],
    ) -> Receipt:
        holder = require_member(request)
        receipt = await proxies.cast_as_proxy(
            rules_of(request), holder, poll_id, grantor_id, data.choice
        )
        return receipt_of(poll_id, receipt)

    @get("/polls/{poll_id:int}/turnout", summary="Turnout and quorum, numbers only (operators)")
    async def turnout(self, request: Req, poll_id: FromPath[int]) -> Turnout:
        member = require_member(request)
        polls.require_operator(member, (await polls.get_poll(poll_id)).country)
        return await room.turnout(poll_id)

    @post("/polls/{poll_id:int}/presence", status_code=200, summary="Check a member in (operators)")
    async def presence(
        self, request: Req, poll_id: FromPath[int], data: JSONBody[PresenceIn]
    ) -> PresenceOut:
        operator = require_member(request)
        polls.require_operator(operator, (await polls.get_poll(poll_id)).country)
        member = await find_member(data.member)
        added = await room.check_in(rules_of(request), operator, poll_id, member)
        return PresenceOut(member_id=member.id, name=member.name, checked_in=added)

    @post(
        "/polls/{poll_id:int}/paper-ballot",
        status_code=201,
        summary="Enter a checked-in member's paper ballot (operators); answers its receipt",
    )
    async def paper_ballot(
        self, request: Req, poll_id: FromPath[int], data: JSONBody[PaperBallotIn]
    ) -> Receipt:
        operator = require_member(request)
        polls.require_operator(operator, (await polls.get_poll(poll_id)).country)
        member = await find_member(data.member)
        receipt = await room.enter_paper_ballot(
            rules_of(request), operator, poll_id, member, data.choice
        )
        return receipt_of(poll_id, receipt)
