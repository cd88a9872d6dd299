"""Sign-in rules: one-time links, passwords, sessions and failed-attempt limits.

Secrets (link tokens, session tokens) are random and only their SHA-256 is stored, so a copy of
the database lets nobody sign in.

Asking for a sign-in link is counted twice, in the database so that every worker sees the
counts: per email address before the answer (the same work for a member's address and any
other, so the answer reveals nothing), and per member after it, when the link is issued.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core import db
from core.audit import services as audit
from core.auth.tables import SignInFailure, SignInLinkRequest, SignInToken, WebSession
from core.errors import Gone, InvalidInput, NotFound, TooManyAttempts
from core.i18n import _
from core.members.model import CurrentMember
from core.members.tables import Member

MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


def now() -> datetime:
    return datetime.now(UTC)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- sign-in links ---------------------------------------------------------------------------


async def create_sign_in_link(member_id: int, minutes: int) -> str:
    """Store a new single-use link for a member and return its secret."""
    token = secrets.token_urlsafe(32)
    await SignInToken.insert(
        SignInToken(
            token_hash=token_hash(token),
            member=member_id,
            expires_at=now() + timedelta(minutes=minutes),
        )
    )
    return token


def address_key(email: str) -> str:
    """The key link requests for an address are counted under: a hash, so the addresses people
    typed (members' or not) are not kept."""
    return "address:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()


def member_key(member_id: int) -> str:
    return f"member:{member_id}"


async def count_link_request(key: str, limit: int, window_minutes: int) -> int | None:
    """Count one link request under ``key``: how many there are within the window, this one
    included, or None (and it is not counted) when that would be more than ``limit``.

    As with failed sign-ins, the request is stored *before* the others are counted: requests
    sent at the same moment each see the others, so no more than the limit get through.
    """
    since = now() - timedelta(minutes=window_minutes)
    rows = await SignInLinkRequest.insert(SignInLinkRequest(key=key, at=now())).returning(
        SignInLinkRequest.id
    )
    counted = await SignInLinkRequest.count().where(
        (SignInLinkRequest.key == key) & (SignInLinkRequest.at > since)
    )
    if counted > limit:
        await SignInLinkRequest.delete().where(SignInLinkRequest.id == rows[0]["id"])
        return None
    return counted


async def forget_link_requests(window_minutes: int) -> None:
    """Drop the counts that have left the window (they limit nothing any more)."""
    since = now() - timedelta(minutes=window_minutes)
    await SignInLinkRequest.delete().where(SignInLinkRequest.at <= since)


async def issue_sign_in_link(
    member: CurrentMember, minutes: int, limit: int, window_minutes: int
) -> str | None:
    """A new link for a member who asked for one (the sign-in form), within the member's limit
    of ``limit`` per ``window_minutes``; None, and nothing issued, beyond it.

    The link and its audit entry (the member and how many links they were sent within the
    window; never the address typed, nor the link) are written in one transaction.
    """
    if await has_left(member.id):
        return None  # a member who left signs in no more: the same answer, no link
    counted = await count_link_request(member_key(member.id), limit, window_minutes)
    if counted is None:
        return None
    token = secrets.token_urlsafe(32)
    async with db.write_transaction():
        await SignInToken.insert(
            SignInToken(
                token_hash=token_hash(token),
                member=member.id,
                expires_at=now() + timedelta(minutes=minutes),
            )
        )
        await audit.record(
            "member.link_request",
            actor=member,
            role=audit.ROLE_MEMBER,  # asked in the member's name, from the sign-in form
            country=member.country,
            object_type="member",
            object_id=member.id,
            details={"count": counted, "window_minutes": window_minutes},
            personal={member.id: {"member_number": member.member_number}},
        )
    return token


async def redeem_sign_in_link(token: str) -> int:
    """Use a link once and return its member; a used, expired or unknown link is refused.

    The check and the use are one UPDATE, so two simultaneous clicks cannot both sign in.
    """
    moment = now()
    used = (
        await SignInToken.update({SignInToken.used_at: moment})
        .where(
            (SignInToken.token_hash == token_hash(token))
            & SignInToken.used_at.is_null()
            & (SignInToken.expires_at > moment)
        )
        .returning(SignInToken.member)
    )
    if used:
        member_id = int(used[0]["member"])
        if await has_left(member_id):  # a link sent before the member left: not valid now
            raise NotFound(_("This sign-in link is not valid. Ask for a new one."))
        return member_id
    row = (
        await SignInToken.select(SignInToken.used_at, SignInToken.expires_at)
        .where(SignInToken.token_hash == token_hash(token))
        .first()
    )
    if row is None:
        raise NotFound(_("This sign-in link is not valid. Ask for a new one."))
    if row["used_at"] is not None:
        raise Gone(_("This sign-in link has already been used. Ask for a new one."))
    raise Gone(_("This sign-in link has expired. Ask for a new one."))


async def has_left(member_id: int) -> bool:
    """Whether the member left the cooperative (a confirmed full register no longer lists
    them): they sign in no more, by any means."""
    row = await Member.select(Member.left_at).where(Member.id == member_id).first()
    return row is not None and row["left_at"] is not None


async def link_status(token: str) -> str:
    """'valid', 'used', 'expired' or 'unknown', without using the link."""
    row = (
        await SignInToken.select(SignInToken.used_at, SignInToken.expires_at)
        .where(SignInToken.token_hash == token_hash(token))
        .first()
    )
    if row is None:
        return "unknown"
    if row["used_at"] is not None:
        return "used"
    return "expired" if row["expires_at"] <= now() else "valid"


# -- passwords -------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    return _hasher.hash(password)


async def set_password(
    member_id: int,
    password: str,
    confirm: str,
    *,
    keep_session: str | None = None,
    actor: CurrentMember | None = None,
) -> int:
    """Set or change a member's password; every session of the member ends but the one whose
    token is ``keep_session`` (the one making the change). With ``actor`` the change is
    audited, in the same transaction (the member, how many sessions ended; never the password).
    Returns how many sessions ended."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            _("Choose a password of at least %(n)d characters.") % {"n": MIN_PASSWORD_LENGTH}
        )
    if password != confirm:
        raise InvalidInput(_("The two passwords are not the same."))
    hashed = hash_password(password)  # slow on purpose: before the write lock is taken
    others = WebSession.member == member_id
    if keep_session:
        others &= WebSession.token_hash != token_hash(keep_session)
    async with db.write_transaction():
        await Member.update({Member.password_hash: hashed}).where(Member.id == member_id)
        ended = await WebSession.delete().where(others).returning(WebSession.id)
        if actor is not None:
            await audit.record(
                "member.password_change",
                actor=actor,
                role=audit.ROLE_MEMBER,
                country=actor.country,
                object_type="member",
                object_id=member_id,
                details={"sessions_ended": len(ended)},
                personal={actor.id: {"member_number": actor.member_number}},
            )
    return len(ended)


async def check_password(email: str, password: str) -> int | None:
    """The member id when the password is right, else None (same work either way)."""
    row = (
        await Member.select(Member.id, Member.password_hash, Member.left_at)
        .where(Member.email == email.strip().lower())
        .first()
    )
    stored = row["password_hash"] if row else None
    try:
        _hasher.verify(stored or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or stored is None or row["left_at"] is not None:
        return None
    if _hasher.check_needs_rehash(stored):
        await Member.update({Member.password_hash: hash_password(password)}).where(
            Member.id == row["id"]
        )
    return int(row["id"])


_DUMMY_HASH = _hasher.hash("timing equaliser for unknown accounts")


# -- failed attempts -------------------------------------------------------------------------


def attempt_keys(email: str, address: str) -> tuple[str, str]:
    return f"account:{email.strip().lower()}", f"address:{address}"


async def password_attempt(
    email: str,
    password: str,
    address: str,
    per_account: int,
    per_address: int,
    window_minutes: int,
) -> int:
    """Check an email and password within the limits of failed attempts; the member's id.

    The attempt is counted *before* the password is checked, and removed again if it succeeds
    or is refused as one too many: guesses sent at the same moment each see the others, so no
    more than the limit get through (checking first and recording after would let them all).
    """
    since = now() - timedelta(minutes=window_minutes)
    account_key, address_key = attempt_keys(email, address)
    rows = await SignInFailure.insert(
        SignInFailure(key=account_key), SignInFailure(key=address_key)
    ).returning(SignInFailure.id)
    reserved = [row["id"] for row in rows]
    for key, limit in ((account_key, per_account), (address_key, per_address)):
        attempts = await SignInFailure.count().where(
            (SignInFailure.key == key) & (SignInFailure.at > since)
        )
        if attempts > limit:  # this one included
            await SignInFailure.delete().where(SignInFailure.id.is_in(reserved))
            raise TooManyAttempts(
                _("Too many failed sign-ins. Wait %(m)d minutes or use a sign-in link.")
                % {"m": window_minutes}
            )
    member_id = await check_password(email, password)
    if member_id is None:  # the reserved rows stay: they are this failure
        await _audit_refused_password(email)
        raise InvalidInput(_("That email address and password do not match."))
    await clear_failures(email)
    await SignInFailure.delete().where(SignInFailure.id.is_in(reserved))
    return member_id


async def _audit_refused_password(email: str) -> None:
    """A wrong password for a member's address is audited against that member (the attempts
    counted within the limits only, so a guesser cannot flood the log); an address that is no
    member's leaves no entry. Never the password typed."""
    from core.members.services import load_member

    row = await Member.select(Member.id).where(Member.email == email.strip().lower()).first()
    if row is None:
        return
    member = await load_member(row["id"])
    await audit.record(
        "member.sign_in_refused",
        actor=audit.VISITOR,
        country=member.country,
        object_type="member",
        object_id=member.id,
        details={"method": SIGN_IN_PASSWORD, "result": "wrong password"},
        personal={member.id: {"member_number": member.member_number}},
    )


