"""The member proposals of the open edition, at every stage."""

from __future__ import annotations

from dataclasses import dataclass

from core.themes.services import DRAFT, MERGED, REJECTED, SUBMITTED
from plugins.demo.texts import Texts

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
