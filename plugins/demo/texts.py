"""The texts of the demo's themes (nl, fr, en)."""

from __future__ import annotations

from collections.abc import Mapping

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

# The board's reasons for a second year, in French: the language its decisions are written in.
GENDER_EQUALITY_RATIONALE = (
    "Le débat doit être approfondi : les groupes de travail ont demandé une deuxième année pour "
    "traduire leurs constats en propositions concrètes."
)
SHARING_ECONOMY_RATIONALE = (
    "Le débat doit être approfondi en France : le dialogue avec les coursiers et les autres "
    "travailleurs des plateformes n'a commencé qu'au printemps."
)


# -- on the AGM ballots ----------------------------------------------------------------------

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
