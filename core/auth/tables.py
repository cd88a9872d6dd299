from __future__ import annotations

from piccolo.columns import ForeignKey, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.members.tables import Member


class WebSession(Table, tablename="web_session"):
    """A signed-in browser. The cookie holds a random token; only its hash is stored."""

    token_hash = Varchar(length=64, unique=True)
    member = ForeignKey(references=Member, on_delete=OnDelete.cascade)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    # What the member sees on their account page: the browser and the system in words
    # ("Firefox", "Android"), read from the User-Agent at sign-in, never the header itself.
    browser = Varchar(length=40, default="")
    system = Varchar(length=40, default="")
    # Updated at most every few minutes (not a write per request); None: not since sign-in.
    last_seen_at = Timestamptz(null=True, default=None)


class SignInToken(Table, tablename="sign_in_token"):
    """A one-time sign-in link; only the hash of its secret is stored."""

    token_hash = Varchar(length=64, unique=True)
    member = ForeignKey(references=Member, on_delete=OnDelete.cascade)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)


class SignInFailure(Table, tablename="sign_in_failure"):
    """One failed sign-in, counted per account and per address within a window."""

    key = Varchar(length=300, index=True)
    at = Timestamptz(default=TimestamptzNow())


class SignInLinkRequest(Table, tablename="sign_in_link_request"):
    """One sign-in link asked for, counted per email address (its hash, before the answer) and
    per member (after it), within a window; kept in the database so every worker sees it."""

    key = Varchar(length=100, index=True)
    at = Timestamptz(default=TimestamptzNow(), index=True)
