"""Demo data for ``sip serve --demo``: seeded on first start, left alone afterwards.

The seed comes in parts, each with its own marker, so a database seeded by an older version
(accounts only) gets the newer parts on its next start, and a second start changes nothing:

* the demo accounts (marker: member D-0001), printed at start-up;
* 30 plain members per country who support proposals (marker: member D-1001), not printed;
* the cooperative's past editions 2019-2020 and 2020-2021 with their themes (marker: either
  edition exists);
* an open edition 2021-2022 whose proposal phase is open on the day it is seeded, with member
  proposals at every stage (marker: the edition exists);
* the AGM polls (marker: any poll exists): the June 2020 polls of BE and FR on 2020-2021,
  published, which elected Accompaniment and New prospects after the health crisis; and an
  open poll per country on 2021-2022 with one proxy each, where the demo shareholders have not
  voted yet.
* the 2020-2021 working groups in BE and FR, with waiting list, availability polls, meetings
  and attendance, and the info sessions of 16 December 2020 (marker: any working group
  exists; ``core/groups/demo.py``).
* the editions since 2015-2016 with their themes and archived figures, the recommendations of
  the groups, the board's decisions and the projects, among them the 2019 ethics committee
  (marker: the edition 2015-2016 exists; ``core/recommendations/demo.py``).

Rows are written straight to the tables (the services check phases against today's date),
except the 2020-2021 extensions, made through the ``extend_theme`` plugin's service and its
rules (enabled in both countries for the seed), and the polls; the rows keep the services'
invariants: a proposal runs in its proposer's country, ``support_count`` is
the number of its support rows, nobody supports a theme twice or their own proposal, a merged
proposal's supports moved to the target, and ``threshold_reached_at`` is set only when the
real count reaches the country's threshold.

Later parts of the platform add their own demo data through ``seed_demo``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

import msgspec

from core import clock, db
from core.auth.services import hash_password
from core.config import Country, Settings
from core.editions.services import (
    AGM_VOTE,
    BOARD_REVIEW,
    CLOSED,
    PHASES,
    PROPOSALS,
    RECOMMENDATIONS,
    REGISTRATION,
    WORKING_GROUPS,
    CountryCalendar,
    EditionInfo,
    PhaseWindow,
    current_of,
)
from core.editions.tables import Edition, EditionPhase
from core.groups.demo import seed_groups
from core.members.model import CurrentMember
from core.members.services import load_member
from core.members.tables import (
    ROLE_BOARD,
    ROLE_FACILITATOR,
    ROLE_OPERATOR,
    ROLE_TELLER,
    Member,
    MemberRole,
)
from core.polls import proxies as poll_proxies
from core.polls import services as polls
from core.polls.tables import Participation, Poll
from core.recommendations.demo import seed_record
from core.themes.services import (
    ACCEPTED,
    BOARD,
    DRAFT,
    MEMBER,
    MERGED,
    REJECTED,
    SUBMITTED,
    Rules,
    ThemeTextIn,
    write_texts,
)
from core.themes.tables import Support, Theme, ThemeText
from plugins.extend_theme.services import NAME as EXTEND_THEME
from plugins.extend_theme.services import extend_theme

# Not a secret: the shared password of the public demo accounts, printed at start-up.
DEMO_PASSWORD = "smart-demo-2020"
MARKER_NUMBER = "D-0001"
BOARD_NUMBER = "D-0003"


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
PAST_EDITIONS = ("2019-2020", "2020-2021")
OPEN_EDITION = "2021-2022"

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


def _extra_members() -> list[Member]:
    members = []
    for country, names in _EXTRA_NAMES.items():
        first_names, last_names = (part.split(", ") for part in names)
        for i, number in enumerate(extra_numbers(country)):
            language = ("nl", "fr")[i % 2] if country == "BE" else "fr"
            members.append(
                Member(
                    member_number=number,
                    email=f"member{number.removeprefix('D-')}@demo.smart.coop",
                    name=f"{first_names[i]} {last_names[i]}",
                    country=country,
                    language=language,
                    shareholder=i % 3 != 2,
                    # No password: they sign in with a link (sip members link EMAIL) if ever.
                )
            )
    return members


# -- texts ----------------------------------------------------------------------------------

Texts = Mapping[str, tuple[str, str]]  # language -> (title, description)

GENDER_EQUALITY: Texts = {
    "en": (
        "Gender equality",
        "How do we make sure that women, men and every member whatever their gender get the "
        "same opportunities, the same pay and the same voice, in the cooperative and in the "
        "sectors we work in?",
    ),
    "nl": (
        "Gendergelijkheid",
        "Hoe zorgen we ervoor dat vrouwen, mannen en alle leden, ongeacht hun gender, dezelfde "
        "kansen, dezelfde verloning en dezelfde inspraak krijgen, in de coöperatie en in de "
        "sectoren waarin we werken?",
    ),
    "fr": (
        "Égalité de genre",
        "Comment garantir que les femmes, les hommes et tous les membres, quel que soit leur "
        "genre, aient les mêmes chances, la même rémunération et la même voix, dans la "
        "coopérative et dans les secteurs où nous travaillons ?",
    ),
}

SHARING_ECONOMY: Texts = {
    "en": (
        "Sharing economy: a viable economic model?",
        "Platforms promise flexible work, often at the cost of social protection. Can the "
        "sharing economy give the people who do the work a fair living, and what part can a "
        "cooperative play in it?",
    ),
    "nl": (
        "Deeleconomie: een leefbaar economisch model?",
        "Platformen beloven flexibel werk, vaak ten koste van sociale bescherming. Kan de "
        "deeleconomie wie het werk doet een eerlijk inkomen bieden, en welke rol kan een "
        "coöperatie daarin spelen?",
    ),
    "fr": (
        "Économie du partage : un modèle économique viable ?",
        "Les plateformes promettent un travail flexible, souvent au prix de la protection "
        "sociale. L'économie du partage peut-elle faire vivre dignement celles et ceux qui "
        "travaillent, et quel rôle une coopérative peut-elle y jouer ?",
    ),
}

FAIR_PRICE: Texts = {
    "en": (
        "Setting a fair price for our work",
        "Many members find it hard to price their services. Which references, tools and "
        "collective agreements can help everyone ask a price that really pays for the work?",
    ),
    "nl": (
        "Een eerlijke prijs voor ons werk",
        "Veel leden vinden het moeilijk om hun diensten te prijzen. Welke richtprijzen, "
        "hulpmiddelen en collectieve afspraken helpen iedereen een prijs te vragen die het werk "
        "echt betaalt?",
    ),
    "fr": (
        "Fixer un juste prix pour notre travail",
        "Beaucoup de membres ont du mal à fixer le prix de leurs services. Quels repères, outils "
        "et accords collectifs peuvent aider chacun à demander un prix qui rémunère vraiment le "
        "travail ?",
    ),
}

GOVERNANCE: Texts = {
    "en": (
        "Cooperative governance: how do members take part?",
        "Being a shareholder is one thing, having a say is another. How can members take part "
        "in the cooperative's decisions between two general assemblies?",
    ),
    "nl": (
        "Coöperatief bestuur: hoe doen leden mee?",
        "Aandeelhouder zijn is één ding, inspraak hebben is iets anders. Hoe kunnen leden "
        "tussen twee algemene vergaderingen meebeslissen over de koers van de coöperatie?",
    ),
    "fr": (
        "Gouvernance coopérative : comment les membres participent-ils ?",
        "Être sociétaire est une chose, avoir voix au chapitre en est une autre. Comment les "
        "membres peuvent-ils prendre part aux décisions de la coopérative entre deux assemblées "
        "générales ?",
    ),
}

ACCOMPANIMENT: Texts = {
    "en": (
        "Accompaniment",
        "Which support do members need to develop their activity (advice, training, exchanges "
        "between peers) and how can Smart's advisers and the members' own networks offer it?",
    ),
    "nl": (
        "Begeleiding",
        "Welke ondersteuning hebben leden nodig om hun activiteit te ontwikkelen (advies, "
        "opleiding, uitwisseling tussen collega's) en hoe kunnen de adviseurs van Smart en de "
        "netwerken van de leden die bieden?",
    ),
    "fr": (
        "Accompagnement",
        "De quel soutien les membres ont-ils besoin pour développer leur activité (conseil, "
        "formation, échanges entre pairs) et comment les conseillers de Smart et les réseaux "
        "des membres peuvent-ils l'offrir ?",
    ),
}

AFTER_THE_CRISIS: Texts = {
    "en": (
        "New prospects after the health crisis",
        "The lockdowns stopped many activities overnight. What have we learned, and how can the "
        "cooperative help members rebuild their work and prepare for the next crisis?",
    ),
    "nl": (
        "Nieuwe perspectieven na de gezondheidscrisis",
        "De lockdowns legden veel activiteiten van de ene dag op de andere stil. Wat hebben we "
        "geleerd, en hoe kan de coöperatie leden helpen hun werk weer op te bouwen en zich voor "
        "te bereiden op een volgende crisis?",
    ),
    "fr": (
        "Nouvelles perspectives après la crise sanitaire",
        "Les confinements ont arrêté du jour au lendemain de nombreuses activités. Qu'avons-nous "
        "appris, et comment la coopérative peut-elle aider les membres à reconstruire leur "
        "travail et à se préparer à la prochaine crise ?",
    ),
}

GENDER_EQUALITY_YEAR_TWO: Texts = {
    "en": (
        GENDER_EQUALITY["en"][0],
        "Second year. The first working groups mapped the pay gap and the obstacles women meet "
        "among the members; this year turns their findings into concrete proposals for the "
        "cooperative.",
    ),
    "nl": (
        GENDER_EQUALITY["nl"][0],
        "Tweede jaar. De eerste werkgroepen brachten de loonkloof en de obstakels voor vrouwelijke "
        "leden in kaart; dit jaar maken we van hun bevindingen concrete voorstellen voor de "
        "coöperatie.",
    ),
    "fr": (
        GENDER_EQUALITY["fr"][0],
        "Deuxième année. Les premiers groupes de travail ont mesuré l'écart de rémunération et "
        "les obstacles que rencontrent les femmes parmi les membres ; cette année, il s'agit "
        "d'en tirer des propositions concrètes pour la coopérative.",
    ),
}

SHARING_ECONOMY_YEAR_TWO: Texts = {
    "en": (
        SHARING_ECONOMY["en"][0],
        "Second year, in France only: the French working group continues with the platform "
        "workers who joined it, on the conditions for a cooperative platform.",
    ),
    "nl": (
        SHARING_ECONOMY["nl"][0],
        "Tweede jaar, alleen in Frankrijk: de Franse werkgroep werkt verder met de "
        "platformwerkers die zich bij haar aansloten, over de voorwaarden voor een coöperatief "
        "platform.",
    ),
    "fr": (
        SHARING_ECONOMY["fr"][0],
        "Deuxième année, en France uniquement : le groupe de travail français poursuit avec les "
        "travailleurs des plateformes qui l'ont rejoint, sur les conditions d'une plateforme "
        "coopérative.",
    ),
}

GENDER_EQUALITY_RATIONALE = (
    "Needs a deeper debate: the working groups asked for a second year to turn their findings "
    "into concrete proposals."
)
SHARING_ECONOMY_RATIONALE = (
    "Needs a deeper debate in France: the dialogue with delivery riders and other platform "
    "workers only started in the spring."
)

# -- past editions --------------------------------------------------------------------------

# (phase, (month, day) start, (month, day) end, years after the edition's first year)
_PAST_CALENDARS: dict[str, tuple[tuple[str, tuple[int, int], tuple[int, int], int], ...]] = {
    "BE": (
        (PROPOSALS, (3, 1), (4, 30), 0),
        (AGM_VOTE, (6, 3), (6, 14), 0),
        (REGISTRATION, (9, 2), (10, 18), 0),
        (WORKING_GROUPS, (11, 4), (4, 30), 1),
        (RECOMMENDATIONS, (5, 4), (5, 29), 1),
        (BOARD_REVIEW, (6, 1), (6, 30), 1),
        (CLOSED, (7, 1), (12, 31), 1),
    ),
    "FR": (
        (PROPOSALS, (3, 16), (5, 15), 0),
        (AGM_VOTE, (6, 8), (6, 22), 0),
        (REGISTRATION, (9, 7), (10, 25), 0),
        (WORKING_GROUPS, (11, 9), (4, 23), 1),
        (RECOMMENDATIONS, (5, 3), (5, 28), 1),
        (BOARD_REVIEW, (6, 7), (6, 28), 1),
        (CLOSED, (7, 1), (12, 31), 1),
    ),
}


def past_calendar(first_year: int, country: str) -> list[PhaseWindow]:
    windows = []
    for phase, (m1, d1), (m2, d2), later in _PAST_CALENDARS[country]:
        start_year = first_year + later if m1 <= m2 else first_year
        windows.append(
            PhaseWindow(phase, date(start_year, m1, d1), date(first_year + later, m2, d2))
        )
    return windows


# Days from the seeding day: the proposal phase is open when the demo is seeded.
_OPEN_OFFSETS: dict[str, tuple[tuple[int, int], ...]] = {
    "BE": ((-20, 40), (55, 66), (120, 165), (180, 340), (345, 370), (375, 400), (401, 550)),
    "FR": ((-20, 40), (60, 72), (125, 170), (185, 340), (345, 372), (378, 400), (401, 550)),
}


def open_calendar(today: date, country: str) -> list[PhaseWindow]:
    return [
        PhaseWindow(phase, today + timedelta(days=start), today + timedelta(days=end))
        for phase, (start, end) in zip(PHASES, _OPEN_OFFSETS[country], strict=True)
    ]


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


# -- open edition: member proposals ----------------------------------------------------------


@dataclass(frozen=True)
class DemoProposal:
    """A member proposal of the open edition, in its proposer's country and language.

    ``supporters`` are demo accounts of the same country; ``crowd`` adds that many extra demo
    members. ``over_threshold`` adds as many extra members as it takes to pass the threshold.
    A merged proposal (``merged_into``: index of the target in the country's list) had
    ``supporters``; they moved to the target, each counted once.
    """

    proposer: str
    status: str
    texts: Texts
    days_ago: int
    supporters: tuple[str, ...] = ()
    crowd: int = 0
    over_threshold: bool = False
    merged_into: int | None = None
    rejection_reason: str = ""


PROPOSALS_BY_COUNTRY: dict[str, tuple[DemoProposal, ...]] = {
    "BE": (
        DemoProposal(
            "D-0103",
            SUBMITTED,
            {
                "fr": (
                    "Santé mentale des travailleurs autonomes",
                    "Isolement, revenus irréguliers, pression des clients : beaucoup de membres "
                    "s'épuisent. Que peut faire la coopérative pour prévenir le burn-out et "
                    "orienter celles et ceux qui ont besoin d'aide ?",
                ),
                "nl": (
                    "Mentale gezondheid van zelfstandig werkenden",
                    "Isolement, onregelmatige inkomsten, druk van klanten: veel leden raken "
                    "uitgeput. Wat kan de coöperatie doen om burn-out te voorkomen en wie hulp "
                    "nodig heeft de weg te wijzen?",
                ),
                "en": (
                    "Mental health of self-employed workers",
                    "Isolation, irregular income, pressure from clients: many members wear "
                    "themselves out. What can the cooperative do to prevent burn-out and show "
                    "those who need help where to find it?",
                ),
            },
            days_ago=18,
            supporters=("D-0101", "D-0102", "D-0104", "D-0105", "D-0106"),
            over_threshold=True,
        ),
        DemoProposal(
            "D-0101",
            SUBMITTED,
            {
                "nl": (
                    "Samen werkruimtes delen",
                    "Ateliers, repetitieruimtes en kantoren zijn duur. Kunnen leden via de "
                    "coöperatie samen ruimtes huren en delen?",
                ),
                "fr": (
                    "Partager des espaces de travail",
                    "Ateliers, salles de répétition et bureaux coûtent cher. Les membres "
                    "peuvent-ils louer et partager des espaces ensemble grâce à la coopérative ?",
                ),
                "en": (
                    "Sharing workspaces",
                    "Workshops, rehearsal rooms and offices are expensive. Can members rent and "
                    "share spaces together through the cooperative?",
                ),
            },
            days_ago=12,
            supporters=("D-0102", "D-0105", "D-0106"),
            crowd=4,
        ),
        DemoProposal(
            "D-0104",
            SUBMITTED,
            {
                "fr": (
                    "Une rémunération équitable dans le secteur culturel",
                    "Répétitions non payées, cachets qui ne bougent pas depuis des années : "
                    "comment défendre ensemble une rémunération correcte pour les artistes et "
                    "les techniciens ?",
                ),
                "nl": (
                    "Eerlijke verloning in de culturele sector",
                    "Onbetaalde repetities, gages die al jaren niet stijgen: hoe komen we samen "
                    "op voor een correcte verloning van artiesten en technici?",
                ),
                "en": (
                    "Fair pay in the cultural sector",
                    "Unpaid rehearsals, fees that have not moved in years: how do we stand up "
                    "together for fair pay for artists and technicians?",
                ),
            },
            days_ago=15,
            supporters=("D-0101", "D-0103"),
            crowd=2,
        ),
        DemoProposal(
            "D-0102",
            MERGED,
            {
                "nl": (
                    "Betaalde repetities voor muzikanten",
                    "Repetities zijn werk. Laten we richtlijnen opstellen zodat organisatoren "
                    "ze betalen.",
                ),
                "fr": (
                    "Des répétitions payées pour les musiciens",
                    "Les répétitions sont du travail. Établissons des repères pour que les "
                    "organisateurs les paient.",
                ),
                "en": (
                    "Paid rehearsals for musicians",
                    "Rehearsals are work. Let us draw up guidelines so that organisers pay for "
                    "them.",
                ),
            },
            days_ago=14,
            # D-0104 proposed the target and D-0101 supports it already: only D-0105 moves.
            supporters=("D-0104", "D-0101", "D-0105"),
            merged_into=2,
        ),
        DemoProposal(
            "D-0105",
            REJECTED,
            {
                "nl": (
                    "Gratis koffie in elk Smart-kantoor",
                    "Een kleine attentie die het verschil maakt voor leden die langskomen.",
                ),
                "fr": (
                    "Du café gratuit dans chaque bureau Smart",
                    "Une petite attention qui fait la différence pour les membres qui passent.",
                ),
                "en": (
                    "Free coffee in every Smart office",
                    "A small touch that makes a difference for members who drop by.",
                ),
            },
            days_ago=10,
            supporters=("D-0106",),
            rejection_reason=(
                "Dit is een praktische vraag voor de kantoren, geen thema voor een werkgroep. "
                "We hebben ze doorgegeven aan het team dat de kantoren beheert."
            ),
        ),
        DemoProposal(
            "D-0106",
            DRAFT,
            {
                "en": (
                    "Pensions for freelancers: what can the cooperative do?",
                    "Irregular careers make for small pensions. I would like to look at what a "
                    "cooperative pension savings scheme could be.",
                ),
                "nl": (
                    "Pensioen voor freelancers: wat kan de coöperatie doen?",
                    "Onregelmatige loopbanen leveren een klein pensioen op. Ik wil bekijken hoe "
                    "een coöperatief pensioensparen eruit kan zien.",
                ),
                "fr": (
                    "La retraite des indépendants : que peut faire la coopérative ?",
                    "Des carrières irrégulières donnent de petites retraites. Je voudrais étudier "
                    "à quoi pourrait ressembler une épargne-retraite coopérative.",
                ),
            },
            days_ago=3,
        ),
    ),
    "FR": (
        DemoProposal(
            "D-0201",
            SUBMITTED,
            {
                "fr": (
                    "Accès au logement pour les travailleurs indépendants",
                    "Sans CDI, trouver un logement relève du parcours du combattant. La "
                    "coopérative peut-elle se porter garante ou négocier avec des bailleurs ?",
                ),
                "nl": (
                    "Toegang tot huisvesting voor zelfstandig werkenden",
                    "Zonder vast contract is een woning vinden een hindernissenparcours. Kan de "
                    "coöperatie zich borg stellen of met verhuurders onderhandelen?",
                ),
                "en": (
                    "Access to housing for self-employed workers",
                    "Without a permanent contract, finding a home is an obstacle course. Can the "
                    "cooperative stand guarantor or negotiate with landlords?",
                ),
            },
            days_ago=19,
            supporters=("D-0202", "D-0203", "D-0204", "D-0205", "D-0206"),
            over_threshold=True,
        ),
        DemoProposal(
            "D-0203",
            SUBMITTED,
            {
                "fr": (
                    "Des outils numériques libres pour les membres",
                    "Facturation, agenda, partage de fichiers : proposons des logiciels libres "
                    "hébergés en Europe plutôt que les outils des géants du numérique.",
                ),
                "nl": (
                    "Vrije digitale tools voor de leden",
                    "Facturatie, agenda, bestanden delen: laten we vrije software aanbieden die "
                    "in Europa gehost wordt, in plaats van de tools van de techreuzen.",
                ),
                "en": (
                    "Free software tools for members",
                    "Invoicing, calendars, file sharing: let us offer free software hosted in "
                    "Europe instead of the tech giants' tools.",
                ),
            },
            days_ago=13,
            supporters=("D-0202", "D-0205", "D-0206"),
            crowd=5,
        ),
        DemoProposal(
            "D-0204",
            SUBMITTED,
            {
                "fr": (
                    "Se former à la gestion de son activité",
                    "Devis, trésorerie, négociation : des formations courtes entre membres pour "
                    "mieux gérer son activité.",
                ),
                "nl": (
                    "Leren je activiteit te beheren",
                    "Offertes, cashflow, onderhandelen: korte opleidingen tussen leden om je "
                    "activiteit beter te beheren.",
                ),
                "en": (
                    "Learning to run one's activity",
                    "Quotes, cash flow, negotiation: short trainings between members to run "
                    "one's activity better.",
                ),
            },
            days_ago=16,
            supporters=("D-0201", "D-0203"),
            crowd=1,
        ),
        DemoProposal(
            "D-0202",
            MERGED,
            {
                "fr": (
                    "Des ateliers pour apprendre à négocier avec ses clients",
                    "Beaucoup d'entre nous acceptent le premier prix proposé. Des ateliers "
                    "pratiques aideraient à négocier.",
                ),
                "nl": (
                    "Workshops om met klanten te leren onderhandelen",
                    "Velen van ons aanvaarden de eerste prijs die wordt voorgesteld. Praktische "
                    "workshops zouden helpen om te onderhandelen.",
                ),
                "en": (
                    "Workshops to learn to negotiate with clients",
                    "Many of us accept the first price we are offered. Practical workshops would "
                    "help us negotiate.",
                ),
            },
            days_ago=14,
            # D-0204 proposed the target and D-0203 supports it already: D-0205, D-0206 move.
            supporters=("D-0204", "D-0203", "D-0205", "D-0206"),
            merged_into=2,
        ),
        DemoProposal(
            "D-0205",
            REJECTED,
            {
                "fr": (
                    "Un tournoi de pétanque des membres",
                    "Pour se rencontrer autrement qu'en réunion, un tournoi chaque été.",
                ),
                "nl": (
                    "Een petanquetoernooi voor de leden",
                    "Om elkaar eens anders dan in een vergadering te ontmoeten: elke zomer een "
                    "toernooi.",
                ),
                "en": (
                    "A pétanque tournament for members",
                    "To meet other than in meetings: a tournament every summer.",
                ),
            },
            days_ago=9,
            supporters=("D-0202",),
            rejection_reason=(
                "Belle idée pour la vie de la coopérative, mais ce n'est pas un thème de "
                "réflexion : nous l'avons transmise à l'équipe qui organise les rencontres "
                "entre membres."
            ),
        ),
        DemoProposal(
            "D-0206",
            DRAFT,
            {
                "en": (
                    "Working across the border within the cooperative",
                    "Members in Belgium and France rarely work together. How could a French "
                    "member take on a job in Belgium through Smart, and the other way round?",
                ),
                "fr": (
                    "Travailler par-delà la frontière au sein de la coopérative",
                    "Les membres de Belgique et de France travaillent rarement ensemble. "
                    "Comment un membre français pourrait-il réaliser une mission en Belgique "
                    "via Smart, et inversement ?",
                ),
                "nl": (
                    "Over de grens heen werken binnen de coöperatie",
                    "Leden in België en Frankrijk werken zelden samen. Hoe kan een Frans lid "
                    "via Smart een opdracht in België uitvoeren, en omgekeerd?",
                ),
            },
            days_ago=2,
        ),
    ),
}


_LANGUAGE_OF = {a.member_number: a.language for a in ACCOUNTS}

# -- seeding ----------------------------------------------------------------------------------


async def seed_demo(settings: Settings) -> bool:
    """Seed each missing part of the demo; True when something was created.

    ``settings`` (and the plugins it enables) give the support thresholds.
    """
    created = False
    for part in (
        _seed_accounts,
        _seed_extra_members,
        partial(_seed_past_editions, settings),
        partial(_seed_open_edition, settings),
        partial(_seed_polls, settings),
        seed_groups,  # the 2020-2021 working groups and info sessions (core/groups/demo.py)
        seed_record,  # editions since 2015, recommendations, projects (core/recommendations)
    ):
        try:
            created = await part() or created
        except Exception as exc:
            # Another start seeded the same part at the same moment: its rows stand.
            if not db.is_unique_violation(exc):
                raise
    return created


async def _seed_accounts() -> bool:
    async with db.write_transaction():
        if await Member.exists().where(Member.member_number == MARKER_NUMBER):
            return False
        password_hash = hash_password(DEMO_PASSWORD)
        await Member.insert(
            *[
                Member(
                    member_number=account.member_number,
                    email=account.email,
                    name=account.name,
                    country=account.country,
                    language=account.language,
                    shareholder=account.shareholder,
                    password_hash=password_hash,
                )
                for account in ACCOUNTS
            ]
        )
        ids = await _member_ids([a.member_number for a in ACCOUNTS])
        roles = [
            MemberRole(member=ids[account.member_number], role=role, country=country)
            for account in ACCOUNTS
            for role, country in account.roles
        ]
        if roles:
            await MemberRole.insert(*roles)
    return True


async def _seed_extra_members() -> bool:
    async with db.write_transaction():
        if await Member.exists().where(Member.member_number == EXTRA_MARKER_NUMBER):
            return False
        await Member.insert(*_extra_members())
    return True


async def _member_ids(numbers: list[str]) -> dict[str, int]:
    rows = await Member.select(Member.id, Member.member_number).where(
        Member.member_number.is_in(numbers)
    )
    return {r["member_number"]: r["id"] for r in rows}


async def _add_edition(
    slug: str, created_at: datetime, calendars: dict[str, list[PhaseWindow]]
) -> int:
    rows = await Edition.insert(Edition(slug=slug, created_at=created_at))
    edition_id = int(rows[0]["id"])
    await EditionPhase.insert(
        *[
            EditionPhase(
                edition=edition_id,
                country=country,
                phase=w.phase,
                starts_on=w.starts_on,
                ends_on=w.ends_on,
            )
            for country, windows in calendars.items()
            for w in windows
        ]
    )
    return edition_id


async def _add_theme(texts: Texts, **columns: Any) -> int:
    rows = await Theme.insert(Theme(**columns))
    theme_id = int(rows[0]["id"])
    await ThemeText.insert(
        *[
            ThemeText(theme=theme_id, language=language, title=title, description=description)
            for language, (title, description) in texts.items()
        ]
    )
    return theme_id


async def _seed_past_editions(settings: Settings | None = None) -> bool:
    async with db.write_transaction():
        if await Edition.exists().where(Edition.slug.is_in(list(PAST_EDITIONS))):
            return False
        first = await _add_edition(
            "2019-2020",
            _at(date(2019, 1, 15)),
            {c: past_calendar(2019, c) for c in _PAST_CALENDARS},
        )
        board_2019 = {
            "edition": first,
            "origin": BOARD,
            "status": ACCEPTED,
            "scope": "BE FR",
            "original_language": "fr",
            "created_at": _at(date(2019, 2, 20)),
            "decided_at": _at(date(2019, 2, 20)),
        }
        gender = await _add_theme(GENDER_EQUALITY, **board_2019)
        sharing = await _add_theme(SHARING_ECONOMY, **board_2019)
        await _add_theme(FAIR_PRICE, **board_2019)
        await _add_theme(GOVERNANCE, **board_2019)

        second = await _add_edition(
            "2020-2021",
            _at(date(2020, 1, 15)),
            {c: past_calendar(2020, c) for c in _PAST_CALENDARS},
        )
        voted = {  # on the ballot of the June 2020 general assemblies, and won
            "edition": second,
            "status": ACCEPTED,
            "original_language": "fr",
            "created_at": _at(date(2020, 3, 2)),
            "decided_at": _at(date(2020, 6, 22), 18),
        }
        await _add_theme(ACCOMPANIMENT, origin=BOARD, scope="BE FR", **voted)
        await _add_theme(AFTER_THE_CRISIS, origin=BOARD, scope="BE FR", **voted)
        # The extensions go through extend_theme's rules, as the board would make them.
        rules = _extension_rules(settings)
        board = await _board()
        for original, countries, rationale, texts in (
            (gender, ["BE", "FR"], GENDER_EQUALITY_RATIONALE, GENDER_EQUALITY_YEAR_TWO),
            (sharing, ["FR"], SHARING_ECONOMY_RATIONALE, SHARING_ECONOMY_YEAR_TWO),
        ):
            extension = await extend_theme(rules, board, original, second, countries, rationale)
            # Its texts are the original's; the demo gives them their second-year wording.
            await write_texts(
                extension,
                [
                    ThemeTextIn(title=title, description=description, language=language)
                    for language, (title, description) in texts.items()
                ],
            )
            await Theme.update(
                {Theme.created_at: voted["created_at"], Theme.decided_at: voted["decided_at"]}
            ).where(Theme.id == extension)
    return True


def _extension_rules(settings: Settings | None) -> Rules:
    """The platform's rules with extend_theme enabled in both countries (the demo's past
    extensions are made through it, whatever the operator enables today)."""
    from core.plugins import build_registry

    base = settings or Settings(
        countries={"BE": Country(name="Belgium"), "FR": Country(name="France")}
    )
    countries = dict(base.countries)
    for code in ("BE", "FR"):
        country = countries.get(code) or Country(name=code)
        if EXTEND_THEME not in country.plugins:
            country = msgspec.structs.replace(country, plugins=[*country.plugins, EXTEND_THEME])
        countries[code] = country
    enabled = msgspec.structs.replace(base, countries=countries)
    return Rules(build_registry(enabled), enabled)


async def _board() -> CurrentMember:
    """The demo's board member, who extends the themes (a stand-in if the account is gone)."""
    row = await Member.select(Member.id).where(Member.member_number == BOARD_NUMBER).first()
    found = await load_member(row["id"]) if row else None
    return found or CurrentMember(
        id=0,
        member_number=BOARD_NUMBER,
        email="",
        name="",
        country="BE",
        language="fr",
        shareholder=False,
        roles=((ROLE_BOARD, ""),),
    )


