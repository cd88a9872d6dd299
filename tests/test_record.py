"""The public record: its figures are the tables' own counts (written here in plain SQL,
independently of the record's code), it is public, its charts say in words what they draw, and
the demo tells the cooperative's story since 2015 (the ethics committee of 2019 included)."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest

from core.editions.tables import Edition
from core.recommendations import deciding, projects, record
from core.recommendations import services as recs
from core.recommendations.tables import Project
from plugins.demo import ARCHIVE, seed_demo
from tests.demo_helpers import open_slug
from tests.recommendations_support import build_cycle

pytestmark = pytest.mark.usefixtures("database")


async def one(sql: str, *args: Any) -> Any:
    rows = await Edition.raw(sql, *args)
    return next(iter(rows[0].values())) if rows else None


# The current decision of a recommendation: the entry no other entry supersedes.
CURRENT = (
    "SELECT d.recommendation, d.outcome FROM board_decision d WHERE NOT EXISTS "
    "(SELECT 1 FROM board_decision s WHERE s.supersedes = d.id)"
)


async def expected_rows() -> list[dict[str, Any]]:
    """Every edition in every country it ran in, counted straight from the tables."""
    found = []
    editions = await Edition.raw("SELECT id, slug FROM edition ORDER BY slug")
    for edition in editions:
        eid = edition["id"]
        countries = set()
        for sql in (
            "SELECT DISTINCT country FROM edition_phase WHERE edition = {}",
            "SELECT DISTINCT country FROM archived_figures WHERE edition = {}",
            "SELECT DISTINCT country FROM working_group WHERE edition = {}",
        ):
            countries |= {r["country"] for r in await Edition.raw(sql, eid)}
        for country in sorted(countries):
            archive = await Edition.raw(
                "SELECT * FROM archived_figures WHERE edition = {} AND country = {}", eid, country
            )
            published = await one(
                "SELECT COUNT(*) FROM poll WHERE edition = {} AND country = {} "
                "AND state = 'published'",
                eid,
                country,
            )
            if published:
                voters = await one(
                    "SELECT COUNT(*) FROM participation p JOIN poll ON poll.id = p.poll "
                    "WHERE poll.edition = {} AND poll.country = {} AND poll.state = 'published'",
                    eid,
                    country,
                )
            else:
                voters = archive[0]["agm_voters"] if archive else None
            if archive:
                groups = archive[0]["group_count"]
                participants = archive[0]["participant_count"]
            else:
                groups = await one(
                    "SELECT COUNT(*) FROM working_group WHERE edition = {} AND country = {}",
                    eid,
                    country,
                )
                participants = await one(
                    "SELECT COUNT(DISTINCT r.member) FROM group_registration r "
                    "JOIN working_group g ON g.id = r.working_group "
                    "WHERE g.edition = {} AND g.country = {} AND r.status = 'confirmed'",
                    eid,
                    country,
                )
            submitted = await one(
                "SELECT COUNT(*) FROM recommendation WHERE edition = {} AND country = {} "
                "AND status = 'submitted'",
                eid,
                country,
            )
            outcomes = {
                r["outcome"]: r["n"]
                for r in await Edition.raw(
                    f"SELECT c.outcome, COUNT(*) AS n FROM ({CURRENT}) c "
                    "JOIN recommendation r ON r.id = c.recommendation "
                    "WHERE r.edition = {} AND r.country = {} AND r.status = 'submitted' "
                    "GROUP BY c.outcome",
                    eid,
                    country,
                )
            }
            projects_count = await one(
                "SELECT COUNT(DISTINCT s.project) FROM project_source s "
                "JOIN recommendation r ON r.id = s.recommendation "
                "WHERE r.edition = {} AND r.country = {} AND r.status = 'submitted'",
                eid,
                country,
            )
            found.append(
                {
                    "edition": edition["slug"],
                    "country": country,
                    "agm_voters": voters,
                    "groups": groups,
                    "participants": participants,
                    "recommendations": submitted,
                    "adopted": outcomes.get("adopted", 0),
                    "adopted_with_changes": outcomes.get("adopted_with_changes", 0),
                    "rejected": outcomes.get("rejected", 0),
                    "deferred": outcomes.get("deferred", 0),
                    "pending": submitted - sum(outcomes.values()),
                    "projects": projects_count,
                }
            )
    return found


def figures_of(row: Any) -> dict[str, Any]:
    return {key: getattr(row, key) for key in EXPECTED_KEYS}


EXPECTED_KEYS = (
    "edition",
    "country",
    "agm_voters",
    "groups",
    "participants",
    "recommendations",
    "adopted",
    "adopted_with_changes",
    "rejected",
    "deferred",
    "pending",
    "projects",
)


async def test_the_demo_records_figures_equal_the_tables_counts(database):
    await seed_demo(database)
    expected = await expected_rows()
    found = await record.record("en")
    assert [figures_of(r) for r in found.rows] == expected
    totals = found.totals
    assert totals.participants == sum(r["participants"] for r in expected)
    assert totals.agm_voters == sum(r["agm_voters"] or 0 for r in expected)
    assert totals.recommendations == await one(
        "SELECT COUNT(*) FROM recommendation WHERE status = 'submitted'"
    )
    assert totals.adopted == await one(
        f"SELECT COUNT(*) FROM ({CURRENT}) c WHERE c.outcome IN ('adopted', 'adopted_with_changes')"
    )
    assert totals.projects == await one("SELECT COUNT(*) FROM project")
    assert totals.editions == await one("SELECT COUNT(*) FROM edition")


async def test_a_live_cycles_figures_equal_the_tables_counts(database):
    """An edition run on the platform: participants are its registrations, the outcomes its
    current decisions (one changed, one pending), the projects its project rows."""
    cycle = await build_cycle(database)
    adopted = await cycle.bundled("BE", "Adopted")
    changed = await cycle.bundled("BE", "Changed")
    await cycle.bundled("FR", "Pending")
    first = await deciding.record_decision(
        cycle.rules, cycle.board, changed, recs.DecisionIn("rejected", "No.")
    )
    await deciding.record_decision(
        cycle.rules,
        cycle.board,
        changed,
        recs.DecisionIn("deferred", "Later.", supersedes=first.id),
    )
    await deciding.record_decision(
        cycle.rules, cycle.board, adopted, recs.DecisionIn("adopted", "Yes.")
    )
    await projects.create_project(
        cycle.rules,
        cycle.board,
        projects.ProjectIn(title="Mediation", recommendation_ids=[adopted]),
    )
    expected = await expected_rows()
    found = await record.record("en")
    assert [figures_of(r) for r in found.rows] == expected
    be = next(r for r in found.rows if r.country == "BE")
    assert (be.participants, be.adopted, be.deferred, be.rejected, be.projects) == (3, 1, 1, 0, 1)
    assert be.figures_source == "platform" and be.agm_voters is None


async def test_the_demo_tells_more_than_4000_participants_since_2015(database):
    await seed_demo(database)
    found = await record.record("en")
    editions = sorted({r.edition for r in found.rows})
    assert editions[0] == "2015-2016" and {"BE", "FR"} == {
        r.country for r in found.rows if r.edition == "2015-2016"
    }
    assert found.totals.participants > 4000
    assert sum(v[4] for v in ARCHIVE.values()) <= found.totals.participants
    live = next(r for r in found.rows if (r.edition, r.country) == ("2020-2021", "BE"))
    assert live.figures_source == "platform" and live.agm_source == "platform"
    archived = next(r for r in found.rows if (r.edition, r.country) == ("2017-2018", "FR"))
    assert archived.figures_source == "archive" and archived.agm_source == "archive"


async def test_the_ethics_committee_goes_back_to_its_theme(database):
    await seed_demo(database)
    row = await Project.select().where(Project.title == "Comité d'éthique").first()
    assert row is not None and row["started_on"].year == 2019
    found = await projects.project_detail(row["id"], "en")
    assert found.project.status == "completed" and found.project.progress == 1.0
    be = next(step for step in found.lineage if step.group_country == "BE")
    assert be.edition == "2017-2018"
    assert be.theme_title == "Ethics and values of the cooperative"
    assert (be.route.kind, be.route.held_on.isoformat()) == ("agm_archive", "2017-06-10")
    assert be.recommendation.title == "Un comité d'éthique"
    assert "comité d'éthique" in be.recommendation.text
    assert be.decision.outcome == "adopted" and be.decision_entries == 2
    history = await recs.decision_history(be.recommendation.id)
    assert [d.outcome for d in history] == ["deferred", "adopted"]
    assert history[1].supersedes == history[0].id
    # One project from two recommendations: the French charter of values too.
    assert {step.group_country for step in found.lineage} == {"BE", "FR"}


async def test_the_record_is_public_with_csv_and_json(client):
    await seed_demo(client.app.state.settings)
    found = await record.record("en")
    page = await client.get("/record")
    assert page.status_code == 200
    assert re.search(rf'id="total-participants">{found.totals.participants}<', page.text)
    exported = await client.get("/record.csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == len(found.rows)
    for line, row in zip(rows, found.rows, strict=True):
        assert (line["edition"], line["country"], int(line["participants"])) == (
            row.edition,
            row.country,
            row.participants,
        )
        assert line["agm_voters"] == ("" if row.agm_voters is None else str(row.agm_voters))
    api = (await client.get("/api/record")).json()
    assert api["totals"]["participants"] == found.totals.participants


async def test_the_charts_say_in_words_what_they_draw(client):
    await seed_demo(client.app.state.settings)
    found = await record.record("en")
    page = (await client.get("/record")).text
    described = re.search(r'<desc id="participants-chart-desc">(.*?)</desc>', page, re.S).group(1)
    drawn = [r for r in found.rows if r.figures_source]  # nothing known yet: no bar
    for row in drawn:
        name = {"BE": "Belgium", "FR": "France"}[row.country]
        assert re.search(rf"{row.edition}: [^.]*{name} {row.participants}\b", described), row
    assert f"{open_slug()}: –." in described  # the open edition has no groups yet
    chart = re.search(r'<svg[^>]*id="participants-chart".*?</svg>', page, re.S).group(0)
    assert chart.count("<rect") == len(drawn)
    edition = await client.get("/record/2017-2018")
    assert edition.status_code == 200
    outcomes = re.search(r'<desc id="outcomes-desc">(.*?)</desc>', edition.text, re.S).group(1)
    assert "Belgium:" in outcomes and "France:" in outcomes and "adopted" in outcomes
    assert "Un comité d&#39;éthique" in edition.text and "Comité d&#39;éthique" in edition.text


async def test_an_editions_recommendations_as_csv(client):
    await seed_demo(client.app.state.settings)
    exported = await client.get("/record/2017-2018/recommendations.csv")
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    ethics = next(r for r in rows if r["title"] == "Un comité d'éthique")
    assert (ethics["country"], ethics["decision"], ethics["decision_entries"]) == (
        "BE",
        "adopted",
        "2",
    )
    assert "Comité d'éthique" in ethics["projects"]


async def test_what_became_of_a_theme(client):
    await seed_demo(client.app.state.settings)
    edition = (await client.get("/api/record/2017-2018")).json()
    theme = next(
        t for c in edition["countries"] for t in c["themes"] if t["title"].startswith("Ethics")
    )
    shown = await client.get(f"/themes/{theme['id']}")
    assert f"/record/2017-2018?theme={theme['id']}" in shown.text
    page = await client.get(f"/record/2017-2018?theme={theme['id']}")
    assert page.status_code == 200
    listed = re.search(r'<table id="record-recommendations">.*?</table>', page.text, re.S).group(0)
    assert "Un comité d&#39;éthique" in listed and "Travailler" not in listed


@pytest.mark.parametrize("slug", ["1999-2000", "nonsense", "2015-2016%00"])
async def test_an_unknown_edition_has_no_record(client, slug):
    assert (await client.get(f"/record/{slug}")).status_code == 404
    problem = await client.get(f"/api/record/{slug}")
    assert problem.status_code == 404 and problem.json()["status"] == 404
