"""The notification centre, preferences and the operators' outbox: pages and JSON twins."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Redirect, Template

from core import i18n
from core.errors import DomainError, Forbidden
from core.i18n import N_, _, ngettext
from core.members.controllers import require_member
from core.notifications import inapp, services
from core.notifications.catalog import KINDS
from core.notifications.digests import DIGEST
from core.notifications.inapp import NotificationList
from core.notifications.services import OutboxItem, OutboxView, Preferences, Retried
from core.notifications.tables import FAILED, STATES
from core.rules import Rules
from core.web.context import page, settings_of
from core.web.deps import MemberDep, RulesDep, SettingsDep
from core.web.guards import signed_in
from core.web.twins import twin

Req = Request[Any, Any, Any]

# The outbox states as people read them (pages show ``_(state)``).
STATE_NAMES = (N_("pending"), N_("sent"), N_("failed"))


class Unread(msgspec.Struct):
    unread: int


class RetryFailedIn(msgspec.Struct):
    """Which failed messages to put back in the queue: one kind, on one channel or all."""

    event_type: str
    channel: str | None = None


class PreferencesIn(msgspec.Struct):
    """Event type -> channel -> on/off, and event type -> channel -> "immediate", "daily" or
    "weekly" (channels with digests); what is not named keeps its value."""

    events: dict[str, dict[str, bool]] = {}
    frequencies: dict[str, dict[str, str]] = {}


def _registry(request: Req) -> Any:
    return request.app.state.registry


def language() -> str:
    return i18n.current_language.get()


def notifications_shown(
    request: Req, listing: NotificationList, error: str | None = None
) -> dict[str, Any]:
    """The notification centre; the page's unread count is the listing's."""
    request.state.unread_notifications = listing.unread
    return {"listing": listing, "error": error}


def notifications_context(request: Req, listing: NotificationList) -> dict[str, Any]:
    return notifications_shown(request, listing)


async def notifications_page(
    request: Req, *, error: str | None = None, status_code: int = 200
) -> Template:
    member = require_member(request)
    listing = await inapp.list_notifications(member.id, language())
    return page(
        request,
        "notifications.html",
        notifications_shown(request, listing, error),
        status_code=status_code,
    )


@twin(
    "/notifications",
    name="notifications",
    template="notifications.html",
    tags=["notifications"],
    summary="The signed-in member's notifications and unread count",
    context=notifications_context,
    guards=[signed_in],
)
async def notification_list(member: MemberDep) -> NotificationList:
    return await inapp.list_notifications(member.id, language())


def preferences_context(request: Req, prefs: Preferences) -> dict[str, Any]:
    return {"prefs": prefs, "notice": None, "error": None}


async def preferences_page(
    request: Req,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Template:
    member = require_member(request)
    prefs = await services.get_preferences(_registry(request), settings_of(request), member)
    return page(
        request,
        "notification_preferences.html",
        {"prefs": prefs, "notice": notice, "error": error},
        status_code=status_code,
    )


@twin(
    "/notifications/preferences",
    name="notification_preferences",
    template="notification_preferences.html",
    tags=["notifications"],
    summary="Which channels the member wants per event",
    context=preferences_context,
    guards=[signed_in],
)
async def notification_preferences(
    member: MemberDep, rules: RulesDep, settings: SettingsDep
) -> Preferences:
    return await services.get_preferences(rules.registry, settings, member)


def _operator_country(request: Req, country: str) -> str:
    member = require_member(request)
    countries = member.operator_countries
    if not countries:
        raise Forbidden(_("Only operators see the outbox."))
    return country or countries[0]


async def outbox_page(
    request: Req,
    country: str,
    state: str,
    channel: str,
    *,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Template:
    member = require_member(request)
    country = _operator_country(request, country)
    view = await services.outbox_view(member, country, state or None, channel or None)
    return page(
        request,
        "outbox.html",
        {
            "view": view,
            "countries": member.operator_countries,
            "states": STATES,
            # Channels and event kinds by their names for people, not their keys ("in_app").
            "channel_labels": {
                c.name: _(c.label)
                for c in Rules(_registry(request), settings_of(request)).notifiers(country).values()
            },
            "event_labels": {
                DIGEST: _("Digest"),
                **{name: _(kind.label) for name, kind in KINDS.items()},
            },
            "error": error,
            "notice": notice,
        },
        status_code=status_code,
    )


class NotificationPages(Controller):
    include_in_schema = False

    @post("/notifications/{notification_id:int}/read", name="notification_read", guards=[signed_in])
    async def read(
        self, request: Req, member: MemberDep, notification_id: FromPath[int]
    ) -> Template | Redirect:
        try:
            await inapp.mark_read(member.id, notification_id)
        except DomainError as exc:
            return await notifications_page(request, error=exc.message, status_code=exc.status_code)
        return Redirect("/notifications", status_code=303)

    @post("/notifications/read-all", name="notifications_read_all", guards=[signed_in])
    async def read_all(self, member: MemberDep) -> Redirect:
        await inapp.mark_read(member.id)
        return Redirect("/notifications", status_code=303)

    @post("/notifications/preferences", name="notification_preferences_save", guards=[signed_in])
    async def save_preferences(self, request: Req, member: MemberDep) -> Template:
        form = await request.form()
        ticked = [str(v) for v in form.getall("choice")] if "choice" in form else []
        fields = {str(k): str(v) for k, v in form.items() if str(k).startswith("frequency:")}
        registry, settings = _registry(request), settings_of(request)
        try:
            choices = services.choices_from_form(registry, settings, member, ticked)
            how_often = services.frequencies_from_form(registry, settings, member, fields)
            await services.set_preferences(registry, settings, member, choices, how_often)
        except DomainError as exc:
            return await preferences_page(request, error=exc.message, status_code=exc.status_code)
        return await preferences_page(request, notice=_("Your notification choices are saved."))

    @get("/outbox", name="outbox")
    async def outbox(
        self,
        request: Req,
        country: FromQuery[str] = "",
        message_state: Annotated[str, QueryParameter(name="state")] = FAILED,
        channel: FromQuery[str] = "",
    ) -> Template:
        return await outbox_page(request, country, message_state, channel)

    @post("/outbox/{message_id:int}/retry", name="outbox_retry", guards=[signed_in])
    async def retry(
        self, request: Req, member: MemberDep, message_id: FromPath[int]
    ) -> Template | Redirect:
        form = await request.form()
        country = str(form.get("country", ""))
        try:
            item = await services.retry(member, message_id)
        except DomainError as exc:
            if not member.is_operator():
                raise
            if country not in member.operator_countries:
                country = ""
            return await outbox_page(
                request, country, FAILED, "", error=exc.message, status_code=exc.status_code
            )
        query = urlencode({"country": item.country, "state": FAILED})
        return Redirect(f"/outbox?{query}", status_code=303)

    @post("/outbox/retry-failed", name="outbox_retry_failed", guards=[signed_in])
    async def retry_failed(self, request: Req, member: MemberDep) -> Template:
        """Retry every failed message of one kind: how the kinds whose recipients are never
        listed (the closing reminder) are retried."""
        form = await request.form()
        country = str(form.get("country", ""))
        event_type = str(form.get("event_type", ""))
        channel = str(form.get("channel", "")) or None
        try:
            retried = await services.retry_failed(member, country, event_type, channel)
        except DomainError as exc:
            if not member.is_operator():
                raise
            if country not in member.operator_countries:
                country = ""
            return await outbox_page(
                request, country, FAILED, "", error=exc.message, status_code=exc.status_code
            )
        notice = ngettext(
            "%(n)d failed message is back in the queue.",
            "%(n)d failed messages are back in the queue.",
            retried,
        ) % {"n": retried}
        return await outbox_page(request, country, FAILED, "", notice=notice)


class NotificationsAPI(Controller):
    path = "/api"
    tags = ["notifications"]

    @post(
        "/notifications/{notification_id:int}/read",
        status_code=200,
        summary="Mark one notification read",
        guards=[signed_in],
    )
    async def read(self, member: MemberDep, notification_id: FromPath[int]) -> Unread:
        await inapp.mark_read(member.id, notification_id)
        return Unread(unread=await inapp.unread_count(member.id))

    @post(
        "/notifications/read-all",
        status_code=200,
        summary="Mark every notification read",
        guards=[signed_in],
    )
    async def read_all(self, member: MemberDep) -> Unread:
        await inapp.mark_read(member.id)
        return Unread(unread=0)

    @put(
        "/notifications/preferences",
        summary="Change channels per event (partial)",
        guards=[signed_in],
    )
    async def save_preferences(
        self, request: Req, member: MemberDep, data: JSONBody[PreferencesIn]
    ) -> Preferences:
        return await services.set_preferences(
            _registry(request), settings_of(request), member, data.events, data.frequencies
        )

    @get(
        "/outbox/{country:str}",
        summary="A country's outbox per channel (operators)",
        guards=[signed_in],
    )
    async def outbox(
        self,
        member: MemberDep,
        country: FromPath[str],
        message_state: Annotated[str | None, QueryParameter(name="state")] = None,
        channel: FromQuery[str | None] = None,
    ) -> OutboxView:
        return await services.outbox_view(member, country, message_state, channel)

    @post(
        "/outbox/messages/{message_id:int}/retry",
        status_code=200,
        summary="Put a failed message back in the queue (operators of its country)",
        guards=[signed_in],
    )
    async def retry(self, member: MemberDep, message_id: FromPath[int]) -> OutboxItem:
        return await services.retry(member, message_id)

    @post(
        "/outbox/{country:str}/retry-failed",
        status_code=200,
        summary="Put every failed message of one kind back in the queue (operators of the country)",
        guards=[signed_in],
    )
    async def retry_failed(
        self, member: MemberDep, country: FromPath[str], data: JSONBody[RetryFailedIn]
    ) -> Retried:
        retried = await services.retry_failed(member, country, data.event_type, data.channel)
        return Retried(retried=retried)
