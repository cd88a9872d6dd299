"""A member's own data: everything the platform holds about them (``export``), and its erasure
by anonymisation (``erase``, after a link the member confirms, or by an operator).

The export is built from a declared map: every column of a table in ``core.piccolo_app.TABLES``
that points at a member is either in ``COVERAGE`` (the export section that lists its rows) or
in ``EXCLUDED`` with the reason it is not the member's own data. ``tests/test_my_data.py``
walks the tables, so a new table with a member column fails until the export covers it.

Erasure keeps every count true: supports, participations, registrations and attendance stay,
pointing at the anonymised member row; what identifies the member (name, email, member number,
sessions, roles, notifications) goes. Ballots are untouched: they hold nothing personal.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from core import db
from core.audit import services as audit
from core.auth.tables import SignInFailure, SignInLinkRequest, SignInToken, WebSession
from core.config import Settings
from core.errors import Conflict, Forbidden, Gone, NotFound
from core.formats import moment
from core.groups.tables import (
    Attendance,
    CalendarFeed,
    GroupFacilitator,
    GroupRegistration,
    InfoSessionRegistration,
    SlotAnswer,
)
from core.i18n import N_, _
from core.members.model import CurrentMember
from core.members.services import load_member
from core.members.tables import ErasureRequest, Member, MemberRole
from core.notifications.tables import (
    DigestItem,
    Notification,
    NotificationEvent,
    NotificationPreference,
    OutboxMessage,
)
from core.polls.tables import (
    Participation,
    Poll,
    PollCandidate,
    PollTeller,
    Presence,
    Proxy,
    RollEntry,
)
from core.recommendations.tables import Endorsement, Recommendation, RecommendationComment
from core.rules import Rules
from core.themes.tables import Support, Theme, ThemeText

log = logging.getLogger("sip.privacy")

# What an erased member is called; stored in English, translated where it is shown.
ERASED_NAME = N_("Erased member")
# What replaces the wording of a text an erased member wrote, with privacy.erased_texts "remove".
REMOVED_TEXT = N_("(removed at its author's request)")

# Section names, in the order the page shows them.
SECTIONS = (
    "profile",
    "roles",
    "proposals",
    "supports",
    "recommendations",
    "comments",
    "endorsements",
    "working_groups",
    "facilitation",
    "slot_answers",
    "attendance",
    "info_sessions",
    "calendar_feed",
    "polls",
    "electoral_rolls",
    "proxies",
    "tellers",
    "agm_check_ins",
    "notifications",
    "messages",
    "digest_items",
    "notification_preferences",
    "sessions",
    "sign_in_links",
    "erasure_requests",
)

SECTION_TITLES = {
    "profile": N_("Profile"),
    "roles": N_("Roles"),
    "proposals": N_("Proposals"),
    "supports": N_("Supports"),
    "recommendations": N_("Recommendations"),
    "comments": N_("Comments"),
    "endorsements": N_("Endorsements"),
    "working_groups": N_("Working group registrations"),
    "facilitation": N_("Groups you facilitate"),
    "slot_answers": N_("Meeting time answers"),
    "attendance": N_("Attendance"),
    "info_sessions": N_("Info session registrations"),
    "calendar_feed": N_("Calendar feed"),
    "polls": N_("Polls you voted in"),
    "electoral_rolls": N_("Electoral rolls"),
    "proxies": N_("Proxies"),
    "tellers": N_("Teller duties"),
    "agm_check_ins": N_("AGM check-ins"),
    "notifications": N_("Notifications"),
    "messages": N_("Messages sent to you"),
    "digest_items": N_("Digest items waiting"),
    "notification_preferences": N_("Notification preferences"),
    "sessions": N_("Signed-in devices"),
    "sign_in_links": N_("Sign-in links"),
    "erasure_requests": N_("Erasure requests"),
}

# (table, column) pointing at a member -> the export section listing its rows.
COVERAGE: dict[tuple[str, str], str] = {
    ("member_role", "member"): "roles",
    ("theme", "proposer"): "proposals",
    ("support", "member"): "supports",
    ("recommendation", "author"): "recommendations",
    ("recommendation", "submitted_by"): "recommendations",
    ("recommendation_comment", "member"): "comments",
    ("recommendation_endorsement", "member"): "endorsements",
    ("group_registration", "member"): "working_groups",
    ("group_facilitator", "member"): "facilitation",
    ("group_slot_answer", "member"): "slot_answers",
    ("group_attendance", "member"): "attendance",
    ("info_session_registration", "member"): "info_sessions",
    ("calendar_feed", "member"): "calendar_feed",
    ("participation", "member"): "polls",
    ("poll_roll", "member"): "electoral_rolls",
    ("proxy", "grantor"): "proxies",
    ("proxy", "holder"): "proxies",
    ("poll_teller", "member"): "tellers",
    ("presence", "member"): "agm_check_ins",
    ("notification", "member"): "notifications",
    ("outbox_message", "member"): "messages",
    ("digest_item", "member"): "digest_items",
    ("notification_preference", "member"): "notification_preferences",
    ("web_session", "member"): "sessions",
    ("sign_in_token", "member"): "sign_in_links",
    ("erasure_request", "member"): "erasure_requests",
}

_OPERATOR_ACT = "an act done for the cooperative (as operator, facilitator or board), not data "
_OPERATOR_ACT += "about the member; the audit log records it"

# (table, column) pointing at a member that the export leaves out, and why.
EXCLUDED: dict[tuple[str, str], str] = {
    ("participation", "cast_by"): "who cast a ballot for another member (their proxy holder, or "
    "the operator entering a paper ballot): part of that member's participation, not this one's; "
    "the proxies a member holds are in 'proxies'",
    ("proxy", "recorded_by"): "the operator who entered a paper proxy: " + _OPERATOR_ACT,
    ("presence", "checked_in_by"): "the operator who checked a member in: " + _OPERATOR_ACT,
    ("group_attendance", "recorded_by"): "the facilitator who recorded attendance: "
    + _OPERATOR_ACT,
    ("group_slot", "created_by"): "a candidate meeting time a facilitator proposed: "
    + _OPERATOR_ACT,
    ("info_session", "created_by"): "an info session an operator created: " + _OPERATOR_ACT,
    ("register_import", "created_by"): "a register import an operator previewed: " + _OPERATOR_ACT,
    ("register_import", "decided_by"): "a register import an operator confirmed or cancelled: "
    + _OPERATOR_ACT,
    ("recommendation_bundle", "created_by"): "a bundle an operator handed to the board: "
    + _OPERATOR_ACT,
    ("board_decision", "author"): "the board member who recorded a board decision: "
    + _OPERATOR_ACT,
    ("project", "created_by"): "a project set up for the cooperative: " + _OPERATOR_ACT,
    ("plugin_switch", "updated_by"): "an operator's plugin setting: " + _OPERATOR_ACT,
}
# Tables that hold ballots have no member column by design (invariant 2): sealed_ballot and
# clear_ballot. The audit log names its actor by a plain number (not a foreign key); its
# personal values are the audit's own business (``core.audit.services.forget_member``).


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _clean(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: _iso(v) for k, v in row.items()} for row in rows]


async def _theme_titles(theme_ids: set[int]) -> dict[int, str]:
    """Each theme's title in its original language (else any language it has)."""
    if not theme_ids:
        return {}
    themes = await Theme.select(Theme.id, Theme.original_language).where(
        Theme.id.is_in(list(theme_ids))
    )
    original = {t["id"]: t["original_language"] for t in themes}
    texts = await ThemeText.select(ThemeText.theme, ThemeText.language, ThemeText.title).where(
        ThemeText.theme.is_in(list(theme_ids))
    )
    titles: dict[int, str] = {}
    for text in texts:
        if text["theme"] not in titles or text["language"] == original.get(text["theme"]):
            titles[text["theme"]] = text["title"]
    return titles