async def clear_failures(email: str) -> None:
    account_key, _unused = attempt_keys(email, "")
    await SignInFailure.delete().where(SignInFailure.key == account_key)


# -- sessions --------------------------------------------------------------------------------


# How a member signed in, as the audit log names it.
SIGN_IN_LINK = "link"
SIGN_IN_PASSWORD = "password"


async def start_session(
    member_id: int,
    days: int,
    previous_token: str | None = None,
    *,
    method: str | None = None,
    browser: str = "",
    system: str = "",
) -> str:
    """A new session with a new id; the previous one (if any) ends, so ids never carry over.

    With ``method`` (``SIGN_IN_LINK`` or ``SIGN_IN_PASSWORD``) the sign-in is audited in the
    same transaction: the member and the method, never the link or the password. ``browser``
    and ``system`` name the device for the member's list of sessions (``devices.describe``).
    """
    from core.members.services import load_member

    member = await load_member(member_id) if method else None
    token = secrets.token_urlsafe(32)
    moment = now()
    async with db.write_transaction():
        if previous_token:
            await WebSession.delete().where(WebSession.token_hash == token_hash(previous_token))
        await WebSession.insert(
            WebSession(
                token_hash=token_hash(token),
                member=member_id,
                expires_at=moment + timedelta(days=days),
                browser=browser[:40],
                system=system[:40],
                last_seen_at=moment,
            )
        )
        if member is not None:
            await audit.record(
                "member.sign_in",
                actor=member,
                role=audit.ROLE_MEMBER,  # whatever roles they hold, they signed in as themselves
                country=member.country,
                object_type="member",
                object_id=member.id,
                details={"method": method, "result": "signed in"},
                personal={member.id: {"member_number": member.member_number}},
            )
    _seen[token_hash(token)] = moment
    return token


