"""The demo accounts (printed at start-up) and the extra members who support proposals."""

from __future__ import annotations

import io
from dataclasses import dataclass

from core import db, spreadsheets
from core.auth.services import hash_password
from core.members import importer
from core.members import services as members
from core.members.model import CurrentMember
from core.members.tables import (
    ROLE_BOARD,
    ROLE_FACILITATOR,
    ROLE_OPERATOR,
    ROLE_TELLER,
    Member,
)

# Not a secret: the shared password of the public demo accounts, printed at start-up.
DEMO_PASSWORD = "smart-demo-2020"
MARKER_NUMBER = "D-0001"
BOARD_NUMBER = "D-0003"
OPERATOR_OF = {"BE": "D-0001", "FR": "D-0002"}


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
    # The tellers of the demo's polls: each holds a share of a poll's ballot-box key.
    DemoAccount(
        "D-0005",
        "teller1.be@demo.smart.coop",
        "Ruben Vermeersch",
        "BE",
        "nl",
        True,
        ((ROLE_TELLER, "BE"),),
    ),
    DemoAccount(
        "D-0006",
        "teller2.be@demo.smart.coop",
        "Sarah Lemaire",
        "BE",
        "fr",
        False,
        ((ROLE_TELLER, "BE"),),
    ),
    DemoAccount(
        "D-0009",
        "teller3.be@demo.smart.coop",
        "Bram Aerts",
        "BE",
        "nl",
        True,
        ((ROLE_TELLER, "BE"),),
    ),
    DemoAccount(
        "D-0007",
        "teller1.fr@demo.smart.coop",
        "Paul Garnier",
        "FR",
        "fr",
        True,
        ((ROLE_TELLER, "FR"),),
    ),
    DemoAccount(
        "D-0008",
        "teller2.fr@demo.smart.coop",
        "Marion Lefèvre",
        "FR",
        "fr",
        False,
        ((ROLE_TELLER, "FR"),),
    ),
    DemoAccount(
        "D-0010",
        "teller3.fr@demo.smart.coop",
        "Nadia Benali",
        "FR",
        "fr",
        False,
        ((ROLE_TELLER, "FR"),),
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


EXTRA_MARKER_NUMBER = "D-1001"
EXTRA_MEMBERS_PER_COUNTRY = 30


# -- extra members: the crowd that supports proposals ------------------------------------------

# First and last names of the extra members, paired in order.
_EXTRA_NAMES: dict[str, tuple[str, str]] = {
    "BE": (
        "Lucas, Elise, Arthur, Louise, Noah, Marie, Victor, Lena, Jonas, Sarah, Milan, Laura, "
        "Simon, Fien, Hamza, Anaïs, Wout, Charlotte, Bram, Yasmine, Senne, Manon, Kobe, Amélie, "
        "Robin, Zoë, Maxime, Hanne, Adam, Olivia",
        "Jacobs, Mertens, Wouters, Lemaire, Goossens, Renard, Declercq, Leclercq, Vermeulen, "
        "Simon, Hermans, Collard, De Smet, Gilson, Aerts, Lejeune, Michiels, Denis, Van Damme, "
        "Benali, Pauwels, Mathieu, Verstraete, Marchal, Smets, Dumont, Desmet, François, "
        "Coppens, Henrard",
    ),
    "FR": (
        "Gabriel, Jade, Raphaël, Louise, Arthur, Emma, Adam, Alice, Paul, Lina, Nathan, Rose, "
        "Théo, Anna, Sacha, Mila, Tom, Zoé, Noé, Margaux, Yanis, Clara, Mathis, Sarah, Malo, "
        "Lou, Ethan, Juliette, Nolan, Camille",
        "Durand, Leroy, Roux, Fournier, Girard, Bonnet, Dupuis, Lefebvre, Mercier, Blanc, "
        "Guérin, Muller, Henry, Rousseau, Nicolas, Perrin, Morin, Mathieu, Clément, Gauthier, "
        "Dumas, Fontaine, Chevalier, Robin, Masson, Sanchez, Benoît, Garnier, Faure, Diallo",
    ),
}
_EXTRA_FIRST_NUMBER = {"BE": 1001, "FR": 2001}


def extra_numbers(country: str) -> list[str]:
    """The member numbers of a country's extra demo members (D-1001.. BE, D-2001.. FR)."""
    first = _EXTRA_FIRST_NUMBER[country]
    return [f"D-{first + i}" for i in range(EXTRA_MEMBERS_PER_COUNTRY)]


def _extra_members() -> list[tuple[str, str, str, str, str, bool]]:
    """(member number, email, name, country, language, shareholder) of the extra members; no
    password: they sign in with a link (sip members link EMAIL) if ever."""
    members = []
    for country, names in _EXTRA_NAMES.items():
        first_names, last_names = (part.split(", ") for part in names)
        for i, number in enumerate(extra_numbers(country)):
            language = ("nl", "fr")[i % 2] if country == "BE" else "fr"
            email = f"member{number.removeprefix('D-')}@demo.smart.coop"
            name = f"{first_names[i]} {last_names[i]}"
            members.append((number, email, name, country, language, i % 3 != 2))
    return members


LANGUAGE_OF = {a.member_number: a.language for a in ACCOUNTS}


def register(rows: list[tuple[str, str, str, str, str, bool]]) -> str:
    """The member register's CSV, as an operator imports it."""
    out = io.StringIO()
    writer = spreadsheets.writer(out, lineterminator="\n")
    writer.writerow(importer.COLUMNS)
    for number, email, name, country, language, shareholder in rows:
        writer.writerow([number, email, name, country, language, "yes" if shareholder else "no"])
    return out.getvalue()


async def _seed_accounts() -> bool:
    """The demo accounts through the member import, their roles granted, one shared password."""
    async with db.write_transaction():
        if await Member.exists().where(Member.member_number == MARKER_NUMBER):
            return False
        await importer.import_members(
            register(
                [
                    (a.member_number, a.email, a.name, a.country, a.language, a.shareholder)
                    for a in ACCOUNTS
                ]
            )
        )
        for account in ACCOUNTS:
            for role, country in account.roles:
                await members.grant_role(account.email, role, country)
        # set_password hashes once per member (slow on purpose) and ends their sessions: the
        # accounts share one password, hashed once.
        await Member.update({Member.password_hash: hash_password(DEMO_PASSWORD)}).where(
            Member.member_number.is_in([a.member_number for a in ACCOUNTS])
        )
    return True


async def _seed_extra_members() -> bool:
    async with db.write_transaction():
        if await Member.exists().where(Member.member_number == EXTRA_MARKER_NUMBER):
            return False
        await importer.import_members(register(_extra_members()))
    return True


async def member_ids(numbers: list[str]) -> dict[str, int]:
    rows = await Member.select(Member.id, Member.member_number).where(
        Member.member_number.is_in(numbers)
    )
    return {r["member_number"]: r["id"] for r in rows}


async def demo_member(number: str) -> CurrentMember | None:
    """A demo member as the services see them (None when the account is gone)."""
    row = await Member.select(Member.id).where(Member.member_number == number).first()
    return await members.load_member(row["id"]) if row else None


async def board_member() -> CurrentMember | None:
    """The demo's board member, who adds and extends the themes."""
    return await demo_member(BOARD_NUMBER)