async def export(member_id: int) -> dict[str, Any]:
    """Everything the platform holds about ``member_id``, by section (see ``SECTIONS``).

    Secrets are never in it (session and link tokens, the calendar feed's address, the password
    hash: only whether there is one). Participation says that the member voted in a poll and on
    which day, never a tracker, never a ballot."""
    row = await Member.select().where(Member.id == member_id).first()
    if row is None:
        raise NotFound(_("No such member."))
    out: dict[str, Any] = {
        "profile": {
            "id": row["id"],
            "name": row["name"],
            "email": row["email"],
            "member_number": row["member_number"],
            "country": row["country"],
            "language": row["language"],
            "shareholder": bool(row["shareholder"]),
            "has_password": bool(row["password_hash"]),
            "created_at": _iso(row["created_at"]),
            "left_at": _iso(row["left_at"]),
            "erased_at": _iso(row["erased_at"]),
        }
    }
    out["roles"] = _clean(
        await MemberRole.select(MemberRole.id, MemberRole.role, MemberRole.country).where(
            MemberRole.member == member_id
        )
    )
    proposals = await Theme.select(
        Theme.id,
        Theme.edition.slug.as_alias("edition"),
        Theme.status,
        Theme.scope,
        Theme.original_language,
        Theme.extension_rationale,
        Theme.support_count,
        Theme.created_at,
        Theme.submitted_at,
        Theme.decided_at,
    ).where(Theme.proposer == member_id)
    texts = await ThemeText.select(
        ThemeText.theme, ThemeText.language, ThemeText.title, ThemeText.description
    ).where(ThemeText.theme.is_in([p["id"] for p in proposals] or [0]))
    for proposal in proposals:
        proposal["texts"] = [
            {k: t[k] for k in ("language", "title", "description")}
            for t in texts
            if t["theme"] == proposal["id"]
        ]
    out["proposals"] = _clean(proposals)
    supports = await Support.select(Support.id, Support.theme, Support.created_at).where(
        Support.member == member_id
    )
    titles = await _theme_titles({s["theme"] for s in supports})
    out["supports"] = _clean([{**s, "theme_title": titles.get(s["theme"], "")} for s in supports])
    out["recommendations"] = _clean(
        await Recommendation.select(
            Recommendation.id,
            Recommendation.working_group,
            Recommendation.country,
            Recommendation.language,
            Recommendation.title,
            Recommendation.text,
            Recommendation.rationale,
            Recommendation.status,
            Recommendation.created_at,
            Recommendation.submitted_at,
        ).where((Recommendation.author == member_id) | (Recommendation.submitted_by == member_id))
    )
    out["comments"] = _clean(
        await RecommendationComment.select(
            RecommendationComment.id,
            RecommendationComment.recommendation,
            RecommendationComment.recommendation.title.as_alias("recommendation_title"),
            RecommendationComment.body,
            RecommendationComment.created_at,
        ).where(RecommendationComment.member == member_id)
    )
    out["endorsements"] = _clean(
        await Endorsement.select(
            Endorsement.id,
            Endorsement.recommendation,
            Endorsement.recommendation.title.as_alias("recommendation_title"),
            Endorsement.created_at,
        ).where(Endorsement.member == member_id)
    )
    registrations = await GroupRegistration.select(
        GroupRegistration.id,
        GroupRegistration.working_group,
        GroupRegistration.working_group.theme.as_alias("theme"),
        GroupRegistration.working_group.locality.as_alias("locality"),
        GroupRegistration.edition.slug.as_alias("edition"),
        GroupRegistration.status,
        GroupRegistration.pledged_at,
        GroupRegistration.created_at,
        GroupRegistration.confirmed_at,
        GroupRegistration.withdrawn_at,
    ).where(GroupRegistration.member == member_id)
    facilitation = await GroupFacilitator.select(
        GroupFacilitator.id,
        GroupFacilitator.working_group,
        GroupFacilitator.working_group.theme.as_alias("theme"),
        GroupFacilitator.working_group.locality.as_alias("locality"),
    ).where(GroupFacilitator.member == member_id)
    titles = await _theme_titles({r["theme"] for r in [*registrations, *facilitation]})
    for item in [*registrations, *facilitation]:
        item["theme_title"] = titles.get(item["theme"], "")
    out["working_groups"] = _clean(registrations)
    out["facilitation"] = _clean(facilitation)
    out["slot_answers"] = _clean(
        await SlotAnswer.select(
            SlotAnswer.id,
            SlotAnswer.slot,
            SlotAnswer.slot.working_group.as_alias("working_group"),
            SlotAnswer.slot.starts_at.as_alias("starts_at"),
            SlotAnswer.answer,
            SlotAnswer.answered_at,
        ).where(SlotAnswer.member == member_id)
    )
    out["attendance"] = _clean(
        await Attendance.select(
            Attendance.id,
            Attendance.meeting,
            Attendance.meeting.working_group.as_alias("working_group"),
            Attendance.meeting.number.as_alias("meeting_number"),
            Attendance.meeting.starts_at.as_alias("starts_at"),
            Attendance.present,
            Attendance.recorded_at,
        ).where(Attendance.member == member_id)
    )
    out["info_sessions"] = _clean(
        await InfoSessionRegistration.select(
            InfoSessionRegistration.id,
            InfoSessionRegistration.info_session,
            InfoSessionRegistration.info_session.title.as_alias("title"),
            InfoSessionRegistration.info_session.starts_at.as_alias("starts_at"),
            InfoSessionRegistration.created_at,
            InfoSessionRegistration.cancelled_at,
        ).where(InfoSessionRegistration.member == member_id)
    )
    # That the member has a feed and since when; its address (a secret) is not exported.
    out["calendar_feed"] = _clean(
        await CalendarFeed.select(CalendarFeed.id, CalendarFeed.created_at).where(
            CalendarFeed.member == member_id
        )
    )
    # That they voted, and on which day: no tracker, no ballot, no exact moment.
    voted = await Participation.select(
        Participation.poll,
        Participation.poll.country.as_alias("country"),
        Participation.poll.edition.slug.as_alias("edition"),
        Participation.channel,
        Participation.created_at,
    ).where(Participation.member == member_id)
    out["polls"] = [
        {
            "poll": v["poll"],
            "country": v["country"],
            "edition": v["edition"],
            "channel": v["channel"],
            "voted_on": v["created_at"].astimezone(UTC).date().isoformat(),
        }
        for v in voted
    ]
    out["electoral_rolls"] = _clean(
        await RollEntry.select(
            RollEntry.id,
            RollEntry.poll,
            RollEntry.poll.country.as_alias("country"),
            RollEntry.poll.edition.slug.as_alias("edition"),
        ).where(RollEntry.member == member_id)
    )
    proxies = await Proxy.select(
        Proxy.id,
        Proxy.poll,
        Proxy.grantor,
        Proxy.holder,
        Proxy.created_at,
        Proxy.revoked_at,
    ).where((Proxy.grantor == member_id) | (Proxy.holder == member_id))
    names = await _names({p["grantor"] for p in proxies} | {p["holder"] for p in proxies})
    out["proxies"] = _clean(
        [
            {
                "id": p["id"],
                "poll": p["poll"],
                "direction": "given" if p["grantor"] == member_id else "held",
                "other_member": names.get(
                    p["holder"] if p["grantor"] == member_id else p["grantor"], ""
                ),
                "created_at": p["created_at"],
                "revoked_at": p["revoked_at"],
            }
            for p in proxies
        ]
    )
    out["tellers"] = _clean(
        await PollTeller.select(PollTeller.id, PollTeller.poll, PollTeller.collected_at).where(
            PollTeller.member == member_id
        )
    )
    out["agm_check_ins"] = _clean(
        await Presence.select(Presence.id, Presence.poll, Presence.checked_in_at).where(
            Presence.member == member_id
        )
    )
    out["notifications"] = _clean(
        await Notification.select(
            Notification.id,
            Notification.event.event_type.as_alias("event_type"),
            Notification.event.payload.as_alias("payload"),
            Notification.created_at,
            Notification.read_at,
        ).where(Notification.member == member_id)
    )
    out["messages"] = _clean(
        await OutboxMessage.select(
            OutboxMessage.id,
            OutboxMessage.event_type,
            OutboxMessage.channel,
            OutboxMessage.state,
            OutboxMessage.created_at,
            OutboxMessage.sent_at,
        ).where(OutboxMessage.member == member_id)
    )
    out["digest_items"] = _clean(
        await DigestItem.select(
            DigestItem.id,
            DigestItem.channel,
            DigestItem.frequency,
            DigestItem.event.event_type.as_alias("event_type"),
            DigestItem.created_at,
        ).where(DigestItem.member == member_id)
    )
    out["notification_preferences"] = _clean(
        await NotificationPreference.select(
            NotificationPreference.id,
            NotificationPreference.event_type,
            NotificationPreference.channel,
            NotificationPreference.enabled,
            NotificationPreference.frequency,
        ).where(NotificationPreference.member == member_id)
    )
    out["sessions"] = _clean(
        await WebSession.select(
            WebSession.id,
            WebSession.browser,
            WebSession.system,
            WebSession.created_at.as_alias("signed_in_at"),
            WebSession.last_seen_at,
            WebSession.expires_at,
        ).where(WebSession.member == member_id)
    )
    out["sign_in_links"] = _clean(
        await SignInToken.select(
            SignInToken.id, SignInToken.created_at, SignInToken.expires_at, SignInToken.used_at
        ).where(SignInToken.member == member_id)
    )
    out["erasure_requests"] = _clean(
        await ErasureRequest.select(
            ErasureRequest.id,
            ErasureRequest.created_at,
            ErasureRequest.expires_at,
            ErasureRequest.confirmed_at,
        ).where(ErasureRequest.member == member_id)
    )
    for item in out["notifications"]:
        item["payload"] = json.loads(item["payload"] or "{}")
    return out


