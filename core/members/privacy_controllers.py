"""A member's own data (``/account/data``, its JSON download) and the erasure of it: asked for
by the member and confirmed through a mailed link, or done by an operator of the member's
country (or a board member)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, post
from litestar.params import FromPath, JSONBody, URLEncodedBody
from litestar.response import Template

from core.errors import DomainError, Forbidden, InvalidInput, NotFound
from core.formats import short_moment
from core.i18n import N_, _
from core.members import privacy
from core.members.model import CurrentMember
from core.members.services import normalise_email
from core.members.tables import Member
from core.web.context import page, session_cookie, settings_of
from core.web.deps import MemberDep, RulesDep, SettingsDep
from core.web.guards import signed_in
from core.web.twins import keep, kept, twin

Req = Request[Any, Any, Any]

# What the page calls the fields of the export (the JSON keeps its own names).
FIELD_LABELS = {
    "id": N_("Number"),
    "name": N_("Name"),
    "email": N_("Email address"),
    "member_number": N_("Member number"),
    "country": N_("Country"),
    "language": N_("Language"),
    "shareholder": N_("Shareholder"),
    "has_password": N_("Password set"),
    "created_at": N_("Created"),
    "left_at": N_("Left the cooperative"),
    "erased_at": N_("Erased"),
    "role": N_("Role"),
    "edition": N_("Edition"),
    "status": N_("Status"),
    "title": N_("Title"),
    "theme_title": N_("Theme"),
    "recommendation_title": N_("Recommendation"),
    "body": N_("Text"),
    "text": N_("Text"),
    "description": N_("Description"),
    "texts": N_("Texts"),
    "poll": N_("Poll"),
    "voted_on": N_("Voted on"),
    "channel": N_("Channel"),
    "direction": N_("Given or held"),
    "other_member": N_("Other member"),
    "answer": N_("Answer"),
    "present": N_("Present"),
    "starts_at": N_("Starts"),
    "signed_in_at": N_("Signed in"),
    "last_seen_at": N_("Last seen"),
    "expires_at": N_("Expires"),
    "used_at": N_("Used"),
    "confirmed_at": N_("Confirmed"),
    "event_type": N_("Event"),
    "read_at": N_("Read"),
    "sent_at": N_("Sent"),
    "enabled": N_("On"),
    "frequency": N_("Frequency"),
    "locality": N_("Locality"),
    "submitted_at": N_("Submitted"),
    "withdrawn_at": N_("Withdrawn"),
    "revoked_at": N_("Revoked"),
    "answered_at": N_("Answered"),
}
# Fields the page leaves to the JSON download (numbers of other rows, payloads).
HIDDEN_ON_PAGE = {"payload", "working_group", "theme", "slot", "meeting", "recommendation"}


def _shown(value: Any, country: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, str) and len(value) >= 19 and value[10:11] == "T":
        try:
            return short_moment(datetime.fromisoformat(value), country)
        except ValueError:
            return value
    if isinstance(value, list):
        return "; ".join(
            ", ".join(str(v) for v in item.values()) if isinstance(item, dict) else str(item)
            for item in value
        )
    return str(value)


def _rows(item: dict[str, Any], country: str) -> list[tuple[str, str]]:
    return [
        (_(FIELD_LABELS.get(key, key)), _shown(value, country))
        for key, value in item.items()
        if key not in HIDDEN_ON_PAGE
    ]


def data_context(data: dict[str, Any], country: str) -> dict[str, Any]:
    sections = []
    for name in privacy.SECTIONS:
        found = data.get(name)
        items = [found] if isinstance(found, dict) else list(found or [])
        sections.append(
            {
                "name": name,
                "title": _(privacy.SECTION_TITLES[name]),
                "items": [_rows(item, country) for item in items],
            }
        )
    return {"sections": sections}


async def my_data_page(
    request: Req,
    member: CurrentMember,
    extra: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> Template:
    data = await privacy.export(member.id)
    context = {**data_context(data, member.country), **(extra or {})}
    return page(request, "my_data.html", context, status_code=status_code)


def _erase_url(request: Req, token: str) -> str:
    return f"{settings_of(request).platform.base_url.rstrip('/')}/account/erase/{token}"


async def send_erasure_link(request: Req, member: CurrentMember, rules: Any) -> bool:
    token = await privacy.request_erasure(member, settings_of(request), rules)
    return await privacy.deliver_erasure_link(member, _erase_url(request, token), rules)


def _link_notice(sent: bool) -> str:
    if sent:
        return _(
            "We sent a confirmation link to your email address. Open it within %(minutes)d "
            "minutes to erase your data."
        )
    return _(
        "The confirmation link could not be sent. Try again later, or ask the operators of "
        "your country to erase your data."
    )


def _confirm_context(token: str) -> dict[str, Any]:
    return {
        "heading": _("Erase my data"),
        "consequences": [
            _(
                "Your name, email address, member number, roles, sessions and notifications are "
                "erased. You can no longer sign in."
            ),
            _(
                "What you did stays counted without your name: supports, votes cast, "
                "registrations and attendance."
            ),
            _("This cannot be undone."),
        ],
        "action": f"/account/erase/{token}",
        "button": _("Erase my data"),
        "cancel": "/account/data",
        "danger": True,
        "fields": [],
    }


class ErasureLinkOut(msgspec.Struct):
    """What an erasure link confirms: the erasure of the data of whoever was sent it."""

    expires_at: datetime


class ErasureScope(msgspec.Struct):
    """The countries whose members' data the caller may erase (operators: theirs; board:
    every one)."""

    countries: list[str]


class EraseForm(msgspec.Struct):
    member: str = ""  # the member number or the email address
    confirm: str = ""


class EraseIn(msgspec.Struct):
    member: str  # the member number or the email address


class ErasedOut(msgspec.Struct):
    detail: str
    member: int


async def _member_to_erase(actor: CurrentMember, wanted: str) -> dict[str, Any]:
    """The member a number or an address names, if ``actor`` may erase their data."""
    wanted = wanted.strip()
    if not wanted:
        raise InvalidInput(_("Give the member's number or email address."))
    row = (
        await Member.select(
            Member.id, Member.name, Member.member_number, Member.country, Member.erased_at
        )
        .where((Member.member_number == wanted) | (Member.email == normalise_email(wanted)))
        .first()
    )
    if row is None:
        raise NotFound(_("No member has this number or email address."))
    if not privacy.may_erase(actor, row["country"]):
        raise Forbidden(
            _("Only operators of %(countries)s can do this.") % {"countries": row["country"]}
        )
    return row


def _operator_confirm_context(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "heading": _("Erase this member's data"),
        "consequences": [
            _("%(name)s (%(number)s): their personal data is erased by anonymisation.")
            % {"name": row["name"], "number": row["member_number"]},
            _(
                "Supports, votes cast, registrations and attendance stay counted without their "
                "name. This cannot be undone."
            ),
        ],
        "action": "/operator/members/erase",
        "button": _("Erase this member's data"),
        "cancel": "/operator/members/erase",
        "fields": [("member", row["member_number"])],
    }


def _scope(member: CurrentMember, settings: Any) -> ErasureScope:
    if member.is_board:
        return ErasureScope(countries=list(settings.countries))
    countries = [c for c in settings.countries if member.is_operator(c)]
    if not countries:
        raise Forbidden(_("Only operators of the cooperative life team can do this."))
    return ErasureScope(countries=countries)


# -- pages and their twins ------------------------------------------------------------------


async def _data_shown(request: Req, _found: Any) -> dict[str, Any]:
    member = request.state.member
    return data_context(kept("export") or {}, member.country)


@twin(
    "/account/data",
    name="my_data",
    template="my_data.html",
    tags=["members"],
    summary="Download everything the platform holds about the signed-in member (JSON)",
    context=_data_shown,
    guards=[signed_in],
)
async def my_data(member: MemberDep) -> Response[dict[str, Any]]:
    data = await privacy.export(member.id)
    keep("export", data)
    return Response(
        data,
        media_type="application/json",
        headers={"content-disposition": f'attachment; filename="my-data-{member.id}.json"'},
    )


@twin(
    "/account/erase/{token:str}",
    name="my_data_erase_confirm",
    template="confirm.html",
    tags=["members"],
    summary="What an erasure link confirms (404 unknown, 410 used or expired)",
    context=lambda request, found, arguments: _confirm_context(arguments["token"]),
)
async def erasure_link(token: FromPath[str]) -> ErasureLinkOut:
    found = await privacy.pending_request(token)
    return ErasureLinkOut(expires_at=found["expires_at"])


@twin(
    "/operator/members/erase",
    name="operator_member_erase",
    template="erasure_operator.html",
    tags=["members"],
    summary="The countries whose members' data the caller may erase",
    context=lambda request, found: {"scope": found},
    guards=[signed_in],
)
async def erasure_scope(member: MemberDep, settings: SettingsDep) -> ErasureScope:
    return _scope(member, settings)


class PrivacyPages(Controller):
    include_in_schema = False

    @post("/account/erase", name="my_data_erase", guards=[signed_in])
    async def ask_erasure(self, request: Req, member: MemberDep, rules: RulesDep) -> Template:
        try:
            sent = await send_erasure_link(request, member, rules)
        except DomainError as exc:
            return await my_data_page(
                request, member, {"erase_error": exc.message}, status_code=exc.status_code
            )
        notice = _link_notice(sent) % {"minutes": settings_of(request).privacy.erasure_link_minutes}
        return await my_data_page(request, member, {"notice": notice})

    @post("/account/erase/{token:str}", name="my_data_erase_confirmed")
    async def confirm(self, request: Req, token: FromPath[str], rules: RulesDep) -> Response[Any]:
        await privacy.confirm_erasure(token, settings_of(request), rules)
        request.state.member = None  # the page that follows is a visitor's
        response: Response[Any] = page(request, "erasure_confirm.html", {"done": True})
        response.set_cookie(session_cookie(settings_of(request), None))
        return response

    @post("/operator/members/erase", name="operator_member_erase_post", guards=[signed_in])
    async def operator_erase(
        self,
        request: Req,
        member: MemberDep,
        rules: RulesDep,
        data: URLEncodedBody[EraseForm],
    ) -> Template:
        scope = _scope(member, settings_of(request))
        try:
            row = await _member_to_erase(member, data.member)
        except DomainError as exc:
            context = {"scope": scope, "error": exc.message, "wanted": data.member}
            return page(request, "erasure_operator.html", context, status_code=exc.status_code)
        if data.confirm != "yes" or row["erased_at"] is not None:
            if row["erased_at"] is not None:
                return page(request, "erasure_confirm.html", {"done": True, "operator": True})
            return page(request, "erasure_confirm.html", _operator_confirm_context(row))
        try:
            await privacy.erase_by_operator(member, row["id"], settings_of(request), rules)
        except DomainError as exc:
            context = {**_operator_confirm_context(row), "error": exc.message}
            return page(request, "erasure_confirm.html", context, status_code=exc.status_code)
        return page(request, "erasure_confirm.html", {"done": True, "operator": True})


class PrivacyAPI(Controller):
    path = "/api"
    tags = ["members"]

    @post(
        "/account/erase",
        status_code=202,
        summary="Ask for the erasure of the member's data: a confirmation link is sent",
        description="Refused (409) while an open poll counts the member as a voter.",
        guards=[signed_in],
    )
    async def ask_erasure(self, request: Req, member: MemberDep, rules: RulesDep) -> dict[str, Any]:
        sent = await send_erasure_link(request, member, rules)
        minutes = settings_of(request).privacy.erasure_link_minutes
        return {"detail": _link_notice(sent) % {"minutes": minutes}, "sent": sent}

    @post(
        "/account/erase/{token:str}",
        status_code=200,
        summary="Confirm an erasure with the link's token: the member's data is erased",
    )
    async def confirm(self, request: Req, token: FromPath[str], rules: RulesDep) -> Response[Any]:
        member_id = await privacy.confirm_erasure(token, settings_of(request), rules)
        response: Response[Any] = Response(
            ErasedOut(detail=_("Your data is erased."), member=member_id)
        )
        response.set_cookie(session_cookie(settings_of(request), None))
        return response

    @post(
        "/members/erase",
        status_code=200,
        summary="Erase a member's data (operators of the member's country, or the board)",
        description="``member`` is the member number or the email address. Refused (409) "
        "while an open poll counts the member as a voter.",
        guards=[signed_in],
    )
    async def operator_erase(
        self, request: Req, member: MemberDep, rules: RulesDep, data: JSONBody[EraseIn]
    ) -> ErasedOut:
        row = await _member_to_erase(member, data.member)
        await privacy.erase_by_operator(member, row["id"], settings_of(request), rules)
        return ErasedOut(detail=_("The member's data is erased."), member=row["id"])