def _thresholds(settings: Settings, edition: EditionInfo) -> dict[str, int]:
    """Each country's support threshold, as the platform's rules give it (the
    ``support_threshold`` hook: a plugin's answer, else ``countries.<C>.support_threshold``)."""
    from core.plugins import build_registry

    registry = build_registry(settings)
    return {
        country: int(
            registry.for_country(country).support_threshold(
                edition=edition, country=country, settings=settings
            )
        )
        for country in PROPOSALS_BY_COUNTRY
    }


async def _seed_open_edition(settings: Settings) -> bool:
    now = clock.now()
    today = now.date()
    calendars = {c: open_calendar(today, c) for c in PROPOSALS_BY_COUNTRY}
    numbers = [a.member_number for a in ACCOUNTS]
    numbers += [n for c in PROPOSALS_BY_COUNTRY for n in extra_numbers(c)]
    async with db.write_transaction():
        if await Edition.exists().where(Edition.slug == OPEN_EDITION):
            return False
        rows = await Member.select(Member.id, Member.member_number, Member.country).where(
            Member.member_number.is_in(numbers)
        )
        members = {r["member_number"]: (r["id"], r["country"]) for r in rows}
        edition_id = await _add_edition(OPEN_EDITION, now - timedelta(days=25), calendars)
        edition = EditionInfo(
            id=edition_id,
            slug=OPEN_EDITION,
            calendars=[
                CountryCalendar(country=c, phases=w, current=current_of(w, today))
                for c, w in calendars.items()
            ],
        )
        thresholds = _thresholds(settings, edition)
        supports: list[Support] = []
        for country, proposals in PROPOSALS_BY_COUNTRY.items():
            supports += await _seed_proposals(
                edition_id, country, proposals, members, thresholds[country], now
            )
        if supports:
            await Support.insert(*supports)
    return True