async def end_session(token: str) -> None:
    await WebSession.delete().where(WebSession.token_hash == token_hash(token))


async def session_member(token: str) -> CurrentMember | None:
    """The member a live session belongs to: one query (each request asks), and now and then
    (``SEEN_EVERY``) a second one that notes the session as last seen now."""
    from core.members.services import member_where

    hashed = token_hash(token)
    member = await member_where(
        "JOIN web_session s ON s.member = m.id "
        "WHERE s.token_hash = {} AND s.expires_at > {} AND m.left_at IS NULL",
        hashed,
        now(),
    )
    if member is not None:
        await note_seen(hashed)
    return member


# A session's "last seen" is written at most this often, not at every request.
SEEN_EVERY = timedelta(minutes=5)
# When this process last noted each session as seen (by token hash); forgotten when it grows
# beyond SEEN_MEMORY (each session is then noted once more, no harm done).
_seen: dict[str, datetime] = {}
SEEN_MEMORY = 10_000


async def note_seen(hashed: str) -> None:
    """Note the session as last seen now, unless that was done less than ``SEEN_EVERY`` ago
    (by this process, or by another: the stored time is read first)."""
    moment = now()
    last = _seen.get(hashed)
    if last is not None and moment - last < SEEN_EVERY:
        return
    if len(_seen) >= SEEN_MEMORY:
        _seen.clear()
    _seen[hashed] = moment
    row = (
        await WebSession.select(WebSession.last_seen_at)
        .where(WebSession.token_hash == hashed)
        .first()
    )
    stored = row["last_seen_at"] if row else None
    if row is None or (stored is not None and moment - stored < SEEN_EVERY):
        return
    await WebSession.update({WebSession.last_seen_at: moment}).where(
        WebSession.token_hash == hashed
    )


