"""Translations of a theme: who may add them, and the reader's language with a fallback."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core import clock
from core.editions import services as editions
from core.errors import Forbidden, InvalidInput, NotFound
from core.members.services import load_member
from core.plugins import build_registry
from core.rules import Rules
from core.themes import queries, services
from core.themes.tables import ThemeText
from tests.conftest import add_member, csrf_token, sign_in


@pytest.fixture
async def setup(database):
    rules = Rules(build_registry(database), database)
    edition_id = await editions.create_edition("2021-2022")
    today = clock.today()
    for country in ("BE", "FR"):
        await editions.set_calendar(
            edition_id,
            country,
            [
                editions.PhaseWindow(
                    "proposals", today - timedelta(days=1), today + timedelta(days=9)
                )
            ],
        )
    author = await load_member(await add_member("author@example.org", language="nl"))
    operator_be = await load_member(
        await add_member("op.be@example.org", roles=(("operator", "BE"),))
    )
    operator_fr = await load_member(
        await add_member("op.fr@example.org", roles=(("operator", "FR"),))
    )
    board = await load_member(await add_member("board@example.org", roles=(("board", ""),)))
    proposal = await services.propose(
        rules, author, edition_id, services.ThemeTextIn(title="Eerlijke tarieven", language="nl")
    )
    await services.submit(rules, author, proposal)
    board_theme = await services.add_board_theme(
        rules,
        board,
        edition_id,
        ["BE", "FR"],
        services.ThemeTextIn(title="Governance", language="en"),
    )
    return rules, proposal, board_theme, author, operator_be, operator_fr, board


async def test_an_operator_translates_a_proposal_and_readers_get_their_language(setup):
    rules, proposal, _, author, operator_be, _, _ = setup
    await services.set_text(
        rules, operator_be, proposal, services.ThemeTextIn(title="Tarifs équitables", language="fr")
    )
    assert (await queries.theme_detail(proposal, "fr", None)).title == "Tarifs équitables"
    assert (await queries.theme_detail(proposal, "nl", None)).title == "Eerlijke tarieven"
    english = await queries.theme_detail(proposal, "en", None)
    assert (english.title, english.language) == ("Eerlijke tarieven", "nl")  # the original


async def test_only_the_themes_operators_or_the_board_translate(setup):
    rules, proposal, board_theme, author, _, operator_fr, board = setup
    text = services.ThemeTextIn(title="Tarifs équitables", language="fr")
    for actor in (operator_fr, author, board):
        with pytest.raises(Forbidden):
            await services.set_text(rules, actor, proposal, text)
    with pytest.raises(Forbidden):  # a BE-and-FR board theme needs operators of both
        await services.set_text(rules, operator_fr, board_theme, text)
    await services.set_text(
        rules, board, board_theme, services.ThemeTextIn(title="Gouvernance", language="fr")
    )
    assert await ThemeText.count().where(ThemeText.theme == proposal) == 1
    assert await ThemeText.count().where(ThemeText.theme == board_theme) == 2


async def test_the_authors_original_words_and_bad_input_are_refused(setup):
    rules, proposal, _, _, operator_be, _, _ = setup
    with pytest.raises(Forbidden, match="author"):
        await services.set_text(
            rules, operator_be, proposal, services.ThemeTextIn(title="Iets anders", language="nl")
        )
    with pytest.raises(InvalidInput):
        await services.set_text(
            rules, operator_be, proposal, services.ThemeTextIn(title="x" * 10_000, language="fr")
        )
    with pytest.raises(InvalidInput):
        await services.set_text(
            rules, operator_be, proposal, services.ThemeTextIn(title="Titre", language="de")
        )
    rows = await ThemeText.select(ThemeText.language, ThemeText.title).where(
        ThemeText.theme == proposal
    )
    assert rows == [{"language": "nl", "title": "Eerlijke tarieven"}]


async def test_a_draft_is_not_translated(setup):
    rules, _, _, author, operator_be, _, _ = setup
    edition = await editions.get_edition("2021-2022")
    draft = await services.propose(
        rules, author, edition.id, services.ThemeTextIn(title="Nog een idee", language="nl")
    )
    with pytest.raises(NotFound):  # the draft is its author's alone
        await services.set_text(
            rules, operator_be, draft, services.ThemeTextIn(title="Une idée", language="fr")
        )


async def test_translations_through_the_api_and_the_page(client, setup):
    _, proposal, _, _, operator_be, operator_fr, _ = setup
    await sign_in(client, operator_fr.id)
    csrf = await csrf_token(client)
    refused = await client.put(
        f"/api/themes/{proposal}/texts/fr",
        json={"title": "Tarifs équitables"},
        headers={"x-csrftoken": csrf},
    )
    assert refused.status_code == 403
    await sign_in(client, operator_be.id)
    csrf = await csrf_token(client)
    done = await client.put(
        f"/api/themes/{proposal}/texts/fr",
        json={"title": "Tarifs équitables", "description": "Pourquoi"},
        headers={"x-csrftoken": csrf},
    )
    assert done.status_code == 200
    assert done.json()["title"] == "Tarifs équitables"
    page = await client.get(f"/themes/{proposal}")
    assert "Save the translation" in page.text
    form = await client.post(
        f"/themes/{proposal}/texts",
        data={"_csrf_token": csrf, "language": "en", "title": "", "description": ""},
    )
    assert form.status_code == 400
    assert "at least 3 characters" in form.text
    assert await ThemeText.count().where(ThemeText.theme == proposal) == 2