async def _names(member_ids: set[int]) -> dict[int, str]:
    if not member_ids:
        return {}
    rows = await Member.select(Member.id, Member.name, Member.erased_at).where(
        Member.id.is_in(list(member_ids))
    )
    return {r["id"]: (_(ERASED_NAME) if r["erased_at"] else r["name"]) for r in rows}


def display_name(name: str, erased_at: datetime | None) -> str:
    """A member's name as pages show it: an erased member's in the reader's language."""
    return _(ERASED_NAME) if erased_at is not None else name


# -- erasure --------------------------------------------------------------------------------


def _member_of(row: dict[str, Any]) -> CurrentMember:
    return CurrentMember(
        id=row["id"],
        member_number=row["member_number"],
        email=row["email"],
        name=row["name"],
        country=row["country"],
        language=row["language"],
        shareholder=bool(row["shareholder"]),
    )


async def blocking_poll(member_id: int, rules: Rules | None = None) -> dict[str, Any] | None:
    """An open poll the member may vote in (on its roll; for a poll without a roll, eligible by
    the country's rule) or holds a proxy in; None when there is none.

    Without ``rules`` (a caller that has no plugins at hand) a poll without a roll counts its
    country's shareholders as its voters, the core default."""
    row = await Member.select().where(Member.id == member_id).first()
    if row is None:
        return None
    member = _member_of(row)
    open_polls = await Poll.select(
        Poll.id, Poll.country, Poll.closes_at, Poll.roll_size, Poll.edition.slug.as_alias("slug")
    ).where(Poll.state == "open")
    for poll in open_polls:
        holds = await Proxy.exists().where(
            (Proxy.poll == poll["id"]) & (Proxy.holder == member_id) & Proxy.revoked_at.is_null()
        )
        if rules is not None:
            from core.polls import services as polls

            eligible = await polls.may_vote(rules, member, await polls.get_poll(poll["id"]))
        elif poll["roll_size"] is not None:
            eligible = await RollEntry.exists().where(
                (RollEntry.poll == poll["id"]) & (RollEntry.member == member_id)
            )
        else:
            eligible = member.shareholder and member.country == poll["country"]
        if eligible or holds:
            return poll
    return None


