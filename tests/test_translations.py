"""Interface translations: the catalogs cover the code, keep their placeholders, and are used.

The catalog checks need no database. When one fails after a template or message changed, run
``make messages``, translate the new or changed entries in ``core/locale/{nl,fr}/.../messages.po``
(and remove their ``#, fuzzy`` flag), then run the tests again.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from markupsafe import escape

from core import i18n
from core.config import LANGUAGES, PROJECT_ROOT
from tests.conftest import add_member, csrf_token, sign_in

TRANSLATED = ("nl", "fr")  # the source language, en, may leave msgstr empty
FIX = "run `make messages`, then translate these in core/locale/<lang>/LC_MESSAGES/messages.po"

# A printf-style conversion as Python's % operator reads it: %(name)s, %d, %5.2f, %%.
PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0 +\-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrsa%]"
)


@cache
def extracted() -> dict[str, list[str]]:
    """Every msgid found in the code and templates, with where it is.

    A plural message (``ngettext``) is listed under its singular msgid, which is how the catalog
    files it; its plural forms are checked through that catalog entry.
    """
    with (PROJECT_ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f, "babel.cfg")
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        PROJECT_ROOT, method_map, options_map, keywords=DEFAULT_KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


@cache
def catalog(language: str) -> Catalog:
    path = i18n.LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        return read_po(f, locale=language)


def placeholders(text: str) -> Counter[str]:
    return Counter(m.group(0) for m in PLACEHOLDER.finditer(text) if m.group(0) != "%%")


def entries(language: str) -> list[tuple[str, str]]:
    """(msgid, msgstr) pairs of a catalog, plural forms included, translated ones only."""
    pairs = []
    for message in catalog(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for index, string in enumerate(strings):
            if string:
                pairs.append((ids[min(index, len(ids) - 1)], string))
    return pairs


def test_extraction_finds_code_and_template_messages():
    found = extracted()
    places = [place for where in found.values() for place in where]
    assert any(p.startswith("core/") and ".py:" in p for p in places), places
    assert any(p.startswith("templates/") for p in places), places
    # Newstyle gettext with keyword arguments: {{ _("Welcome, %(name)s.", name=...) }}.
    assert any(
        "%(" in msgid and any(p.startswith("templates/") for p in where)
        for msgid, where in found.items()
    ), "no template message with a %(name)s placeholder was extracted; check babel.cfg"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated(language):
    messages = catalog(language)
    missing = []
    for msgid, where in extracted().items():
        message = messages.get(msgid)
        if message is None:
            missing.append(f"{msgid!r} (not in the catalog; used at {', '.join(where)})")
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            missing.append(f"{msgid!r} (empty translation; used at {', '.join(where)})")
    assert not missing, f"{len(missing)} message(s) lack a {language} translation; {FIX}:\n" + (
        "\n".join(missing)
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_their_placeholders(language):
    wrong = []
    for msgid, string in entries(language):
        if placeholders(msgid) != placeholders(string):
            wrong.append(f"{msgid!r} -> {string!r}")
            continue
        values = {m.group("name"): 1 for m in PLACEHOLDER.finditer(msgid) if m.group("name")}
        try:
            msgid % values
        except (TypeError, ValueError, KeyError):
            continue  # not a format string (a Python message that is never %-formatted)
        try:
            string % values
        except (TypeError, ValueError, KeyError) as exc:
            wrong.append(f"{msgid!r} -> {string!r} ({exc})")
    assert not wrong, f"{language}: placeholders differ from the msgid:\n" + "\n".join(wrong)


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_fuzzy_entries(language):
    messages = catalog(language)
    assert not messages.fuzzy, f"{language}: the catalog header is marked fuzzy"
    fuzzy = [repr(m.id) for m in messages if m.id and m.fuzzy]
    assert not fuzzy, (
        f"{language}: review these guessed translations and remove their `#, fuzzy` flag "
        "(fuzzy entries are not used):\n" + "\n".join(fuzzy)
    )


@pytest.mark.parametrize(
    ("header", "default", "expected"),
    [
        ("fr-BE,fr;q=0.9,en;q=0.8", "en", "fr"),
        ("de,nl;q=0.5", "en", "nl"),
        ("nl-BE", "fr", "nl"),
        ("NL-be;q=0.7, FR;q=0.8", "en", "fr"),
        ("en;q=0.8,fr;q=0.8", "nl", "en"),  # equal quality: the first one asked for
        ("de", "en", "en"),
        ("de", "fr", "fr"),
        ("nl;q=0", "en", "en"),
        ("*", "nl", "nl"),
        ("", "fr", "fr"),
        (None, "nl", "nl"),
        ("!!;;q=,,=;q=abc", "en", "en"),
        ("fr;q=abc", "nl", "nl"),
    ],
)
def test_negotiate_accept_language(header, default, expected):
    assert i18n.negotiate(header, default) == expected


def translated(language: str, message: str) -> str:
    """A message as it appears in a page in that language (HTML-escaped)."""
    return str(escape(i18n.translations(language).gettext(message)))


async def test_home_page_language_from_header_and_cookie(client):
    cycle = "How a cycle works"
    assert translated("nl", cycle) != cycle and translated("fr", cycle) != cycle

    dutch = await client.get("/", headers={"Accept-Language": "nl"})
    assert dutch.status_code == 200
    assert '<html lang="nl">' in dutch.text
    assert translated("nl", cycle) in dutch.text

    french = await client.get("/", headers={"Cookie": "sip_lang=fr", "Accept-Language": "nl"})
    assert '<html lang="fr">' in french.text
    assert translated("fr", cycle) in french.text

    unknown = await client.get("/", headers={"Cookie": "sip_lang=xx", "Accept-Language": "nl"})
    assert '<html lang="nl">' in unknown.text
    assert translated("nl", cycle) in unknown.text

    default = await client.get("/", headers={"Accept-Language": "de"})
    assert '<html lang="en">' in default.text
    assert cycle in default.text


@pytest.mark.parametrize("language", LANGUAGES)
async def test_every_page_renders_in_each_language(client, language):
    lang = f'<html lang="{language}">'
    client.cookies.set("sip_lang", language)
    member_id = await add_member(
        "operator@example.org", language=language, roles=(("operator", "BE"),)
    )

    signed_out = {
        "/": 200,
        "/sign-in": 200,
        f"/sign-in/link/{'x' * 43}": 404,
        "/account": 401,  # the error page
    }
    for path, status in signed_out.items():
        response = await client.get(path)
        assert response.status_code == status, (path, response.text)
        assert lang in response.text, path
        assert translated(language, "Sign in") in response.text, path

    from core.auth.services import create_sign_in_link

    confirm = await client.get(f"/sign-in/link/{await create_sign_in_link(member_id, 30)}")
    assert confirm.status_code == 200
    assert translated(language, "Sign me in") in confirm.text

    sent = await client.post(
        "/sign-in/link",
        data={"email": "nobody@example.org", "_csrf_token": await csrf_token(client)},
    )
    assert sent.status_code in (200, 201), sent.text
    assert translated(language, "Check your email") in sent.text

    await sign_in(client, member_id)
    client.cookies.delete("sip_lang")
    for path in ("/", "/account", "/members/import"):
        response = await client.get(path)  # the member's own language
        assert response.status_code == 200, (path, response.text)
        assert lang in response.text, path
        assert translated(language, "Sign out") in response.text, path
        assert translated(language, "My account") in response.text, path


# -- texts built in Python: import reasons, error titles, country and role names -------------------


def french(message: str, **values: object) -> str:
    """A Python message in French, formatted, as a page shows it (HTML-escaped)."""
    text = i18n.translations("fr").gettext(message)
    assert text != message, f"{message!r} has no French translation"
    return str(escape(text % values if values else text))


async def test_import_page_lists_row_errors_in_the_operators_language(client):
    operator = await add_member(
        "operateur@example.org", number="OP-FR", language="fr", roles=(("operator", "BE"),)
    )
    await sign_in(client, operator)
    csrf = await csrf_token(client)
    bad = (
        "member_number,email,name,country,language,shareholder\n"
        "P1,p1@example.org,Page One,BE,nl,yes\n"
        "P2,not-an-email,Page Two,BE,fr,no\n"
        "P3,p3@example.org,,XX,fr,no\n"
    )

    page = await client.post(
        "/members/import",
        files={"file": ("members.csv", bad.encode(), "text/csv")},
        data={"_csrf_token": csrf},
    )

    assert page.status_code == 400
    assert '<html lang="fr">' in page.text
    assert "Rien n’a été importé\u00a0: 2 lignes sont à corriger." in page.text
    assert "<td>3</td><td>email &#39;not-an-email&#39; n’est pas une adresse e-mail</td>" in (
        page.text
    )
    # Two problems on one line, joined the French way (a narrow no-break space before `;`).
    assert (
        "<td>4</td><td>name est vide\u202f; "
        "country &#39;XX&#39; n’est pas l’une de ces valeurs\u00a0: BE, FR</td>"
    ) in page.text
    assert "is not an email address" not in page.text

    # The JSON twin: the same reasons in `errors`, and one bad row is singular.
    api = await client.post(
        "/api/members/import",
        content=b"member_number,email,name,country,language,shareholder\nF1,f@example.org,F,FR,fr,1\n",
        headers={"content-type": "text/csv", "x-csrftoken": csrf},
    )
    assert api.status_code == 400
    body = api.json()
    assert body["title"] == "Données non valides"
    assert body["detail"] == "Rien n’a été importé\u00a0: 1 ligne est à corriger."
    assert body["errors"] == [{"line": 2, "reason": "vous n’êtes pas gestionnaire pour le pays FR"}]

    not_utf8 = await client.post(
        "/api/members/import",
        content="member_number\nPägé\n".encode("latin-1"),
        headers={"content-type": "text/csv", "x-csrftoken": csrf},
    )
    assert not_utf8.status_code == 400
    assert not_utf8.json()["detail"].startswith("le fichier n’est pas un texte UTF-8 (ligne 2,")


async def test_problem_details_for_a_french_visitor_are_in_french(client):
    client.cookies.set("sip_lang", "fr")

    anonymous = await client.get("/api/me")  # a DomainError: title and message
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    assert anonymous.json()["title"] == "Connexion requise"
    assert anonymous.json()["detail"] == "Connectez-vous pour voir cette page."

    missing = await client.get("/api/nothing-here")  # no route: Litestar's own 404
    assert missing.status_code == 404
    assert missing.json()["title"] == french("Not Found") == "Introuvable"
    assert missing.json()["detail"] == "Introuvable"

    csrf = await csrf_token(client)
    wrong_type = await client.post(
        "/api/sign-in/password", json={"email": 5}, headers={"x-csrftoken": csrf}
    )
    assert wrong_type.status_code == 400
    assert wrong_type.json()["title"] == "Requête incorrecte"
    assert wrong_type.json()["detail"].startswith("Données non valides pour POST /api/")

    page = await client.get("/account")  # the HTML error page
    assert page.status_code == 401
    assert "<h1>Connexion requise</h1>" in page.text

    # English stays exactly as it was.
    client.cookies.set("sip_lang", "en")
    english = await client.get("/api/nothing-here")
    assert (english.json()["title"], english.json()["detail"]) == ("Not Found", "Not Found")
    assert (await client.get("/api/me")).json()["title"] == "Sign-in required"


@pytest.mark.parametrize(
    ("language", "country", "roles"),
    [
        ("nl", "België", "lid van de raad van bestuur, beheerder (BE)"),
        ("fr", "Belgique", "membre du conseil d’administration, gestionnaire (BE)"),
        ("en", "Belgium", "board member, operator (BE)"),
    ],
)
async def test_country_and_role_names_are_in_the_members_language(client, language, country, roles):
    member = await add_member(
        "lid@example.org",
        country="BE",
        language=language,
        roles=(("operator", "BE"), ("board", "")),
    )
    await sign_in(client, member)

    account = await client.get("/account")
    assert account.status_code == 200
    assert f"<dd>{country}</dd>" in account.text
    assert f"<dd>{roles}</dd>" in account.text

    home = await client.get("/")
    assert f"<li>{country} (BE): " in home.text
    assert f"{roles}.</p>" in home.text


def test_country_name_falls_back_to_the_configured_name_in_english():
    token = i18n.current_language.set("en")
    try:
        assert i18n.country_name("BE", "Belgium (Smart)") == "Belgium (Smart)"
        assert i18n.country_name("BE") == "Belgium"
        assert i18n.country_name("XX") == "XX"
        assert i18n.role_label("operator", "FR") == "operator (FR)"
        assert i18n.role_label("unknown-role") == "unknown-role"
    finally:
        i18n.current_language.reset(token)
    token = i18n.current_language.set("nl")
    try:
        assert i18n.country_name("FR", "France (Smart)") == "Frankrijk"
        assert i18n.role_labels([("operator", "BE"), ("board", "")]) == [
            "lid van de raad van bestuur",
            "beheerder (BE)",
        ]
    finally:
        i18n.current_language.reset(token)
