"""Member look-ups and role changes, independent of HTTP."""

from __future__ import annotations

from core import db
from core.audit import services as audit
from core.config import COUNTRIES, LANGUAGES
from core.errors import InvalidInput, NotFound
from core.members.model import CurrentMember
from core.members.tables import COUNTRY_ROLES, ROLES, Member, MemberRole


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


async def grant_role(
    email: str, role: str, country: str = "", *, actor: audit.Actor | None = None
) -> CurrentMember:
    """Give a member a role; an operator's role names its country, the others none. With an
    ``actor`` a new grant is audited."""
    if role not in ROLES:
        raise InvalidInput(f"Unknown role {role!r}; roles are {', '.join(ROLES)}.")
    if role in COUNTRY_ROLES and country not in COUNTRIES:
        raise InvalidInput(f"The {role} role needs a country: {', '.join(COUNTRIES)}.")
    if role not in COUNTRY_ROLES:
        country = ""
    member = await member_by_email(email)
    if member is None:
        raise NotFound(f"No member with the email address {email}.")
    async with db.write_transaction():
        exists = await MemberRole.exists().where(
            (MemberRole.member == member.id)
            & (MemberRole.role == role)
            & (MemberRole.country == country)
        )
        if not exists:
            await MemberRole.insert(MemberRole(member=member.id, role=role, country=country))
            if actor is not None:
                await audit.record(
                    "member.role.grant",
                    actor=actor,
                    country=country,
                    object_type="member",
                    object_id=member.id,
                    details={"role": role, "member_number": member.member_number},
                )
    refreshed = await load_member(member.id)
    assert refreshed is not None
    return refreshed


async def revoke_role(
    email: str, role: str, country: str = "", *, actor: audit.Actor | None = None
) -> None:
    """Take a role away; with an ``actor`` a removal that happened is audited."""
    member = await member_by_email(email)
    if member is None:
        raise NotFound(f"No member with the email address {email}.")
    country = country if role in COUNTRY_ROLES else ""
    async with db.write_transaction():
        removed = await (
            MemberRole.delete()
            .where(
                (MemberRole.member == member.id)
                & (MemberRole.role == role)
                & (MemberRole.country == country)
            )
            .returning(MemberRole.id)
        )
        if removed and actor is not None:
            await audit.record(
                "member.role.revoke",
                actor=actor,
                country=country,
                object_type="member",
                object_id=member.id,
                details={"role": role, "member_number": member.member_number},
            )