def _refusal(poll: dict[str, Any]) -> Conflict:
    return Conflict(
        _(
            "This member's data cannot be erased while the AGM vote of %(edition)s, in which "
            "they may vote, is open. It closes on %(closes)s; erase after that."
        )
        % {"edition": poll["slug"], "closes": moment(poll["closes_at"], poll["country"])}
    )


def may_erase(actor: CurrentMember, member_country: str) -> bool:
    """The member themselves is checked by the caller; an operator of the member's country or a
    board member may erase any member's data."""
    return actor.is_board or actor.is_operator(member_country)


def _scrubbed(value: Any, personal: set[str], placeholder: str) -> Any:
    if isinstance(value, str):
        return placeholder if value.strip().lower() in personal else value
    if isinstance(value, list):
        return [_scrubbed(v, personal, placeholder) for v in value]
    if isinstance(value, dict):
        return {k: _scrubbed(v, personal, placeholder) for k, v in value.items()}
    return value


async def erase(
    member_id: int,
    actor: audit.Actor,
    settings: Settings,
    *,
    rules: Rules | None = None,
) -> None:
    """Erase ``member_id``'s personal data by anonymisation, in one write transaction.

    Refused (409, nothing changed) while an open poll counts the member as a voter or proxy
    holder (the message says when it closes). Supports, participations, registrations and
    attendance stay (counts stay true), now pointing at the anonymised row; texts the member
    wrote are kept or have their wording removed as ``settings.privacy.erased_texts`` says.
    The audit entry names the member by number only."""
    refused_on: dict[str, Any] | None = None
    async with db.write_transaction():
        row = await Member.select().where(Member.id == member_id).first()
        if row is None:
            raise NotFound(_("No such member."))
        if row["erased_at"] is not None:
            raise Conflict(_("This member's data is already erased."))
        poll = await blocking_poll(member_id, rules)
        if poll is not None:
            refused_on = poll
        else:
            await _anonymise(row, settings)
            # The audit log's personal values of this member (names in earlier entries) go too.
            # ``forget_member`` belongs to the audit log; it runs in this transaction.
            forget = getattr(audit, "forget_member", None)
            if forget is not None:
                await forget(member_id)
            await audit.record(
                "member.erase",
                actor=_pseudonymous(actor, member_id),
                country=row["country"],
                object_type="member",
                object_id=member_id,
                details={"erased_texts": settings.privacy.erased_texts},
            )
    if refused_on is not None:
        raise _refusal(refused_on)
    if db.is_sqlite():
        # Overwritten values are zeroed in the file (secure_delete); the WAL still holds the
        # pages as they were until it is checkpointed and truncated.
        await db.scrub("member")
    else:
        # The audit log's personal rows get new files (no other table refers to them), so
        # the deleted ones do not linger as dead tuples. The member row itself is referenced
        # by every table that names a member and cannot be truncated: its old version stays
        # in the table's files until PostgreSQL reuses the space (docs/privacy.md).
        await db.scrub("audit_personal")


