"""A member's own data: the export covers every table that points at a member (a test built
from the table registry), the page shows it to the member alone, the JSON is a download."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from core.auth.tables import SignInToken, WebSession
from core.config import Settings
from core.editions.tables import Edition
from core.groups.tables import (
    Attendance,
    CalendarFeed,
    GroupFacilitator,
    GroupRegistration,
    InfoSession,
    InfoSessionRegistration,
    Meeting,
    MeetingSlot,
    SlotAnswer,
    WorkingGroup,
)
from core.members import privacy
from core.members.tables import ErasureRequest, Member, MemberRole
from core.notifications.tables import (
    DigestItem,
    Notification,
    NotificationEvent,
    NotificationPreference,
    OutboxMessage,
)
from core.piccolo_app import TABLES
from core.polls.tables import (
    Participation,
    Poll,
    PollTeller,
    Presence,
    Proxy,
    RollEntry,
)
from core.recommendations.tables import Endorsement, Recommendation, RecommendationComment
from core.themes.tables import Support, Theme, ThemeText
from tests.conftest import add_member, sign_in


def member_columns() -> set[tuple[str, str]]:
    """Every (table, column) of the registry that is a foreign key to a member."""
    return {
        (table._meta.tablename, column._meta.name)
        for table in TABLES
        for column in table._meta.foreign_key_columns
        if column._foreign_key_meta.resolved_references is Member
    }


def test_every_member_column_is_covered_or_excluded_with_a_reason() -> None:
    found = member_columns()
    unaccounted = found - privacy.COVERAGE.keys() - privacy.EXCLUDED.keys()
    assert not unaccounted, f"add these to privacy.COVERAGE or EXCLUDED: {sorted(unaccounted)}"
    assert not (privacy.COVERAGE.keys() & privacy.EXCLUDED.keys())
    assert all(len(reason) > 20 for reason in privacy.EXCLUDED.values())
    # No stale entry: the map names only columns that exist.
    assert (privacy.COVERAGE.keys() | privacy.EXCLUDED.keys()) <= found
    assert set(privacy.COVERAGE.values()) <= set(privacy.SECTIONS)
    # Ballots have no member column by design.
    assert not {t for t, _c in found} & {"sealed_ballot", "clear_ballot"}


async def _id(rows: list[dict[str, Any]]) -> int:
    return int(rows[0]["id"])


async def seed_everything(member_id: int) -> dict[tuple[str, str], int]:
    """One row in every covered table for ``member_id``; the row's id by (table, column)
    (a participation by its poll's id: the export never shows a participation's own row)."""
    other = await add_member(f"other-{uuid.uuid4().hex[:6]}@example.org", name="Olga Other")
    now = datetime.now(UTC)
    edition = await _id(await Edition.insert(Edition(slug=f"e-{uuid.uuid4().hex[:6]}")))
    theme = await _id(
        await Theme.insert(
            Theme(
                edition=edition,
                origin="member",
                status="submitted",
                scope="BE",
                original_language="en",
                proposer=member_id,
            )
        )
    )
    await ThemeText.insert(ThemeText(theme=theme, language="en", title="Bees on roofs"))
    poll = await _id(
        await Poll.insert(
            Poll(edition=edition, country="BE", method="approval", opens_at=now, closes_at=now)
        )
    )
    group = await _id(
        await WorkingGroup.insert(
            WorkingGroup(
                edition=edition,
                theme=theme,
                country="BE",
                locality="Gent",
                language="nl",
                capacity=10,
            )
        )
    )
    slot = await _id(
        await MeetingSlot.insert(
            MeetingSlot(
                working_group=group, starts_at=now, duration_minutes=60, mode="online", place="x"
            )
        )
    )
    meeting = await _id(
        await Meeting.insert(
            Meeting(
                working_group=group,
                number=1,
                starts_at=now,
                duration_minutes=60,
                mode="online",
                place="x",
            )
        )
    )
    session = await _id(
        await InfoSession.insert(
            InfoSession(
                edition=edition,
                country="BE",
                title="Info",
                language="en",
                starts_at=now,
                duration_minutes=60,
                mode="online",
                place="x",
                capacity=10,
            )
        )
    )
    recommendation = await _id(
        await Recommendation.insert(
            Recommendation(
                working_group=group,
                edition=edition,
                theme=theme,
                country="BE",
                language="en",
                title="More bees",
                author=member_id,
                submitted_by=member_id,
            )
        )
    )
    event = await _id(
        await NotificationEvent.insert(
            NotificationEvent(
                key=uuid.uuid4().hex, event_type="poll_opened", country="BE", payload="{}"
            )
        )
    )
    later = now + timedelta(hours=1)
    seeded = {
        ("member_role", "member"): await _id(
            await MemberRole.insert(MemberRole(member=member_id, role="facilitator"))
        ),
        ("theme", "proposer"): theme,
        ("support", "member"): await _id(
            await Support.insert(Support(theme=theme, member=member_id))
        ),
        ("recommendation", "author"): recommendation,
        ("recommendation", "submitted_by"): recommendation,
        ("recommendation_comment", "member"): await _id(
            await RecommendationComment.insert(
                RecommendationComment(recommendation=recommendation, member=member_id, body="Yes")
            )
        ),
        ("recommendation_endorsement", "member"): await _id(
            await Endorsement.insert(Endorsement(recommendation=recommendation, member=member_id))
        ),
        ("group_registration", "member"): await _id(
            await GroupRegistration.insert(
                GroupRegistration(
                    working_group=group,
                    edition=edition,
                    member=member_id,
                    status="confirmed",
                    pledged_at=now,
                )
            )
        ),
        ("group_facilitator", "member"): await _id(
            await GroupFacilitator.insert(GroupFacilitator(working_group=group, member=member_id))
        ),
        ("group_slot_answer", "member"): await _id(
            await SlotAnswer.insert(SlotAnswer(slot=slot, member=member_id, answer="yes"))
        ),
        ("group_attendance", "member"): await _id(
            await Attendance.insert(Attendance(meeting=meeting, member=member_id, present=True))
        ),
        ("info_session_registration", "member"): await _id(
            await InfoSessionRegistration.insert(
                InfoSessionRegistration(info_session=session, member=member_id)
            )
        ),
        ("calendar_feed", "member"): await _id(
            await CalendarFeed.insert(CalendarFeed(member=member_id, salt="s" * 32))
        ),
        ("participation", "member"): poll,
        ("poll_roll", "member"): await _id(
            await RollEntry.insert(RollEntry(poll=poll, member=member_id))
        ),
        ("proxy", "grantor"): await _id(
            await Proxy.insert(Proxy(poll=poll, grantor=member_id, holder=other))
        ),
        ("proxy", "holder"): await _id(
            await Proxy.insert(Proxy(poll=poll, grantor=other, holder=member_id))
        ),
        ("poll_teller", "member"): await _id(
            await PollTeller.insert(PollTeller(poll=poll, member=member_id))
        ),
        ("presence", "member"): await _id(
            await Presence.insert(Presence(poll=poll, member=member_id))
        ),
        ("notification", "member"): await _id(
            await Notification.insert(
                Notification(member=member_id, event=event, idempotency_key=uuid.uuid4().hex)
            )
        ),
        ("outbox_message", "member"): await _id(
            await OutboxMessage.insert(
                OutboxMessage(
                    event=event,
                    idempotency_key=uuid.uuid4().hex,
                    event_type="poll_opened",
                    country="BE",
                    channel="email",
                    member=member_id,
                )
            )
        ),
        ("digest_item", "member"): await _id(
            await DigestItem.insert(
                DigestItem(member=member_id, channel="email", frequency="daily", event=event)
            )
        ),
        ("notification_preference", "member"): await _id(
            await NotificationPreference.insert(
                NotificationPreference(member=member_id, event_type="poll_opened", channel="email")
            )
        ),
        ("web_session", "member"): await _id(
            await WebSession.insert(
                WebSession(token_hash=uuid.uuid4().hex, member=member_id, expires_at=later)
            )
        ),
        ("sign_in_token", "member"): await _id(
            await SignInToken.insert(
                SignInToken(token_hash=uuid.uuid4().hex, member=member_id, expires_at=later)
            )
        ),
        ("erasure_request", "member"): await _id(
            await ErasureRequest.insert(
                ErasureRequest(member=member_id, token_hash=uuid.uuid4().hex, expires_at=later)
            )
        ),
    }
    await Participation.insert(Participation(poll=poll, member=member_id, channel="online"))
    return seeded


async def test_the_export_lists_a_row_of_every_covered_table(database: Settings) -> None:
    member_id = await add_member("zoe@example.org", name="Zoë Zimmer", number="BE-77001")
    seeded = await seed_everything(member_id)
    assert seeded.keys() == privacy.COVERAGE.keys(), "seed a row for every covered column"
    data = await privacy.export(member_id)
    assert data["profile"]["name"] == "Zoë Zimmer"
    assert data["profile"]["member_number"] == "BE-77001"
    for (table, column), row_id in seeded.items():
        section = privacy.COVERAGE[(table, column)]
        key = "poll" if table == "participation" else "id"
        assert row_id in [item[key] for item in data[section]], (table, column, section)
    # Voting: that the member voted, and the day; never a tracker, never a ballot.
    (voted,) = data["polls"]
    assert set(voted) == {"poll", "country", "edition", "channel", "voted_on"}
    # Secrets stay out: session and link tokens, the feed's salt.
    text = json.dumps(data)
    for secret in ("token_hash", "salt", "password_hash", "tracker"):
        assert secret not in text
    assert {p["direction"] for p in data["proxies"]} == {"given", "held"}


async def test_the_page_shows_the_members_own_data_and_no_one_elses(
    client: Any, database: Settings
) -> None:
    member_id = await add_member("zoe@example.org", name="Zoë Zimmer", number="BE-77001")
    stranger = await add_member("sam@example.org", name="Sam Stranger", number="BE-99999")
    await seed_everything(member_id)
    theme = await Theme.select(Theme.id).first()
    await Support.insert(Support(theme=theme["id"], member=stranger))
    await sign_in(client, member_id)

    page = await client.get("/account/data")
    assert page.status_code == 200
    html = page.text
    assert "Zoë Zimmer" in html and "BE-77001" in html
    for heading in ("Profile", "Supports", "Polls you voted in", "Proxies", "Erase my data"):
        assert f">{heading}</h2>" in html
    assert "Bees on roofs" in html  # the theme they support and proposed
    assert "Sam Stranger" not in html and "sam@example.org" not in html

    download = await client.get("/api/account/data")
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment;")
    data = download.json()
    assert data["profile"]["email"] == "zoe@example.org"
    assert "sam@example.org" not in download.text and "BE-99999" not in download.text
    assert len(data["supports"]) == 1

    account = await client.get("/account")
    assert 'href="/account/data"' in account.text


async def test_a_visitor_gets_no_data(client: Any, database: Settings) -> None:
    await add_member("zoe@example.org", name="Zoë Zimmer")
    api = await client.get("/api/account/data")
    assert api.status_code == 401
    page = await client.get("/account/data", follow_redirects=False)
    assert page.status_code in (401, 302, 303)
    assert "Zoë Zimmer" not in page.text
