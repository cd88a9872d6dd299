"""How a tie was broken, written for people in their language: theme names, numbers as
counts ("1 vote", never "1.00000"), and the same decisions the count's English notes record."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import i18n
from core.voting.methods import CORE_METHODS
from core.voting.notes import tie_note_text

METHODS = {m.name: m for m in CORE_METHODS}
TITLES = {1: "Alpha", 2: "Bêta", 3: "Gamma"}


@pytest.fixture(params=["en", "fr", "nl"])
def language(request: pytest.FixtureRequest) -> str:
    token = i18n.current_language.set(request.param)
    yield request.param
    i18n.current_language.reset(token)


@pytest.mark.parametrize("method", ["plurality", "approval", "borda", "schulze", "stv"])
def test_a_three_way_tie_is_told_with_names_and_counts(method: str, language: str) -> None:
    ballots = [[1, 2, 3], [2, 3, 1], [3, 1, 2]] if method != "plurality" else [[1], [2], [3]]
    if method == "approval":
        ballots = [[1], [2], [3]]
    tally = METHODS[method].tally(ballots, [1, 2, 3], 1)
    assert tally.tie_notes, tally
    for note in tally.tie_notes:
        text = tie_note_text(note, TITLES)
        assert any(title in text for title in TITLES.values())
        assert not re.search(r"\d\.\d{5}", text), text  # the count sheet's five decimals
        assert "candidate list" not in text


def test_french_and_dutch_readers_read_their_language() -> None:
    tally = METHODS["stv"].tally([[1, 2], [2, 1], [3]], [1, 2, 3], 1)
    texts = {}
    for language in ("en", "fr", "nl"):
        token = i18n.current_language.set(language)
        texts[language] = tie_note_text(tally.tie_notes[0], TITLES)
        i18n.current_language.reset(token)
    assert texts["en"].startswith("Stage 2:")
    assert texts["fr"] != texts["en"] and texts["nl"] != texts["en"]
    assert "1 voix" in texts["fr"] and "1 stem" in texts["nl"]


ballot = st.lists(st.integers(1, 4), min_size=0, max_size=4, unique=True)


@settings(max_examples=150, deadline=None)
@given(
    method=st.sampled_from(["plurality", "approval", "borda", "schulze", "stv"]),
    ballots=st.lists(ballot, min_size=1, max_size=9),
    seats=st.integers(1, 3),
)
def test_every_english_note_has_its_note_for_people(
    method: str, ballots: list[list[int]], seats: int
) -> None:
    if method == "plurality":
        ballots = [b[:seats] for b in ballots]
    tally = METHODS[method].tally(ballots, [1, 2, 3, 4], seats)
    assert len(tally.tie_notes) == len(tally.tie_breaks)
    for note, english in zip(tally.tie_notes, tally.tie_breaks, strict=True):
        # The same candidates are named as tied, and the same one is chosen.
        body = re.sub(r"^(stage|seat) \d+: ", "", english)
        tied = re.split(r" tie | are unbeaten", body)[0]
        assert sorted(str(c) for c in note.tied) == sorted(re.findall(r"\d+", tied))
        assert str(note.chosen[0]) in body
