"""Member look-ups and role changes, independent of HTTP."""

from __future__ import annotations

from core import db
from core.audit import services as audit
from core.config import COUNTRIES, LANGUAGES
from core.errors import Conflict, InvalidInput, NotFound
from core.i18n import _
from core.members.model import CurrentMember
from core.members.tables import (
    COUNTRY_ROLES,
    ROLE_BOARD,
    ROLE_FACILITATOR,
    ROLE_OPERATOR,
    ROLES,
    Member,
    MemberRole,
)


def normalise_email(email: str) -> str:
    return email.strip().lower()


_MEMBER_AND_ROLES = (
    "SELECT m.id, m.member_number, m.email, m.name, m.country, m.language, m.shareholder, "
    "m.password_hash, r.role, r.country AS role_country "
    "FROM member m LEFT JOIN member_role r ON r.member = m.id "
)


async def member_where(condition: str, *args: object) -> CurrentMember | None:
    """The member a condition on ``m`` (the member) finds, roles included, in one query.

    ``condition`` may join more tables first (``JOIN web_session s ON ... WHERE ...``)."""
    rows = await Member.raw(_MEMBER_AND_ROLES + condition, *args)
    if not rows:
        return None
    row = rows[0]
    return CurrentMember(
        id=row["id"],
        member_number=row["member_number"],
        email=row["email"],
        name=row["name"],
        country=row["country"],
        language=row["language"],
        shareholder=bool(row["shareholder"]),
        has_password=bool(row["password_hash"]),
        roles=tuple(sorted((r["role"], r["role_country"]) for r in rows if r["role"] is not None)),
    )


async def load_member(member_id: int) -> CurrentMember | None:
    return await member_where("WHERE m.id = {}", member_id)


async def member_by_email(email: str) -> CurrentMember | None:
    row = await Member.select(Member.id).where(Member.email == normalise_email(email)).first().run()
    return await load_member(row["id"]) if row else None


async def set_language(member_id: int, language: str) -> None:
    if language not in LANGUAGES:
        raise InvalidInput(f"Unknown language {language!r}; choose one of {', '.join(LANGUAGES)}.")
    await Member.update({Member.language: language}).where(Member.id == member_id)


# -- roles ----------------------------------------------------------------------------------

# Roles the platform must never lose its last holder of: the board, and each country's
# operators (whoever removed the last one could not give it back from the web).
PROTECTED_ROLES = (ROLE_BOARD, ROLE_OPERATOR)
# Any constant works; it names "the member roles" among the platform's advisory locks.
ROLES_LOCK_KEY = 0x5A1D_0A01


def role_scope(role: str, country: str = "") -> str:
    """The country a role is held for: a known country for operators and tellers, "" for the
    roles that span countries (whatever ``country`` says). Refuses an unknown role."""
    if role not in ROLES:
        raise InvalidInput(
            _("Unknown role %(role)s; roles are %(roles)s.")
            % {"role": repr(role), "roles": ", ".join(ROLES)}
        )
    if role not in COUNTRY_ROLES:
        return ""
    if country not in COUNTRIES:
        raise InvalidInput(
            _("The %(role)s role needs a country: %(countries)s.")
            % {"role": role, "countries": ", ".join(COUNTRIES)}
        )
    return country


def _unknown_email(email: str) -> NotFound:
    return NotFound(_("No member with the email address %(email)s.") % {"email": email})


async def _lock_roles() -> None:
    """Serialise role changes, inside the write transaction: on PostgreSQL a transaction-scoped
    advisory lock, so what is counted after it includes every change committed before (two
    removals at once cannot both see the other's holder); SQLite's IMMEDIATE transaction
    already excludes every other writer."""
    if not db.is_sqlite():
        await MemberRole.raw("SELECT pg_advisory_xact_lock({})", ROLES_LOCK_KEY)


def _audit_country(member: CurrentMember, role: str, country: str) -> str:
    """The country an entry concerns: the role's; a facilitator's, the member's country (whose
    operators give it); the board's, none."""
    if country:
        return country
    return member.country if role == ROLE_FACILITATOR else ""


