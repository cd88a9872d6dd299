from __future__ import annotations

from piccolo.columns import Boolean, ForeignKey, Timestamptz, Varchar
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


class MemberRole(Table, tablename="member_role"):
    """(member, role, country) is unique; country is "" for roles that span countries."""

    member = ForeignKey(references=Member, on_delete=OnDelete.cascade)
    role = Varchar(length=20)
    country = Varchar(length=2, default="")
