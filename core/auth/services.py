"""Sign-in rules: one-time links, passwords, sessions and failed-attempt limits.

Secrets (link tokens, session tokens) are random and only their SHA-256 is stored, so a copy of
the database lets nobody sign in.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core import db
from core.auth.tables import SignInFailure, SignInToken, WebSession
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
        return int(used[0]["member"])
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


async def set_password(member_id: int, password: str, confirm: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            _("Choose a password of at least %(n)d characters.") % {"n": MIN_PASSWORD_LENGTH}
        )
    if password != confirm:
        raise InvalidInput(_("The two passwords are not the same."))
    await Member.update({Member.password_hash: hash_password(password)}).where(
        Member.id == member_id
    )


async def check_password(email: str, password: str) -> int | None:
    """The member id when the password is right, else None (same work either way)."""
    row = (
        await Member.select(Member.id, Member.password_hash)
        .where(Member.email == email.strip().lower())
        .first()
    )
    stored = row["password_hash"] if row else None
    try:
        _hasher.verify(stored or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or stored is None:
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
        raise InvalidInput(_("That email address and password do not match."))
    await clear_failures(email)
    await SignInFailure.delete().where(SignInFailure.id.is_in(reserved))
    return member_id


async def clear_failures(email: str) -> None:
    account_key, _unused = attempt_keys(email, "")
    await SignInFailure.delete().where(SignInFailure.key == account_key)


# -- sessions --------------------------------------------------------------------------------


async def start_session(member_id: int, days: int, previous_token: str | None = None) -> str:
    """A new session with a new id; the previous one (if any) ends, so ids never carry over."""
    token = secrets.token_urlsafe(32)
    async with db.write_transaction():
        if previous_token:
            await WebSession.delete().where(WebSession.token_hash == token_hash(previous_token))
        await WebSession.insert(
            WebSession(
                token_hash=token_hash(token),
                member=member_id,
                expires_at=now() + timedelta(days=days),
            )
        )
    return token


async def end_session(token: str) -> None:
    await WebSession.delete().where(WebSession.token_hash == token_hash(token))


async def session_member(token: str) -> CurrentMember | None:
    """The member a live session belongs to: one query (each request asks)."""
    from core.members.services import member_where

    return await member_where(
        "JOIN web_session s ON s.member = m.id WHERE s.token_hash = {} AND s.expires_at > {}",
        token_hash(token),
        now(),
    )