class SessionView(msgspec.Struct, frozen=True, kw_only=True):
    """A member's live session as their account page lists it. ``id`` is the row's id, never
    its token (which the database does not hold anyway, only its hash)."""

    id: int
    browser: str
    system: str
    signed_in_at: datetime
    last_seen_at: datetime
    current: bool


async def member_sessions(member_id: int, current_token: str | None) -> list[SessionView]:
    """The member's live sessions: the one of ``current_token`` first, then the most recently
    seen."""
    current = token_hash(current_token) if current_token else None
    rows = await WebSession.select(
        WebSession.id,
        WebSession.token_hash,
        WebSession.browser,
        WebSession.system,
        WebSession.created_at,
        WebSession.last_seen_at,
    ).where((WebSession.member == member_id) & (WebSession.expires_at > now()))
    views = [
        SessionView(
            id=row["id"],
            browser=row["browser"],
            system=row["system"],
            signed_in_at=row["created_at"],
            last_seen_at=row["last_seen_at"] or row["created_at"],
            current=row["token_hash"] == current,
        )
        for row in rows
    ]
    views.sort(key=lambda view: (not view.current, -view.last_seen_at.timestamp(), -view.id))
    return views


async def end_member_session(member_id: int, session_id: int) -> str:
    """End one of the member's sessions, by its id; the hash of its token (so the caller can
    tell whether it was their own). Another member's session, or none, is 404 and nothing
    changes."""
    if not 1 <= session_id <= db.ID_MAX:
        raise NotFound(_("There is no such session."))
    ended = (
        await WebSession.delete()
        .where((WebSession.id == session_id) & (WebSession.member == member_id))
        .returning(WebSession.token_hash)
    )
    if not ended:
        raise NotFound(_("There is no such session."))
    return str(ended[0]["token_hash"])


async def end_member_sessions(member_id: int) -> int:
    """Sign the member out everywhere: every session ends, the caller's too. How many."""
    ended = await WebSession.delete().where(WebSession.member == member_id).returning(WebSession.id)
    return len(ended)