async def erase_left_member(member_id: int, settings: Settings) -> None:
    """Retention (``core.maintenance``): anonymise a member who left the cooperative longer ago
    than ``retention.left_members_days``, as the platform's clock (refused, like any erasure,
    while an open poll still counts them)."""
    await erase(member_id, audit.CLOCK, settings)


def _pseudonymous(actor: audit.Actor, member_id: int) -> audit.Actor:
    """A member erasing their own data is named in the audit log by their number only."""
    if isinstance(actor, CurrentMember) and actor.id == member_id:
        return CurrentMember(
            id=member_id,
            member_number=f"erased-{member_id}",
            email="",
            name=ERASED_NAME,
            country=actor.country,
            language=actor.language,
            shareholder=False,
        )
    return actor


async def _anonymise(row: dict[str, Any], settings: Settings) -> None:
    member_id = row["id"]
    email = row["email"].strip().lower()
    now = datetime.now(UTC)
    personal = {v.strip().lower() for v in (row["name"], row["email"], row["member_number"]) if v}
    await MemberRole.delete().where(MemberRole.member == member_id)
    await WebSession.delete().where(WebSession.member == member_id)
    await SignInToken.delete().where(SignInToken.member == member_id)
    await SignInFailure.delete().where(SignInFailure.key == f"account:{email}")
    await SignInLinkRequest.delete().where(
        SignInLinkRequest.key.is_in(
            [f"member:{member_id}", "address:" + hashlib.sha256(email.encode()).hexdigest()]
        )
    )
    await CalendarFeed.delete().where(CalendarFeed.member == member_id)
    await NotificationPreference.delete().where(NotificationPreference.member == member_id)
    await Notification.delete().where(Notification.member == member_id)
    await OutboxMessage.delete().where(OutboxMessage.member == member_id)
    await DigestItem.delete().where(DigestItem.member == member_id)
    await ErasureRequest.delete().where(ErasureRequest.member == member_id)
    # A notice of an address change carries the old address: it goes with the member.
    changes = await NotificationEvent.select(NotificationEvent.id, NotificationEvent.payload).where(
        NotificationEvent.event_type == "email_changed"
    )
    gone = [e["id"] for e in changes if json.loads(e["payload"]).get("member_id") == member_id]
    if gone:
        await NotificationEvent.delete().where(NotificationEvent.id.is_in(gone))
    # A register import waiting or done may list the member's row: its personal values go.
    from core.members.tables import RegisterImport

    imports = await RegisterImport.select(RegisterImport.id, RegisterImport.rows)
    for found in imports:
        text = found["rows"] or ""
        if any(v in text.lower() for v in personal):
            scrubbed = _scrubbed(json.loads(text), personal, f"erased-{member_id}")
            await RegisterImport.update({RegisterImport.rows: json.dumps(scrubbed)}).where(
                RegisterImport.id == found["id"]
            )
    await Member.update(
        {
            Member.name: ERASED_NAME,
            Member.email: f"erased-{member_id}@erased.invalid",
            Member.member_number: f"erased-{member_id}",
            Member.password_hash: None,
            Member.erased_at: now,
            Member.left_at: row["left_at"] or now,
        }
    ).where(Member.id == member_id)
    if settings.privacy.erased_texts == "remove":
        await _remove_texts(member_id)


