"""The record's data: earlier editions' themes, archived figures, recommendations,
decisions and projects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from plugins.demo.texts import Texts

MARKER_EDITION = "2015-2016"
EARLIER_EDITIONS = ("2015-2016", "2016-2017", "2017-2018", "2018-2019")
BOARD = "D-0003"  # Marc Dubois, the demo's board member
OPERATORS = {"BE": "D-0001", "FR": "D-0002"}
FACILITATORS = {"BE": "D-0004", "FR": "D-2030"}

# -- themes of the earlier editions ------------------------------------------------------------

BECOMING_A_COOPERATIVE: Texts = {
    "en": (
        "Becoming a cooperative",
        "Smart was born as a non-profit association. Should its members own it together, and "
        "what would change for them if they did?",
    ),
    "nl": (
        "Coöperatie worden",
        "Smart begon als vzw. Moeten de leden er samen eigenaar van worden, en wat zou dat "
        "voor hen veranderen?",
    ),
    "fr": (
        "Devenir une coopérative",
        "Smart est née sous la forme d'une association. Ses membres doivent-ils en devenir "
        "ensemble propriétaires, et qu'est-ce que cela changerait pour eux ?",
    ),
}

SHARING_RISKS: Texts = {
    "en": (
        "Sharing the risks between members",
        "Late payments, cancelled jobs, quiet months: how far can a mutual fund protect each "
        "member, and who pays for it?",
    ),
    "nl": (
        "De risico's onder de leden delen",
        "Laattijdige betalingen, geannuleerde opdrachten, stille maanden: hoe ver kan een "
        "onderling fonds elk lid beschermen, en wie betaalt ervoor?",
    ),
    "fr": (
        "Mutualiser les risques entre membres",
        "Retards de paiement, missions annulées, mois creux : jusqu'où un fonds mutuel peut-il "
        "protéger chaque membre, et qui le finance ?",
    ),
}

WELCOMING: Texts = {
    "en": (
        "Welcoming new members",
        "Hundreds of people join every month. How do they find their way in the cooperative, "
        "and who helps them with their first contracts?",
    ),
    "nl": (
        "Nieuwe leden verwelkomen",
        "Elke maand sluiten honderden mensen aan. Hoe vinden ze hun weg in de coöperatie, en "
        "wie helpt hen met hun eerste contracten?",
    ),
    "fr": (
        "Accueillir les nouveaux membres",
        "Des centaines de personnes nous rejoignent chaque mois. Comment trouvent-elles leur "
        "chemin dans la coopérative, et qui les aide pour leurs premiers contrats ?",
    ),
}

DIGITAL_TOOLS: Texts = {
    "en": (
        "Digital tools for members",
        "Invoices, contracts, expenses: which online tools do members need, and how should the "
        "cooperative build them with them?",
    ),
    "nl": (
        "Digitale tools voor de leden",
        "Facturen, contracten, onkosten: welke online tools hebben de leden nodig, en hoe "
        "bouwt de coöperatie ze samen met hen?",
    ),
    "fr": (
        "Des outils numériques pour les membres",
        "Factures, contrats, frais : de quels outils en ligne les membres ont-ils besoin, et "
        "comment la coopérative doit-elle les construire avec eux ?",
    ),
}

ETHICS: Texts = {
    "en": (
        "Ethics and values of the cooperative",
        "Which activities do we accept, which clients, which ways of working? And who watches "
        "over the values the members share?",
    ),
    "nl": (
        "Ethiek en waarden van de coöperatie",
        "Welke activiteiten aanvaarden we, welke klanten, welke manieren van werken? En wie "
        "waakt over de waarden die de leden delen?",
    ),
    "fr": (
        "Éthique et valeurs de la coopérative",
        "Quelles activités acceptons-nous, quels clients, quelles façons de travailler ? Et qui "
        "veille sur les valeurs que partagent les membres ?",
    ),
}

ACROSS_TRADES: Texts = {
    "en": (
        "Working together across trades",
        "Musicians, developers, trainers, craftspeople: how can members of different trades "
        "find each other and answer calls for tenders together?",
    ),
    "nl": (
        "Samenwerken over beroepen heen",
        "Muzikanten, ontwikkelaars, opleiders, ambachtslui: hoe vinden leden uit verschillende "
        "beroepen elkaar en schrijven ze samen in op aanbestedingen?",
    ),
    "fr": (
        "Travailler ensemble entre métiers",
        "Musiciens, développeurs, formateurs, artisans : comment des membres de métiers "
        "différents peuvent-ils se trouver et répondre ensemble à des appels d'offres ?",
    ),
}

PUBLIC_AUTHORITIES: Texts = {
    "en": (
        "Freelancers and public authorities",
        "Unemployment offices, tax administrations, social security: how do we make public "
        "services understand the work of freelancers, and speak for them?",
    ),
    "nl": (
        "Freelancers en de overheid",
        "RVA, belastingen, sociale zekerheid: hoe zorgen we dat overheidsdiensten het werk van "
        "freelancers begrijpen, en hoe spreken we voor hen?",
    ),
    "fr": (
        "Les indépendants face aux pouvoirs publics",
        "Chômage, fiscalité, sécurité sociale : comment faire comprendre aux services publics "
        "le travail des indépendants, et parler en leur nom ?",
    ),
}

GUARANTEE_FUND: Texts = {
    "en": (
        "The mutual guarantee fund",
        "The fund pays members when a client pays late. Should it grow, cover more risks, and "
        "exist in France as it does in Belgium?",
    ),
    "nl": (
        "Het onderling waarborgfonds",
        "Het fonds betaalt leden uit als een klant laat betaalt. Moet het groeien, meer risico's "
        "dekken, en ook in Frankrijk bestaan zoals in België?",
    ),
    "fr": (
        "Le fonds de garantie mutuel",
        "Le fonds paie les membres quand un client paie en retard. Doit-il grandir, couvrir "
        "plus de risques, et exister en France comme en Belgique ?",
    ),
}

EARLIER_THEMES: dict[str, tuple[Texts, ...]] = {
    "2015-2016": (BECOMING_A_COOPERATIVE, SHARING_RISKS),
    "2016-2017": (WELCOMING, DIGITAL_TOOLS),
    "2017-2018": (ETHICS, ACROSS_TRADES),
    "2018-2019": (PUBLIC_AUTHORITIES, GUARANTEE_FUND),
}

# -- archived figures: (AGM day, voters, shareholders who could vote, groups, participants,
# meetings) per edition and country, from the cooperative's reports ----------------------------

ARCHIVE: dict[tuple[str, str], tuple[date, int, int | None, int, int, int]] = {
    ("2015-2016", "BE"): (date(2015, 6, 13), 180, None, 14, 486, 68),
    ("2015-2016", "FR"): (date(2015, 6, 20), 64, None, 5, 152, 23),
    ("2016-2017", "BE"): (date(2016, 6, 11), 264, 2950, 17, 574, 83),
    ("2016-2017", "FR"): (date(2016, 6, 18), 97, 820, 7, 231, 34),
    ("2017-2018", "BE"): (date(2017, 6, 10), 351, 3420, 18, 612, 88),
    ("2017-2018", "FR"): (date(2017, 6, 17), 133, 1040, 9, 298, 43),
    ("2018-2019", "BE"): (date(2018, 6, 9), 402, 3890, 16, 548, 79),
    ("2018-2019", "FR"): (date(2018, 6, 16), 158, 1190, 10, 342, 49),
    ("2019-2020", "BE"): (date(2019, 6, 15), 377, 4210, 15, 505, 72),
    ("2019-2020", "FR"): (date(2019, 6, 22), 149, 1310, 9, 317, 45),
}


def archive_source(edition: str) -> str:
    return f"Smart in Progress {edition} : rapport d'activité de l'équipe vie coopérative"


# -- recommendations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoDecision:
    outcome: str
    rationale: str
    decided_on: date


@dataclass(frozen=True)
class DemoRecommendation:
    """A recommendation of the group of ``theme`` (its English title in the edition) meeting in
    ``locality``; ``key`` names it for the projects. ``comments`` and ``endorsements`` are
    given by the group's participants (the demo's 2020-2021 groups have some)."""

    key: str
    edition: str
    country: str
    theme: str
    locality: str
    language: str
    title: str
    text: str
    rationale: str
    decisions: tuple[DemoDecision, ...]
    comments: tuple[str, ...] = ()
    endorsements: int = 0


RECOMMENDATIONS: tuple[DemoRecommendation, ...] = (
    DemoRecommendation(
        "cooperative",
        "2015-2016",
        "BE",
        "Becoming a cooperative",
        "Brussels",
        "fr",
        "Transformer Smart en coopérative détenue par ses membres",
        "Les membres deviennent sociétaires de Smart : chacun peut acheter une part, et "
        "l'assemblée générale des sociétaires décide des grandes orientations.",
        "Ce sont les membres qui font vivre Smart ; ils doivent pouvoir en décider.",
        (
            DemoDecision(
                "adopted",
                "Adopté : le conseil d'administration prépare les statuts de la coopérative pour "
                "l'assemblée générale de 2016.",
                date(2016, 6, 20),
            ),
        ),
    ),
    DemoRecommendation(
        "one-vote",
        "2015-2016",
        "BE",
        "Becoming a cooperative",
        "Brussels",
        "fr",
        "Un membre, une voix à l'assemblée générale",
        "Quel que soit le nombre de parts qu'il détient, chaque sociétaire a une voix.",
        "La coopérative appartient à ses membres, pas à ceux qui ont le plus de capital.",
        (
            DemoDecision(
                "adopted_with_changes",
                "Adopté avec une modification : un membre dispose d'une voix, et peut détenir au "
                "plus deux procurations.",
                date(2016, 6, 20),
            ),
        ),
    ),
    DemoRecommendation(
        "late-payments-fr",
        "2015-2016",
        "FR",
        "Sharing the risks between members",
        "Paris",
        "fr",
        "Un fonds mutuel contre les retards de paiement",
        "Une part de la contribution de chaque membre alimente un fonds qui paie les membres à "
        "la date prévue, même quand le client paie en retard.",
        "Un retard de paiement peut suffire à mettre un indépendant en difficulté.",
        (
            DemoDecision(
                "deferred",
                "Reporté : la coopérative française doit d'abord constituer ses propres réserves.",
                date(2016, 6, 27),
            ),
        ),
    ),
    DemoRecommendation(
        "welcome-path",
        "2016-2017",
        "BE",
        "Welcoming new members",
        "Ghent",
        "nl",
        "Een onthaaltraject voor elk nieuw lid",
        "Elk nieuw lid krijgt een onthaalsessie, een vast aanspreekpunt en een peter of meter "
        "onder de ervaren leden voor zijn eerste drie contracten.",
        "Nieuwe leden haken af omdat ze niet weten waar ze terechtkunnen.",
        (
            DemoDecision(
                "adopted",
                "Aangenomen: het onthaaltraject start in het najaar in de kantoren van Brussel en "
                "Gent.",
                date(2017, 6, 19),
            ),
        ),
    ),
    DemoRecommendation(
        "coworking-fr",
        "2016-2017",
        "FR",
        "Digital tools for members",
        "Lyon",
        "fr",
        "Des espaces de coworking gratuits dans chaque ville",
        "La coopérative loue des espaces de travail partagés, gratuits pour les membres, dans "
        "chaque ville où elle est présente.",
        "Beaucoup de membres travaillent seuls chez eux.",
        (
            DemoDecision(
                "rejected",
                "Rejeté : le coût pèserait sur la contribution de chaque membre ; le conseil "
                "d'administration préfère des accords avec des espaces de coworking existants.",
                date(2017, 6, 26),
            ),
        ),
    ),
    DemoRecommendation(
        "ethics-committee",
        "2017-2018",
        "BE",
        "Ethics and values of the cooperative",
        "Brussels",
        "fr",
        "Un comité d'éthique",
        "La coopérative se dote d'un comité d'éthique, élu par l'assemblée générale, que tout "
        "membre peut saisir et qui rend des avis publics sur les activités, les clients et les "
        "pratiques de la coopérative.",
        "Les membres ont besoin de savoir qui veille sur les valeurs qu'ils partagent, et de "
        "pouvoir poser une question d'éthique sans passer par la hiérarchie.",
        (
            DemoDecision(
                "deferred",
                "Reporté : le conseil d'administration veut connaître le mandat du comité et son "
                "coût avant de décider.",
                date(2018, 6, 14),
            ),
            DemoDecision(
                "adopted",
                "Adopté : le comité d'éthique est mis en place en 2019, avec un mandat approuvé "
                "par l'assemblée générale et des membres qu'elle élit.",
                date(2018, 9, 20),
            ),
        ),
    ),
    DemoRecommendation(
        "charter-fr",
        "2017-2018",
        "FR",
        "Ethics and values of the cooperative",
        "Paris",
        "fr",
        "Une charte des valeurs de la coopérative",
        "Les membres rédigent ensemble une charte des valeurs, que chacun signe en adhérant et "
        "à laquelle tout membre peut se référer.",
        "Des valeurs écrites ensemble engagent davantage que des valeurs affichées.",
        (
            DemoDecision(
                "adopted_with_changes",
                "Adopté avec des modifications : la charte est rédigée avec le comité d'éthique "
                "et approuvée par l'assemblée générale.",
                date(2018, 6, 25),
            ),
        ),
    ),
    DemoRecommendation(
        "lobbying",
        "2018-2019",
        "BE",
        "Freelancers and public authorities",
        "Liège",
        "fr",
        "Un guichet unique pour les indépendants auprès des services publics",
        "La coopérative négocie avec l'ONEM et les caisses d'allocations un guichet unique qui "
        "connaît la situation des travailleurs à la mission.",
        "Les membres perdent des mois en allers-retours entre les administrations.",
        (
            DemoDecision(
                "deferred",
                "Reporté : le conseil d'administration porte d'abord la question auprès des "
                "autorités fédérales.",
                date(2019, 6, 17),
            ),
        ),
    ),
    DemoRecommendation(
        "guarantee-fr",
        "2018-2019",
        "FR",
        "The mutual guarantee fund",
        "Paris",
        "fr",
        "Un fonds de garantie mutuel en France",
        "Comme en Belgique, un fonds de garantie mutuel paie les membres français à la date "
        "prévue quand un client paie en retard.",
        "Trois ans après la première demande, la coopérative française a constitué ses réserves.",
        (
            DemoDecision(
                "adopted",
                "Adopté : le fonds français ouvre en 2020, financé par 1 % des contributions.",
                date(2019, 6, 24),
            ),
        ),
    ),
    DemoRecommendation(
        "pay-gap",
        "2019-2020",
        "BE",
        "Gender equality",
        "Brussels",
        "fr",
        "Publier chaque année l'écart de rémunération entre femmes et hommes",
        "La coopérative publie chaque année l'écart de rémunération entre ses membres femmes et "
        "hommes, par secteur d'activité.",
        "On ne réduit que ce que l'on mesure.",
        (
            DemoDecision(
                "adopted_with_changes",
                "Adopté avec des modifications : les chiffres ne sont publiés que par grand "
                "secteur, afin qu'aucun membre ne puisse être reconnu.",
                date(2020, 6, 22),
            ),
        ),
    ),
    DemoRecommendation(
        "platform-fr",
        "2019-2020",
        "FR",
        "Sharing economy: a viable economic model?",
        "Paris",
        "fr",
        "Une plateforme coopérative pour les livreurs",
        "La coopérative aide les livreurs à créer leur propre plateforme coopérative de "
        "livraison, dont ils seraient sociétaires.",
        "Les livreurs des plateformes n'ont aucune protection et aucune voix.",
        (
            DemoDecision(
                "deferred",
                "Reporté : le thème se poursuit une année de plus en France, pour préparer la "
                "plateforme avec les livreurs.",
                date(2020, 6, 29),
            ),
        ),
    ),
    DemoRecommendation(
        "peer-mentoring",
        "2020-2021",
        "BE",
        "Accompaniment",
        "Brussels",
        "fr",
        "Du mentorat entre pairs pour développer son activité",
        "Des membres expérimentés accompagnent, quelques heures par mois, des membres qui "
        "lancent ou réorientent leur activité ; la coopérative forme et défraie les mentors.",
        "Les conseillers ne peuvent pas tout : l'expérience des pairs est une richesse.",
        (
            DemoDecision(
                "adopted",
                "Adopté : une première cohorte de vingt mentors démarre à l'automne.",
                date(2021, 6, 21),
            ),
        ),
        comments=(
            "Il faudrait que les mentors soient défrayés, sinon on n'en trouvera pas.",
            "Et un mentor d'un autre métier peut aussi aider : c'est la gestion qui compte.",
        ),
        endorsements=6,
    ),
    DemoRecommendation(
        "parental-leave",
        "2020-2021",
        "BE",
        "Gender equality",
        "Ghent",
        "nl",
        "Een solidariteitsfonds voor ouderschapsverlof",
        "Een fonds vult het inkomen aan van leden die ouderschapsverlof nemen, zodat het verlof "
        "niet alleen voor wie het zich kan veroorloven bestaat.",
        "Vrouwelijke leden verliezen vaak opdrachten na een geboorte.",
        (
            DemoDecision(
                "deferred",
                "Uitgesteld: de raad van bestuur vraagt een kostenraming, samen met het onderling "
                "waarborgfonds.",
                date(2021, 6, 21),
            ),
        ),
        comments=("Ook voor vaders, anders verandert er niets.",),
        endorsements=5,
    ),
    DemoRecommendation(
        "riders-coop",
        "2020-2021",
        "FR",
        "Sharing economy: a viable economic model?",
        "Paris",
        "fr",
        "Accompagner les coopératives de livreurs",
        "La coopérative ouvre son accompagnement aux coopératives de livreurs à vélo : "
        "portage des contrats, assurance, formation à la gestion.",
        "Après deux ans de débat, les livreurs du groupe ont créé leur coopérative.",
        (
            DemoDecision(
                "adopted_with_changes",
                "Adopté avec des modifications : un projet pilote avec deux coopératives de "
                "livreurs, à Paris et à Lyon.",
                date(2021, 6, 28),
            ),
        ),
        comments=("Il faut aussi une assurance adaptée aux accidents de la route.",),
        endorsements=7,
    ),
)


@dataclass(frozen=True)
class DemoProject:
    title: str
    description: str
    language: str
    status: str
    started_on: date
    sources: tuple[str, ...]  # recommendation keys
    milestones: tuple[tuple[str, date, date | None], ...]  # (title, due on, done on)


PROJECTS: tuple[DemoProject, ...] = (
    DemoProject(
        "Smart devient une coopérative",
        "Les activités de l'association passent à une coopérative détenue par ses membres : un "
        "membre, une voix.",
        "fr",
        "completed",
        date(2016, 9, 1),
        ("cooperative", "one-vote"),
        (
            ("Statuts de la coopérative adoptés", date(2016, 11, 30), date(2016, 11, 24)),
            ("Premières parts proposées aux membres", date(2017, 1, 31), date(2017, 1, 16)),
            ("Première assemblée générale des sociétaires", date(2017, 6, 30), date(2017, 6, 10)),
        ),
    ),
    DemoProject(
        "Parcours d'accueil des nouveaux membres",
        "Une séance d'accueil, un interlocuteur unique et un parrain ou une marraine parmi les "
        "membres expérimentés pour chaque nouveau membre.",
        "fr",
        "completed",
        date(2017, 9, 15),
        ("welcome-path",),
        (
            ("Séances d'accueil à Bruxelles et à Gand", date(2017, 10, 31), date(2017, 10, 12)),
            ("Séances d'accueil dans chaque bureau", date(2018, 6, 30), date(2018, 5, 28)),
        ),
    ),
    DemoProject(
        "Comité d'éthique",
        "Un comité d'éthique élu par l'assemblée générale, que tout membre peut saisir et qui "
        "rend des avis publics sur les activités, les clients et les pratiques de la "
        "coopérative ; avec la charte des valeurs qu'il a rédigée avec les membres.",
        "fr",
        "completed",
        date(2019, 1, 7),
        ("ethics-committee", "charter-fr"),
        (
            (
                "Mandat approuvé par le conseil d'administration",
                date(2019, 1, 31),
                date(2019, 1, 24),
            ),
            ("Membres élus par l'assemblée générale", date(2019, 6, 15), date(2019, 6, 15)),
            ("Charte des valeurs approuvée", date(2019, 10, 31), date(2019, 10, 17)),
            ("Premier avis public", date(2019, 12, 31), date(2019, 11, 18)),
        ),
    ),
    DemoProject(
        "Fonds de garantie mutuel en France",
        "Les membres en France sont payés à la date prévue quand un client paie en retard, "
        "comme en Belgique.",
        "fr",
        "in_progress",
        date(2019, 9, 2),
        ("guarantee-fr",),
        (
            ("Réserves constituées", date(2019, 12, 31), date(2019, 12, 20)),
            ("Fonds ouvert aux membres à Paris", date(2020, 3, 31), date(2020, 6, 2)),
            ("Fonds ouvert aux membres dans toutes les régions", date(2021, 12, 31), None),
        ),
    ),
    DemoProject(
        "Rapport annuel sur l'écart de rémunération",
        "Chaque année, l'écart de rémunération entre les femmes et les hommes parmi les membres, "
        "par grand secteur.",
        "fr",
        "in_progress",
        date(2020, 9, 1),
        ("pay-gap",),
        (
            ("Premier rapport publié", date(2021, 3, 8), date(2021, 3, 8)),
            ("Deuxième rapport publié", date(2022, 3, 8), None),
        ),
    ),
    DemoProject(
        "Mentorat entre pairs",
        "Des membres expérimentés accompagnent les membres qui lancent ou réorientent leur "
        "activité.",
        "fr",
        "planned",
        date(2021, 9, 1),
        ("peer-mentoring",),
        (("Première cohorte de vingt mentors formée", date(2021, 11, 30), None),),
    ),
)
