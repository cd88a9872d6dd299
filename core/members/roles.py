"""Who may give which role to whom, and the roles a viewer manages, independent of HTTP.

The board gives and takes the board role and the operator role of any country. An operator
gives and takes, for the members of the countries they operate only, the teller role of those
countries and the facilitator role (which spans countries: the member's country decides).
Anyone else may do neither. The last board member and a country's last operator keep their
role whoever asks (``core.members.services``, so the command line is held to it too).
"""

from __future__ import annotations

import msgspec

from core.config import Settings
from core.errors import Forbidden, InvalidInput
from core.i18n import N_, _
from core.members.model import CurrentMember
from core.members.services import (
    grant_member_role,
    load_member,
    member_by_email,
    revoke_member_role,
    role_scope,
)
from core.members.tables import (
    ROLE_BOARD,
    ROLE_FACILITATOR,
    ROLE_OPERATOR,
    ROLE_TELLER,
    Member,
    MemberRole,
)
from core.text import has_control_characters

# The roles in the order the page lists them, and their names in the operators' words.
ROLE_ORDER = (ROLE_BOARD, ROLE_OPERATOR, ROLE_TELLER, ROLE_FACILITATOR)
ROLE_LABELS = {
    ROLE_BOARD: N_("board member"),
    ROLE_OPERATOR: N_("operator"),
    ROLE_TELLER: N_("teller"),
    ROLE_FACILITATOR: N_("facilitator"),
}
# A member is named by an email address (254 characters at most) or a member number.
REF_MAX = 254


class RoleHolder(msgspec.Struct, frozen=True):
    member_number: str
    name: str
    email: str
    country: str  # the member's country
    active: bool  # False: the member left the cooperative or their data were erased


class RoleGroup(msgspec.Struct, frozen=True):
    """The holders of one role: the board's; a country's operators or tellers (``country``:
    the role's country); the facilitators among a country's members (``country``: theirs)."""

    role: str
    country: str  # "" for the board
    holders: list[RoleHolder]


class GrantChoice(msgspec.Struct, frozen=True):
    """A role the viewer may give: for operators and tellers, the countries it may be given
    for; for facilitators, the countries whose members may get it; none for the board."""

    role: str
    countries: list[str]


class RolesOverview(msgspec.Struct, frozen=True):
    groups: list[RoleGroup]
    grantable: list[GrantChoice]


class RoleChange(msgspec.Struct, frozen=True):
    member_number: str
    name: str
    role: str
    country: str  # the role's country, "" for the roles that span countries
    changed: bool  # False: the member held the role already (or, revoking, did not hold it)


def require_role_manager(viewer: CurrentMember) -> None:
    if not (viewer.is_board or viewer.is_operator()):
        raise Forbidden(_("Only operators and board members manage roles."))


def grantable(viewer: CurrentMember, settings: Settings) -> list[GrantChoice]:
    """The roles ``viewer`` may give and take, in ``ROLE_ORDER``."""
    choices = []
    if viewer.is_board:
        choices.append(GrantChoice(role=ROLE_BOARD, countries=[]))
        choices.append(GrantChoice(role=ROLE_OPERATOR, countries=list(settings.countries)))
    operated = [c for c in settings.countries if viewer.is_operator(c)]
    if operated:
        choices.append(GrantChoice(role=ROLE_TELLER, countries=operated))
        choices.append(GrantChoice(role=ROLE_FACILITATOR, countries=operated))
    return choices


def role_label(role: str, country: str = "") -> str:
    """A role as the page says it: "teller (BE)"."""
    label = _(ROLE_LABELS.get(role, role))
    return f"{label} ({country})" if country else label