async def _seed_proposals(
    edition_id: int,
    country: str,
    proposals: tuple[DemoProposal, ...],
    members: dict[str, tuple[int, str]],
    threshold: int,
    now: datetime,
) -> list[Support]:
    """Insert one country's proposals; return their support rows, still to be inserted.

    A proposal whose proposer is missing (or moved country) is left out, and so is a merged
    proposal whose target is left out. Supporters are members of the country only.
    """
    crowd = [members[n][0] for n in extra_numbers(country) if n in members]
    proposers: list[int | None] = [
        members[p.proposer][0]
        if p.proposer in members and members[p.proposer][1] == country
        else None
        for p in proposals
    ]

    def initial_supporters(i: int) -> list[int]:
        """Who supported proposal i before any merge (nobody supports a draft)."""
        proposal, proposer = proposals[i], proposers[i]
        if proposal.status == DRAFT:
            return []
        chosen = [
            members[n][0]
            for n in proposal.supporters
            if n in members and members[n][1] == country and members[n][0] != proposer
        ]
        wanted = threshold + 2 if proposal.over_threshold else len(chosen) + proposal.crowd
        return chosen + [m for m in crowd if m not in chosen][: max(0, wanted - len(chosen))]

    kept = [
        i
        for i, p in enumerate(proposals)
        if proposers[i] is not None
        and (p.merged_into is None or proposers[p.merged_into] is not None)
    ]
    supporters = {i: initial_supporters(i) for i in kept}
    moved: dict[int, list[int]] = {i: [] for i in kept}
    for i in kept:
        target = proposals[i].merged_into
        if target is not None:
            # As merge() does: each supporter counted once, never the target's proposer.
            already = set(supporters[target]) | {proposers[target]}
            moved[target] += [m for m in supporters[i] if m not in already]
            supporters[i] = []
    ids: dict[int, int] = {}
    rows: list[Support] = []
    merged_at = now - timedelta(days=2)
    # Targets first, so that a merged proposal can point at its target.
    for i in sorted(kept, key=lambda i: proposals[i].merged_into is not None):
        proposal = proposals[i]
        created = now - timedelta(days=proposal.days_ago)
        submitted = None if proposal.status == DRAFT else created + timedelta(hours=20)
        decided = merged_at if proposal.status in (REJECTED, MERGED) else None
        # Own supports arrive between the submission and the decision (or now); moved ones at
        # the merge.
        own = supporters[i]
        times: list[datetime] = []
        if submitted is not None and own:
            step = ((decided or now) - submitted) / (len(own) + 1)
            times = [submitted + step * (k + 1) for k in range(len(own))]
        times += [merged_at] * len(moved[i])
        everyone = own + moved[i]
        reached = sorted(times)[threshold - 1] if len(everyone) >= threshold else None
        ids[i] = await _add_theme(
            proposal.texts,
            edition=edition_id,
            origin=MEMBER,
            status=proposal.status,
            scope=country,
            original_language=_LANGUAGE_OF[proposal.proposer],
            proposer=proposers[i],
            merged_into=ids[proposal.merged_into] if proposal.merged_into is not None else None,
            rejection_reason=proposal.rejection_reason,
            support_count=len(everyone),
            created_at=created,
            submitted_at=submitted,
            threshold_reached_at=reached,
            decided_at=decided,
        )
        rows += [
            Support(theme=ids[i], member=m, created_at=t)
            for m, t in zip(everyone, times, strict=True)
        ]
    return rows


