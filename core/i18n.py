"""Interface translations: Babel catalogs (``core/locale/<lang>/LC_MESSAGES/messages.po``).

Catalogs are compiled in memory at start-up, so the repository holds only the ``.po`` sources.
The language of the current request lives in a context variable that the templates' gettext
reads; it is set once per request from the member, the language cookie or the browser.
"""

from __future__ import annotations

import contextvars
import io
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from core.config import LANGUAGES

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGE_NAMES = {"nl": "Nederlands", "fr": "Français", "en": "English"}

current_language: contextvars.ContextVar[str] = contextvars.ContextVar("sip_language", default="en")


@cache
def translations(language: str) -> NullTranslations:
    po = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def gettext(message: str) -> str:
    return translations(current_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language.get()).ngettext(singular, plural, n)


_ = gettext


def N_(message: str) -> str:
    """Mark a constant for extraction without translating it; ``_()`` translates it where shown.

    For texts defined before any request has a language: class attributes, module constants.
    """
    return message


# Names the platform shows in the visitor's language. Keys are the codes stored in the database.
COUNTRY_NAMES = {"BE": N_("Belgium"), "FR": N_("France")}
ROLE_NAMES = {
    "operator": N_("operator"),
    "board": N_("board member"),
    "facilitator": N_("facilitator"),
}


def country_name(code: str, configured: str | None = None) -> str:
    """A country's name in the current language.

    The catalog's translation when there is one; otherwise (English, or a country the catalog
    does not know) the name the operator configured, else the built-in English name, else the code.
    """
    builtin = COUNTRY_NAMES.get(code)
    if builtin is not None:
        translated = gettext(builtin)
        if translated != builtin:
            return translated
    return configured or builtin or code


def role_label(role: str, country: str = "") -> str:
    """A role in the current language, with its country when it has one: "operator (BE)"."""
    name = gettext(ROLE_NAMES[role]) if role in ROLE_NAMES else role
    return f"{name} ({country})" if country else name


def role_labels(roles: Iterable[tuple[str, str]]) -> list[str]:
    """Every (role, country) pair as a label, in a stable order."""
    return [role_label(role, country) for role, country in sorted(roles)]


def negotiate(accept_language: str | None, default: str) -> str:
    """The first of our languages the browser asks for (``Accept-Language``), else default."""
    if not accept_language:
        return default
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        language = tag.strip().lower().split("-")[0]
        if language in LANGUAGES and quality > 0:
            choices.append((-quality, index, language))
    return min(choices)[2] if choices else default
