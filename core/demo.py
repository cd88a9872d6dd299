"""Demo data for ``sip serve --demo``: seeded on first start, left alone afterwards.

Later parts of the platform add their own demo data through ``seed_demo``.
"""

from __future__ import annotations

from dataclasses import dataclass

from core import db
from core.auth.services import hash_password
from core.members.tables import ROLE_BOARD, ROLE_FACILITATOR, ROLE_OPERATOR, Member, MemberRole

# Not a secret: the shared password of the public demo accounts, printed at start-up.
DEMO_PASSWORD = "smart-demo-2020"
MARKER_NUMBER = "D-0001"


@dataclass(frozen=True)
class DemoAccount:
    member_number: str
    email: str
    name: str
    country: str
    language: str
    shareholder: bool
    roles: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        return ", ".join(f"{r} {c}".strip() for r, c in self.roles) or (
            "shareholder" if self.shareholder else "member"
        )


ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount(
        "D-0001",
        "operator.be@demo.smart.coop",
        "Lotte Peeters",
        "BE",
        "nl",
        True,
        ((ROLE_OPERATOR, "BE"),),
    ),
    DemoAccount(
        "D-0002",
        "operator.fr@demo.smart.coop",
        "Camille Martin",
        "FR",
        "fr",
        True,
        ((ROLE_OPERATOR, "FR"),),
    ),
    DemoAccount(
        "D-0003", "board@demo.smart.coop", "Marc Dubois", "BE", "fr", True, ((ROLE_BOARD, ""),)
    ),
    DemoAccount(
        "D-0004",
        "facilitator@demo.smart.coop",
        "Sofie Janssens",
        "BE",
        "nl",
        True,
        ((ROLE_FACILITATOR, ""),),
    ),
    DemoAccount("D-0101", "an.claes@demo.smart.coop", "An Claes", "BE", "nl", True),
    DemoAccount("D-0102", "pieter.maes@demo.smart.coop", "Pieter Maes", "BE", "nl", False),
    DemoAccount("D-0103", "julie.lambert@demo.smart.coop", "Julie Lambert", "BE", "fr", True),
    DemoAccount("D-0104", "thomas.dupont@demo.smart.coop", "Thomas Dupont", "BE", "fr", False),
    DemoAccount("D-0105", "emma.willems@demo.smart.coop", "Emma Willems", "BE", "nl", True),
    DemoAccount("D-0106", "nora.haddad@demo.smart.coop", "Nora Haddad", "BE", "en", True),
    DemoAccount("D-0201", "lea.bernard@demo.smart.coop", "Léa Bernard", "FR", "fr", True),
    DemoAccount("D-0202", "hugo.petit@demo.smart.coop", "Hugo Petit", "FR", "fr", False),
    DemoAccount("D-0203", "chloe.robert@demo.smart.coop", "Chloé Robert", "FR", "fr", True),
    DemoAccount("D-0204", "louis.richard@demo.smart.coop", "Louis Richard", "FR", "fr", True),
    DemoAccount("D-0205", "ines.moreau@demo.smart.coop", "Inès Moreau", "FR", "fr", False),
    DemoAccount("D-0206", "jules.laurent@demo.smart.coop", "Jules Laurent", "FR", "en", True),
)


async def seed_demo() -> bool:
    """Create the demo accounts unless they exist; True when something was created."""
    if await Member.exists().where(Member.member_number == MARKER_NUMBER):
        return False
    password_hash = hash_password(DEMO_PASSWORD)
    async with db.write_transaction():
        for account in ACCOUNTS:
            rows = await Member.insert(
                Member(
                    member_number=account.member_number,
                    email=account.email,
                    name=account.name,
                    country=account.country,
                    language=account.language,
                    shareholder=account.shareholder,
                    password_hash=password_hash,
                )
            )
            member_id = rows[0]["id"]
            for role, country in account.roles:
                await MemberRole.insert(MemberRole(member=member_id, role=role, country=country))
    return True