# -- AGM polls ---------------------------------------------------------------------------------

MOBILITY: Texts = {
    "en": (
        "Mobility of freelancers",
        "Many members travel from job to job, by car, train or bike, sometimes across borders. "
        "How can the cooperative make these journeys cheaper, safer and greener?",
    ),
    "nl": (
        "Mobiliteit van freelancers",
        "Veel leden reizen van opdracht naar opdracht, met de auto, de trein of de fiets, soms "
        "over de grens. Hoe kan de coöperatie die verplaatsingen goedkoper, veiliger en groener "
        "maken?",
    ),
    "fr": (
        "La mobilité des indépendants",
        "Beaucoup de membres se déplacent d'une mission à l'autre, en voiture, en train ou à "
        "vélo, parfois au-delà des frontières. Comment la coopérative peut-elle rendre ces "
        "trajets moins chers, plus sûrs et plus verts ?",
    ),
}

SOCIAL_PROTECTION: Texts = {
    "en": (
        "Social protection between two contracts",
        "Illness, parenthood, a quiet season: between two contracts, freelancers often fall "
        "through the net. Which protection can the cooperative build or defend?",
    ),
    "nl": (
        "Sociale bescherming tussen twee contracten",
        "Ziekte, ouderschap, een rustig seizoen: tussen twee contracten vallen freelancers vaak "
        "uit de boot. Welke bescherming kan de coöperatie uitbouwen of verdedigen?",
    ),
    "fr": (
        "La protection sociale entre deux contrats",
        "Maladie, parentalité, saison creuse : entre deux contrats, les indépendants passent "
        "souvent entre les mailles du filet. Quelle protection la coopérative peut-elle "
        "construire ou défendre ?",
    ),
}