async def _remove_texts(member_id: int) -> None:
    """Replace the wording of what the member wrote alone: their proposals' descriptions and
    rationale (and titles, unless the proposal is on a poll's ballot, which the cooperative's
    record keeps) and their comments. Recommendations are the group's work and stay."""
    themes = await Theme.select(Theme.id).where(Theme.proposer == member_id)
    theme_ids = [t["id"] for t in themes]
    if theme_ids:
        on_ballot = {
            c["theme"]
            for c in await PollCandidate.select(PollCandidate.theme).where(
                PollCandidate.theme.is_in(theme_ids)
            )
        }
        await Theme.update({Theme.extension_rationale: ""}).where(Theme.id.is_in(theme_ids))
        await ThemeText.update({ThemeText.description: REMOVED_TEXT}).where(
            ThemeText.theme.is_in(theme_ids)
        )
        off_ballot = [t for t in theme_ids if t not in on_ballot]
        if off_ballot:
            await ThemeText.update({ThemeText.title: REMOVED_TEXT}).where(
                ThemeText.theme.is_in(off_ballot)
            )
            events = await NotificationEvent.select(
                NotificationEvent.id, NotificationEvent.payload
            ).where(NotificationEvent.event_type.like("theme_%"))
            for event in events:
                payload = json.loads(event["payload"])
                if payload.get("theme_id") in off_ballot and "title" in payload:
                    payload["title"] = REMOVED_TEXT
                    await NotificationEvent.update(
                        {NotificationEvent.payload: json.dumps(payload)}
                    ).where(NotificationEvent.id == event["id"])
    await RecommendationComment.update({RecommendationComment.body: REMOVED_TEXT}).where(
        RecommendationComment.member == member_id
    )


