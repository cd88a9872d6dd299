"""Interface translations: Babel catalogs (``core/locale/<lang>/LC_MESSAGES/messages.po``).

Catalogs are compiled in memory at start-up, so the repository holds only the ``.po`` sources.
The language of the current request lives in a context variable that the templates' gettext
reads; it is set once per request from the member, the language cookie or the browser.
"""

from __future__ import annotations

import contextvars
import io
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