ECOLOGICAL_TRANSITION: Texts = {
    "en": (
        "Greening our activities",
        "Events, productions, services: how can members cut the footprint of their work, and "
        "how can the cooperative help them without making it more expensive?",
    ),
    "nl": (
        "Onze activiteiten vergroenen",
        "Evenementen, producties, diensten: hoe kunnen leden de voetafdruk van hun werk "
        "verkleinen, en hoe kan de coöperatie hen daarbij helpen zonder dat het duurder wordt?",
    ),
    "fr": (
        "Verdir nos activités",
        "Événements, productions, services : comment les membres peuvent-ils réduire "
        "l'empreinte de leur travail, et comment la coopérative peut-elle les y aider sans que "
        "cela coûte plus cher ?",
    ),
}

YOUNG_MEMBERS: Texts = {
    "en": (
        "Starting out: welcoming young members",
        "Students and young graduates join the cooperative for their first jobs. What do they "
        "need to learn the ropes, and what can they bring to the others?",
    ),
    "nl": (
        "Van start gaan: jonge leden verwelkomen",
        "Studenten en pas afgestudeerden worden lid van de coöperatie voor hun eerste "
        "opdrachten. Wat hebben ze nodig om het vak te leren, en wat kunnen ze de anderen "
        "bijbrengen?",
    ),
    "fr": (
        "Se lancer : accueillir les jeunes membres",
        "Des étudiants et de jeunes diplômés rejoignent la coopérative pour leurs premières "
        "missions. De quoi ont-ils besoin pour apprendre le métier, et que peuvent-ils apporter "
        "aux autres ?",
    ),
}