# -- self-service: a link to confirm --------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def request_erasure(member: CurrentMember, settings: Settings, rules: Rules) -> str:
    """Store a new confirmation link for ``member`` and return its secret (only its SHA-256 is
    stored). Refused at once while an open poll counts the member as a voter."""
    poll = await blocking_poll(member.id, rules)
    if poll is not None:
        raise _own_refusal(poll)
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    await ErasureRequest.insert(
        ErasureRequest(
            member=member.id,
            token_hash=_hash(token),
            created_at=now,
            expires_at=now + timedelta(minutes=settings.privacy.erasure_link_minutes),
        )
    )
    return token


def _own_refusal(poll: dict[str, Any]) -> Conflict:
    return Conflict(
        _(
            "Your data cannot be erased while the AGM vote of %(edition)s is open: you may vote "
            "in it. It closes on %(closes)s; ask again after that."
        )
        % {"edition": poll["slug"], "closes": moment(poll["closes_at"], poll["country"])}
    )


async def deliver_erasure_link(member: CurrentMember, url: str, rules: Rules) -> bool:
    """Send the confirmation link through the member's country's mail channel; in demo mode and
    local development it goes to the server log, as sign-in links do. True when it went."""
    settings = rules.settings
    minutes = settings.privacy.erasure_link_minutes
    if settings.demo or settings.local_development:
        log.warning(
            "erasure confirmation link for member %s (valid %d minutes, single use): %s",
            member.id,
            minutes,
            url,
        )
        return True
    registry = rules.registry
    if "notify_email" in registry.countries.get(member.country, []):
        mail = registry.pm.get_plugin("notify_email")
        compose, send = getattr(mail, "compose", None), getattr(mail, "send", None)
        if compose is not None and send is not None:
            from core.notifications.catalog import in_language

            with in_language(member.language):
                message = compose(
                    settings,
                    to_name=member.name,
                    to_address=member.email,
                    language=member.language,
                    subject=_("Confirm the erasure of your data on %(platform)s")
                    % {"platform": settings.platform.name},
                    paragraphs=[
                        _(
                            "You asked to erase your personal data. Open this link within "
                            "%(minutes)d minutes to confirm; it works once."
                        )
                        % {"minutes": minutes},
                        _("If you did not ask for it, ignore this email: nothing is erased."),
                    ],
                    url=url,
                    key=f"erasure:{secrets.token_hex(16)}",
                    footer="",
                )
            try:
                await send(settings, message)
            except Exception as exc:  # the member asks again
                log.error("could not email an erasure link to member %s: %s", member.id, exc)
                return False
            return True
    log.warning(
        "no mail channel in %s: an erasure link for member %s was not sent",
        member.country,
        member.id,
    )
    return False