def check_may_change(viewer: CurrentMember, member: CurrentMember, role: str, country: str) -> str:
    """Refuse (403) unless ``viewer`` may give or take ``role`` (for ``country``) to or from
    ``member``; the role's country as stored ("" for the roles that span countries)."""
    require_role_manager(viewer)
    # Countries are separate: an operator acts on their own countries' members only.
    if not (viewer.is_board or viewer.is_operator(member.country)):
        raise Forbidden(
            _("You manage the roles of the members of %(countries)s only.")
            % {"countries": ", ".join(viewer.operator_countries)}
        )
    scope = role_scope(role, country)
    if role in (ROLE_BOARD, ROLE_OPERATOR):
        if not viewer.is_board:
            raise Forbidden(_("Only board members give or take the board and operator roles."))
        return scope
    if not viewer.is_operator(member.country):
        raise Forbidden(
            _("Only operators of %(country)s give or take roles of its members.")
            % {"country": member.country}
        )
    if scope and not viewer.is_operator(scope):
        raise Forbidden(
            _("Only operators of %(country)s give or take the %(role)s role for %(country)s.")
            % {"country": scope, "role": _(ROLE_LABELS[role])}
        )
    return scope


async def find_member(ref: str) -> CurrentMember:
    """The member an email address or a member number names; 400 when none does."""
    text = ref.strip()
    if not text:
        raise InvalidInput(_("Give the member's email address or member number."))
    found = None
    if len(text) <= REF_MAX and not has_control_characters(text):
        if "@" in text:
            found = await member_by_email(text)
        else:
            row = await Member.select(Member.id).where(Member.member_number == text).first()
            found = await load_member(row["id"]) if row else None
    if found is None:
        raise InvalidInput(
            _("No member has the email address or member number %(ref)s.") % {"ref": text[:REF_MAX]}
        )
    return found


async def grant(viewer: CurrentMember, ref: str, role: str, country: str = "") -> RoleChange:
    """``viewer`` gives the member ``ref`` names a role, audited as ``viewer``."""
    require_role_manager(viewer)
    member = await find_member(ref)
    scope = check_may_change(viewer, member, role, country)
    changed = await grant_member_role(member, role, scope, actor=viewer)
    return RoleChange(member.member_number, member.name, role, scope, changed)


async def revoke(viewer: CurrentMember, ref: str, role: str, country: str = "") -> RoleChange:
    """``viewer`` takes a role away from the member ``ref`` names, audited as ``viewer``."""
    require_role_manager(viewer)
    member = await find_member(ref)
    scope = check_may_change(viewer, member, role, country)
    changed = await revoke_member_role(member, role, scope, actor=viewer)
    return RoleChange(member.member_number, member.name, role, scope, changed)


async def overview(viewer: CurrentMember, settings: Settings) -> RolesOverview:
    """The holders of each role ``viewer`` manages, per country, and what they may give."""
    require_role_manager(viewer)
    rows = await MemberRole.raw(
        "SELECT r.role, r.country AS role_country, m.member_number, m.name, m.email, "
        "m.country, m.left_at, m.erased_at FROM member_role r JOIN member m ON m.id = r.member "
        "ORDER BY m.name, m.member_number"
    )

    def holders(role: str, role_country: str, members_of: str | None = None) -> list[RoleHolder]:
        return [
            RoleHolder(
                member_number=r["member_number"],
                name=r["name"],
                email=r["email"],
                country=r["country"],
                active=r["left_at"] is None and r["erased_at"] is None,
            )
            for r in rows
            if r["role"] == role
            and r["role_country"] == role_country
            and (members_of is None or r["country"] == members_of)
        ]

    groups = []
    if viewer.is_board:
        groups.append(RoleGroup(ROLE_BOARD, "", holders(ROLE_BOARD, "")))
    for country in settings.countries:
        if viewer.is_board:
            groups.append(RoleGroup(ROLE_OPERATOR, country, holders(ROLE_OPERATOR, country)))
        if viewer.is_operator(country):
            groups.append(RoleGroup(ROLE_TELLER, country, holders(ROLE_TELLER, country)))
            groups.append(
                RoleGroup(ROLE_FACILITATOR, country, holders(ROLE_FACILITATOR, "", country))
            )
    return RolesOverview(groups=groups, grantable=grantable(viewer, settings))