RIGHT_TO_DISCONNECT: Texts = {
    "en": (
        "Working time and the right to disconnect",
        "Messages at night, weekends on call: freelancers are always reachable. How do we "
        "protect our rest and our private lives?",
    ),
    "nl": (
        "Werktijd en het recht om offline te zijn",
        "Berichten 's nachts, weekends van wacht: freelancers zijn altijd bereikbaar. Hoe "
        "beschermen we onze rust en ons privéleven?",
    ),
    "fr": (
        "Temps de travail et droit à la déconnexion",
        "Messages la nuit, week-ends d'astreinte : les indépendants sont toujours joignables. "
        "Comment protéger notre repos et notre vie privée ?",
    ),
}

# The June 2020 general assemblies: method and (month, day) of the vote's first and last day.
_POLLS_2020: dict[str, tuple[str, tuple[int, int], tuple[int, int]]] = {
    "BE": ("schulze", (6, 3), (6, 14)),
    "FR": ("approval", (6, 8), (6, 22)),
}
_POLLS_2021 = {"BE": "schulze", "FR": "stv"}
OPERATOR_OF = {"BE": "D-0001", "FR": "D-0002"}
# The demo polls' tellers: any two of the three count.
TELLERS_OF = {"BE": ("D-0005", "D-0006", "D-0009"), "FR": ("D-0007", "D-0008", "D-0010")}
TELLERS_NEEDED = 2
# One proxy per country in the open poll: (grantor, holder), shareholders who are not operators.
DEMO_PROXIES = {"BE": ("D-0101", "D-0105"), "FR": ("D-0203", "D-0204")}
WON_2020 = ("Accompaniment", "New prospects after the health crisis")