async def grant_member_role(
    member: CurrentMember, role: str, country: str = "", *, actor: audit.Actor | None = None
) -> bool:
    """Give ``member`` a role (``country`` as :func:`role_scope` reads it); True when it is
    new. A member who left the cooperative, or whose data was erased, is refused. With an
    ``actor`` a new grant is audited, in the same transaction."""
    country = role_scope(role, country)
    async with db.write_transaction():
        await _lock_roles()
        state = await (
            Member.select(Member.left_at, Member.erased_at).where(Member.id == member.id).first()
        )
        if state is None:
            raise NotFound(_("There is no member %(who)s.") % {"who": member.member_number})
        if state["erased_at"] is not None:
            raise Conflict(
                _("The personal data of member %(number)s were erased: no role can be given.")
                % {"number": member.member_number}
            )
        if state["left_at"] is not None:
            raise Conflict(
                _("%(name)s has left the cooperative: no role can be given to them.")
                % {"name": f"{member.name} ({member.member_number})"}
            )
        exists = await MemberRole.exists().where(
            (MemberRole.member == member.id)
            & (MemberRole.role == role)
            & (MemberRole.country == country)
        )
        if exists:
            return False
        await MemberRole.insert(MemberRole(member=member.id, role=role, country=country))
        if actor is not None:
            await audit.record(
                "member.role.grant",
                actor=actor,
                country=_audit_country(member, role, country),
                object_type="member",
                object_id=member.id,
                details={"role": role},
                personal={member.id: {"member_number": member.member_number}},
            )
    return True


async def _refuse_removing_the_last(member: CurrentMember, role: str, country: str) -> None:
    """Refuse (409) to take the board role or a country's operator role from the last active
    member holding it. Inside the write transaction, after ``_lock_roles``."""
    rows = await MemberRole.raw(
        "SELECT count(*) AS others FROM member_role r JOIN member m ON m.id = r.member "
        "WHERE r.role = {} AND r.country = {} AND r.member <> {} "
        "AND m.left_at IS NULL AND m.erased_at IS NULL",
        role,
        country,
        member.id,
    )
    if rows[0]["others"]:
        return
    state = await (
        Member.select(Member.left_at, Member.erased_at).where(Member.id == member.id).first()
    )
    if state is None or state["left_at"] is not None or state["erased_at"] is not None:
        return  # a holder who left counts for nothing: taking the role away loses no one
    who = f"{member.name} ({member.member_number})"
    if role == ROLE_BOARD:
        raise Conflict(
            _(
                "%(name)s is the last board member: give the board role to someone else "
                "before taking it away."
            )
            % {"name": who}
        )
    raise Conflict(
        _(
            "%(name)s is the last operator of %(country)s: make someone else an operator of "
            "%(country)s before taking the role away."
        )
        % {"name": who, "country": country}
    )


async def revoke_member_role(
    member: CurrentMember, role: str, country: str = "", *, actor: audit.Actor | None = None
) -> bool:
    """Take a role away; True when the member held it. The last board member and the last
    operator of a country keep theirs (409, nothing changed). With an ``actor`` a removal is
    audited, in the same transaction."""
    country = role_scope(role, country)
    async with db.write_transaction():
        await _lock_roles()
        held = await MemberRole.exists().where(
            (MemberRole.member == member.id)
            & (MemberRole.role == role)
            & (MemberRole.country == country)
        )
        if not held:
            return False
        if role in PROTECTED_ROLES:
            await _refuse_removing_the_last(member, role, country)
        await MemberRole.delete().where(
            (MemberRole.member == member.id)
            & (MemberRole.role == role)
            & (MemberRole.country == country)
        )
        if actor is not None:
            await audit.record(
                "member.role.revoke",
                actor=actor,
                country=_audit_country(member, role, country),
                object_type="member",
                object_id=member.id,
                details={"role": role},
                personal={member.id: {"member_number": member.member_number}},
            )
    return True


async def grant_role(
    email: str, role: str, country: str = "", *, actor: audit.Actor | None = None
) -> CurrentMember:
    """Give the member with this email address a role (see :func:`grant_member_role`)."""
    country = role_scope(role, country)
    member = await member_by_email(email)
    if member is None:
        raise _unknown_email(email)
    await grant_member_role(member, role, country, actor=actor)
    refreshed = await load_member(member.id)
    assert refreshed is not None
    return refreshed


async def revoke_role(
    email: str, role: str, country: str = "", *, actor: audit.Actor | None = None
) -> bool:
    """Take a role away from the member with this email address (see
    :func:`revoke_member_role`); True when they held it."""
    member = await member_by_email(email)
    if member is None:
        raise _unknown_email(email)
    return await revoke_member_role(member, role, country, actor=actor)