async def pending_request(token: str) -> dict[str, Any]:
    """The unconfirmed, unexpired request ``token`` names; an unknown, used or expired link is
    refused (410 for used or expired, 404 for unknown)."""
    found = await ErasureRequest.select().where(ErasureRequest.token_hash == _hash(token)).first()
    if found is None:
        raise NotFound(_("This erasure link is not valid. Ask for a new one on your account page."))
    if found["confirmed_at"] is not None or found["expires_at"] <= datetime.now(UTC):
        raise Gone(
            _("This erasure link has expired or was used. Ask for a new one on your account page.")
        )
    return found


async def confirm_erasure(token: str, settings: Settings, rules: Rules) -> int:
    """Erase the data of the member whose link this is; returns their id. The link works
    once: it is marked used in the same step that checks it."""
    found = await pending_request(token)
    member = await load_member(found["member"])
    if member is None:
        raise NotFound(_("No such member."))
    used = await (
        ErasureRequest.update({ErasureRequest.confirmed_at: datetime.now(UTC)})
        .where(
            (ErasureRequest.id == found["id"])
            & ErasureRequest.confirmed_at.is_null()
            & (ErasureRequest.expires_at > datetime.now(UTC))
        )
        .returning(ErasureRequest.id)
    )
    if not used:
        raise Gone(
            _("This erasure link has expired or was used. Ask for a new one on your account page.")
        )
    try:
        await erase(member.id, member, settings, rules=rules)
    except Conflict as exc:
        await ErasureRequest.update({ErasureRequest.confirmed_at: None}).where(
            ErasureRequest.id == found["id"]
        )
        poll = await blocking_poll(member.id, rules)
        raise _own_refusal(poll) if poll is not None else exc from None
    return member.id


async def erase_by_operator(
    actor: CurrentMember, member_id: int, settings: Settings, rules: Rules
) -> None:
    """An operator of the member's country (or a board member) erases a member's data."""
    row = await Member.select(Member.country).where(Member.id == member_id).first()
    if row is None:
        raise NotFound(_("No such member."))
    if not may_erase(actor, row["country"]):
        raise Forbidden(
            _("Only operators of %(countries)s can do this.") % {"countries": row["country"]}
        )
    await erase(member_id, actor, settings, rules=rules)