def _ballot_2020(method: str, k: int, numbers: dict[str, int]) -> list[int]:
    """The k-th ballot of a 2020 poll: a mix in which the two voted-in themes win.

    ``numbers`` maps a for A(ccompaniment), c for C(risis), m for M(obility), s for S(ocial
    protection) to candidate numbers."""
    if method == "approval":
        patterns = ("ac", "a", "cm", "acs", "c", "ms", "ac")
    else:  # ranked (schulze): a and c beat m and s pairwise
        patterns = ("acms", "casm", "amcs", "csam", "macs")
    return [numbers[x] for x in patterns[k % len(patterns)]]


async def _seed_polls(settings: Settings) -> bool:
    """The AGM polls, written through the poll services in one transaction (theirs nest in
    it), so ballots and participations go in together and a failure leaves nothing."""
    from core.plugins import build_registry

    rules = Rules(build_registry(settings), settings)
    async with db.write_transaction():
        editions = await Edition.select(Edition.id, Edition.slug).where(
            Edition.slug.is_in(["2020-2021", OPEN_EDITION])
        )
        if not db.is_sqlite() and editions:
            # Two starts at once: the second waits here until the first has committed.
            await (
                Edition.select(Edition.id)
                .where(Edition.id.is_in([e["id"] for e in editions]))
                .order_by(Edition.id)
                .lock_rows("NO KEY UPDATE")
            )
        if await Poll.exists():
            return False
        slugs = {e["slug"]: e["id"] for e in editions}
        operators = {}
        for country, number in OPERATOR_OF.items():
            row = await Member.select(Member.id).where(Member.member_number == number).first()
            operators[country] = await load_member(row["id"]) if row else None
        if any(op is None or not op.is_operator(c) for c, op in operators.items()):
            return False  # no demo operators to run the polls
        created = False
        if "2020-2021" in slugs:
            await _seed_polls_2020(rules, slugs["2020-2021"], operators)
            created = True
        # Only the demo's own open edition (with its proposals), not one made by hand.
        if OPEN_EDITION in slugs and await Theme.exists().where(
            (Theme.edition == slugs[OPEN_EDITION]) & (Theme.origin == MEMBER)
        ):
            await _seed_polls_2021(rules, slugs[OPEN_EDITION], operators)
            created = True
    # The 2020 counts erased their sealed ballots inside the transaction: scrub the files now.
    await db.scrub("sealed_ballot")
    return created


