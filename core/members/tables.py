from __future__ import annotations

from piccolo.columns import Boolean, ForeignKey, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

# Roles a member can hold. Operators and tellers act for one country; the others span both.
ROLE_FACILITATOR = "facilitator"
ROLE_OPERATOR = "operator"
ROLE_BOARD = "board"
# A teller holds a share of a poll's ballot-box key and counts it with the other tellers.
ROLE_TELLER = "teller"
ROLES = (ROLE_FACILITATOR, ROLE_OPERATOR, ROLE_BOARD, ROLE_TELLER)
# Roles held for one country (the others span countries).
COUNTRY_ROLES = (ROLE_OPERATOR, ROLE_TELLER)


class Member(Table, tablename="member"):
    member_number = Varchar(length=32, unique=True)
    email = Varchar(length=254, unique=True)
    name = Varchar(length=200)
    country = Varchar(length=2)
    language = Varchar(length=2)
    shareholder = Boolean(default=False)
    password_hash = Varchar(length=255, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    # Set when a confirmed full register no longer lists the member: not eligible, no sign-in,
    # no mail; their history is kept. A returning member is reactivated (back to None).
    left_at = Timestamptz(null=True, default=None)
    # Set when the member's personal data was erased (anonymised); counts stay true.
    erased_at = Timestamptz(null=True, default=None)


class MemberRole(Table, tablename="member_role"):
    """(member, role, country) is unique; country is "" for roles that span countries."""

    member = ForeignKey(references=Member, on_delete=OnDelete.cascade)
    role = Varchar(length=20)
    country = Varchar(length=2, default="")


# States of a register import: previewed, then confirmed or cancelled (once).
IMPORT_PENDING = "pending"
IMPORT_CONFIRMED = "confirmed"
IMPORT_CANCELLED = "cancelled"


class RegisterImport(Table, tablename="register_import"):
    """A register file checked and previewed, waiting for the operator's confirmation.

    ``full`` is a full register (members absent from it are marked as having left) or a partial
    import (additions and updates only). ``rows`` holds the checked rows (JSON) applied at
    confirmation, ``summary`` the preview's figures (JSON). ``state`` moves from pending to
    confirmed or cancelled exactly once (a conditional update), so a preview confirmed twice
    is refused.
    """

    created_by = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    country = Varchar(length=2, default="")  # "" : every country the importer operates
    full = Boolean(default=False)
    state = Varchar(length=10, default=IMPORT_PENDING)
    rows = Text(default="[]")
    summary = Text(default="{}")
    decided_at = Timestamptz(null=True, default=None)
    decided_by = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null)


class ErasureRequest(Table, tablename="erasure_request"):
    """A member's self-service erasure request, confirmed by a link sent to their address.
    Only the SHA-256 of the link's token is stored."""

    member = ForeignKey(references=Member, on_delete=OnDelete.cascade)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    confirmed_at = Timestamptz(null=True, default=None)