async def _titles(theme_ids: list[int]) -> dict[int, str]:
    rows = await ThemeText.select(ThemeText.theme, ThemeText.title).where(
        ThemeText.theme.is_in(theme_ids) & (ThemeText.language == "en")
    )
    return {r["theme"]: r["title"] for r in rows}


async def _name_tellers(
    rules: Rules, operator: CurrentMember, poll_id: int, country: str
) -> list[CurrentMember]:
    ids = await _member_ids(list(TELLERS_OF[country]))
    tellers = [await load_member(ids[number]) for number in TELLERS_OF[country]]
    await polls.set_tellers(rules, operator, poll_id, [t.id for t in tellers if t], TELLERS_NEEDED)
    return [t for t in tellers if t is not None]


async def _seed_polls_2020(rules: Rules, edition_id: int, operators: dict) -> None:
    # Two more themes were on the June 2020 ballots and were not elected.
    lost = {
        "edition": edition_id,
        "origin": BOARD,
        "status": ACCEPTED,
        "scope": "BE FR",
        "original_language": "fr",
        "created_at": _at(date(2020, 3, 2)),
        "decided_at": _at(date(2020, 3, 2)),
    }
    await _add_theme(MOBILITY, **lost)
    await _add_theme(SOCIAL_PROTECTION, **lost)
    now = clock.now()
    for country, (method, (m1, d1), (m2, d2)) in _POLLS_2020.items():
        operator = operators[country]
        # The services refuse a ballot outside the poll's times (checked against clock.now()),
        # so the poll runs now for a minute, is closed and published through the services,
        # and its times are then moved back to June 2020 by a direct UPDATE below.
        poll_id = await polls.create_poll(
            rules,
            operator,
            edition_id,
            country,
            method,
            2,
            now - timedelta(minutes=1),
            now + timedelta(hours=1),
        )
        tellers = await _name_tellers(rules, operator, poll_id, country)
        await polls.open_poll(rules, operator, poll_id)
        # The 2020 tellers collected their shares then and counted together after the vote.
        shares = [(await polls.collect_share(t, poll_id)).share for t in tellers]
        shares = shares[:TELLERS_NEEDED]
        poll = await polls.get_poll(poll_id)
        title = await _titles([t for _n, t in poll.candidates])
        letter = {
            "Accompaniment": "a",
            "New prospects after the health crisis": "c",
            MOBILITY["en"][0]: "m",
            SOCIAL_PROTECTION["en"][0]: "s",
        }
        numbers = {letter[title[t]]: n for n, t in poll.candidates}
        extras = extra_numbers(country)
        voters = [a.member_number for a in ACCOUNTS if a.country == country and a.shareholder]
        voters += [n for i, n in enumerate(extras) if i % 5 != 4]  # not everyone voted
        rows = await Member.select(Member.id).where(
            Member.member_number.is_in(voters)
            & (Member.country == country)
            & (Member.shareholder == True)  # noqa: E712
        )
        for k, row in enumerate(sorted(rows, key=lambda r: r["id"])):
            voter = await load_member(row["id"])
            assert voter is not None
            await polls.cast(rules, voter, poll_id, _ballot_2020(method, k, numbers))
        await polls.close_poll(rules, operator, poll_id)
        await polls.count_poll(rules, tellers[0], poll_id, shares)
        opens_at = _at(date(2020, m1, d1), 9)
        closes_at = _at(date(2020, m2, d2), 17)
        await Poll.update(
            {
                Poll.created_at: opens_at - timedelta(days=14),
                Poll.opens_at: opens_at,
                Poll.closes_at: closes_at,
                Poll.closed_at: closes_at,
                Poll.published_at: closes_at + timedelta(minutes=30),
            }
        ).where(Poll.id == poll_id)
        # Who voted, dated within the vote (one moment for all: it tells nothing anyway).
        await Participation.update({Participation.created_at: opens_at + timedelta(days=1)}).where(
            Participation.poll == poll_id
        )


async def _seed_polls_2021(rules: Rules, edition_id: int, operators: dict) -> None:
    # The board's themes for the 2021 ballot (member proposals keep gathering supports).
    now = clock.now()
    board = {
        "edition": edition_id,
        "origin": BOARD,
        "status": ACCEPTED,
        "scope": "BE FR",
        "original_language": "fr",
        "created_at": now - timedelta(days=24),
        "decided_at": now - timedelta(days=24),
    }
    for texts in (ECOLOGICAL_TRANSITION, YOUNG_MEMBERS, RIGHT_TO_DISCONNECT):
        await _add_theme(texts, **board)
    for country, method in _POLLS_2021.items():
        operator = operators[country]
        poll_id = await polls.create_poll(
            rules,
            operator,
            edition_id,
            country,
            method,
            2,
            now - timedelta(minutes=1),
            now + timedelta(days=30),
        )
        grantor_number, holder_number = DEMO_PROXIES[country]
        ids = await _member_ids([grantor_number, holder_number])
        grantor = await load_member(ids[grantor_number]) if grantor_number in ids else None
        if grantor is not None and holder_number in ids:
            # Online proxies are given until the poll opens: while it is a draft.
            await poll_proxies.grant_proxy(rules, grantor, poll_id, ids[holder_number])
        await _name_tellers(rules, operator, poll_id, country)
        # The shares wait in this server's memory until each demo teller collects theirs.
        await polls.open_poll(rules, operator, poll_id)
